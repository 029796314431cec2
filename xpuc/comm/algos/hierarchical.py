"""Two-level collectives: rings inside each node, rings across nodes.

The group's ranks fall into ``k`` nodes of ``m`` ranks each (equal counts needed);
``M[q][i]`` is the ``i``-th rank (in group order) on the ``q``-th node.  All nodes (and
all local indices) run their rings at the same time.

- all_reduce (``m * k`` units, ``m`` blocks of ``k``): reduce-scatter the ``m`` blocks
  inside each node, all-reduce block ``i`` across nodes among the ranks of local index
  ``i``, all-gather inside each node.
- all_gather (``n`` units): gather across nodes among equal local indices first (one
  block per message on the slow links), then inside each node (``k`` blocks each).
- reduce_scatter: the reverse: inside each node first, local index ``i`` collecting
  the blocks of every rank with local index ``i``, then across nodes.
"""

from __future__ import annotations

from xpuc.comm.algos.base import (
    Algorithm,
    Builder,
    Group,
    NotApplicable,
    ring_all_gather,
    ring_patterns,
    ring_reduce_scatter,
)
from xpuc.comm.cost import Pattern
from xpuc.comm.schedule import Schedule


def _members(g: Group) -> list[list[int]]:
    m = g.by_node()
    if len({len(x) for x in m}) > 1:
        raise NotApplicable(
            "hierarchical needs the same number of ranks on every node; the group has "
            + ", ".join(str(len(x)) for x in m)
        )
    return m


class Hierarchical(Algorithm):
    KINDS = ("all_reduce", "all_gather", "reduce_scatter")

    @staticmethod
    def applicable(kind: str, g: Group) -> str | None:
        try:
            _members(g)
        except NotApplicable as e:
            return str(e)
        return None

    @staticmethod
    def build(kind: str, g: Group, segments: int | None) -> Schedule:
        mem = _members(g)
        k, m = len(mem), len(mem[0])
        cols = [[mem[q][i] for q in range(k)] for i in range(m)]  # across nodes
        if kind == "all_reduce":
            b = Builder(kind, "hierarchical", g.n, m * k)
            blk = [list(range(i * k, (i + 1) * k)) for i in range(m)]
            for row in mem:
                s1 = ring_reduce_scatter(b, 0, row, blk)
            step = s1
            for i, col in enumerate(cols):
                sub = [[i * k + q] for q in range(k)]
                s2 = ring_all_gather(b, ring_reduce_scatter(b, step, col, sub), col, sub)
            step = s2
            for row in mem:
                ring_all_gather(b, step, row, blk)
            return b.build()
        b = Builder(kind, "hierarchical", g.n, g.n)
        local = [sorted(col) for col in cols]  # the units local index i is after
        if kind == "all_gather":
            for col in cols:
                step = ring_all_gather(b, 0, col, [[r] for r in col])
            for row in mem:
                ring_all_gather(b, step, row, local)
        else:
            for row in mem:
                step = ring_reduce_scatter(b, 0, row, local)
            for col in cols:
                ring_reduce_scatter(b, step, col, [[r] for r in col])
        return b.build()

    @staticmethod
    def shape(kind: str, g: Group, segments: int | None) -> tuple[int, list[Pattern]]:
        mem = _members(g)
        k, m = len(mem), len(mem[0])
        cols = [[mem[q][i] for q in range(k)] for i in range(m)]
        if kind == "all_reduce":
            return m * k, [
                *ring_patterns(mem, k, True, False),
                *ring_patterns(cols, 1, True, True),
                *ring_patterns(mem, k, False, True),
            ]
        if kind == "all_gather":
            return g.n, [*ring_patterns(cols, 1, False, True), *ring_patterns(mem, k, False, True)]
        return g.n, [*ring_patterns(mem, k, True, False), *ring_patterns(cols, 1, True, False)]
