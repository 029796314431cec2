"""``convert-scf-while-to-cf``: lower ``scf.while`` to branches.

xDSL's ``convert-scf-to-cf`` lowers ``scf.if``, ``scf.for`` and ``scf.index_switch``
but not ``scf.while``; this pass adds the missing pattern, following upstream MLIR's
``WhileLowering``: the "before" region becomes the loop header, ``scf.condition``
a conditional branch to the "after" region or out of the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, scf
from xdsl.dialects.cf import BranchOp, ConditionalBranchOp
from xdsl.ir import Block
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import BlockInsertPoint, InsertPoint


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

        rewriter.replace_op(
            condition,
            ConditionalBranchOp(
                condition.condition, after_first, condition.arguments,
                continue_block, condition.arguments,
            ),
        )  # fmt: skip
        rewriter.replace_op(yield_op, BranchOp(before_first, *yield_op.arguments))
        rewriter.inline_region(op.before_region, BlockInsertPoint.before(continue_block))
        rewriter.inline_region(op.after_region, BlockInsertPoint.before(continue_block))
        rewriter.insert(BranchOp(before_first, *op.arguments), InsertPoint.at_end(init_block))
        rewriter.replace_op(op, [], continue_block.args)


@dataclass(frozen=True)
class ConvertScfWhileToCf(ModulePass):
    name = "convert-scf-while-to-cf"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        PatternRewriteWalker(WhileLowering()).rewrite_module(op)
