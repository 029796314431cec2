"""How a tensor is laid out over a device grid, and the IR around it.

A :class:`Sharding` is upstream ``shard``'s ``split_axes``: for each tensor dimension,
the grid axes that split it (empty: not split).  A tensor no dimension of which is
split is replicated.  The passes under ``xpuc/passes/comm/`` read and write it as
``shard.sharding`` ops; programs carry one grid (``shard.grid``), found here.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from xdsl.dialects import builtin, func, shard
from xdsl.dialects.builtin import BytesAttr, FlatSymbolRefAttr, TensorType, i16
from xdsl.ir import Operation, SSAValue

from xpuc.compiler.diagnostics import XpucError


class ShardingError(XpucError):
    """A program whose sharding xpuc cannot partition (named op, reason)."""


def axes_attr(axes: tuple[int, ...]) -> shard.ShardAxesAttr:
    return shard.ShardAxesAttr(i16, BytesAttr(i16.pack(list(axes))))


@dataclass(frozen=True)
class Sharding:
    """``split[d]``: the grid axes splitting tensor dimension ``d``."""

    grid: str
    split: tuple[tuple[int, ...], ...]

    @staticmethod
    def replicated(grid: str, rank: int) -> Sharding:
        return Sharding(grid, ((),) * rank)

    @staticmethod
    def of_op(op: shard.ShardingOp) -> Sharding:
        split = tuple(tuple(a.get_values()) for a in op.split_axes.axes.data)
        return Sharding(op.grid.root_reference.data, split)

    def padded(self, rank: int) -> Sharding:
        """Upstream drops trailing unsplit dimensions; make one entry per dimension."""
        if len(self.split) > rank:
            raise ShardingError(f"sharding {self} has more dimensions than rank {rank}")
        return Sharding(self.grid, self.split + ((),) * (rank - len(self.split)))

    @property
    def is_replicated(self) -> bool:
        return not any(self.split)

    def used_axes(self) -> set[int]:
        return {a for axes in self.split for a in axes}

    def dim_of_axis(self, axis: int) -> int | None:
        for d, axes in enumerate(self.split):
            if axis in axes:
                return d
        return None

    def with_dim(self, d: int, axes: tuple[int, ...]) -> Sharding:
        split = list(self.split)
        split[d] = axes
        return Sharding(self.grid, tuple(split))

    def local_shape(self, shape: tuple[int, ...], grid_shape: tuple[int, ...], where: str = ""):
        out = []
        for d, (n, axes) in enumerate(zip(shape, self.split, strict=True)):
            parts = prod(grid_shape[a] for a in axes)
            if n % parts:
                raise ShardingError(
                    f"{where}dimension {d} of size {n} does not split evenly over "
                    f"grid axes {list(axes)} ({parts} parts)"
                )
            out.append(n // parts)
        return tuple(out)

    def __str__(self) -> str:
        inner = ", ".join("[" + ", ".join(map(str, a)) + "]" for a in self.split)
        return f"@{self.grid} [{inner}]"

    def build(self) -> shard.ShardingOp:
        """A ``shard.sharding`` op; trailing unsplit dimensions dropped, as upstream."""
        split = list(self.split)
        while split and not split[-1]:
            split.pop()
        arr = shard.ShardAxesArrayAttr(builtin.ArrayAttr([axes_attr(a) for a in split]))
        return shard.ShardingOp.create(
            properties={
                "grid": FlatSymbolRefAttr(self.grid),
                "split_axes": arr,
                "operandSegmentSizes": builtin.DenseArrayBase.from_list(builtin.i32, [0, 0]),
            },
            result_types=[shard.ShardingType()],
        )


def grids(module: builtin.ModuleOp) -> dict[str, tuple[int, ...]]:
    return {
        op.sym_name.data: tuple(op.shape.get_values())
        for op in module.walk()
        if isinstance(op, shard.GridOp)
    }


def tensor_shape(value: SSAValue) -> tuple[int, ...]:
    t = value.type
    assert isinstance(t, TensorType)
    return tuple(t.get_shape())


def local_type(t: TensorType, s: Sharding, grid_shape: tuple[int, ...], where: str = ""):
    shape = s.local_shape(tuple(t.get_shape()), grid_shape, where)
    return TensorType(t.element_type, shape)


def describe(op: Operation) -> str:
    """A short, printable name for an op in error messages."""
    text = str(op).splitlines()[0].strip()
    return text if len(text) <= 120 else text[:117] + "..."


def sharding_of(value: SSAValue) -> Sharding | None:
    """What the IR says about ``value``: the ``shard.shard`` that produced it, or the
    one that annotates it (a ``shard.shard`` user without ``annotate_for_users``)."""
    owner = value.owner
    if isinstance(owner, shard.ShardOp):
        return _of_shard_op(owner)
    for use in value.uses:
        user = use.operation
        if isinstance(user, shard.ShardOp) and user.annotate_for_users is None:
            return _of_shard_op(user)
    return None


def is_request(op: object) -> bool:
    """A ``shard.shard ... annotate_for_users``: a layout asked for by the result's users."""
    return isinstance(op, shard.ShardOp) and op.annotate_for_users is not None


def _of_shard_op(op: shard.ShardOp) -> Sharding:
    s = op.sharding.owner
    if not isinstance(s, shard.ShardingOp):
        raise ShardingError(f"{describe(op)}: the sharding must come from a shard.sharding op")
    return Sharding.of_op(s).padded(len(tensor_shape(op.result)))


def functions(module: builtin.ModuleOp) -> list[func.FuncOp]:
    return [op for op in module.ops if isinstance(op, func.FuncOp) and op.body.blocks]
