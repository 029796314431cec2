"""Collective algorithms: their schedules, their predicted times, the choice between them.

``group`` is the device ids of one collective group in rank order; a schedule's ranks
are positions in it.  ``nbytes`` is the size of the buffer the schedule works on
(``schedule.py``): the all_reduce tensor, the all_gather *output*, the whole
reduce_scatter input, one rank's all_to_all input.

The segment count of ``tree`` depends on the message size, which ``schedule`` does
not know: ``predict_plan`` returns it (``Plan.segments``), and
``schedule(kind, plan.algorithm, group, topo, segments=plan.segments)`` builds the
schedule that was costed.  ``"native"`` is the backend's own collective: it has no
schedule, and is predicted only from a calibrated ``topology.native[kind]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from xpuc.comm import cost
from xpuc.comm.algos.base import Group, NotApplicable
from xpuc.comm.algos.doubling import Rabenseifner, RecursiveDoubling, RecursiveHalving
from xpuc.comm.algos.hierarchical import Hierarchical
from xpuc.comm.algos.pairwise import Pairwise
from xpuc.comm.algos.ring import HeteroRing, Ring
from xpuc.comm.algos.tree import DoubleTree
from xpuc.comm.schedule import KINDS, Schedule
from xpuc.comm.topology import Topology

NATIVE = "native"
ALGORITHMS: dict[str, dict[str, type]] = {
    "all_reduce": {
        "ring": Ring,
        "tree": DoubleTree,
        "recursive_doubling": RecursiveDoubling,
        "rabenseifner": Rabenseifner,
        "hierarchical": Hierarchical,
        "hetero_ring": HeteroRing,
    },
    "all_gather": {
        "ring": Ring,
        "recursive_doubling": RecursiveDoubling,
        "hierarchical": Hierarchical,
        "hetero_ring": HeteroRing,
    },
    "reduce_scatter": {
        "ring": Ring,
        "recursive_halving": RecursiveHalving,
        "hierarchical": Hierarchical,
        "hetero_ring": HeteroRing,
    },
    "all_to_all": {"pairwise": Pairwise},
}

__all__ = ["ALGORITHMS", "NATIVE", "NotApplicable", "Plan", "algorithms", "choose",
           "choose_concurrent", "predict", "predict_concurrent", "predict_plan",
           "schedule"]  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """A costed choice: build it with ``schedule(..., segments=plan.segments)``."""

    kind: str
    algorithm: str
    seconds: float
    segments: int | None = None


def algorithms(kind: str) -> list[str]:
    """The algorithm names of a collective kind, ``native`` last."""
    return [*_table(kind), NATIVE]


def _table(kind: str) -> dict[str, type]:
    if kind not in ALGORITHMS:
        raise ValueError(f"unknown collective kind '{kind}' (one of {', '.join(KINDS)})")
    return ALGORITHMS[kind]


def _impl(kind: str, algorithm: str):
    table = _table(kind)
    if algorithm not in table and algorithm != NATIVE:
        raise ValueError(
            f"unknown {kind} algorithm '{algorithm}' (one of {', '.join(algorithms(kind))})"
        )
    return table.get(algorithm)


def _group(group: Sequence[int], topo: Topology) -> Group:
    key = ("group", tuple(group))
    g = topo.cache.get(key)
    if g is None:
        t = key[1]
        if not t:
            raise ValueError("empty group")
        if len(set(t)) != len(t):
            raise ValueError(f"group lists a device twice: {list(t)}")
        bad = [d for d in t if not 0 <= d < topo.size]
        if bad:
            raise ValueError(f"group has devices {bad} outside topology '{topo.name}' "
                             f"(0..{topo.size - 1})")  # fmt: skip
        g = topo.cache[key] = Group(t, topo)
    return g


def schedule(
    kind: str,
    algorithm: str,
    group: Sequence[int],
    topology: Topology,
    segments: int | None = None,
) -> Schedule:
    """The point-to-point schedule of ``algorithm`` for ``kind`` on ``group``.

    ``segments``: pipeline segments of ``tree`` (default 4; others ignore it).
    Raises ``NotApplicable`` (a ValueError) when the algorithm cannot run here.
    """
    impl = _impl(kind, algorithm)
    if impl is None:
        raise NotApplicable(f"'native' {kind} is the backend's own collective: no schedule")
    g = _group(group, topology)
    why = impl.applicable(kind, g)
    if why:
        raise NotApplicable(f"{algorithm} {kind} on {g.n} ranks: {why}")
    return impl.build(kind, g, segments)


def _profile(kind: str, algorithm: str, g: Group, segments: int | None) -> cost.Profile:
    key = ("profile", kind, algorithm, g.devices, segments)
    prof = g.topo.cache.get(key)
    if prof is None:
        impl = _impl(kind, algorithm)
        if hasattr(impl, "profile"):  # a vectorised shortcut for many distinct steps
            prof = impl.profile(kind, g, segments)
        else:
            chunks, patterns = impl.shape(kind, g, segments)
            prof = cost.profile(g.topo, g.devs, chunks, patterns)
        g.topo.cache[key] = prof
    return prof


def predict_plan(
    kind: str, algorithm: str, group: Sequence[int], topology: Topology, nbytes: float
) -> Plan | None:
    """The modelled time of ``algorithm`` (and its best segment count), or None."""
    impl = _impl(kind, algorithm)
    if impl is None:
        native = topology.native.get(kind)
        if native is None:
            return None
        return Plan(kind, NATIVE, native[0] + native[1] * nbytes)
    g = _group(group, topology)
    if impl.applicable(kind, g):
        return None
    choices: Iterable[int | None] = [None]
    if hasattr(impl, "segment_candidates"):
        choices = impl.segment_candidates(kind, g, nbytes)
    best: Plan | None = None
    for seg in choices:
        t = cost.evaluate(_profile(kind, algorithm, g, seg), nbytes)
        if best is None or t < best.seconds:
            best = Plan(kind, algorithm, t, seg)
    return best


def predict(
    kind: str, algorithm: str, group: Sequence[int], topology: Topology, nbytes: float
) -> float | None:
    """Modelled seconds of ``algorithm`` for ``nbytes``; None when not applicable."""
    plan = predict_plan(kind, algorithm, group, topology, nbytes)
    return None if plan is None else plan.seconds


def choose(
    kind: str,
    group: Sequence[int],
    topology: Topology,
    nbytes: float,
    algorithms: Iterable[str] | None = None,
) -> list[tuple[str, float]]:
    """Applicable algorithms with their modelled seconds, fastest first."""
    return choose_concurrent(kind, [group], topology, nbytes, algorithms)


# -- groups that run one collective at once -------------------------------------------
#
# A collective over some grid axes runs in every group of the other axes at the same
# time (the DP all-reduce of a DP x TP grid: one group per TP rank).  Their messages
# share what the groups share: a node's nics.  The joint profile merges the groups'
# steps (ranks renumbered group after group) and costs them as one step each, so the
# time is the slowest group's with the contention of all; groups whose steps do not
# line up (different step counts) are costed alone, the slowest taken.


def _shape(kind: str, algorithm: str, g: Group, segments: int | None):
    """``impl.shape`` of ``g``, shared by groups laid out alike: a shape depends only on
    the group's size and which ranks share a node and a rack, in id order."""

    def dense(ids: list[int]) -> tuple[int, ...]:
        order = {v: i for i, v in enumerate(sorted(set(ids)))}
        return tuple(order[v] for v in ids)

    key = ("shape", kind, algorithm, dense(g.node), dense(g.rack), segments)
    shape = g.topo.cache.get(key)
    if shape is None:
        shape = g.topo.cache[key] = _impl(kind, algorithm).shape(kind, g, segments)  # type: ignore[union-attr]
    return shape


def _joint_profile(kind: str, algorithm: str, gs: list[Group], segments: int | None):
    key = ("joint", kind, algorithm, tuple(g.devices for g in gs), segments)
    topo = gs[0].topo
    if key in topo.cache:
        return topo.cache[key]
    shapes = [_shape(kind, algorithm, g, segments) for g in gs]
    chunks, first = shapes[0]
    aligned = all(
        c == chunks
        and len(ps) == len(first)
        and all(p.count == q.count and p.merge == q.merge for p, q in zip(ps, first, strict=True))
        for c, ps in shapes
    )
    prof = None
    if aligned:
        offsets = np.cumsum([0] + [g.n for g in gs[:-1]])
        merged = []
        for j, p in enumerate(first):
            parts = [(ps[j], off) for (_, ps), off in zip(shapes, offsets, strict=True)]
            merged.append(cost.Pattern(
                p.count,
                np.concatenate([q.src + off for q, off in parts]),
                np.concatenate([q.dst + off for q, off in parts]),
                np.concatenate([np.broadcast_to(np.asarray(q.units, float), q.src.shape)
                                for q, _ in parts]),
                np.concatenate([np.broadcast_to(np.asarray(q.red, float), q.src.shape)
                                for q, _ in parts]),
                p.merge,
            ))  # fmt: skip
        devs = np.concatenate([g.devs for g in gs])
        prof = cost.profile(topo, devs, chunks, merged)
    topo.cache[key] = prof
    return prof


def predict_concurrent(
    kind: str, algorithm: str, groups: Sequence[Sequence[int]], topology: Topology, nbytes: float
) -> Plan | None:
    """The modelled time of ``algorithm`` run by all ``groups`` at once (see above)."""
    if len(groups) == 1 or _impl(kind, algorithm) is None:
        return predict_plan(kind, algorithm, groups[0], topology, nbytes)
    impl = _impl(kind, algorithm)
    gs = [_group(g, topology) for g in groups]
    if any(impl.applicable(kind, g) for g in gs):
        return None
    choices: Iterable[int | None] = [None]
    if hasattr(impl, "segment_candidates"):
        choices = impl.segment_candidates(kind, gs[0], nbytes)
    best: Plan | None = None
    for seg in choices:
        prof = _joint_profile(kind, algorithm, gs, seg)
        if prof is None:  # the groups' steps do not line up: each alone, the slowest
            t = max(cost.evaluate(_profile(kind, algorithm, g, seg), nbytes) for g in gs)
        else:
            t = cost.evaluate(prof, nbytes)
        if best is None or t < best.seconds:
            best = Plan(kind, algorithm, t, seg)
    return best


def choose_concurrent(
    kind: str,
    groups: Sequence[Sequence[int]],
    topology: Topology,
    nbytes: float,
    algorithms: Iterable[str] | None = None,
) -> list[tuple[str, float]]:
    """As :func:`choose`, for ``groups`` running the collective at once."""
    names = list(algorithms) if algorithms is not None else [*_table(kind), NATIVE]
    out = []
    for name in names:
        plan = predict_concurrent(kind, name, groups, topology, nbytes)
        if plan is not None:
            out.append((name, plan.seconds))
    return sorted(out, key=lambda x: x[1])
