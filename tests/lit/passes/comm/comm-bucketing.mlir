// RUN: xpuc-opt %s -p comm-bucketing | filecheck %s
// RUN: xpuc-opt %s -p 'comm-bucketing{bucket_bytes=100}' | filecheck %s --check-prefix=SMALL

shard.grid @g(shape = 2)

// Three gradients' all-reduces: one bucket by default (96 + 48 + 16 bytes); with a
// 100-byte bucket the first stays alone and the last two share one.  A max
// all-reduce never joins a sum bucket.
// CHECK-LABEL: func.func @grads
// CHECK-DAG:   %[[A:.*]] = tensor.collapse_shape %a {{.*}} : tensor<4x6xf32> into tensor<24xf32>
// CHECK-DAG:   %[[B:.*]] = tensor.collapse_shape %b {{.*}} : tensor<4x3xf32> into tensor<12xf32>
// CHECK-DAG:   %[[C:.*]] = tensor.collapse_shape %c {{.*}} : tensor<4xf32> into tensor<4xf32>
// CHECK:       %[[CAT:.*]] = tensor.concat dim(0) %[[A]], %[[B]], %[[C]] : {{.*}} -> tensor<40xf32>
// CHECK-NEXT:  %[[R:.*]] = shard.all_reduce %[[CAT]] on @g grid_axes = [0] {xpu.bucket = 3 : i64} : tensor<40xf32> -> tensor<40xf32>
// CHECK-NEXT:  %[[RA:.*]] = tensor.extract_slice %[[R]][0] [24] [1]
// CHECK-NEXT:  %[[GA:.*]] = tensor.expand_shape %[[RA]] {{.*}} output_shape [4, 6]
// CHECK-NEXT:  %[[RB:.*]] = tensor.extract_slice %[[R]][24] [12] [1]
// CHECK:       %[[RC:.*]] = tensor.extract_slice %[[R]][36] [4] [1]
// CHECK:       shard.all_reduce %d on @g grid_axes = [0] reduction = max
// SMALL-LABEL: func.func @grads
// SMALL:       shard.all_reduce %a on @g grid_axes = [0] : tensor<4x6xf32>
// SMALL:       tensor.concat dim(0) {{.*}} -> tensor<16xf32>
// SMALL-NEXT:  shard.all_reduce {{.*}} {xpu.bucket = 2 : i64} : tensor<16xf32>
func.func @grads(%a: tensor<4x6xf32>, %b: tensor<4x3xf32>, %c: tensor<4xf32>, %d: tensor<4xf32>) -> (tensor<4x6xf32>, tensor<4x3xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0 = shard.all_reduce %a on @g grid_axes = [0] : tensor<4x6xf32> -> tensor<4x6xf32>
  %1 = shard.all_reduce %b on @g grid_axes = [0] : tensor<4x3xf32> -> tensor<4x3xf32>
  %2 = shard.all_reduce %c on @g grid_axes = [0] : tensor<4xf32> -> tensor<4xf32>
  %3 = shard.all_reduce %d on @g grid_axes = [0] reduction = max : tensor<4xf32> -> tensor<4xf32>
  func.return %0, %1, %2, %3 : tensor<4x6xf32>, tensor<4x3xf32>, tensor<4xf32>, tensor<4xf32>
}

// A use of a reduced value closes the bucket: the second all-reduce depends on it.
// CHECK-LABEL: func.func @dependent
// CHECK-NOT:   tensor.concat
func.func @dependent(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %0 = shard.all_reduce %a on @g grid_axes = [0] : tensor<4xf32> -> tensor<4xf32>
  %1 = linalg.exp ins(%0 : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %2 = shard.all_reduce %1 on @g grid_axes = [0] : tensor<4xf32> -> tensor<4xf32>
  func.return %2 : tensor<4xf32>
}
