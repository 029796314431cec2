// RUN: xpuc-opt %s | filecheck %s
// RUN: xpuc-opt %s | xpuc-opt | filecheck %s

// The upstream shard collectives xpuc adds to xDSL's dialect, in upstream syntax,
// and the xpu op of a collective lowered to its point-to-point schedule.
shard.grid @g(shape = 2x2)

// CHECK-LABEL: func.func @collectives
func.func @collectives(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: shard.all_gather %a on @g grid_axes = [1] gather_axis = 1 : tensor<4x8xf32> -> tensor<4x16xf32>
  %0 = shard.all_gather %a on @g grid_axes = [1] gather_axis = 1 : tensor<4x8xf32> -> tensor<4x16xf32>
  // CHECK: shard.all_slice %{{.*}} on @g grid_axes = [1] slice_axis = 1 : tensor<4x16xf32> -> tensor<4x8xf32>
  %1 = shard.all_slice %0 on @g grid_axes = [1] slice_axis = 1 : tensor<4x16xf32> -> tensor<4x8xf32>
  // CHECK: shard.reduce_scatter %a on @g grid_axes = [0] reduction = max scatter_axis = 0 : tensor<4x8xf32> -> tensor<2x8xf32>
  %2 = shard.reduce_scatter %a on @g grid_axes = [0] reduction = max scatter_axis = 0 : tensor<4x8xf32> -> tensor<2x8xf32>
  // CHECK: shard.all_to_all %a on @g grid_axes = [0] split_axis = 0 concat_axis = 1 : tensor<4x8xf32> -> tensor<2x16xf32>
  %3 = shard.all_to_all %a on @g grid_axes = [0] split_axis = 0 concat_axis = 1 : tensor<4x8xf32> -> tensor<2x16xf32>
  // CHECK: xpu.p2p_schedule "all_reduce" %a on @g grid_axes = [0] algorithm = "recursive_doubling" nranks = 2 : i64 chunks = 1 : i64 steps = [0, 0, 0, 1, 0, 1, 0, 0, 2, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 2, 0, 0, 1] : tensor<4x8xf32> -> tensor<4x8xf32>
  %4 = xpu.p2p_schedule "all_reduce" %a on @g grid_axes = [0] algorithm = "recursive_doubling" nranks = 2 chunks = 1 steps = [0, 0, 0, 1, 0, 1, 0, 0, 2, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 2, 0, 0, 1] : tensor<4x8xf32> -> tensor<4x8xf32>
  func.return %4 : tensor<4x8xf32>
}
