"""Pairwise exchange all-to-all: at step ``k`` rank ``r`` sends block ``r + k`` to rank
``r + k`` and receives block ``r - k`` from rank ``r - k`` (``n - 1`` steps).

A store-and-forward ring all-to-all needs scratch space the schedule's two buffers do
not have, so there is none.
"""

from __future__ import annotations

import numpy as np

from xpuc.comm.algos.base import Algorithm, Builder, Group
from xpuc.comm.cost import Pattern, Profile, fold, permutation_terms
from xpuc.comm.schedule import RECV, SEND, Schedule, Transfer


class Pairwise(Algorithm):
    KINDS = ("all_to_all",)

    @staticmethod
    def build(kind: str, g: Group, segments: int | None) -> Schedule:
        n = g.n
        b = Builder(kind, "pairwise", n, n)
        for k in range(1, n):
            step = []
            for r in range(n):
                # SEND reads input block dst, RECV writes output block src.
                dst, src = (r + k) % n, (r - k) % n
                step.append(Transfer(r, SEND, dst, dst, dst + 1))
                step.append(Transfer(r, RECV, src, src, src + 1))
            b.steps.append(step)
        return b.build()

    @staticmethod
    def shape(kind: str, g: Group, segments: int | None) -> tuple[int, list[Pattern]]:
        n = g.n
        r = np.arange(n, dtype=np.int64)
        return n, [Pattern(1, r, (r + k) % n, 1, 0) for k in range(1, n)]

    @staticmethod
    def profile(kind: str, g: Group, segments: int | None) -> Profile:
        """``shape``'s profile, all steps vectorised at once (``n - 1`` steps of ``n``)."""
        n = g.n
        r = np.arange(n, dtype=np.int64)
        terms = []
        for k0 in range(1, n, 256):  # blocks of steps bound the memory
            ks = np.arange(k0, min(n, k0 + 256), dtype=np.int64)[:, None]
            terms += permutation_terms(g.topo, g.devs, n, (r[None, :] + ks) % n)
        return fold([(1, t) for t in terms])
