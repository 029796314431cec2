// RUN: xpuc-opt %s -p shard-partition | filecheck %s

shard.grid @g(shape = 4)

// Column- then row-parallel: local shapes, no communication until the partial sum
// of the second matmul, which one all-reduce completes.  The function records the
// global types and shardings for the runtime.
// CHECK-LABEL: func.func @mlp(%x: tensor<8x16xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>) -> tensor<8x16xf32>
// CHECK-SAME:  xpu.arg_shardings = [#shard<axisarray[]>, #shard<axisarray{{\[}}[], [0]]>, #shard<axisarray{{\[\[}}0]]>]
// CHECK-SAME:  xpu.arg_types = [tensor<8x16xf32>, tensor<16x32xf32>, tensor<32x16xf32>]
func.func @mlp(%x: tensor<8x16xf32>, %w1: tensor<16x32xf32>, %w2: tensor<32x16xf32>) -> tensor<8x16xf32> {
  %s1 = shard.sharding @g split_axes = [[], [0]] : !shard.sharding
  %w1s = shard.shard %w1 to %s1 : tensor<16x32xf32>
  %s2 = shard.sharding @g split_axes = [[0]] : !shard.sharding
  %w2s = shard.shard %w2 to %s2 : tensor<32x16xf32>
  %e = tensor.empty() : tensor<8x32xf32>
  // CHECK:     %[[H:.*]] = linalg.matmul ins(%x, %w1 : tensor<8x16xf32>, tensor<16x8xf32>) {{.*}} -> tensor<8x8xf32>
  %h = linalg.matmul ins(%x, %w1s : tensor<8x16xf32>, tensor<16x32xf32>) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  %e2 = tensor.empty() : tensor<8x16xf32>
  // CHECK-NOT: shard.
  // CHECK:     %[[Y:.*]] = linalg.matmul ins(%[[H]], %w2 : tensor<8x8xf32>, tensor<8x16xf32>) {{.*}} -> tensor<8x16xf32>
  // CHECK-NEXT: %[[R:.*]] = shard.all_reduce %[[Y]] on @g grid_axes = [0] : tensor<8x16xf32> -> tensor<8x16xf32>
  // CHECK-NEXT: func.return %[[R]] : tensor<8x16xf32>
  %y = linalg.matmul ins(%h, %w2s : tensor<8x32xf32>, tensor<32x16xf32>) outs(%e2 : tensor<8x16xf32>) -> tensor<8x16xf32>
  func.return %y : tensor<8x16xf32>
}

// Resharding between producer and user: gather, slice, all-to-all.
// CHECK-LABEL: func.func @reshard(%a: tensor<2x8xf32>) -> (tensor<8x8xf32>, tensor<8x2xf32>)
func.func @reshard(%a: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
  %s0 = shard.sharding @g split_axes = [[0]] : !shard.sharding
  %as = shard.shard %a to %s0 : tensor<8x8xf32>
  // CHECK: shard.all_gather %a on @g grid_axes = [0] gather_axis = 0 : tensor<2x8xf32> -> tensor<8x8xf32>
  %r = shard.sharding @g split_axes = [] : !shard.sharding
  %ar = shard.shard %as to %r annotate_for_users : tensor<8x8xf32>
  // CHECK: shard.all_to_all %a on @g grid_axes = [0] split_axis = 1 concat_axis = 0 : tensor<2x8xf32> -> tensor<8x2xf32>
  %s1 = shard.sharding @g split_axes = [[], [0]] : !shard.sharding
  %ac = shard.shard %as to %s1 annotate_for_users : tensor<8x8xf32>
  func.return %ar, %ac : tensor<8x8xf32>, tensor<8x8xf32>
}

// A reduction over a split dimension is partial: the max of maxes.
// CHECK-LABEL: func.func @rowmax(%a: tensor<4x2xf32>) -> tensor<4xf32>
func.func @rowmax(%a: tensor<4x8xf32>) -> tensor<4xf32> {
  %s = shard.sharding @g split_axes = [[], [0]] : !shard.sharding
  %as = shard.shard %a to %s : tensor<4x8xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<4xf32>
  %i = linalg.fill ins(%ninf : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  // CHECK:      %[[M:.*]] = linalg.reduce ins(%a:tensor<4x2xf32>)
  // CHECK:      shard.all_reduce %[[M]] on @g grid_axes = [0] reduction = max : tensor<4xf32> -> tensor<4xf32>
  %m = linalg.reduce ins(%as : tensor<4x8xf32>) outs(%i : tensor<4xf32>) dimensions = [1]
    (%x: f32, %acc: f32) {
      %y = arith.maximumf %x, %acc : f32
      linalg.yield %y : f32
    }
  func.return %m : tensor<4xf32>
}
