"""Upstream ``shard`` ops that xDSL 0.74 does not model yet.

They keep upstream MLIR's names and syntax (``mlir/Dialect/Shard/IR/ShardOps.td``);
``registry.py`` adds them to the ``shard`` dialect xpuc loads.  Axes are ``index``
attributes, printed bare, as upstream prints them.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IndexType, IntegerAttr, TensorType
from xdsl.dialects.shard import (
    CollectiveCommunicationOp,
    ReductionKind,
    ReductionKindAttr,
    ShardAxesAttr,
)
from xdsl.ir import SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, prop_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

_AXES = "$input `on` $grid (`grid_axes` `=` $grid_axes^)? "


def _axis(value: int) -> IntegerAttr:
    return IntegerAttr(value, IndexType())


def _props(grid: str, axes: ShardAxesAttr, **axis_props: int) -> dict:
    from xdsl.dialects.builtin import FlatSymbolRefAttr

    out: dict = {"grid": FlatSymbolRefAttr(grid), "grid_axes": axes}
    out.update({k: _axis(v) for k, v in axis_props.items()})
    return out


class _TensorCollective(CollectiveCommunicationOp):
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    def _check_axis(self, axis: IntegerAttr, what: str) -> int:
        a = axis.value.data
        rank = self.input.type.get_num_dims()  # type: ignore[union-attr]
        if not 0 <= a < rank:
            raise VerifyException(f"'{self.name}' {what} {a} is out of range for rank {rank}")
        return a


@irdl_op_definition
class AllGatherOp(_TensorCollective):
    """Every device of a group gets the concatenation of the group's shards along
    ``gather_axis`` (in the group's order)."""

    name = "shard.all_gather"
    gather_axis = prop_def(IntegerAttr[IndexType])
    assembly_format = (
        _AXES + "`gather_axis` `=` $gather_axis attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(self, x: SSAValue, grid: str, axes: ShardAxesAttr, axis: int, result: TensorType):
        super().__init__(
            operands=[x], result_types=[result], properties=_props(grid, axes, gather_axis=axis)
        )

    def verify_(self) -> None:
        self._check_axis(self.gather_axis, "gather_axis")


@irdl_op_definition
class AllSliceOp(_TensorCollective):
    """Each device keeps its own slice of a replicated tensor along ``slice_axis``:
    no communication."""

    name = "shard.all_slice"
    slice_axis = prop_def(IntegerAttr[IndexType])
    assembly_format = (
        _AXES + "`slice_axis` `=` $slice_axis attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(self, x: SSAValue, grid: str, axes: ShardAxesAttr, axis: int, result: TensorType):
        super().__init__(
            operands=[x], result_types=[result], properties=_props(grid, axes, slice_axis=axis)
        )

    def verify_(self) -> None:
        self._check_axis(self.slice_axis, "slice_axis")


@irdl_op_definition
class AllToAllOp(_TensorCollective):
    """Each device splits its tensor along ``split_axis`` into one piece per device
    and gets everyone's piece for it, concatenated along ``concat_axis``."""

    name = "shard.all_to_all"
    split_axis = prop_def(IntegerAttr[IndexType])
    concat_axis = prop_def(IntegerAttr[IndexType])
    assembly_format = (
        _AXES + "`split_axis` `=` $split_axis `concat_axis` `=` $concat_axis attr-dict "
        "`:` type($input) `->` type($result)"
    )

    def __init__(
        self,
        x: SSAValue,
        grid: str,
        axes: ShardAxesAttr,
        split: int,
        concat: int,
        result: TensorType,
    ):
        props = _props(grid, axes, split_axis=split, concat_axis=concat)
        super().__init__(operands=[x], result_types=[result], properties=props)

    def verify_(self) -> None:
        self._check_axis(self.split_axis, "split_axis")
        self._check_axis(self.concat_axis, "concat_axis")


@irdl_op_definition
class ReduceScatterOp(_TensorCollective):
    """Reduce over the group, then each device keeps its slice along
    ``scatter_axis``."""

    name = "shard.reduce_scatter"
    reduction = prop_def(ReductionKindAttr, default_value=ReductionKindAttr(ReductionKind.SUM))
    scatter_axis = prop_def(IntegerAttr[IndexType])
    assembly_format = (
        _AXES + "(`reduction` `=` $reduction^)? `scatter_axis` `=` $scatter_axis attr-dict "
        "`:` type($input) `->` type($result)"
    )

    def __init__(
        self,
        x: SSAValue,
        grid: str,
        axes: ShardAxesAttr,
        axis: int,
        result: TensorType,
        reduction: ReductionKind = ReductionKind.SUM,
    ):
        props = _props(grid, axes, scatter_axis=axis)
        props["reduction"] = ReductionKindAttr(reduction)
        super().__init__(operands=[x], result_types=[result], properties=props)

    def verify_(self) -> None:
        self._check_axis(self.scatter_axis, "scatter_axis")


SHARD_EXTRA_OPS = [AllGatherOp, AllSliceOp, AllToAllOp, ReduceScatterOp]
