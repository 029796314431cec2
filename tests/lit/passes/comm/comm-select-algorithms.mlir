// RUN: xpuc-opt %s -p 'comm-select-algorithms{topology=h100x8}' | filecheck %s
// RUN: xpuc-opt %s -p 'comm-select-algorithms{topology=h100x8 algorithms=ring,tree}' | filecheck %s --check-prefix=ONLY
// RUN: not xpuc-opt %s -p 'comm-select-algorithms{topology=no-such-preset}' 2>&1 | filecheck %s --check-prefix=BAD

// On an 8xH100 NVLink node: a 4 MiB all-reduce over 4 devices is bandwidth-bound
// (Rabenseifner's halving-doubling wins), 64 bytes over 2 devices latency-bound
// (one recursive-doubling exchange).  Every candidate's time is kept.
shard.grid @g(shape = 2x4)

// CHECK:       builtin.module attributes {xpu.topology = "h100x8"}
// CHECK-LABEL: func.func @f
// CHECK:       shard.all_reduce %a on @g grid_axes = [1] {xpu.algorithm = "rabenseifner", xpu.predicted_s = {{.*}} : f64, xpu.runners_up = {ring = {{.*}}, hierarchical = {{.*}}, hetero_ring = {{.*}}, recursive_doubling = {{.*}}, tree = {{.*}}}}
// CHECK:       shard.all_reduce %b on @g grid_axes = [0] {xpu.algorithm = "recursive_doubling"
// ONLY:        shard.all_reduce %a on @g grid_axes = [1] {xpu.algorithm = "ring", xpu.predicted_s = {{.*}}, xpu.runners_up = {tree = {{.*}}}}
// BAD:         xpuc-opt: error: {{.*}}no-such-preset
func.func @f(%a: tensor<1024x1024xf32>, %b: tensor<16xf32>) -> (tensor<1024x1024xf32>, tensor<16xf32>) {
  %0 = shard.all_reduce %a on @g grid_axes = [1] : tensor<1024x1024xf32> -> tensor<1024x1024xf32>
  %1 = shard.all_reduce %b on @g grid_axes = [0] : tensor<16xf32> -> tensor<16xf32>
  func.return %0, %1 : tensor<1024x1024xf32>, tensor<16xf32>
}
