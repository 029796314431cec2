// RUN: xpuc-opt %s --verify-diagnostics | filecheck %s

shard.grid @g(shape = 2)
func.func @bad_gather_axis(%a: tensor<4xf32>) -> tensor<8xf32> {
  %0 = shard.all_gather %a on @g grid_axes = [0] gather_axis = 1 : tensor<4xf32> -> tensor<8xf32>
  func.return %0 : tensor<8xf32>
}
// CHECK: error: invalid IR: 'shard.all_gather' gather_axis 1 is out of range for rank 1

// -----

shard.grid @g(shape = 2)
func.func @bad_kind(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = xpu.p2p_schedule "broadcast" %a on @g grid_axes = [0] algorithm = "ring" nranks = 2 chunks = 1 steps = [] : tensor<4xf32> -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}
// CHECK: error: invalid IR: 'xpu.p2p_schedule' kind must be one of all_reduce, all_gather, reduce_scatter, all_to_all

// -----

shard.grid @g(shape = 2)
func.func @bad_row(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = xpu.p2p_schedule "all_reduce" %a on @g grid_axes = [0] algorithm = "ring" nranks = 2 chunks = 2 steps = [0, 0, 0, 5, 0, 1] : tensor<4xf32> -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}
// CHECK: error: invalid IR: 'xpu.p2p_schedule' row 0 [0, 0, 0, 5, 0, 1] is out of range for 2 ranks and 2 chunks

// -----

shard.grid @g(shape = 2)
func.func @short_row(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = xpu.p2p_schedule "all_reduce" %a on @g grid_axes = [0] algorithm = "ring" nranks = 2 chunks = 2 steps = [0, 0, 0] : tensor<4xf32> -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}
// CHECK: error: invalid IR: 'xpu.p2p_schedule' steps must be rows of 6 integers
