"""The multi-process runtime: schedules and native collectives against numpy, and
how failures surface.

Functions whose name starts with ``on_rank_`` run inside the ranks; they must be
top-level so the spawned processes can import them by name."""

import itertools
import os
import time

import numpy as np
import pytest
import torch

from xpuc.comm import algorithms
from xpuc.comm.schedule import KINDS, RECV, RECV_REDUCE, SEND, Schedule, Transfer
from xpuc.comm.topology import uniform
from xpuc.runtime.collectives import run_native, run_schedule
from xpuc.runtime.distributed import Cluster, DistributedError, launch

REDUCTIONS = ("sum", "max", "min", "product", "avg")
NP_REDUCE = {
    "sum": np.sum,
    "avg": np.mean,
    "max": np.max,
    "min": np.min,
    "product": np.prod,
}
REDUCING = ("all_reduce", "reduce_scatter")
DTYPES = ("float32", "int32", "int64")
LENGTHS = (1, 7, 37)  # odd, and shorter than the unit count of some schedules


# -- hand-written schedules -----------------------------------------------------------


def _pair(step, r, peer, lo, hi, op=RECV):
    return [Transfer(r, SEND, peer, lo, hi), Transfer(peer, op, r, lo, hi)]


def ring_all_reduce(n: int, split: int = 1) -> Schedule:
    """Reduce-scatter then all-gather around the ring.  ``split`` cuts every message
    into that many transfers to the same peer, which must then match in order."""
    sched = Schedule("all_reduce", "ring", n, n * split)
    for phase, op in ((0, RECV_REDUCE), (1, RECV)):
        for s in range(n - 1):
            step = []
            for r in range(n):
                c = (r - s + phase) % n
                for k in range(split):
                    lo = c * split + k
                    step += _pair(s, r, (r + 1) % n, lo, lo + 1, op)
            sched.steps.append(step)
    return sched


def ring_all_gather(n: int) -> Schedule:
    sched = Schedule("all_gather", "ring", n, n)
    for s in range(n - 1):
        step = []
        for r in range(n):
            c = (r - s) % n
            step += _pair(s, r, (r + 1) % n, c, c + 1)
        sched.steps.append(step)
    return sched


def ring_reduce_scatter(n: int) -> Schedule:
    sched = Schedule("reduce_scatter", "ring", n, n)
    for s in range(n - 1):
        step = []
        for r in range(n):
            c = (r - s - 1) % n
            step += _pair(s, r, (r + 1) % n, c, c + 1, RECV_REDUCE)
        sched.steps.append(step)
    return sched


def pairwise_all_to_all(n: int) -> Schedule:
    sched = Schedule("all_to_all", "pairwise", n, n)
    for s in range(1, n):
        step = []
        for r in range(n):
            dst = (r + s) % n
            step.append(Transfer(r, SEND, dst, dst, dst + 1))  # input block dst
            step.append(Transfer(dst, RECV, r, r, r + 1))  # output block r
        sched.steps.append(step)
    return sched


def hand_schedules(kind: str, n: int) -> list[Schedule]:
    return {
        "all_reduce": [ring_all_reduce(n), ring_all_reduce(n, split=2)],
        "all_gather": [ring_all_gather(n)],
        "reduce_scatter": [ring_reduce_scatter(n)],
        "all_to_all": [pairwise_all_to_all(n)],
    }[kind]


# -- inputs and numpy references -------------------------------------------------------


def make_input(kind: str, n: int, rank: int, length: int, dtype: str) -> np.ndarray:
    """Rank ``rank``'s input; ``length`` is per block for all_to_all, else total."""
    size = length * n if kind == "all_to_all" else length
    rng = np.random.default_rng([n, rank, length])
    if dtype.startswith("float"):
        return rng.uniform(0.5, 1.5, size).astype(dtype)
    return rng.integers(-3, 4, size).astype(dtype)


def reference(kind: str, inputs: list[np.ndarray], r: int, reduction: str) -> np.ndarray:
    n = len(inputs)
    stacked = np.stack(inputs)
    if kind == "all_gather":
        return stacked
    if kind == "all_to_all":
        return np.concatenate([np.array_split(x, n)[r] for x in inputs])
    total = NP_REDUCE[reduction](stacked, axis=0).astype(inputs[0].dtype)
    if kind == "all_reduce":
        return total
    size = total.size
    return total[r * size // n : (r + 1) * size // n]


def reductions_for(kind: str, dtype: str) -> tuple[str, ...]:
    if kind in ("all_gather", "all_to_all"):
        return ("sum",)
    return REDUCTIONS if dtype.startswith("float") else REDUCTIONS[:-1]


def cases_for(kind: str, n: int, schedules) -> list[tuple]:
    return [
        (sched, kind, length, dtype, red)
        for sched in schedules
        for length in LENGTHS
        for dtype in DTYPES
        for red in reductions_for(kind, dtype)
    ]


def check(results: list[list], cases: list[tuple], n: int) -> None:
    for i, (sched, kind, length, dtype, red) in enumerate(cases):
        inputs = [make_input(kind, n, r, length, dtype) for r in range(n)]
        for r in range(n):
            want = reference(kind, inputs, r, red)
            got = results[r][i]
            name = getattr(sched, "algorithm", sched)
            where = f"{kind}/{name} n={n} rank={r} len={length} {dtype} {red}"
            assert got.shape == want.shape, where
            np.testing.assert_allclose(got, want, rtol=1e-5, err_msg=where)


def on_rank_cases(ctx, cases: list[tuple], group=None) -> list[np.ndarray]:
    out = []
    for sched, kind, length, dtype, red in cases:
        n = ctx.world_size if group is None else len(group)
        pos = ctx.rank if group is None else list(group).index(ctx.rank)
        x = torch.from_numpy(make_input(kind, n, pos, length, dtype))
        if sched == "native":
            y = run_native(kind, x, group, reduction=red)
        else:
            y = run_schedule(sched, x, group, reduction=red)
        out.append(y.numpy())
    return out


# -- schedules and native collectives ---------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_hand_schedules(cluster, kind):
    n = cluster.world_size
    cases = cases_for(kind, n, hand_schedules(kind, n))
    check(cluster.run(on_rank_cases, cases), cases, n)


@pytest.mark.parametrize("kind", KINDS)
def test_native(cluster, kind):
    n = cluster.world_size
    cases = cases_for(kind, n, ["native"])
    check(cluster.run(on_rank_cases, cases), cases, n)


def on_rank_two_groups(ctx, cases_by_group: dict) -> list[np.ndarray]:
    group = next(g for g in cases_by_group if ctx.rank in g)
    return on_rank_cases(ctx, cases_by_group[group], group)


def test_subgroups(cluster4):
    """Two 2-rank groups at once; positions in a group are not global ranks."""
    sched = ring_all_reduce(2)
    cases = [
        (sched, "all_reduce", 9, "float32", "sum"),
        ("native", "all_reduce", 9, "int64", "max"),
    ]
    results = cluster4.run(on_rank_two_groups, {(3, 1): cases, (0, 2): cases})
    for group in ((3, 1), (0, 2)):
        check([results[g] for g in group], cases, 2)


def on_rank_shapes(ctx, n: int):
    x = torch.arange(6, dtype=torch.float32).reshape(2, 3) + ctx.rank
    y = torch.ones(n, 5, dtype=torch.float32)
    out = torch.empty(2, 3)
    ar = run_schedule(ring_all_reduce(n), x, out=out)
    return (
        tuple(ar.shape),
        ar.data_ptr() == out.data_ptr(),
        tuple(run_schedule(ring_all_gather(n), x).shape),
        tuple(run_native("all_gather", x).shape),
        tuple(run_schedule(ring_reduce_scatter(n), y).shape),
        tuple(run_native("reduce_scatter", y).shape),
    )


def test_result_shapes(cluster2):
    shapes = cluster2.run(on_rank_shapes, 2)
    assert shapes[0] == ((2, 3), True, (2, 2, 3), (2, 2, 3), (5,), (5,))


# -- asynchronous collectives -------------------------------------------------------------


def on_rank_async(ctx):
    n = ctx.world_size
    a = torch.full((1000,), float(ctx.rank + 1))
    b = torch.arange(10, dtype=torch.int64) * (ctx.rank + 1)
    fa = ctx.comm.start(run_schedule, ring_all_reduce(n), a)
    fb = ctx.comm.start(run_native, "all_gather", b)
    m = torch.ones(64, 64)
    for _ in range(20):  # compute while the comm thread communicates
        m = (m @ m) / 64
    bad = ctx.comm.start(run_schedule, ring_all_reduce(n + 1), a)
    return fa.result().numpy(), fb.result().numpy(), float(m[0, 0]), repr(bad.exception())


def test_async(cluster2):
    for a, b, m, bad in cluster2.run(on_rank_async):
        np.testing.assert_array_equal(a, np.full(1000, 3.0, np.float32))
        np.testing.assert_array_equal(b, np.stack([np.arange(10), 2 * np.arange(10)]))
        assert m == pytest.approx(1.0)
        assert "3-rank schedule on a group of 2" in bad


# -- every planned algorithm ----------------------------------------------------------------


def algorithm_cases(n: int) -> list[tuple]:
    topo = uniform(n, 1e-5, 1e9, 1e-10, nodes=2 if n == 4 else 1)
    cases = []
    for kind in KINDS:
        for name in algorithms.ALGORITHMS[kind]:
            try:
                scheds = [algorithms.schedule(kind, name, list(range(n)), topo)]
                if name == "tree":  # pipelined in segments; 3 does not divide the blocks
                    scheds.append(algorithms.schedule(kind, name, list(range(n)), topo, 3))
            except algorithms.NotApplicable:  # e.g. needs several nodes
                continue
            for sched, length in itertools.product(scheds, (5, 64)):
                for dtype in ("float32", "int64"):
                    red = "max" if dtype == "int64" else "sum"
                    cases.append(
                        (sched, kind, length, dtype, red if kind != "all_to_all" else "sum")
                    )
    return cases


def test_every_algorithm(cluster):
    n = cluster.world_size
    cases = algorithm_cases(n)
    assert cases
    check(cluster.run(on_rank_cases, cases), cases, n)


# -- failures -------------------------------------------------------------------------------


def on_rank_raise(ctx):
    if ctx.rank == 1:
        raise ValueError("boom on rank one")
    return ctx.rank


def test_rank_raises(cluster2):
    with pytest.raises(DistributedError, match="boom on rank one") as info:
        cluster2.run(on_rank_raise)
    assert info.value.rank == 1
    assert "ValueError" in info.value.remote_traceback
    assert not cluster2.alive  # torn down, never half-returned
    with pytest.raises(DistributedError, match="closed"):
        cluster2.run(on_rank_raise)
    cluster2.start()
    assert cluster2.run(on_rank_cases, []) == [[], []]


def on_rank_exit(ctx):
    if ctx.rank == 1:
        os._exit(3)
    torch.distributed.irecv(torch.empty(4), 1).wait()  # would wait for the timeout
    return "partial"


def test_rank_dies():
    with Cluster(2, timeout=120.0) as cluster:
        procs = list(cluster._procs)
        with pytest.raises(DistributedError, match=r"rank 1 died \(exit code 3\)") as info:
            cluster.run(on_rank_exit)
        assert (info.value.rank, info.value.exitcode) == (1, 3)
        assert all(p.exitcode is not None for p in procs)  # reaped, no zombies


def on_rank_unmatched(ctx):
    sched = Schedule("all_reduce", "broken", 2, 2, [[Transfer(0, RECV, 1, 0, 1)]])
    return run_schedule(sched, torch.ones(8))


def test_unmatched_recv_errors():
    with Cluster(2, timeout=60.0, op_timeout=3.0) as cluster:
        with pytest.raises(DistributedError) as info:
            cluster.run(on_rank_unmatched)
    err = info.value
    assert err.rank == 0
    assert "CommError: all_reduce (broken) step 0: recv of units [0, 1) from rank 1" in str(err)


def on_rank_sleep(ctx, seconds):
    time.sleep(seconds)


def test_timeout_kills_ranks():
    cluster = Cluster(1, timeout=2.0)
    procs = list(cluster._procs)
    with pytest.raises(DistributedError, match=r"rank 0 did not finish within 2 s"):
        cluster.run(on_rank_sleep, 600)
    assert not cluster.alive
    assert all(p.exitcode is not None for p in procs)


def on_rank_unpicklable(ctx):
    return lambda: ctx.rank


def test_unpicklable_result(cluster2):
    with pytest.raises(DistributedError, match="rank 0 raised"):
        cluster2.run(on_rank_unpicklable)


def on_rank_identity(ctx, x, scale=1):
    return (ctx.rank, ctx.world_size, x * scale)


def test_launch_one_rank():
    assert launch(on_rank_identity, 1, 21, scale=2) == [(0, 1, 42)]
