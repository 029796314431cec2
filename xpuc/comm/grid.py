"""Device grids: which ranks form a collective's groups, which block a rank holds.

Rank ``r`` sits at the row-major coordinates of ``r`` in the grid's shape (and is
topology device ``r``).  A group over grid ``axes`` is the ranks that share every
other coordinate, ordered row-major over ``axes`` as listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np


def coords(rank: int, shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(c) for c in np.unravel_index(rank, tuple(shape)))


def all_groups(shape: Sequence[int], axes: Sequence[int]) -> np.ndarray:
    """Every group as a row of ranks: shape ``(groups, group size)``."""
    shape, axes = tuple(shape), tuple(axes)
    ranks = np.arange(prod(shape)).reshape(shape)
    rest = [a for a in range(len(shape)) if a not in axes]
    n = prod(shape[a] for a in axes)
    return ranks.transpose(*rest, *axes).reshape(-1, n)


def group_of(rank: int, shape: Sequence[int], axes: Sequence[int]) -> list[int]:
    """The ranks of ``rank``'s group, in group order."""
    c = list(coords(rank, shape))
    out = []
    for idx in np.ndindex(*[shape[a] for a in axes]):
        for a, i in zip(axes, idx, strict=True):
            c[a] = i
        out.append(int(np.ravel_multi_index(c, tuple(shape))))
    return out


def block_index(rank: int, shape: Sequence[int], split: Sequence[Sequence[int]]):
    """For each tensor dimension: (which block this rank holds, how many blocks)."""
    c = coords(rank, shape)
    out = []
    for axes in split:
        idx, n = 0, 1
        for a in axes:
            idx, n = idx * shape[a] + c[a], n * shape[a]
        out.append((idx, n))
    return out
