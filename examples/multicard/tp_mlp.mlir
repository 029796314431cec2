// A tensor-parallel MLP block on 8 devices (Megatron style): the first weight is
// split by columns, the second by rows, so the only communication is one
// all-reduce of the output.  `xpuc plan examples/multicard/tp_mlp.mlir -t h100x8`
shard.grid @tp(shape = 8)

func.func @mlp(%x: tensor<4096x8192xf16>, %w1: tensor<8192x32768xf16>, %w2: tensor<32768x8192xf16>) -> tensor<4096x8192xf16> {
  %s1 = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %w1s = shard.shard %w1 to %s1 : tensor<8192x32768xf16>
  %s2 = shard.sharding @tp split_axes = [[0]] : !shard.sharding
  %w2s = shard.shard %w2 to %s2 : tensor<32768x8192xf16>
  %e = tensor.empty() : tensor<4096x32768xf16>
  %h = linalg.matmul ins(%x, %w1s : tensor<4096x8192xf16>, tensor<8192x32768xf16>) outs(%e : tensor<4096x32768xf16>) -> tensor<4096x32768xf16>
  %z = arith.constant 0.0 : f16
  %zf = linalg.fill ins(%z : f16) outs(%e : tensor<4096x32768xf16>) -> tensor<4096x32768xf16>
  %a = linalg.max ins(%h, %zf : tensor<4096x32768xf16>, tensor<4096x32768xf16>) outs(%e : tensor<4096x32768xf16>) -> tensor<4096x32768xf16>
  %e2 = tensor.empty() : tensor<4096x8192xf16>
  %y = linalg.matmul ins(%a, %w2s : tensor<4096x32768xf16>, tensor<32768x8192xf16>) outs(%e2 : tensor<4096x8192xf16>) -> tensor<4096x8192xf16>
  func.return %y : tensor<4096x8192xf16>
}
