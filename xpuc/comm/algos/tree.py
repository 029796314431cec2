"""NCCL-style double binary tree all-reduce, pipelined in segments.

Two binary trees over the ranks (NCCL's ``ncclGetBtree``; the second mirrored for even
``n``, shifted by one for odd ``n``, so most ranks that are leaves in one are inner
nodes in the other) each carry half of the buffer, cut into ``segments`` segments:
``chunks = 2 * segments``.  A rank of height ``h`` (leaves 0) sends segment ``s`` up at
step ``h + s``; the root then sends it down, a rank of depth ``d`` receiving it at step
``H + d - 1 + s``: reduction and broadcast overlap, ``2H + segments - 1`` steps.

More segments cost more ``alpha`` but fill the pipeline sooner: ``predict_plan``
picks the count for a message size (``Plan.segments``) and ``schedule(...,
segments=...)`` builds exactly that schedule.
"""

from __future__ import annotations

import functools

import numpy as np

from xpuc.comm.algos.base import Algorithm, Builder, Group
from xpuc.comm.cost import Pattern
from xpuc.comm.schedule import Schedule

DEFAULT_SEGMENTS = 4
MAX_SEGMENTS = 64
MIN_SEGMENT_BYTES = 32 * 1024


@functools.cache
def btree_parents(n: int) -> list[int]:
    """Parent of each position in NCCL's binary tree over ``0..n-1`` (root 0: -1)."""
    parents = [-1] * n
    for r in range(1, n):
        bit = r & -r
        up = (r ^ bit) | (bit << 1)
        parents[r] = up if up < n else r ^ bit
    return parents


@functools.cache
def double_tree(n: int) -> list[list[int]]:
    """Parents (ranks) of each rank in the two trees."""
    base = btree_parents(n)
    if n % 2 == 0:
        second = [-1 if base[n - 1 - r] < 0 else n - 1 - base[n - 1 - r] for r in range(n)]
    else:
        second = [-1 if base[(r - 1) % n] < 0 else (base[(r - 1) % n] + 1) % n for r in range(n)]
    return [base, second]


@functools.cache
def _tree_levels(n: int) -> tuple[tuple[list[int], list[int]], ...]:
    return tuple(_levels(p) for p in double_tree(n))


def _levels(parents: list[int]) -> tuple[list[int], list[int]]:
    """Height (leaves 0) and depth (root 0) of every rank."""
    n = len(parents)
    depth = [0] * n
    # Depth by walking up: the trees are log n deep.
    for r in range(n):
        d, x = 0, r
        while parents[x] >= 0:
            x, d = parents[x], d + 1
        depth[r] = d
    height = [0] * n
    for r in sorted(range(n), key=lambda r: -depth[r]):
        p = parents[r]
        if p >= 0:
            height[p] = max(height[p], height[r] + 1)
    return height, depth


def _transfers(n: int, segments: int):
    """(start, src, dst, reduce, unit0) of every tree edge's ``segments``-long run."""
    rows = []
    for t, parents in enumerate(double_tree(n)):
        height, depth = _tree_levels(n)[t]
        top = max(height)
        for c, p in enumerate(parents):
            if p < 0:
                continue
            rows.append((height[c], c, p, 1, t * segments))
            rows.append((top + depth[c] - 1, p, c, 0, t * segments))
    return rows


class DoubleTree(Algorithm):
    KINDS = ("all_reduce",)

    @staticmethod
    def build(kind: str, g: Group, segments: int | None) -> Schedule:
        s_count = segments or DEFAULT_SEGMENTS
        b = Builder(kind, "tree", g.n, 2 * s_count)
        for start, src, dst, red, u0 in _transfers(g.n, s_count):
            for s in range(s_count):
                b.msg(start + s, src, dst, u0 + s, u0 + s + 1, bool(red))
        return b.build()

    @staticmethod
    def shape(kind: str, g: Group, segments: int | None) -> tuple[int, list[Pattern]]:
        s_count = segments or DEFAULT_SEGMENTS
        rows = _transfers(g.n, s_count)
        if not rows:
            return 2 * s_count, []
        a = np.asarray(rows, dtype=np.int64)
        start, src, dst, red = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
        bounds = np.unique(np.concatenate([start, start + s_count]))
        out = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            on = (start <= lo) & (lo < start + s_count)
            if on.any():
                out.append(Pattern(int(hi - lo), src[on], dst[on], 1, red[on], merge=True))
        return 2 * s_count, out

    @staticmethod
    def segment_candidates(kind: str, g: Group, nbytes: float) -> list[int]:
        """Segment counts worth costing: powers of two up to ``MAX_SEGMENTS`` whose
        segments hold at least ``MIN_SEGMENT_BYTES`` (real protocols stop gaining there).

        No closed form picks the count: as the pipeline fills, more edges run at once
        and share ports, so a step's cost grows with the count too.
        """
        out = [1]
        while g.n > 1 and out[-1] < MAX_SEGMENTS and nbytes / (4 * out[-1]) >= MIN_SEGMENT_BYTES:
            out.append(2 * out[-1])
        return out
