// A tensor-parallel MLP on 8 devices whose activation is a CUDA kernel (GELU, the
// gpu.module below as `xpuc compile gelu.cu --emit=mlir` prints it).  The first
// weight is split by columns, so each device runs the kernel on its own columns of
// the hidden layer (the shard.shard annotate_for_users before the launch); the
// second weight is split by rows, and one all-reduce sums the partial outputs.
//   xpuc plan examples/multicard/tp_mlp_gelu.mlir -t h100x8
builtin.module attributes {gpu.container_module} {
  shard.grid @tp(shape = 8)
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (memref<?xf32>, i32) -> (), kernel}> ({
    ^bb0(%0: memref<?xf32>, %1: i32):
      %2 = "gpu.block_id"() <{dimension = #gpu<dim x>}> : () -> index
      %3 = arith.index_castui %2 : index to i32
      %4 = "gpu.block_dim"() <{dimension = #gpu<dim x>}> : () -> index
      %5 = arith.index_castui %4 : index to i32
      %6 = arith.muli %3, %5 : i32
      %7 = "gpu.thread_id"() <{dimension = #gpu<dim x>}> : () -> index
      %8 = arith.index_castui %7 : index to i32
      %9 = arith.addi %6, %8 : i32
      %10 = arith.cmpi slt, %9, %1 : i32
      scf.if %10 {
        %11 = arith.index_cast %9 : i32 to index
        %12 = memref.load %0[%11] : memref<?xf32>
        %13 = arith.constant 5.000000e-01 : f32
        %14 = arith.mulf %13, %12 : f32
        %15 = arith.constant 1.000000e+00 : f32
        %16 = arith.constant 0.797884583 : f32
        %17 = arith.constant 4.471500e-02 : f32
        %18 = arith.mulf %17, %12 : f32
        %19 = arith.mulf %18, %12 : f32
        %20 = arith.mulf %19, %12 : f32
        %21 = arith.addf %12, %20 : f32
        %22 = arith.mulf %16, %21 : f32
        %23 = math.tanh %22 : f32
        %24 = arith.addf %15, %23 : f32
        %25 = arith.mulf %14, %24 : f32
        memref.store %25, %0[%11] : memref<?xf32>
      }
      "gpu.return"() : () -> ()
    }) {sym_name = "gelu", xpu.arg_types = ["*f32", "i32"], xpu.arg_names = ["x", "n"], xpu.loc = "gelu.cu:2:1"} : () -> ()
  }) : () -> ()
  func.func @mlp(%x: tensor<512x1024xf32>, %w1: tensor<1024x4096xf32>, %w2: tensor<4096x1024xf32>) -> tensor<512x1024xf32> {
    %s1 = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
    %w1s = shard.shard %w1 to %s1 : tensor<1024x4096xf32>
    %s2 = shard.sharding @tp split_axes = [[0]] : !shard.sharding
    %w2s = shard.shard %w2 to %s2 : tensor<4096x1024xf32>
    %e = tensor.empty() : tensor<512x4096xf32>
    %h = linalg.matmul ins(%x, %w1s : tensor<512x1024xf32>, tensor<1024x4096xf32>) outs(%e : tensor<512x4096xf32>) -> tensor<512x4096xf32>
    // the kernel's view: h's column shards; launch sizes from the shard's size
    %hs = shard.shard %h to %s1 annotate_for_users : tensor<512x4096xf32>
    %rows = xpu.local_dim %hs[0] : tensor<512x4096xf32>
    %cols = xpu.local_dim %hs[1] : tensor<512x4096xf32>
    %n = arith.muli %rows, %cols : index
    %n32 = arith.index_cast %n : index to i32
    %c256 = arith.constant 256 : index
    %c1 = arith.constant 1 : index
    %blocks = arith.ceildivui %n, %c256 : index
    %a = xpu.launch @kernels::@gelu blocks(%blocks, %c1, %c1) threads(%c256, %c1, %c1) args(%hs, %n32 : tensor<512x4096xf32>, i32) writes [0] : tensor<512x4096xf32>
    %e2 = tensor.empty() : tensor<512x1024xf32>
    %y = linalg.matmul ins(%a, %w2s : tensor<512x4096xf32>, tensor<4096x1024xf32>) outs(%e2 : tensor<512x1024xf32>) -> tensor<512x1024xf32>
    func.return %y : tensor<512x1024xf32>
  }
}
