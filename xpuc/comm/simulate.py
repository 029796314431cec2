"""Reference evaluations of a schedule: its modelled time and its data movement.

``simulate`` walks every transfer of a schedule with the cost model of ``cost.py``
(the model ``predict`` evaluates in closed form); ``execute_numpy`` runs the schedule
on numpy buffers with the semantics of ``schedule.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from xpuc.comm import cost
from xpuc.comm.schedule import RECV, RECV_REDUCE, SEND, Schedule
from xpuc.comm.topology import Topology

REDUCTIONS = {"sum": np.add, "max": np.maximum, "min": np.minimum, "product": np.multiply}


def step_terms(schedule: Schedule, step: int, group: Sequence[int], topo: Topology) -> cost.Terms:
    """The cost terms of one step, transfer by transfer (no vectorisation)."""
    c = schedule.chunks
    msgs: dict[tuple[int, int], int] = defaultdict(int)
    red: dict[int, int] = defaultdict(int)
    for t in schedule.steps[step]:
        if t.op == SEND:
            msgs[(t.rank, t.peer)] += t.hi - t.lo
        elif t.op == RECV_REDUCE:
            red[t.rank] += t.hi - t.lo
    node = [topo.devices[d].node for d in group]
    inter = {m: node[m[0]] != node[m[1]] for m in msgs}
    sends: dict[tuple[int, bool], int] = defaultdict(int)
    recvs: dict[tuple[int, bool], int] = defaultdict(int)
    out: dict[int, int] = defaultdict(int)
    inn: dict[int, int] = defaultdict(int)
    for (a, b), x in inter.items():
        sends[(a, x)] += 1
        recvs[(b, x)] += 1
        if x:
            out[node[a]] += 1
            inn[node[b]] += 1
    by_alpha: dict[str, tuple[float, float]] = {}
    for (a, b), units in msgs.items():
        x = inter[(a, b)]
        link = topo.link(group[a], group[b])
        na, nb = topo.node_list[node[a]], topo.node_list[node[b]]
        shared = cost.share(
            sends[(a, x)], recvs[(b, x)], x, out[node[a]] / float(na.nics),
            inn[node[b]] / float(nb.nics),
        )  # fmt: skip
        peer = np.inf if link.peer_bandwidth is None else link.peer_bandwidth
        s = cost.slope(units, c, link.bandwidth, peer, shared)
        prev = by_alpha.get(link.name)
        if prev is None or s > prev[1]:
            by_alpha[link.name] = (link.alpha, s)
    g = max((topo.gamma(group[r]) * u for r, u in red.items()), default=0.0) / c
    return (tuple(by_alpha.values()), g)


def simulate(schedule: Schedule, group: Sequence[int], topology: Topology, nbytes: float) -> float:
    """Modelled seconds of ``schedule`` on ``group``'s devices for ``nbytes`` per rank.

    ``nbytes`` is the size of the buffer the schedule works on (see ``schedule.py``):
    the all_gather output, the whole reduce_scatter input.
    """
    if len(group) != schedule.nranks:
        raise ValueError(f"group has {len(group)} ranks, the schedule {schedule.nranks}")
    return sum(
        cost.step_time(step_terms(schedule, s, group, topology), nbytes)
        for s in range(len(schedule.steps))
    )


def simulate_concurrent(
    schedules: Sequence[Schedule], groups: Sequence[Sequence[int]], topology: Topology,
    nbytes: float,
) -> float:  # fmt: skip
    """Modelled seconds of several groups' schedules run at once: step ``s`` of the
    union is step ``s`` of every group's schedule, ranks renumbered group after group."""
    from xpuc.comm.schedule import Transfer

    chunks = {sc.chunks for sc in schedules}
    if len(chunks) != 1:
        raise ValueError(f"the schedules cut their buffers differently: {sorted(chunks)} chunks")
    steps: list[list[Transfer]] = [[] for _ in range(max(len(sc.steps) for sc in schedules))]
    off = 0
    for sc in schedules:
        for i, step in enumerate(sc.steps):
            steps[i] += [Transfer(t.rank + off, t.op, t.peer + off, t.lo, t.hi) for t in step]
        off += sc.nranks
    first = schedules[0]
    union = Schedule(first.kind, first.algorithm, off, first.chunks, steps)
    return simulate(union, [d for g in groups for d in g], topology, nbytes)


def _bounds(schedule: Schedule, length: int, lo: int, hi: int) -> tuple[int, int]:
    return schedule.unit_bounds(length, lo), schedule.unit_bounds(length, hi)


def _block(schedule: Schedule, length: int, r: int) -> tuple[int, int]:
    c, n = schedule.chunks, schedule.nranks
    return _bounds(schedule, length, r * c // n, (r + 1) * c // n)


def execute_numpy(
    schedule: Schedule, inputs: Sequence[np.ndarray], reduction: str = "sum"
) -> list[np.ndarray]:
    """Run ``schedule`` on numpy arrays (one flat input per rank); return each rank's result.

    all_reduce: the reduced buffer; all_gather: the gathered output (``n`` times the
    input); reduce_scatter: the rank's reduced block; all_to_all: the output.  The
    ``k``-th SEND from ``a`` to ``b`` in a step pairs with the ``k``-th RECV at ``b``
    from ``a``; their sizes must agree.
    """
    n, kind = schedule.nranks, schedule.kind
    if len(inputs) != n:
        raise ValueError(f"{n} ranks but {len(inputs)} inputs")
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction '{reduction}' (one of {', '.join(REDUCTIONS)})")
    op = REDUCTIONS[reduction]
    xs = [np.asarray(x).ravel() for x in inputs]
    if kind == "all_gather":
        length = len(xs[0]) * n
        bufs = []
        for r, x in enumerate(xs):
            b = np.zeros(length, dtype=x.dtype)
            lo, hi = _block(schedule, length, r)
            b[lo:hi] = x
            bufs.append(b)
        src_bufs = bufs
    elif kind == "all_to_all":
        src_bufs = xs
        bufs = [np.zeros_like(x) for x in xs]
        for r in range(n):
            lo, hi = _block(schedule, len(xs[r]), r)
            bufs[r][lo:hi] = xs[r][lo:hi]
    else:
        bufs = [x.copy() for x in xs]
        src_bufs = bufs
    for step in schedule.steps:
        sent: dict[tuple[int, int], list[np.ndarray]] = defaultdict(list)
        for t in step:
            if t.op == SEND:
                lo, hi = _bounds(schedule, len(src_bufs[t.rank]), t.lo, t.hi)
                sent[(t.rank, t.peer)].append(src_bufs[t.rank][lo:hi].copy())
        for t in step:
            if t.op not in (RECV, RECV_REDUCE):
                continue
            queue = sent.get((t.peer, t.rank))
            if not queue:
                raise ValueError(f"rank {t.rank} receives from {t.peer} with no matching send")
            data = queue.pop(0)
            lo, hi = _bounds(schedule, len(bufs[t.rank]), t.lo, t.hi)
            if hi - lo != len(data):
                raise ValueError(
                    f"rank {t.rank} receives {hi - lo} elements from {t.peer}, "
                    f"which sends {len(data)} (buffer lengths not a multiple of the units?)"
                )
            b = bufs[t.rank]
            b[lo:hi] = op(b[lo:hi], data) if t.op == RECV_REDUCE else data
        left = [k for k, q in sent.items() if q]
        if left:
            raise ValueError(f"sends with no matching receive: {left[:4]}")
    if kind == "reduce_scatter":
        return [bufs[r][slice(*_block(schedule, len(bufs[r]), r))].copy() for r in range(n)]
    return bufs
