"""Upstream ``shard`` ops that xDSL 0.74 does not model yet.

They keep upstream MLIR's names and syntax (``mlir/Dialect/Shard/IR/ShardOps.td``);
``registry.py`` adds them to the ``shard`` dialect xpuc loads.  Axes are ``index``
attributes, printed bare, as upstream prints them.
"""

from __future__ import annotations

from typing import ClassVar

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
    """Base: a collective on tensors whose ``AXES`` properties name tensor dimensions."""

    AXES: ClassVar[tuple[str, ...]] = ()
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    def verify_(self) -> None:
        rank = self.input.type.get_num_dims()  # type: ignore[union-attr]
        for what in self.AXES:
            a = getattr(self, what).value.data
            if not 0 <= a < rank:
                raise VerifyException(f"'{self.name}' {what} {a} is out of range for rank {rank}")


class _OneAxis(_TensorCollective):
    def __init__(self, x: SSAValue, grid: str, axes: ShardAxesAttr, axis: int, result: TensorType):
        props = _props(grid, axes, **{self.AXES[0]: axis})
        super().__init__(operands=[x], result_types=[result], properties=props)


@irdl_op_definition
class AllGatherOp(_OneAxis):
    """Every device of a group gets the concatenation of the group's shards along
    ``gather_axis`` (in the group's order)."""

    name = "shard.all_gather"
    AXES: ClassVar[tuple[str, ...]] = ("gather_axis",)
    gather_axis = prop_def(IntegerAttr[IndexType])
    assembly_format = (
        _AXES + "`gather_axis` `=` $gather_axis attr-dict `:` type($input) `->` type($result)"
    )


@irdl_op_definition
class AllSliceOp(_OneAxis):
    """Each device keeps its own slice of a replicated tensor along ``slice_axis``:
    no communication."""

    name = "shard.all_slice"
    AXES: ClassVar[tuple[str, ...]] = ("slice_axis",)
    slice_axis = prop_def(IntegerAttr[IndexType])
    assembly_format = (
        _AXES + "`slice_axis` `=` $slice_axis attr-dict `:` type($input) `->` type($result)"
    )


@irdl_op_definition
class AllToAllOp(_TensorCollective):
    """Each device splits its tensor along ``split_axis`` into one piece per device
    and gets everyone's piece for it, concatenated along ``concat_axis``."""

    name = "shard.all_to_all"
    AXES: ClassVar[tuple[str, ...]] = ("split_axis", "concat_axis")
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


@irdl_op_definition
class ReduceScatterOp(_OneAxis):
    """Reduce over the group, then each device keeps its slice along
    ``scatter_axis``."""

    name = "shard.reduce_scatter"
    AXES: ClassVar[tuple[str, ...]] = ("scatter_axis",)
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
        super().__init__(x, grid, axes, axis, result)
        self.reduction = ReductionKindAttr(reduction)


SHARD_EXTRA_OPS = [AllGatherOp, AllSliceOp, AllToAllOp, ReduceScatterOp]
