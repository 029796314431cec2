// RUN: xpuc-opt %s -p 'comm-overlap{chunks=2}' | filecheck %s

shard.grid @g(shape = 2)

// Row-parallel matmul + all-reduce: chunk i's all-reduce (async) is issued before
// chunk i+1's matmul.
// CHECK-LABEL: func.func @row_parallel
// CHECK:       %[[A0:.*]] = tensor.extract_slice %a[0, 0] [4, 8] [1, 1]
// CHECK:       %[[M0:.*]] = linalg.matmul ins(%[[A0]], %w : tensor<4x8xf32>, tensor<8x16xf32>)
// CHECK-NEXT:  %[[R0:.*]] = shard.all_reduce %[[M0]] on @g grid_axes = [0] {xpu.async}
// CHECK-NEXT:  %[[A1:.*]] = tensor.extract_slice %a[4, 0] [4, 8] [1, 1]
// CHECK:       %[[M1:.*]] = linalg.matmul ins(%[[A1]], %w
// CHECK-NEXT:  %[[R1:.*]] = shard.all_reduce %[[M1]] on @g grid_axes = [0] {xpu.async}
// CHECK-NEXT:  %[[C:.*]] = tensor.concat dim(0) %[[R0]], %[[R1]] : {{.*}} -> tensor<8x16xf32>
// CHECK-NEXT:  func.return %[[C]]
func.func @row_parallel(%a: tensor<8x8xf32>, %w: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %e = tensor.empty() : tensor<8x16xf32>
  %m = linalg.matmul ins(%a, %w : tensor<8x8xf32>, tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %r = shard.all_reduce %m on @g grid_axes = [0] : tensor<8x16xf32> -> tensor<8x16xf32>
  func.return %r : tensor<8x16xf32>
}

// All-gather + matmul: both gathers start first; each chunk's product goes back in
// device order (device 0's chunks, then device 1's).
// CHECK-LABEL: func.func @gather_matmul
// CHECK:       %[[G0:.*]] = shard.all_gather {{.*}} gather_axis = 0 {xpu.async} : tensor<2x8xf32> -> tensor<4x8xf32>
// CHECK:       %[[G1:.*]] = shard.all_gather {{.*}} gather_axis = 0 {xpu.async} : tensor<2x8xf32> -> tensor<4x8xf32>
// CHECK:       %[[P0:.*]] = linalg.matmul ins(%[[G0]], %w
// CHECK:       %[[P1:.*]] = linalg.matmul ins(%[[G1]], %w
// CHECK-NEXT:  %[[D00:.*]] = tensor.extract_slice %[[P0]][0, 0] [2, 16]
// CHECK-NEXT:  %[[D01:.*]] = tensor.extract_slice %[[P1]][0, 0] [2, 16]
// CHECK-NEXT:  %[[D10:.*]] = tensor.extract_slice %[[P0]][2, 0] [2, 16]
// CHECK-NEXT:  %[[D11:.*]] = tensor.extract_slice %[[P1]][2, 0] [2, 16]
// CHECK-NEXT:  tensor.concat dim(0) %[[D00]], %[[D01]], %[[D10]], %[[D11]]
func.func @gather_matmul(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %g = shard.all_gather %a on @g grid_axes = [0] gather_axis = 0 : tensor<4x8xf32> -> tensor<8x8xf32>
  %e = tensor.empty() : tensor<8x16xf32>
  %m = linalg.matmul ins(%g, %w : tensor<8x8xf32>, tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  func.return %m : tensor<8x16xf32>
}

// Rows that do not divide into the chunks: left alone.
// CHECK-LABEL: func.func @ragged
// CHECK-NOT:   xpu.async
func.func @ragged(%a: tensor<3x8xf32>, %w: tensor<8x16xf32>) -> tensor<3x16xf32> {
  %e = tensor.empty() : tensor<3x16xf32>
  %m = linalg.matmul ins(%a, %w : tensor<3x8xf32>, tensor<8x16xf32>) outs(%e : tensor<3x16xf32>) -> tensor<3x16xf32>
  %r = shard.all_reduce %m on @g grid_axes = [0] : tensor<3x16xf32> -> tensor<3x16xf32>
  func.return %r : tensor<3x16xf32>
}
