"""Point-to-point schedules: what a collective algorithm becomes before it runs.

A schedule is written for one group of ``nranks`` ranks (positions ``0..nranks-1`` in
the group; the runtime maps them to global ranks).  Every rank works on one flat
buffer cut into ``chunks`` equal units: unit ``u`` covers elements
``[u * L // chunks, (u + 1) * L // chunks)`` of a buffer of ``L`` elements, so any
length works.

What the buffer is, per collective kind (``n`` ranks, rank ``r``):

- ``all_reduce``: the rank's input; afterwards every rank holds the reduction.
- ``all_gather``: the output (``n`` blocks); the rank's input is placed in block ``r``
  first.  ``chunks`` is a multiple of ``n``; block ``r`` is units
  ``[r * chunks // n, (r + 1) * chunks // n)``.
- ``reduce_scatter``: the whole input (``n`` blocks); afterwards block ``r`` holds
  the reduction of everyone's block ``r`` (other blocks are scratch).
- ``all_to_all``: two buffers.  SENDs read the input, RECVs write the output; the
  runtime copies the rank's own block ``r`` from input to output first.

Steps run in order.  Within a step a rank posts all its SENDs (reading the buffer as
it was at the start of the step) and RECVs, waits for all of them, then applies the
RECVs: ``RECV`` overwrites units, ``RECV_REDUCE`` combines the received units into the
buffer with the collective's reduction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEND, RECV, RECV_REDUCE = 0, 1, 2
OP_NAMES = ("send", "recv", "recv_reduce")
KINDS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all")


@dataclass(frozen=True)
class Transfer:
    """One rank's part of one message: a send or a receive of units ``[lo, hi)``."""

    rank: int
    op: int
    peer: int
    lo: int
    hi: int


@dataclass
class Schedule:
    kind: str
    algorithm: str
    nranks: int
    chunks: int
    steps: list[list[Transfer]] = field(default_factory=list)

    def unit_bounds(self, length: int, u: int) -> int:
        """First element of unit ``u`` in a buffer of ``length`` elements."""
        return u * length // self.chunks

    def for_rank(self, rank: int) -> list[list[Transfer]]:
        """The steps as one rank sees them (steps where it has nothing stay, empty)."""
        return [[t for t in step if t.rank == rank] for step in self.steps]

    def rows(self) -> list[tuple[int, int, int, int, int, int]]:
        """Flat ``(step, rank, op, peer, lo, hi)`` rows: the form the IR stores."""
        return [
            (s, t.rank, t.op, t.peer, t.lo, t.hi) for s, step in enumerate(self.steps) for t in step
        ]

    @classmethod
    def from_rows(cls, kind: str, algorithm: str, nranks: int, chunks: int, rows) -> Schedule:
        nsteps = 1 + max((r[0] for r in rows), default=-1)
        steps: list[list[Transfer]] = [[] for _ in range(nsteps)]
        for s, rank, op, peer, lo, hi in rows:
            steps[s].append(Transfer(rank, op, peer, lo, hi))
        return cls(kind, algorithm, nranks, chunks, steps)
