// RUN: xpuc-opt %s -p sharding-propagation | filecheck %s

// Tensor-parallel MLP: the first weight is split by columns, the second by rows.
// Forward: the hidden layer is split like the first weight's columns; the output of
// the row-parallel matmul (a partial sum, reduced later) is replicated.  Backward:
// the init of the first matmul takes its result's sharding.
shard.grid @g(shape = 4)

// CHECK-LABEL: func.func @mlp
func.func @mlp(%x: tensor<8x16xf32>, %w1: tensor<16x32xf32>, %w2: tensor<32x16xf32>) -> tensor<8x16xf32> {
  // CHECK:      %[[S:.*]] = shard.sharding @g split_axes = [] : !shard.sharding
  // CHECK-NEXT: %[[X:.*]] = shard.shard %x to %[[S]] : tensor<8x16xf32>
  %s1 = shard.sharding @g split_axes = [[], [0]] : !shard.sharding
  %w1s = shard.shard %w1 to %s1 : tensor<16x32xf32>
  %s2 = shard.sharding @g split_axes = [[0]] : !shard.sharding
  %w2s = shard.shard %w2 to %s2 : tensor<32x16xf32>
  %e = tensor.empty() : tensor<8x32xf32>
  // CHECK:      %e = tensor.empty()
  // CHECK-NEXT: %[[ES:.*]] = shard.sharding @g split_axes = {{\[}}[], [0]] : !shard.sharding
  // CHECK-NEXT: %[[E:.*]] = shard.shard %e to %[[ES]]
  // CHECK:      %h = linalg.matmul ins(%[[X]], %w1s : {{.*}}) outs(%[[E]] :
  %h = linalg.matmul ins(%x, %w1s : tensor<8x16xf32>, tensor<16x32xf32>) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  // CHECK-NEXT: %[[HS:.*]] = shard.sharding @g split_axes = {{\[}}[], [0]] : !shard.sharding
  // CHECK-NEXT: %[[H:.*]] = shard.shard %h to %[[HS]]
  %a = linalg.exp ins(%h : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
  // CHECK:      %a = linalg.exp ins(%[[H]] :
  // CHECK-NEXT: %[[AS:.*]] = shard.sharding @g split_axes = {{\[}}[], [0]] : !shard.sharding
  %e2 = tensor.empty() : tensor<8x16xf32>
  %y = linalg.matmul ins(%a, %w2s : tensor<8x32xf32>, tensor<32x16xf32>) outs(%e2 : tensor<8x16xf32>) -> tensor<8x16xf32>
  // CHECK:      %y = linalg.matmul
  // CHECK-NEXT: %[[YS:.*]] = shard.sharding @g split_axes = [] : !shard.sharding
  // CHECK-NEXT: %[[Y:.*]] = shard.shard %y to %[[YS]]
  // CHECK-NEXT: func.return %[[Y]]
  func.return %y : tensor<8x16xf32>
}

// Backward: the result is wanted split by rows, so the unannotated argument of the
// elementwise op is too; the transpose moves the split to the other dimension.
// CHECK-LABEL: func.func @backward
func.func @backward(%a: tensor<8x4xf32>, %b: tensor<4x8xf32>) -> tensor<8x4xf32> {
  // CHECK:      %[[SA:.*]] = shard.sharding @g split_axes = {{\[\[}}0]] : !shard.sharding
  // CHECK-NEXT: shard.shard %a to %[[SA]]
  // CHECK:      %[[SB:.*]] = shard.sharding @g split_axes = {{\[}}[], [0]] : !shard.sharding
  // CHECK-NEXT: shard.shard %b to %[[SB]]
  %e = tensor.empty() : tensor<8x4xf32>
  %bt = linalg.transpose ins(%b : tensor<4x8xf32>) outs(%e : tensor<8x4xf32>) permutation = [1, 0]
  %c = linalg.add ins(%a, %bt : tensor<8x4xf32>, tensor<8x4xf32>) outs(%e : tensor<8x4xf32>) -> tensor<8x4xf32>
  %s = shard.sharding @g split_axes = [[0]] : !shard.sharding
  %cs = shard.shard %c to %s : tensor<8x4xf32>
  func.return %cs : tensor<8x4xf32>
}
