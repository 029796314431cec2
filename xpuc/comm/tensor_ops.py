"""Small builders for the upstream ``tensor`` ops the comm passes emit."""

from __future__ import annotations

from math import prod

from xdsl.dialects import tensor
from xdsl.dialects.builtin import ArrayAttr, IntegerAttr, TensorType, i64
from xdsl.ir import Operation, SSAValue


def nbytes(t: TensorType) -> int:
    """The size of a tensor type's data in bytes (sub-byte elements count as one)."""
    width = t.element_type.bitwidth  # type: ignore[attr-defined]
    return prod(t.get_shape()) * max(width // 8, 1)


def _reassoc(rank: int) -> ArrayAttr:
    return ArrayAttr([ArrayAttr([IntegerAttr(d, i64) for d in range(rank)])])


def flatten(x: SSAValue) -> Operation:
    t = x.type
    assert isinstance(t, TensorType)
    out = TensorType(t.element_type, (prod(t.get_shape()),))
    return tensor.CollapseShapeOp.create(
        operands=[x], result_types=[out], properties={"reassociation": _reassoc(len(t.get_shape()))}
    )


def unflatten(x: SSAValue, t: TensorType) -> Operation:
    return tensor.ExpandShapeOp(x, [], _reassoc(len(t.get_shape())), t.get_shape(), t)


def concat(xs: list[SSAValue], dim: int) -> Operation:
    t = xs[0].type
    assert isinstance(t, TensorType)
    shape = list(t.get_shape())
    shape[dim] = sum(x.type.get_shape()[dim] for x in xs)  # type: ignore[attr-defined]
    return tensor.ConcatOp.create(
        operands=xs,
        result_types=[TensorType(t.element_type, shape)],
        properties={"dim": IntegerAttr(dim, i64)},
    )


def rows(x: SSAValue, dim: int, start: int, size: int) -> Operation:
    """``size`` entries from ``start`` along ``dim``, everything along the others."""
    shape = list(x.type.get_shape())  # type: ignore[attr-defined]
    offsets = [0] * len(shape)
    offsets[dim], shape[dim] = start, size
    return tensor.ExtractSliceOp.from_static_parameters(x, offsets, shape)
