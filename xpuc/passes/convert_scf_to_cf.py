"""``convert-scf-to-cf``: lower structured control flow to branches, as upstream MLIR's.

xDSL's pass of the same name lowers ``scf.if``, ``scf.for`` and ``scf.index_switch``
but not ``scf.while``.  The patterns must run in one walk (a half-lowered ``scf.while``
with multi-block regions does not verify), so this pass applies xDSL's patterns
together with a ``WhileLowering`` of our own that follows upstream MLIR's: the
"before" region becomes the loop header, ``scf.condition`` a conditional branch to
the "after" region or out of the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, scf
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
        patterns = [SwitchLowering(), IfLowering(), ForLowering(), WhileLowering()]
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns)).rewrite_module(op)
