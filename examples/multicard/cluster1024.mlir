// Data- and tensor-parallel training step on 1,024 cards: a grid of 128 data-parallel
// replicas (axis 0) of 8-way tensor parallelism (axis 1).  The MLP's output needs an
// all-reduce inside each node (axis 1); the weight gradients an all-reduce across the
// 128 replicas (axis 0), over the cluster network.
// `xpuc plan examples/multicard/cluster1024.mlir -t cluster1024`
shard.grid @g(shape = 128x8)

func.func @step(%x: tensor<16384x4096xf32>, %w1: tensor<4096x16384xf32>, %w2: tensor<16384x4096xf32>, %dy: tensor<16384x4096xf32>) -> (tensor<16384x4096xf32>, tensor<16384x4096xf32>) {
  %sx = shard.sharding @g split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %sx : tensor<16384x4096xf32>
  %dys = shard.shard %dy to %sx : tensor<16384x4096xf32>
  %s1 = shard.sharding @g split_axes = [[], [1]] : !shard.sharding
  %w1s = shard.shard %w1 to %s1 : tensor<4096x16384xf32>
  %s2 = shard.sharding @g split_axes = [[1]] : !shard.sharding
  %w2s = shard.shard %w2 to %s2 : tensor<16384x4096xf32>
  %e = tensor.empty() : tensor<16384x16384xf32>
  %h = linalg.matmul ins(%xs, %w1s : tensor<16384x4096xf32>, tensor<4096x16384xf32>) outs(%e : tensor<16384x16384xf32>) -> tensor<16384x16384xf32>
  %e2 = tensor.empty() : tensor<16384x4096xf32>
  %y = linalg.matmul ins(%h, %w2s : tensor<16384x16384xf32>, tensor<16384x4096xf32>) outs(%e2 : tensor<16384x4096xf32>) -> tensor<16384x4096xf32>
  // the gradient of w2: h^T dy, summed over the data-parallel replicas
  %et = tensor.empty() : tensor<16384x16384xf32>
  %ht = linalg.transpose ins(%h : tensor<16384x16384xf32>) outs(%et : tensor<16384x16384xf32>) permutation = [1, 0]
  %eg = tensor.empty() : tensor<16384x4096xf32>
  %gw2 = linalg.matmul ins(%ht, %dys : tensor<16384x16384xf32>, tensor<16384x4096xf32>) outs(%eg : tensor<16384x4096xf32>) -> tensor<16384x4096xf32>
  %sg = shard.sharding @g split_axes = [[1]] : !shard.sharding
  %gw2s = shard.shard %gw2 to %sg : tensor<16384x4096xf32>
  func.return %y, %gw2s : tensor<16384x4096xf32>, tensor<16384x4096xf32>
}
