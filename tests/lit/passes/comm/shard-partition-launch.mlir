// RUN: xpuc-opt %s -p shard-partition | filecheck %s

// A kernel runs on each device's shards, laid out as the shard.shard
// annotate_for_users that feeds it asks; xpu.local_dim becomes the shard's size.
builtin.module attributes {gpu.container_module} {
  shard.grid @g(shape = 4)
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (memref<?xf32>, memref<?xf32>, i32) -> (), kernel}> ({
    ^bb0(%a: memref<?xf32>, %b: memref<?xf32>, %n: i32):
      "gpu.return"() : () -> ()
    }) {sym_name = "scale"} : () -> ()
  }) : () -> ()

  // The argument arrives split as the kernel asks: no communication.
  // CHECK-LABEL: func.func @on_shards(%x: tensor<2x8xf32>) -> tensor<2x8xf32>
  // CHECK-SAME:  xpu.res_shardings = [#shard<axisarray{{\[\[}}0]]>]
  // CHECK-NOT:   shard.
  // CHECK:       %[[ROWS:.*]] = arith.constant 2 : index
  // CHECK:       %[[E:.*]] = tensor.empty() : tensor<2x8xf32>
  // CHECK:       xpu.launch @kernels::@scale blocks(%[[ROWS]], {{.*}} args(%x, %[[E]], %{{.*}} : tensor<2x8xf32>, tensor<2x8xf32>, i32) writes [1] : tensor<2x8xf32>
  func.func @on_shards(%x: tensor<8x8xf32>) -> tensor<8x8xf32> {
    %s = shard.sharding @g split_axes = [[0]] : !shard.sharding
    %xs = shard.shard %x to %s annotate_for_users : tensor<8x8xf32>
    %e = tensor.empty() : tensor<8x8xf32>
    %es = shard.shard %e to %s annotate_for_users : tensor<8x8xf32>
    %rows = xpu.local_dim %xs[0] : tensor<8x8xf32>
    %n = arith.constant 8 : i32
    %c1 = arith.constant 1 : index
    %r = xpu.launch @kernels::@scale blocks(%rows, %c1, %c1) threads(%c1, %c1, %c1) args(%xs, %es, %n : tensor<8x8xf32>, tensor<8x8xf32>, i32) writes [1] : tensor<8x8xf32>
    func.return %r : tensor<8x8xf32>
  }

  // Without a request the kernel gets whole tensors: a split producer is gathered
  // first, and the result is replicated.
  // CHECK-LABEL: func.func @whole(%x: tensor<2x8xf32>) -> tensor<8x8xf32>
  // CHECK-SAME:  xpu.res_shardings = [#shard<axisarray[]>]
  // CHECK:       %[[ROWS:.*]] = arith.constant 8 : index
  // CHECK:       %[[G:.*]] = shard.all_gather %x on @g grid_axes = [0] gather_axis = 0 : tensor<2x8xf32> -> tensor<8x8xf32>
  // CHECK:       xpu.launch @kernels::@scale blocks(%[[ROWS]], {{.*}} args(%[[G]], %{{.*}}, %{{.*}} : tensor<8x8xf32>, tensor<8x8xf32>, i32)
  func.func @whole(%x: tensor<8x8xf32>) -> tensor<8x8xf32> {
    %s = shard.sharding @g split_axes = [[0]] : !shard.sharding
    %xs = shard.shard %x to %s : tensor<8x8xf32>
    %e = tensor.empty() : tensor<8x8xf32>
    %rows = xpu.local_dim %e[0] : tensor<8x8xf32>
    %n = arith.constant 8 : i32
    %c1 = arith.constant 1 : index
    %r = xpu.launch @kernels::@scale blocks(%rows, %c1, %c1) threads(%c1, %c1, %c1) args(%xs, %e, %n : tensor<8x8xf32>, tensor<8x8xf32>, i32) writes [1] : tensor<8x8xf32>
    func.return %r : tensor<8x8xf32>
  }

  // An annotated argument measured directly: its shard's size, not divided twice.
  // CHECK-LABEL: func.func @annotated_arg(%x: tensor<4x8xf32>) -> index
  // CHECK:       %[[R:.*]] = arith.constant 4 : index
  // CHECK:       func.return %[[R]] : index
  func.func @annotated_arg(%x: tensor<16x8xf32>) -> index {
    %s = shard.sharding @g split_axes = [[0]] : !shard.sharding
    %xs = shard.shard %x to %s : tensor<16x8xf32>
    %rows = xpu.local_dim %x[0] : tensor<16x8xf32>
    func.return %rows : index
  }
}
