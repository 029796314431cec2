// RUN: xpuc-opt %s | filecheck %s
// RUN: xpuc-opt %s | xpuc-opt | filecheck %s

// xpu.launch: a kernel of a gpu.module launched on tensors; the written argument
// comes back as a result.  xpu.local_dim: a dimension of a tensor's shard.
builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (memref<?xf32>, memref<?xf32>, i32) -> (), kernel}> ({
    ^bb0(%a: memref<?xf32>, %b: memref<?xf32>, %n: i32):
      "gpu.return"() : () -> ()
    }) {sym_name = "scale"} : () -> ()
  }) : () -> ()
  // CHECK-LABEL: func.func @f
  func.func @f(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %e = tensor.empty() : tensor<4x8xf32>
    // CHECK: %[[D:.*]] = xpu.local_dim %x[1] : tensor<4x8xf32>
    %d = xpu.local_dim %x[1] : tensor<4x8xf32>
    %n = arith.index_cast %d : index to i32
    %c1 = arith.constant 1 : index
    // CHECK: xpu.launch @kernels::@scale blocks(%{{.*}}, %{{.*}}, %{{.*}}) threads(%[[D]], %{{.*}}, %{{.*}}) args(%x, %e, %{{.*}} : tensor<4x8xf32>, tensor<4x8xf32>, i32) writes [1] : tensor<4x8xf32>
    %r = xpu.launch @kernels::@scale blocks(%c1, %c1, %c1) threads(%d, %c1, %c1) args(%x, %e, %n : tensor<4x8xf32>, tensor<4x8xf32>, i32) writes [1] : tensor<4x8xf32>
    // CHECK: xpu.launch @kernels::@scale blocks({{.*}}) threads({{.*}}) dynamic_shared(%[[D]]) args(%x, %e, %{{.*}} : tensor<4x8xf32>, tensor<4x8xf32>, i32) writes [1] : tensor<4x8xf32>
    %r2 = xpu.launch @kernels::@scale blocks(%c1, %c1, %c1) threads(%d, %c1, %c1) dynamic_shared(%d) args(%x, %e, %n : tensor<4x8xf32>, tensor<4x8xf32>, i32) writes [1] : tensor<4x8xf32>
    func.return %r2 : tensor<4x8xf32>
  }
}
