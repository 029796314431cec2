"""``xpu`` ops of multi-card programs.

Upstream ``shard`` says *what* a collective computes; how it is carried out (ring,
tree, ...) is left to a runtime library.  xpuc plans it in the compiler, so it needs
an op for a collective lowered to its point-to-point steps.
"""

from __future__ import annotations

from xdsl.dialects.builtin import (
    I32,
    DenseArrayBase,
    FlatSymbolRefAttr,
    IndexType,
    IntegerAttr,
    StringAttr,
    TensorType,
)
from xdsl.dialects.shard import ReductionKind, ReductionKindAttr, ShardAxesAttr
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
)
from xdsl.utils.exceptions import VerifyException

from xpuc.comm.schedule import KINDS, Schedule

ROW = 6  # (step, rank, op, peer, lo, hi): see xpuc/comm/schedule.py


@irdl_op_definition
class P2PScheduleOp(IRDLOperation):
    """A ``shard`` collective carried out as a schedule of sends and receives.

    ``kind`` is the collective (``all_reduce``, ``all_gather``, ``reduce_scatter``,
    ``all_to_all``) with the upstream op's meaning and axes (``axis``: the gather,
    scatter or split axis; ``concat_axis`` for ``all_to_all``).  ``steps`` holds the
    schedule of one group of ``nranks`` devices as rows ``(step, rank, op, peer, lo,
    hi)`` over ``chunks`` units of the flat buffer: op 0 sends units ``[lo, hi)`` to
    ``peer``, 1 receives them, 2 receives and reduces (``xpuc/comm/schedule.py``).
    Every group of the grid axes runs the same schedule on its own devices.
    """

    name = "xpu.p2p_schedule"

    input = operand_def(TensorType)
    result = result_def(TensorType)
    grid = prop_def(FlatSymbolRefAttr)
    grid_axes = prop_def(ShardAxesAttr)
    kind = prop_def(StringAttr)
    algorithm = prop_def(StringAttr)
    reduction = prop_def(ReductionKindAttr, default_value=ReductionKindAttr(ReductionKind.SUM))
    axis = opt_prop_def(IntegerAttr[IndexType])
    concat_axis = opt_prop_def(IntegerAttr[IndexType])
    nranks = prop_def(IntegerAttr)
    chunks = prop_def(IntegerAttr)
    steps = prop_def(DenseArrayBase[I32])

    assembly_format = (
        "$kind $input `on` $grid `grid_axes` `=` $grid_axes `algorithm` `=` $algorithm "
        "(`reduction` `=` $reduction^)? (`axis` `=` $axis^)? "
        "(`concat_axis` `=` $concat_axis^)? `nranks` `=` $nranks `chunks` `=` $chunks "
        "`steps` `=` $steps attr-dict `:` type($input) `->` type($result)"
    )

    def verify_(self) -> None:
        if self.kind.data not in KINDS:
            raise VerifyException(f"'xpu.p2p_schedule' kind must be one of {', '.join(KINDS)}")
        rows = self.steps.get_values()
        n, c = self.nranks.value.data, self.chunks.value.data
        if len(rows) % ROW:
            raise VerifyException("'xpu.p2p_schedule' steps must be rows of 6 integers")
        for i in range(0, len(rows), ROW):
            _, rank, op, peer, lo, hi = rows[i : i + ROW]
            if not (0 <= rank < n and 0 <= peer < n and op in (0, 1, 2) and 0 <= lo < hi <= c):
                raise VerifyException(
                    f"'xpu.p2p_schedule' row {i // ROW} {list(rows[i : i + ROW])} is out of "
                    f"range for {n} ranks and {c} chunks"
                )

    def schedule(self) -> Schedule:
        rows = self.steps.get_values()
        return Schedule.from_rows(
            self.kind.data,
            self.algorithm.data,
            self.nranks.value.data,
            self.chunks.value.data,
            [tuple(rows[i : i + ROW]) for i in range(0, len(rows), ROW)],
        )


XPU_COMM_OPS = [P2PScheduleOp]
