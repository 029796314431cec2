"""Recursive doubling and halving, and Rabenseifner's all-reduce built from them.

Non-powers of two: for all_reduce and reduce_scatter, the ``n - p`` ranks above the
largest power of two ``p`` first fold their whole buffer into ranks ``0..n-p-1`` and
get their result back in a last step; all_gather uses Bruck's dissemination order
(rank ``r`` sends the blocks it has to ``r - 2^k``), which needs no extra steps.
"""

from __future__ import annotations

import numpy as np

from xpuc.comm.algos.base import Algorithm, Builder, Group, pow2_floor
from xpuc.comm.cost import Pattern
from xpuc.comm.schedule import Schedule


def _ar(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def _fold(n: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    return _ar(range(p, n)), _ar(range(n - p))


class RecursiveDoubling(Algorithm):
    KINDS = ("all_reduce", "all_gather")

    @staticmethod
    def build(kind: str, g: Group, segments: int | None) -> Schedule:
        n = g.n
        p = pow2_floor(n)
        if kind == "all_reduce":
            b = Builder(kind, "recursive_doubling", n, 1)
            step = 0
            if n > p:
                for r in range(p, n):
                    b.msg(0, r, r - p, 0, 1, True)
                step = 1
            d = 1
            while d < p:
                for r in range(p):
                    b.msg(step, r, r ^ d, 0, 1, True)
                step, d = step + 1, d * 2
            for r in range(n - p):
                b.msg(step, r, r + p, 0, 1, False)
            return b.build()
        b = Builder(kind, "recursive_doubling", n, n)
        d, step = 1, 0
        while d < n:
            for r in range(n):
                if n == p:
                    lo = r & ~(d - 1)
                    b.msg(step, r, r ^ d, lo, lo + d, False)
                else:
                    cnt = min(d, n - d)
                    b.units(step, r, (r - d) % n, sorted((r + j) % n for j in range(cnt)), False)
            step, d = step + 1, d * 2
        return b.build()

    @staticmethod
    def shape(kind: str, g: Group, segments: int | None) -> tuple[int, list[Pattern]]:
        n = g.n
        p = pow2_floor(n)
        out = []
        if kind == "all_reduce":
            if n > p:
                out.append(Pattern(1, *_fold(n, p), 1, 1))
            r = _ar(range(p))
            d = 1
            while d < p:
                out.append(Pattern(1, r, r ^ d, 1, 1))
                d *= 2
            if n > p:
                s, t = _fold(n, p)
                out.append(Pattern(1, t, s, 1, 0))
            return 1, out
        r = _ar(range(n))
        d = 1
        while d < n:
            if n == p:
                out.append(Pattern(1, r, r ^ d, d, 0))
            else:
                out.append(Pattern(1, r, (r - d) % n, min(d, n - d), 0))
            d *= 2
        return n, out


def _halving_units(r: int, d: int, p: int, rem: int) -> list[int]:
    """Units rank ``r`` sends at distance ``d``: the partner's half of its slots."""
    base = r & ~(2 * d - 1)
    s0 = base if r & d else base + d
    units = list(range(s0, s0 + d))
    units += [v + p for v in range(s0, min(s0 + d, rem))]
    return units


class RecursiveHalving(Algorithm):
    """reduce_scatter by recursive halving (``n`` blocks; extras folded first)."""

    KINDS = ("reduce_scatter",)

    @staticmethod
    def build(kind: str, g: Group, segments: int | None) -> Schedule:
        n = g.n
        p = pow2_floor(n)
        rem = n - p
        b = Builder(kind, "recursive_halving", n, n)
        step = 0
        if rem:
            for r in range(p, n):
                b.msg(0, r, r - p, 0, n, True)
            step = 1
        d = p // 2
        while d >= 1:
            for r in range(p):
                b.units(step, r, r ^ d, _halving_units(r, d, p, rem), True)
            step, d = step + 1, d // 2
        for r in range(rem):
            b.msg(step, r, r + p, r + p, r + p + 1, False)
        return b.build()

    @staticmethod
    def shape(kind: str, g: Group, segments: int | None) -> tuple[int, list[Pattern]]:
        n = g.n
        p = pow2_floor(n)
        rem = n - p
        out = []
        if rem:
            out.append(Pattern(1, *_fold(n, p), n, n))
        r = _ar(range(p))
        d = p // 2
        while d >= 1:
            s0 = np.where(r & d, r & ~(2 * d - 1), (r & ~(2 * d - 1)) + d)
            units = d + np.clip(rem - s0, 0, d)
            out.append(Pattern(1, r, r ^ d, units, units))
            d //= 2
        if rem:
            s, t = _fold(n, p)
            out.append(Pattern(1, t, s, 1, 0))
        return n, out


class Rabenseifner(Algorithm):
    """all_reduce: reduce-scatter by recursive halving, all-gather by recursive doubling."""

    KINDS = ("all_reduce",)

    @staticmethod
    def build(kind: str, g: Group, segments: int | None) -> Schedule:
        n = g.n
        p = pow2_floor(n)
        b = Builder(kind, "rabenseifner", n, p)
        step = 0
        if n > p:
            for r in range(p, n):
                b.msg(0, r, r - p, 0, p, True)
            step = 1
        d = p // 2
        while d >= 1:
            for r in range(p):
                b.units(step, r, r ^ d, _halving_units(r, d, p, 0), True)
            step, d = step + 1, d // 2
        d = 1
        while d < p:
            for r in range(p):
                lo = r & ~(d - 1)
                b.msg(step, r, r ^ d, lo, lo + d, False)
            step, d = step + 1, d * 2
        for r in range(n - p):
            b.msg(step, r, r + p, 0, p, False)
        return b.build()

    @staticmethod
    def shape(kind: str, g: Group, segments: int | None) -> tuple[int, list[Pattern]]:
        n = g.n
        p = pow2_floor(n)
        out = []
        if n > p:
            out.append(Pattern(1, *_fold(n, p), p, p))
        r = _ar(range(p))
        d = p // 2
        while d >= 1:
            out.append(Pattern(1, r, r ^ d, d, d))
            d //= 2
        d = 1
        while d < p:
            out.append(Pattern(1, r, r ^ d, d, 0))
            d *= 2
        if n > p:
            s, t = _fold(n, p)
            out.append(Pattern(1, t, s, p, 0))
        return p, out
