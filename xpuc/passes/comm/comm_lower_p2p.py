"""``comm-lower-p2p``: a collective with a chosen algorithm becomes its schedule.

Each collective that ``comm-select-algorithms`` gave an ``xpu.algorithm`` (other
than ``native``, which stays for the backend's own collective) is replaced by an
``xpu.p2p_schedule`` holding the algorithm's point-to-point steps for one group
(:mod:`xpuc.comm.schedule`).  All groups of the grid axes must get the same steps
(they do on a symmetric topology); the pass checks that and says which group
differs otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr, i32, i64
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from xpuc.comm.sharding import ShardingError, describe, grids
from xpuc.dialects.shard_ext import AllGatherOp, AllToAllOp, ReduceScatterOp
from xpuc.dialects.xpu_comm import P2PScheduleOp
from xpuc.passes.comm.comm_select_algorithms import (
    KIND,
    all_groups,
    buffer_bytes,
    collectives,
    load_topology,
)

_CHECKED_GROUPS = 64


def _axis_props(c) -> dict:
    if isinstance(c, AllGatherOp):
        return {"axis": c.gather_axis}
    if isinstance(c, ReduceScatterOp):
        return {"axis": c.scatter_axis}
    if isinstance(c, AllToAllOp):
        return {"axis": c.split_axis, "concat_axis": c.concat_axis}
    return {}


@dataclass(frozen=True)
class CommLowerP2P(ModulePass):
    name = "comm-lower-p2p"

    topology: str = ""

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        from xpuc.comm.algorithms import predict_concurrent, schedule

        _, topo = load_topology(op, self.topology)
        shapes = grids(op)
        for c in collectives(op):
            alg = c.attributes.get("xpu.algorithm")
            if not isinstance(alg, StringAttr) or alg.data == "native":
                continue
            kind = KIND[type(c)]
            shape = shapes[c.grid.root_reference.data]  # type: ignore[attr-defined]
            groups = all_groups(shape, tuple(c.grid_axes.get_values()))  # type: ignore[attr-defined]
            size = buffer_bytes(c)
            try:
                plan = predict_concurrent(kind, alg.data, groups, topo, size)
                seg = plan.segments if plan is not None else None
                sched = schedule(kind, alg.data, list(groups[0]), topo, segments=seg)
            except ValueError as e:  # unknown or not applicable here
                raise ShardingError(f"{describe(c)}: {e}") from None
            rows = sched.rows()
            for g in groups[1:_CHECKED_GROUPS]:
                if schedule(kind, alg.data, list(g), topo, segments=seg).rows() != rows:
                    raise ShardingError(
                        f"{describe(c)}: algorithm {alg.data} needs different steps on group "
                        f"{list(g)} than on {list(groups[0])}; lower it per group or use native"
                    )
            props = {
                "grid": c.grid,  # type: ignore[attr-defined]
                "grid_axes": c.grid_axes,  # type: ignore[attr-defined]
                "kind": StringAttr(kind),
                "algorithm": alg,
                "nranks": IntegerAttr(sched.nranks, i64),
                "chunks": IntegerAttr(sched.chunks, i64),
                "steps": DenseArrayBase.from_list(i32, [x for r in rows for x in r]),
                **_axis_props(c),
            }
            if hasattr(c, "reduction"):
                props["reduction"] = c.reduction  # type: ignore[attr-defined]
            attrs = {k: v for k, v in c.attributes.items() if k != "xpu.algorithm"}
            new = P2PScheduleOp.create(
                operands=list(c.operands),
                result_types=[c.results[0].type],
                properties=props,
                attributes=attrs,
            )
            Rewriter.replace_op(c, new)
