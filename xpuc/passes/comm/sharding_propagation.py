"""``sharding-propagation``: give every tensor of a multi-card program a sharding.

A program annotates a few tensors with ``shard.shard`` (the weights of a
tensor-parallel layer, the batch of a data-parallel one).  This pass spreads those
shardings backward (operands from results: an unannotated argument takes what its
first user needs) and forward (results from operands), through the ops of
:mod:`xpuc.comm.rules`; a tensor still unknown is replicated.  Every argument and
op result then gets its own annotation, as upstream's pass writes them::

    %s = shard.sharding @g split_axes = [[], [0]] : !shard.sharding
    %h_sharded = shard.shard %h to %s : tensor<8x32xf32>

An annotation only says where a tensor lives; ``shard-partition`` inserts the
communication where a tensor's producer and its user disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, func, shard
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Block, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xpuc.comm import rules
from xpuc.comm.sharding import (
    Sharding,
    ShardingError,
    describe,
    functions,
    grids,
    is_request,
    sharding_of,
)
from xpuc.dialects.xpu_launch import LaunchOp, LocalDimOp

PASSIVE = (shard.ShardingOp, shard.ShardOp, func.ReturnOp, LaunchOp, LocalDimOp)


def check_supported(op: Operation) -> None:
    """A clear error for an op on tensors that the multi-card passes do not know."""
    if isinstance(op, PASSIVE) or rules.kind_of(op) is not None:
        return
    tensors = [v for v in (*op.operands, *op.results) if isinstance(v.type, TensorType)]
    if tensors and op.dialect_name() != "shard":
        raise ShardingError(f"{describe(op)}: the multi-card passes do not know this op")


def propagate(body: Block, grid: str) -> dict[SSAValue, Sharding]:
    """The sharding of every tensor value in ``body``."""
    known: dict[SSAValue, Sharding] = {}
    values = [a for a in body.args if isinstance(a.type, TensorType)]
    for op in body.ops:
        check_supported(op)
        values += [r for r in op.results if isinstance(r.type, TensorType)]
    for v in values:
        s = sharding_of(v)
        if s is not None:
            known[v] = s
    for op in body.ops:  # a kernel's results are laid out as its arguments are
        if isinstance(op, LaunchOp):
            layouts = rules.launch_layouts(op, grid)
            for r, i in zip(op.res, op.written(), strict=True):
                known[r] = layouts[i]  # type: ignore[assignment]
    ops = [op for op in body.ops if rules.kind_of(op) is not None or is_request(op)]
    for _ in range(2):
        for op in reversed(ops):
            if is_request(op):  # an unannotated argument arrives as its user asks
                src = op.operands[0]
                if isinstance(src, BlockArgument) and src not in known and op.results[0] in known:
                    known[src] = known[op.results[0]]
                continue
            out = known.get(op.results[0])
            if out is None:
                continue
            ins = [known.get(v) for v in op.operands]
            for v, s in zip(op.operands, rules.backward(op, out, ins), strict=True):
                if s is not None and v not in known and isinstance(v.type, TensorType):
                    known[v] = s.padded(len(v.type.get_shape()))
        for op in ops:
            if op.results[0] in known or is_request(op):
                continue
            ins = [known.get(v) for v in op.operands]
            s = rules.forward(op, ins, grid)
            if s is not None:
                known[op.results[0]] = s
    for v in values:
        if v not in known:
            known[v] = Sharding.replicated(grid, len(v.type.get_shape()))  # type: ignore[attr-defined]
    return known


def _annotate(v: SSAValue, s: Sharding, where: InsertPoint) -> None:
    sop = s.build()
    ann = shard.ShardOp(v, sop.result, None)
    Rewriter.insert_op([sop, ann], where)
    v.replace_uses_with_if(ann.result, lambda use: use.operation is not ann)


def only_grid(module: builtin.ModuleOp) -> str:
    g = grids(module)
    if len(g) != 1:
        raise ShardingError(f"a multi-card program declares one shard.grid; this one has {len(g)}")
    return next(iter(g))


@dataclass(frozen=True)
class ShardingPropagation(ModulePass):
    name = "sharding-propagation"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        grid = only_grid(op)
        for f in functions(op):
            body = f.body.block
            known = propagate(body, grid)
            first = body.first_op
            values = [*body.args, *(r for o in list(body.ops) for r in o.results)]
            for v in values:
                s = known.get(v)
                if s is None or isinstance(v.owner, shard.ShardOp) or sharding_of(v) is not None:
                    continue
                if isinstance(v.owner, Block):
                    assert first is not None
                    _annotate(v, s, InsertPoint.before(first))
                else:
                    _annotate(v, s, InsertPoint.after(v.owner))
