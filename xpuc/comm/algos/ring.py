"""Ring collectives, in group order (``ring``) or in topology order (``hetero_ring``).

all_reduce: a reduce-scatter then an all-gather around the ring, ``n`` units (one per
ring position), ``2(n-1)`` steps.  all_gather / reduce_scatter: half of that, the
units being the group ranks' blocks.  ``hetero_ring`` orders the ring by rack, then
node, then rank, so it crosses each slow boundary as few times as a ring can; it is
``ring`` when the group is already in that order.
"""

from __future__ import annotations

from xpuc.comm.algos.base import (
    Algorithm,
    Builder,
    Group,
    ring_all_gather,
    ring_patterns,
    ring_reduce_scatter,
)
from xpuc.comm.cost import Pattern
from xpuc.comm.schedule import Schedule

KINDS = ("all_reduce", "all_gather", "reduce_scatter")


def _order(g: Group, hetero: bool) -> list[int]:
    return g.hetero_order() if hetero else list(range(g.n))


def _build(kind: str, g: Group, hetero: bool) -> Schedule:
    n, order = g.n, _order(g, hetero)
    b = Builder(kind, "hetero_ring" if hetero else "ring", n, n)
    if kind == "all_reduce":
        blocks = [[i] for i in range(n)]  # units by ring position: nobody owns a block
        ring_all_gather(b, ring_reduce_scatter(b, 0, order, blocks), order, blocks)
    else:
        blocks = [[r] for r in order]  # the block of the rank at each ring position
        if kind == "all_gather":
            ring_all_gather(b, 0, order, blocks)
        else:
            ring_reduce_scatter(b, 0, order, blocks)
    return b.build()


def _shape(kind: str, g: Group, hetero: bool) -> tuple[int, list[Pattern]]:
    order = _order(g, hetero)
    return g.n, ring_patterns([order], 1, kind != "all_gather", kind != "reduce_scatter")


class Ring(Algorithm):
    KINDS = KINDS

    @staticmethod
    def build(kind: str, g: Group, segments: int | None) -> Schedule:
        return _build(kind, g, False)

    @staticmethod
    def shape(kind: str, g: Group, segments: int | None) -> tuple[int, list[Pattern]]:
        return _shape(kind, g, False)


class HeteroRing(Ring):
    @staticmethod
    def build(kind: str, g: Group, segments: int | None) -> Schedule:
        return _build(kind, g, True)

    @staticmethod
    def shape(kind: str, g: Group, segments: int | None) -> tuple[int, list[Pattern]]:
        return _shape(kind, g, True)
