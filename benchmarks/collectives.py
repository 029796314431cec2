"""Collective algorithms measured on this machine, and how well the model picks.

    python benchmarks/collectives.py [--quick] [--ranks 2,4] [--kinds all_reduce,...]

For each rank count n, first calibrates the model on an n-rank cluster with every
rank active at once, over the path the schedules use (``run_schedule``'s
``isend``/``irecv`` steps): alpha_n is the cost of one ring step of a tiny message
(the slope of ``run_schedule`` time over the number of steps, so it includes the
Python and torch work run_schedule does per step), bandwidth_n the slope of the
per-step cost between two large messages, gamma_n the time per byte to add two
float32 buffers with torch.  (Ranks may outnumber cores, so these depend on n.)
Builds ``uniform(n, alpha_n, bandwidth_n, gamma_n)``, then for each message size
times every algorithm of each collective (median over repetitions, more of them
below 1 MiB, each the slowest rank's time; repetitions interleave the algorithms,
each starting at the next one; algorithms whose schedules have the same steps, such
as ring and hetero_ring on ranks of one node, are timed once and share the time)
and the backend's native collective, and compares the model's choice
(``algorithms.choose(...)[0]``) with the best measured scheduled algorithm.  The
last line is ``collective choice within 5% of best: N/M cases``.

The native collective is printed for reference only.  Its fixed cost and per-byte
cost are also fitted (least squares over the sizes run) and printed: the numbers a
topology's ``native`` entry takes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KIB, MIB = 1024, 1024 * 1024
SIZES = [KIB * 4**i for i in range(9)]  # 1 KiB .. 64 MiB
QUICK_SIZES = [KIB, 16 * KIB, 256 * KIB, 4 * MIB, 64 * MIB]


TINY = 64  # bytes per message of the latency probe
BIG = (MIB, 8 * MIB)  # bytes per message of the bandwidth probe (slope between them)
GAMMA_BYTES = 16 * MIB


def on_rank_calibrate(ctx) -> dict:
    """Per-repetition times on this rank, every rank at once (see :func:`calibrate`).

    ``steps[(nbytes, k)]``: one ``run_schedule`` of ``k`` ring steps of ``nbytes`` per
    message; ``exchange``: one bare ``isend``/``irecv`` ring step of ``TINY`` bytes
    (no ``run_schedule``); ``reduce``: ``add_`` of two ``GAMMA_BYTES`` buffers."""
    from xpuc.runtime.collectives import exchange, reduce_time, ring_steps

    out = {"steps": {}}
    for nbytes, ks, reps, inner in [
        (TINY, (1, 4, 16), 15, 10),
        (BIG[0], (1, 4), 7, 1),
        (BIG[1], (1, 4), 5, 1),
    ]:
        for k in ks:
            out["steps"][(nbytes, k)] = ring_steps(nbytes, k, reps=reps, inner=inner)
    out["exchange"] = exchange(TINY, reps=40)
    out["reduce"] = reduce_time(GAMMA_BYTES, reps=10)
    return out


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``(intercept, slope)``."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return my - slope * mx, slope


def calibrate(cluster) -> dict:
    """alpha, bandwidth and gamma for ``cluster``'s rank count, all ranks at once.

    A step's cost at message size b is the slope of ``run_schedule`` time over the
    number of ring steps k (so the per-call fixed cost, buffer set-up, drops out):
    alpha = that per-step cost at ``TINY`` bytes (it includes run_schedule's Python
    and torch work per step, which the model charges per step); bandwidth = the
    slope of the per-step cost between the two ``BIG`` sizes; gamma = the slowest
    rank's ``add_`` time per byte with every rank adding at once.  Each timing is
    the slowest rank's, then the median over repetitions."""
    per_rank = cluster.run(on_rank_calibrate)

    def med(nbytes, k):
        reps = per_rank[0]["steps"][(nbytes, k)]
        return statistics.median(
            max(r["steps"][(nbytes, k)][i] for r in per_rank) for i in range(len(reps))
        )

    def per_step(nbytes):
        ks = sorted(k for b, k in per_rank[0]["steps"] if b == nbytes)
        return fit_line([(k, med(nbytes, k)) for k in ks])

    fixed, alpha = per_step(TINY)
    step_lo, step_hi = per_step(BIG[0])[1], per_step(BIG[1])[1]
    bandwidth = (BIG[1] - BIG[0]) / max(step_hi - step_lo, 1e-12)
    bare = max(r["exchange"] for r in per_rank)
    # A run_schedule step cannot cost less than the bare isend/irecv step it wraps;
    # a smaller (or negative) slope means noise (other load on the cores) won the fit.
    alpha = max(alpha, bare)
    return {
        "alpha": alpha,
        "fixed": fixed,
        "bare": bare,
        "bandwidth": bandwidth,
        "steps_big": (step_lo, step_hi),
        "gamma": max(r["reduce"] for r in per_rank) / GAMMA_BYTES,
    }


def print_calibration(n: int, c: dict) -> None:
    print(f"calibration, {n} ranks at once (slowest rank, medians):")
    print(
        f"  alpha_{n} = {c['alpha'] * 1e6:.1f} us per run_schedule ring step of {TINY} B "
        f"(bare isend/irecv step {c['bare'] * 1e6:.1f} us, so run_schedule adds "
        f"{(c['alpha'] - c['bare']) * 1e6:.1f} us/step); run_schedule fixed "
        f"{c['fixed'] * 1e6:.1f} us/call"
    )
    lo, hi = c["steps_big"]
    print(
        f"  bandwidth_{n} = {c['bandwidth'] / 1e9:.2f} GB/s per rank (ring step "
        f"{human(BIG[0])}: {lo * 1e3:.3f} ms, {human(BIG[1])}: {hi * 1e3:.3f} ms)"
    )
    print(
        f"  gamma_{n} = {c['gamma'] * 1e9:.3f} ns/B (torch add_ of float32, "
        f"{human(GAMMA_BYTES)}, all ranks at once)"
    )
    print(f"  topology: uniform({n}, alpha_{n}, bandwidth_{n}, gamma_{n})\n")


def on_rank_time(ctx, kind: str, nbytes: int, schedules: list, reps: int) -> dict:
    """Per-repetition times of each schedule (and of "native") on this rank.

    Repetitions are interleaved (each repetition times every algorithm once), so that
    drift over the case does not favour any algorithm, and each repetition starts at
    the next algorithm of the list, so that none is always the first after the
    barrier (which, with ranks outnumbering cores, costs the first one more)."""
    import torch
    import torch.distributed as dist

    from xpuc.runtime.collectives import run_native, run_schedule

    n = ctx.world_size
    count = max(nbytes // 4, n)
    if kind == "all_gather":  # nbytes is the gathered output
        count = max(count // n, 1)
    if kind == "all_to_all":
        count -= count % n
    x = torch.ones(count, dtype=torch.float32)
    # Small collectives run back to back, several per timing, so that the skew with
    # which ranks leave the barrier (and time slices: ranks may outnumber cores)
    # does not swamp them.
    inner = min(max(4 * MIB // max(nbytes, 1), 1), 20)
    entries = [*schedules, ("native", None)]
    times = {name: [] for name, _ in entries}
    for i in range(reps + 1):
        for j in range(len(entries)):
            name, sched = entries[(i + j) % len(entries)]
            dist.barrier()
            t0 = time.perf_counter()
            for _ in range(inner):
                if sched is None:
                    run_native(kind, x)
                else:
                    run_schedule(sched, x)
            if i:  # the first one warms up allocations and connections
                times[name].append((time.perf_counter() - t0) / inner)
    return times


def fit_native(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares ``fixed + per_byte * nbytes``."""
    return fit_line(points)


def human(nbytes: int) -> str:
    for unit, size in (("M", MIB), ("K", KIB)):
        if nbytes >= size:
            return f"{nbytes // size}{unit}"
    return f"{nbytes}B"


def case_reps(reps: int, nbytes: int) -> int:
    """More repetitions below 1 MiB, where one timing is short and noisy (cheap too)."""
    return reps if nbytes >= MIB else 3 * reps


def run_case(cluster, algorithms, kind, nbytes, names, group, topo, reps, natives) -> bool:
    """Time one (kind, size, ranks) case, print its row; is the choice within 5%?"""
    schedules, same = [], {}
    for name in names:
        plan = algorithms.predict_plan(kind, name, group, topo, nbytes)
        if plan is not None:  # None: not applicable here
            sched = algorithms.schedule(kind, name, group, topo, segments=plan.segments)
            rows = tuple(sched.rows())
            if rows in same:  # the same steps (ring, hetero_ring on one node): run once
                same[rows].append(name)
                continue
            same[rows] = [name]
            schedules.append((name, sched))
    reps = case_reps(reps, nbytes)
    per_rank = cluster.run(on_rank_time, kind, nbytes, schedules, reps)
    med = {
        name: statistics.median(max(r[name][i] for r in per_rank) for i in range(reps))
        for name in per_rank[0]
    }
    for names_alike in same.values():
        for other in names_alike[1:]:
            med[other] = med[names_alike[0]]
    schedules += [(o, None) for alike in same.values() for o in alike[1:]]
    natives.setdefault((kind, len(group)), []).append((nbytes, med["native"]))
    scheduled = [name for name, _ in schedules]
    choice = algorithms.choose(kind, group, topo, nbytes, algorithms=scheduled)[0][0]
    best_name = min(scheduled, key=lambda a: med[a])
    ratio = med[choice] / med[best_name]
    cells = " ".join(
        f"{med[a] * 1e3:>10.3f}{'*' if a == choice else ' '}" if a in med else f"{'-':>11}"
        for a in names
    )
    row = (
        f"{human(nbytes):>6} {cells} {med['native'] * 1e3:>10.3f} {choice:>18} "
        f"{best_name:>18} {ratio:>6.2f}"
    )
    print(row, flush=True)
    return ratio <= 1.05


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 sizes, 3 repetitions (9 below 1 MiB)")
    ap.add_argument("--ranks", default="2,4")
    ap.add_argument("--kinds", default="all_reduce,all_gather,reduce_scatter")
    ap.add_argument("--reps", type=int, default=None)
    opts = ap.parse_args()

    from xpuc.comm import algorithms
    from xpuc.comm import topology as topo_mod
    from xpuc.runtime.distributed import Cluster

    sizes = QUICK_SIZES if opts.quick else SIZES
    reps = opts.reps or (3 if opts.quick else 5)
    ranks = [int(r) for r in opts.ranks.split(",")]
    kinds = opts.kinds.split(",")

    within = total = 0
    natives: dict[tuple[str, int], list[tuple[int, float]]] = {}
    for n in ranks:
        group = list(range(n))
        with Cluster(n, timeout=600.0) as cluster:
            cal = calibrate(cluster)
            print_calibration(n, cal)
            topo = topo_mod.uniform(n, cal["alpha"], cal["bandwidth"], cal["gamma"])
            for kind in kinds:
                names = list(algorithms.ALGORITHMS[kind])
                print(
                    f"{kind}, {n} ranks: median ms of {case_reps(reps, 0)} (< 1 MiB) or "
                    f"{reps}; '*' = model's choice; native for reference only"
                )
                head = " ".join(f"{a[:11]:>11}" for a in names)
                print(f"{'size':>6} {head} {'native':>10} {'choice':>18} {'best':>18} {'ratio':>6}")
                for nbytes in sizes:
                    total += 1
                    within += run_case(
                        cluster, algorithms, kind, nbytes, names, group, topo, reps, natives
                    )
                fixed, per_byte = fit_native(natives[(kind, n)])
                print(
                    f"native {kind} fit, {n} ranks: {fixed * 1e6:.1f} us + "
                    f"{per_byte * 1e9:.3f} ns/B (fixed_s, per_byte_s of a topology's native)\n"
                )
    print(f"collective choice within 5% of best: {within}/{total} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
