"""Communication that turns a tensor sharded one way into the same tensor sharded
another way, one grid axis at a time (upstream ``shard``'s resharding):

- an axis that stops splitting a dimension: ``shard.all_gather`` along it;
- an axis that starts splitting one: ``shard.all_slice`` (no communication);
- an axis that moves from dimension ``d1`` to ``d2``: ``shard.all_to_all``.
"""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType
from xdsl.dialects.shard import ReductionKind
from xdsl.ir import Operation, SSAValue

from xpuc.comm.sharding import Sharding, ShardingError, axes_attr, local_type
from xpuc.dialects.shard_ext import AllGatherOp, AllSliceOp, AllToAllOp


class Emitter:
    """Builds local (per-device) ops for one function, in order, into ``ops``."""

    def __init__(self, grid: str, grid_shape: tuple[int, ...]):
        self.grid = grid
        self.grid_shape = grid_shape
        self.ops: list[Operation] = []

    def add(self, op: Operation) -> Operation:
        self.ops.append(op)
        return op

    def local(self, gtype: TensorType, s: Sharding) -> TensorType:
        return local_type(gtype, s, self.grid_shape)

    def all_reduce(self, x: SSAValue, axes: tuple[int, ...], kind: ReductionKind) -> SSAValue:
        from xdsl.dialects.builtin import FlatSymbolRefAttr
        from xdsl.dialects.shard import AllReduceOp, ReductionKindAttr

        op = AllReduceOp.create(
            operands=[x],
            result_types=[x.type],
            properties={
                "grid": FlatSymbolRefAttr(self.grid),
                "grid_axes": axes_attr(tuple(sorted(axes))),
                "reduction": ReductionKindAttr(kind),
            },
        )
        return self.add(op).results[0]

    def reshard(self, x: SSAValue, gtype: TensorType, src: Sharding, dst: Sharding) -> SSAValue:
        """``x`` (local, sharded ``src``) as sharded ``dst``."""
        if src == dst:
            return x
        cur = list(src.split)
        moved = {a for a in src.used_axes() | dst.used_axes()}
        for a in sorted(moved):
            ds, dt = src.dim_of_axis(a), dst.dim_of_axis(a)
            if ds == dt:
                continue
            if ds is not None:
                if cur[ds][-1:] != (a,):
                    raise ShardingError(
                        f"resharding {src} to {dst}: grid axis {a} is not the innermost "
                        f"split of dimension {ds}"
                    )
                cur[ds] = cur[ds][:-1]
            if dt is not None:
                cur[dt] = cur[dt] + (a,)
            result = self.local(gtype, Sharding(src.grid, tuple(cur)))
            ax = axes_attr((a,))
            if ds is not None and dt is not None:
                op: Operation = AllToAllOp(x, self.grid, ax, dt, ds, result)
            elif ds is not None:
                op = AllGatherOp(x, self.grid, ax, ds, result)
            else:
                op = AllSliceOp(x, self.grid, ax, dt, result)  # type: ignore[arg-type]
            x = self.add(op).results[0]
        if tuple(cur) != dst.split:
            raise ShardingError(f"cannot reshard {src} to {dst} (axis order within a dimension)")
        return x
