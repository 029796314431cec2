"""``comm-select-algorithms``: pick each collective's algorithm from a cost model.

For every ``shard.all_reduce``, ``all_gather``, ``reduce_scatter`` and ``all_to_all``
this pass predicts, with the alpha-beta-gamma model of :mod:`xpuc.comm.algorithms`
over the topology, how long each algorithm takes with every group of devices the
collective spans running it at once (grid position ``i`` is topology device ``i``;
messages of different groups through one node's nics share them), keeps the fastest,
and records::

    xpu.algorithm = "ring", xpu.predicted_s = 1.2e-05 : f64,
    xpu.runners_up = {tree = 1.4e-05 : f64, ...}

The topology is the pass option ``topology`` (a preset name or a JSON file), or else
the module's ``xpu.topology`` attribute; the pass writes the one it used there.
``algorithms`` restricts the candidates (comma-separated, ``native`` included).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from xdsl.context import Context
from xdsl.dialects import builtin, shard
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, StringAttr, f64
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from xpuc.comm.sharding import ShardingError, describe, grids
from xpuc.comm.tensor_ops import nbytes
from xpuc.dialects.shard_ext import AllGatherOp, AllToAllOp, ReduceScatterOp

KIND = {
    shard.AllReduceOp: "all_reduce",
    AllGatherOp: "all_gather",
    ReduceScatterOp: "reduce_scatter",
    AllToAllOp: "all_to_all",
}
TOPOLOGY = "xpu.topology"


def collectives(module: builtin.ModuleOp) -> list[Operation]:
    return [op for op in module.walk() if type(op) in KIND]


def buffer_bytes(op: Operation) -> int:
    """The bytes of the buffer a schedule of this collective works on (schedule.py):
    the input, except for an all-gather, whose buffer is the gathered result."""
    t = op.results[0].type if isinstance(op, AllGatherOp) else op.operands[0].type
    return nbytes(t)  # type: ignore[arg-type]


def all_groups(shape: tuple[int, ...], axes: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every group of ranks over grid ``axes``, each in group order."""
    from xpuc.comm.grid import all_groups as groups

    return [tuple(int(r) for r in row) for row in groups(shape, axes)]


def load_topology(module: builtin.ModuleOp, spec: str):
    from xpuc.comm.topology import Topology

    if not spec:
        attr = module.attributes.get(TOPOLOGY)
        if not isinstance(attr, StringAttr):
            raise ShardingError(
                "no topology: give comm-select-algorithms{topology=NAME_OR_JSON} or a module "
                f'attribute {TOPOLOGY} = "..."'
            )
        spec = attr.data
    return spec, Topology.load(spec)


def rank_candidates(kind: str, groups, topo, size: int, allowed) -> list[tuple[str, float]]:
    """Algorithms by predicted time, best first: all ``groups`` run the collective at
    once, so each algorithm is costed on all of them together (the slowest group,
    with the nics the groups share charged to every message that crosses them)."""
    from xpuc.comm.algorithms import choose_concurrent

    ok = choose_concurrent(kind, [list(g) for g in groups], topo, size, algorithms=allowed)
    if allowed and "native" in allowed and "native" not in dict(ok):
        # asked for by name, but the topology has no calibrated model of it
        ok.append(("native", float("inf")))
    return ok


@dataclass(frozen=True)
class CommSelectAlgorithms(ModulePass):
    name = "comm-select-algorithms"

    topology: str = ""
    algorithms: tuple[str, ...] = ()

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        spec, topo = load_topology(op, self.topology)
        op.attributes[TOPOLOGY] = StringAttr(spec)
        shapes = grids(op)
        names = self.algorithms
        allowed = [a for a in (names.split(",") if isinstance(names, str) else names) if a] or None
        cache: dict[tuple, list[tuple[str, float]]] = {}
        for c in collectives(op):
            shape = shapes[c.grid.root_reference.data]  # type: ignore[attr-defined]
            if prod(shape) > topo.size:
                raise ShardingError(
                    f"the grid has {prod(shape)} devices; topology {topo.name} has {topo.size}"
                )
            kind = KIND[type(c)]
            axes = tuple(c.grid_axes.get_values())  # type: ignore[attr-defined]
            size = buffer_bytes(c)
            key = (kind, shape, axes, size)
            if key not in cache:
                cache[key] = rank_candidates(kind, all_groups(shape, axes), topo, size, allowed)
            ranked = cache[key]
            if not ranked:
                raise ShardingError(f"{describe(c)}: no algorithm applies on {topo.name}")
            best, t = ranked[0]
            c.attributes["xpu.algorithm"] = StringAttr(best)
            c.attributes["xpu.predicted_s"] = FloatAttr(t, f64)
            c.attributes["xpu.runners_up"] = DictionaryAttr(
                {n: FloatAttr(s, f64) for n, s in ranked[1:]}
            )
