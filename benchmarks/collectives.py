"""Collective algorithms measured on this machine, and how well the model picks.

    python benchmarks/collectives.py [--quick] [--ranks 2,4] [--kinds all_reduce,...]

First measures the link here over the path the schedules use (``isend``/``irecv`` in
rank processes over torch.distributed): alpha from a ping-pong of a few bytes, beta
from the ping-pong's slope, the bandwidth a ring step gets with every rank sending at
once, and gamma (seconds per byte to add two float32 buffers with torch).  Builds a
uniform topology from them, then for each message size and rank count times every
algorithm of each collective (median of a few repetitions, each the slowest rank's
time) and the backend's native collective, and compares the model's choice
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


def on_rank_link(ctx, sizes: list[int]) -> dict:
    """Ping-pong (ranks 0 and 1), ring-step exchange (all ranks), reduction time."""
    from xpuc.runtime.collectives import exchange, ping_pong, reduce_time

    out = {"ping": {}, "exchange": {}, "reduce": {}}
    for nbytes in sizes:
        reps = 30 if nbytes <= MIB else 5
        out["ping"][nbytes] = ping_pong(nbytes, reps=reps)
        out["exchange"][nbytes] = exchange(nbytes, reps=reps)
        out["reduce"][nbytes] = reduce_time(nbytes, reps=reps)
    return out


def on_rank_time(ctx, kind: str, nbytes: int, schedules: list, reps: int) -> dict:
    """Per-repetition times of each schedule (and of "native") on this rank."""
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
    times = {}
    for name, sched in [*schedules, ("native", None)]:
        ts = []
        for i in range(reps + 1):
            dist.barrier()
            t0 = time.perf_counter()
            for _ in range(inner):
                if sched is None:
                    run_native(kind, x)
                else:
                    run_schedule(sched, x)
            if i:  # the first one warms up allocations and connections
                ts.append((time.perf_counter() - t0) / inner)
        times[name] = ts
    return times


def measure_link(sizes: list[int]):
    """alpha [s], beta [s/B], exchange bandwidth per rank count [B/s], gamma [s/B]."""
    from xpuc.runtime.distributed import Cluster

    with Cluster(2) as cluster:
        link = cluster.run(on_rank_link, sizes)[0]
    small, mid, big = sorted(sizes)[:3]
    alpha = link["ping"][small]
    beta = (link["ping"][big] - link["ping"][mid]) / (big - mid)
    gamma = link["reduce"][big] / big
    return alpha, beta, link, gamma


def exchange_bandwidth(n: int, nbytes: int, alpha: float) -> float:
    from xpuc.runtime.distributed import Cluster

    with Cluster(n) as cluster:
        t = max(cluster.run(on_rank_link_exchange, nbytes))
    return nbytes / max(t - alpha, 1e-9)


def on_rank_link_exchange(ctx, nbytes: int) -> float:
    from xpuc.runtime.collectives import exchange

    return exchange(nbytes, reps=5)


def fit_native(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares ``fixed + per_byte * nbytes``."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return my - slope * mx, slope


def human(nbytes: int) -> str:
    for unit, size in (("M", MIB), ("K", KIB)):
        if nbytes >= size:
            return f"{nbytes // size}{unit}"
    return f"{nbytes}B"


def run_case(cluster, algorithms, kind, nbytes, names, group, topo, reps, natives) -> bool:
    """Time one (kind, size, ranks) case, print its row; is the choice within 5%?"""
    schedules = []
    for name in names:
        plan = algorithms.predict_plan(kind, name, group, topo, nbytes)
        if plan is not None:  # None: not applicable here
            sched = algorithms.schedule(kind, name, group, topo, segments=plan.segments)
            schedules.append((name, sched))
    per_rank = cluster.run(on_rank_time, kind, nbytes, schedules, reps)
    med = {
        name: statistics.median(max(r[name][i] for r in per_rank) for i in range(reps))
        for name in per_rank[0]
    }
    natives.setdefault((kind, len(group)), []).append((nbytes, med["native"]))
    scheduled = [name for name, _ in schedules]
    choice = algorithms.choose(kind, group, topo, nbytes, algorithms=scheduled)[0][0]
    best = min(med[a] for a in scheduled)
    ratio = med[choice] / best
    cells = " ".join(
        f"{med[a] * 1e3:>10.3f}{'*' if a == choice else ' '}" if a in med else f"{'-':>11}"
        for a in names
    )
    row = f"{human(nbytes):>6} {cells} {med['native'] * 1e3:>10.3f} {choice:>18} {ratio:>6.2f}"
    print(row, flush=True)
    return ratio <= 1.05


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 sizes, 3 repetitions")
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

    alpha, beta, link, gamma = measure_link([8, MIB, 16 * MIB])
    bw = {n: exchange_bandwidth(n, 16 * MIB, alpha) for n in ranks}
    print(f"alpha = {alpha * 1e6:.1f} us  (ping-pong one-way, 8 B)")
    print(f"beta  = {beta * 1e9:.3f} ns/B  ({1 / beta / 1e9:.2f} GB/s ping-pong, 1-16 MiB)")
    for n in ranks:
        print(f"ring-step bandwidth, {n} ranks at once: {bw[n] / 1e9:.2f} GB/s per rank")
    print(f"gamma = {gamma * 1e9:.3f} ns/B  (torch add_ of float32, 16 MiB)")
    print("topology per rank count: uniform(n, alpha, ring-step bandwidth, gamma)\n")

    within = total = 0
    natives: dict[tuple[str, int], list[tuple[int, float]]] = {}
    for n in ranks:
        topo = topo_mod.uniform(n, alpha, bw[n], gamma)
        group = list(range(n))
        with Cluster(n, timeout=600.0) as cluster:
            for kind in kinds:
                names = list(algorithms.ALGORITHMS[kind])
                print(f"{kind}, {n} ranks: median ms of {reps}; '*' = model's choice")
                head = " ".join(f"{a[:11]:>11}" for a in names)
                print(f"{'size':>6} {head} {'native':>10} {'choice':>18} {'ratio':>6}")
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
