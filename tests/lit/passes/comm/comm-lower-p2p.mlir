// RUN: xpuc-opt %s -p 'comm-lower-p2p{topology=h100x8}' | filecheck %s

// A 2-device ring all-reduce: a reduce-scatter step (each rank sends one of two
// chunks and reduces the other) then an all-gather step.  Rows are
// (step, rank, op, peer, lo, hi); op 0 sends, 1 receives, 2 receives and reduces.
// A native collective stays for the backend.
shard.grid @g(shape = 2)

// CHECK-LABEL: func.func @f
// CHECK:       %[[R:.*]] = xpu.p2p_schedule "all_reduce" %a on @g grid_axes = [0] algorithm = "ring" nranks = 2 : i64 chunks = 2 : i64 steps = [0, 0, 0, 1, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 0, 0, 0, 1, 0, 0, 2, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 2, 1, 0, 1, 1, 1, 2] {xpu.predicted_s = 1.000000e-05 : f64} : tensor<16xf32> -> tensor<16xf32>
// CHECK:       xpu.p2p_schedule "all_gather" %b on @g grid_axes = [0] algorithm = "recursive_doubling" axis = 1 nranks = 2 : i64 chunks = 2 : i64
// CHECK:       shard.all_reduce %a on @g grid_axes = [0] {xpu.algorithm = "native"}
func.func @f(%a: tensor<16xf32>, %b: tensor<4x2xf32>) -> (tensor<16xf32>, tensor<4x4xf32>, tensor<16xf32>) {
  %0 = shard.all_reduce %a on @g grid_axes = [0] {xpu.algorithm = "ring", xpu.predicted_s = 1.0e-05 : f64} : tensor<16xf32> -> tensor<16xf32>
  %1 = shard.all_gather %b on @g grid_axes = [0] gather_axis = 1 {xpu.algorithm = "recursive_doubling"} : tensor<4x2xf32> -> tensor<4x4xf32>
  %2 = shard.all_reduce %a on @g grid_axes = [0] {xpu.algorithm = "native"} : tensor<16xf32> -> tensor<16xf32>
  func.return %0, %1, %2 : tensor<16xf32>, tensor<4x4xf32>, tensor<16xf32>
}

