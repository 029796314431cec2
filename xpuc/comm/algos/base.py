"""What every algorithm shares: the group it runs on, a schedule builder, ring helpers.

An algorithm is a subclass of :class:`Algorithm` with static methods:
``build(kind, g, segments) -> Schedule`` (the transfers) and
``shape(kind, g, segments) -> (chunks, [Pattern])`` (the same steps as arrays of
messages, repeated steps folded, for the cost model), plus ``KINDS``, the collective
kinds it implements, and ``applicable(kind, g) -> str | None`` (why not, or None).
Optional: ``profile`` (a vectorised shortcut for ``shape``) and ``segment_candidates``
(pipeline segment counts ``predict_plan`` tries).
``tests/comm/test_algorithms.py`` checks that ``build`` and ``shape`` agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from xpuc.comm.cost import Pattern
from xpuc.comm.schedule import RECV, RECV_REDUCE, SEND, Schedule, Transfer
from xpuc.comm.topology import Topology


class NotApplicable(ValueError):
    """The algorithm cannot run this collective on this group."""


@dataclass
class Group:
    """The devices of one collective group, in group (rank) order."""

    devices: tuple[int, ...]
    topo: Topology
    devs: np.ndarray = field(init=False)
    node: list[int] = field(init=False)
    rack: list[int] = field(init=False)

    def __post_init__(self):
        self.devs = np.asarray(self.devices, dtype=np.int64)
        self.node = [self.topo.devices[d].node for d in self.devices]
        self.rack = [self.topo.devices[d].rack for d in self.devices]

    @property
    def n(self) -> int:
        return len(self.devices)

    def by_node(self) -> list[list[int]]:
        """Ranks per node, nodes in order of their first rank."""
        out: dict[int, list[int]] = {}
        for r, nd in enumerate(self.node):
            out.setdefault(nd, []).append(r)
        return list(out.values())

    def hetero_order(self) -> list[int]:
        """A ring order that enters each rack and each node once (fewest slow hops)."""
        return sorted(range(self.n), key=lambda r: (self.rack[r], self.node[r], r))


class Algorithm:
    """Base of the algorithm classes: by default an algorithm runs on any group."""

    KINDS: tuple[str, ...] = ()

    @staticmethod
    def applicable(kind: str, g: Group) -> str | None:
        return None


class Builder:
    def __init__(self, kind: str, algorithm: str, n: int, chunks: int):
        self.kind, self.algorithm, self.n, self.chunks = kind, algorithm, n, chunks
        self.steps: list[list[Transfer]] = []

    def msg(self, step: int, src: int, dst: int, lo: int, hi: int, reduce: bool) -> None:
        if hi <= lo:
            return
        while len(self.steps) <= step:
            self.steps.append([])
        self.steps[step].append(Transfer(src, SEND, dst, lo, hi))
        self.steps[step].append(Transfer(dst, RECV_REDUCE if reduce else RECV, src, lo, hi))

    def units(self, step: int, src: int, dst: int, units: Iterable[int], reduce: bool) -> None:
        """One message of the given units (consecutive runs become one transfer)."""
        lo = hi = None
        for u in units:
            if hi is not None and u == hi:
                hi += 1
                continue
            if lo is not None:
                self.msg(step, src, dst, lo, hi, reduce)  # type: ignore[arg-type]
            lo, hi = u, u + 1
        if lo is not None:
            self.msg(step, src, dst, lo, hi, reduce)  # type: ignore[arg-type]

    def build(self) -> Schedule:
        return Schedule(self.kind, self.algorithm, self.n, self.chunks, self.steps)


def ring_reduce_scatter(
    b: Builder, step: int, order: Sequence[int], blocks: Sequence[Sequence[int]]
) -> int:
    """Ring reduce-scatter: ring position ``i`` ends with ``blocks[i]`` reduced."""
    m = len(order)
    for s in range(m - 1):
        for i in range(m):
            b.units(step + s, order[i], order[(i + 1) % m], blocks[(i - 1 - s) % m], True)
    return step + max(m - 1, 0)


def ring_all_gather(
    b: Builder, step: int, order: Sequence[int], blocks: Sequence[Sequence[int]]
) -> int:
    """Ring all-gather: ring position ``i`` starts with ``blocks[i]``; all end with all."""
    m = len(order)
    for s in range(m - 1):
        for i in range(m):
            b.units(step + s, order[i], order[(i + 1) % m], blocks[(i - s) % m], False)
    return step + max(m - 1, 0)


def ring_edges(orders: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The edges of several concurrent rings, each given by its rank order."""
    src = np.concatenate([np.asarray(o, dtype=np.int64) for o in orders])
    dst = np.concatenate([np.roll(np.asarray(o, dtype=np.int64), -1) for o in orders])
    return src, dst


def ring_patterns(
    orders: Sequence[Sequence[int]], units: int, reduce: bool, gather: bool
) -> list[Pattern]:
    """Patterns of concurrent rings of equal length: RS steps, then (gather) AG steps."""
    m = len(orders[0])
    src, dst = ring_edges(orders)
    out = []
    if reduce:
        out.append(Pattern(m - 1, src, dst, units, units))
    if gather:
        out.append(Pattern(m - 1, src, dst, units, 0))
    return out


def pow2_floor(n: int) -> int:
    return 1 << (n.bit_length() - 1)
