// RUN: xpuc-opt %s -p shard-simplify | filecheck %s

shard.grid @g(shape = 4x1)

// An all-reduce whose result is only sliced: one reduce-scatter.
// CHECK-LABEL: func.func @reduce_then_slice
// CHECK-NEXT:  %[[R:.*]] = shard.reduce_scatter %a on @g grid_axes = [0] reduction = max scatter_axis = 1 : tensor<4x8xf32> -> tensor<4x2xf32>
// CHECK-NEXT:  func.return %[[R]]
func.func @reduce_then_slice(%a: tensor<4x8xf32>) -> tensor<4x2xf32> {
  %0 = shard.all_reduce %a on @g grid_axes = [0] reduction = max : tensor<4x8xf32> -> tensor<4x8xf32>
  %1 = shard.all_slice %0 on @g grid_axes = [0] slice_axis = 1 : tensor<4x8xf32> -> tensor<4x2xf32>
  func.return %1 : tensor<4x2xf32>
}

// The all-reduce has another user: it stays.
// CHECK-LABEL: func.func @reduce_used_twice
// CHECK:       shard.all_reduce
// CHECK:       shard.all_slice
func.func @reduce_used_twice(%a: tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x8xf32>) {
  %0 = shard.all_reduce %a on @g grid_axes = [0] : tensor<4x8xf32> -> tensor<4x8xf32>
  %1 = shard.all_slice %0 on @g grid_axes = [0] slice_axis = 1 : tensor<4x8xf32> -> tensor<4x2xf32>
  func.return %1, %0 : tensor<4x2xf32>, tensor<4x8xf32>
}

// Gather then slice on the same axis cancel; so does slice then gather; on
// different dimensions they do not.
// CHECK-LABEL: func.func @cancel
// CHECK-NEXT:  %[[G:.*]] = shard.all_gather %a on @g grid_axes = [0] gather_axis = 0
// CHECK-NEXT:  %[[S:.*]] = shard.all_slice %[[G]] on @g grid_axes = [0] slice_axis = 1
// CHECK-NEXT:  func.return %a, %b, %[[S]]
func.func @cancel(%a: tensor<2x8xf32>, %b: tensor<8x8xf32>) -> (tensor<2x8xf32>, tensor<8x8xf32>, tensor<8x2xf32>) {
  %0 = shard.all_gather %a on @g grid_axes = [0] gather_axis = 0 : tensor<2x8xf32> -> tensor<8x8xf32>
  %1 = shard.all_slice %0 on @g grid_axes = [0] slice_axis = 0 : tensor<8x8xf32> -> tensor<2x8xf32>
  %2 = shard.all_slice %b on @g grid_axes = [0] slice_axis = 1 : tensor<8x8xf32> -> tensor<8x2xf32>
  %3 = shard.all_gather %2 on @g grid_axes = [0] gather_axis = 1 : tensor<8x2xf32> -> tensor<8x8xf32>
  %4 = shard.all_slice %0 on @g grid_axes = [0] slice_axis = 1 : tensor<8x8xf32> -> tensor<8x2xf32>
  func.return %1, %3, %4 : tensor<2x8xf32>, tensor<8x8xf32>, tensor<8x2xf32>
}

// A collective over a grid axis of size one does nothing.
// CHECK-LABEL: func.func @trivial
// CHECK-NEXT:  func.return %a
func.func @trivial(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = shard.all_reduce %a on @g grid_axes = [1] : tensor<4xf32> -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}
