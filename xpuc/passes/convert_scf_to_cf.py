"""``convert-scf-to-cf``: lower structured control flow to branches, as upstream MLIR's.

xDSL's pass of the same name lowers ``scf.if``, ``scf.for`` and ``scf.index_switch``
but not ``scf.while``.  The patterns must run in one walk (a half-lowered ``scf.while``
with multi-block regions does not verify), so this pass applies xDSL's patterns
together with a ``WhileLowering`` of our own that follows upstream MLIR's: the
"before" region becomes the loop header, ``scf.condition`` a conditional branch to
the "after" region or out of the loop.

An ``scf.for`` marked ``xpu.parallel`` (a thread loop, see ``simt_fission``) leaves
``xpu.parallel_loop = N`` on its latch branch and ``xpu.access_group = N`` on the loads
and stores in its body; the LLVM translation makes them ``llvm.loop`` /
``llvm.loop.parallel_accesses`` and ``llvm.access.group`` metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, memref, scf
from xdsl.dialects.builtin import IntegerAttr
from xdsl.dialects.cf import BranchOp, ConditionalBranchOp
from xdsl.ir import Block
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import BlockInsertPoint, InsertPoint
from xdsl.transforms.convert_scf_to_cf import ForLowering, IfLowering, SwitchLowering


class ParallelForLowering(ForLowering):
    """xDSL's ``scf.for`` lowering, keeping a parallel loop's mark on its latch."""

    def __init__(self) -> None:
        self.groups = 0

    @op_type_rewrite_pattern
    def match_and_rewrite(self, for_op: scf.ForOp, rewriter: PatternRewriter):
        if "xpu.parallel" not in for_op.attributes:
            return super().match_and_rewrite(for_op, rewriter)
        self.groups += 1
        group = IntegerAttr(self.groups, 64)
        for op in for_op.body.walk():
            if isinstance(op, memref.LoadOp | memref.StoreOp):
                op.attributes["xpu.access_group"] = group
        header, entry = for_op.body.first_block, for_op.parent_block()
        super().match_and_rewrite(for_op, rewriter)
        assert header is not None and entry is not None and header.parent is not None
        for block in header.parent.blocks:  # the latch: the other branch to the header
            br = block.last_op
            if block is not entry and isinstance(br, BranchOp) and br.successor is header:
                br.attributes["xpu.parallel_loop"] = group


class WhileLowering(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: scf.WhileOp, rewriter: PatternRewriter, /):
        init_block = op.parent_block()
        assert init_block is not None
        end_block = init_block.split_before(op)
        parent = init_block.parent_region()
        assert parent is not None
        continue_block = Block(arg_types=op.result_types)
        parent.insert_block_before(continue_block, end_block)
        rewriter.insert(BranchOp(end_block), InsertPoint.at_end(continue_block))

        before_first, before_last = op.before_region.first_block, op.before_region.last_block
        after_first, after_last = op.after_region.first_block, op.after_region.last_block
        assert before_first and before_last and after_first and after_last

        condition = before_last.last_op
        assert isinstance(condition, scf.ConditionOp)
        yield_op = after_last.last_op
        assert isinstance(yield_op, scf.YieldOp)

        rewriter.replace(
            condition,
            ConditionalBranchOp(
                condition.condition, after_first, condition.args,
                continue_block, condition.args,
            ),
        )  # fmt: skip
        rewriter.replace(yield_op, BranchOp(before_first, *yield_op.arguments))
        rewriter.inline_region(op.before_region, BlockInsertPoint.before(continue_block))
        rewriter.inline_region(op.after_region, BlockInsertPoint.before(continue_block))
        rewriter.insert(BranchOp(before_first, *op.arguments), InsertPoint.at_end(init_block))
        rewriter.replace(op, [], continue_block.args)


@dataclass(frozen=True)
class ConvertScfToCf(ModulePass):
    name = "convert-scf-to-cf"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        patterns = [SwitchLowering(), IfLowering(), ParallelForLowering(), WhileLowering()]
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns)).rewrite_module(op)
