"""``comm-bucketing``: many small all-reduces become a few large ones.

Data-parallel training all-reduces one gradient per parameter; each pays the
collective's latency.  This pass gathers consecutive ``shard.all_reduce`` ops of the
same grid axes, reduction and element type into buckets of at most ``bucket-bytes``
(25 MiB, as PyTorch DDP), flattens and concatenates their inputs, all-reduces once,
and slices the results back out.  A bucket closes early when an op uses one of its
results (the reduction cannot wait past that use).  An all-reduce bigger than the
bucket stays alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from xdsl.context import Context
from xdsl.dialects import builtin, shard
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Block, Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xpuc.comm import tensor_ops
from xpuc.comm.tensor_ops import nbytes


def _key(op: shard.AllReduceOp):
    return (op.grid, op.grid_axes.get_values(), op.reduction, op.input.type.element_type)  # type: ignore[attr-defined]


def _flush(bucket: list[shard.AllReduceOp]) -> None:
    if len(bucket) < 2:
        return
    last = bucket[-1]
    new: list[Operation] = [tensor_ops.flatten(op.input) for op in bucket]
    cat = tensor_ops.concat([f.results[0] for f in new], 0)
    red = shard.AllReduceOp.create(
        operands=[cat.results[0]],
        result_types=[cat.results[0].type],
        properties=dict(last.properties),
        attributes={"xpu.bucket": builtin.IntegerAttr(len(bucket), 64)},
    )
    new += [cat, red]
    offset = 0
    outs = []
    for op in bucket:
        t = op.result.type
        size = prod(t.get_shape())  # type: ignore[attr-defined]
        piece = tensor_ops.rows(red.results[0], 0, offset, size)
        back = tensor_ops.unflatten(piece.results[0], t)  # type: ignore[arg-type]
        new += [piece, back]
        outs.append(back.results[0])
        offset += size
    Rewriter.insert_op(new, InsertPoint.after(last))
    for op, v in zip(bucket, outs, strict=True):
        op.result.replace_all_uses_with(v)
        op.detach()
        op.erase()


def bucket_block(block: Block, limit: int) -> None:
    bucket: list[shard.AllReduceOp] = []
    size = 0
    for op in list(block.ops):
        if isinstance(op, shard.AllReduceOp) and isinstance(op.input.type, TensorType):
            b = nbytes(op.input.type)
            if bucket and (_key(op) != _key(bucket[0]) or size + b > limit):
                _flush(bucket)
                bucket, size = [], 0
            if b <= limit:
                bucket.append(op)
                size += b
            continue
        results = {r for m in bucket for r in m.results}
        if any(v in results for v in op.operands):
            _flush(bucket)
            bucket, size = [], 0
    _flush(bucket)


@dataclass(frozen=True)
class CommBucketing(ModulePass):
    name = "comm-bucketing"

    bucket_bytes: int = 25 * 1024 * 1024

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for inner in op.walk():
            for region in inner.regions:
                for block in region.blocks:
                    bucket_block(block, self.bucket_bytes)
