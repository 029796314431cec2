"""``shard-simplify``: fewer and cheaper collectives after partitioning.

- ``all_reduce`` then ``all_slice`` over the same grid axes (a partial sum whose user
  wants it split) becomes one ``reduce_scatter``: each device receives only its slice.
- ``all_gather`` then ``all_slice`` (or the reverse) on the same axes and tensor
  dimension cancel out.
- A collective over grid axes of size one, or over no axes, is its input.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from xdsl.context import Context
from xdsl.dialects import builtin, shard
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.transforms.dead_code_elimination import region_dce

from xpuc.comm.sharding import grids
from xpuc.dialects.shard_ext import AllGatherOp, AllSliceOp, AllToAllOp, ReduceScatterOp

_COLLECTIVES = (shard.AllReduceOp, AllGatherOp, AllSliceOp, AllToAllOp, ReduceScatterOp)


def _same_group(a, b) -> bool:
    return a.grid == b.grid and a.grid_axes.get_values() == b.grid_axes.get_values()


class AllReduceThenSlice(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AllSliceOp, rewriter: PatternRewriter) -> None:
        src = op.input.owner
        if not isinstance(src, shard.AllReduceOp) or not _same_group(src, op):
            return
        if len(list(src.result.uses)) != 1:
            return
        rs = ReduceScatterOp(
            src.input,
            op.grid.root_reference.data,
            op.grid_axes,
            op.slice_axis.value.data,
            op.result.type,  # type: ignore[arg-type]
            src.reduction.data,
        )
        rewriter.replace_op(op, rs)


class GatherSliceCancel(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AllSliceOp | AllGatherOp, rewriter: PatternRewriter) -> None:
        src = op.input.owner
        pairs = {AllSliceOp: AllGatherOp, AllGatherOp: AllSliceOp}
        if type(src) is not pairs.get(type(op)) or not _same_group(src, op):
            return
        axis = op.slice_axis if isinstance(op, AllSliceOp) else op.gather_axis
        src_axis = src.gather_axis if isinstance(src, AllGatherOp) else src.slice_axis  # type: ignore[union-attr]
        if axis == src_axis and src.input.type == op.result.type:  # type: ignore[union-attr]
            rewriter.replace_op(op, [], [src.input])  # type: ignore[union-attr]


@dataclass
class TrivialGroup(RewritePattern):
    grid_shapes: dict[str, tuple[int, ...]]

    def match_and_rewrite(self, op, rewriter: PatternRewriter) -> None:
        if not isinstance(op, _COLLECTIVES):
            return
        shape = self.grid_shapes[op.grid.root_reference.data]
        if prod(shape[a] for a in op.grid_axes.get_values()) == 1:
            if op.operands[0].type == op.results[0].type:
                rewriter.replace_op(op, [], [op.operands[0]])


@dataclass(frozen=True)
class ShardSimplify(ModulePass):
    name = "shard-simplify"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        patterns = [AllReduceThenSlice(), GatherSliceCancel(), TrivialGroup(grids(op))]
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns)).rewrite_module(op)
        for region in op.regions:
            region_dce(region)
