r"""Run time of TE computations on xpuc's cpu target vs TVM's own ``llvm`` build of the
same PrimFunc, in one process; prints ratios and the geomeans.

    python benchmarks/tvm_cpu.py [--quick]

Each computation runs twice: **unscheduled** (``te.create_prim_func`` as it comes) and
with the same **simple cpu schedule** (:func:`simple_schedule`: each block's outermost
loop ``parallel``, its innermost loop split by 8 and vectorized where TVM allows it).
Both builds get the same PrimFunc; each result is checked against the other before
timing.  TVM's unscheduled build runs on one core (no parallel loops without a
schedule); xpuc's default mapping puts the spatial loops on threads, which the cpu
runtime spreads over every core, so the unscheduled ratio also shows that.  Scheduled,
both use every core (``TVM_NUM_THREADS`` is set to the core count unless given): TVM's
thread pool runs the parallel loop, xpuc maps it onto blocks and the vectorized loop
onto a block's threads (the cpu target's vector lanes).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import numpy as np


def workloads(quick: bool):
    from tvm import te, topi

    n = 128 if quick else 256
    a, b = te.placeholder((n, n), name="A"), te.placeholder((n, n), name="B")
    r = te.reduce_axis((0, n), name="r")
    mm = te.compute((n, n), lambda i, j: te.sum(a[i, r] * b[r, j], axis=r), name="C")
    yield "matmul", f"{n}^3", [a, b, mm]
    m = 1 << (18 if quick else 20)
    x, y = te.placeholder((m,), name="x"), te.placeholder((m,), name="y")
    yield "add", f"{m}", [x, y, te.compute((m,), lambda i: x[i] * 2 + y[i], name="z")]
    rows, cols = (256, 512) if quick else (1024, 1024)
    s = te.placeholder((rows, cols), name="s")
    yield "softmax", f"{rows}x{cols}", [s, topi.nn.softmax(s, axis=1)]
    yield "reduce sum", f"{rows}x{cols}", [s, topi.sum(s, axis=1)]
    d = te.placeholder((1, 16, 32, 32), name="data")
    w = te.placeholder((32, 16, 3, 3), name="w")
    conv = topi.nn.conv2d_nchw(d, w, stride=1, padding=1, dilation=1)
    yield "conv2d nchw", "1x16x32x32 * 32x16x3x3", [d, w, conv]
    g = te.placeholder((rows, cols), name="g")
    gamma, beta = te.placeholder((cols,), name="gamma"), te.placeholder((cols,), name="beta")
    yield "layer norm", f"{rows}x{cols}", [g, gamma, beta, topi.nn.layer_norm(g, gamma, beta, [1])]


def simple_schedule(func):
    """``func`` with each block's outermost loop parallel and its innermost loop split by
    8 and vectorized, where TVM's schedule checks allow each step."""
    from tvm import s_tir

    sch = s_tir.Schedule(func)
    for block in sch.get_child_blocks(sch.get_sblock("root")):
        loops = sch.get_loops(block)
        if len(loops) > 1:
            try:
                sch.parallel(loops[0])
            except Exception:  # noqa: BLE001, S110 - TVM refuses: a reduction loop
                pass
        if len(loops) > 1 and int(sch.get(loops[-1]).extent) % 8 == 0:
            try:
                _, inner = sch.split(loops[-1], [None, 8])
                sch.vectorize(inner)
            except Exception:  # noqa: BLE001, S110
                pass
    return sch.mod["main"]


def median_ms(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs")
    opts = ap.parse_args()
    # TVM's thread pool counts physical cores (1 on this 2-vCPU machine): give it all
    os.environ.setdefault("TVM_NUM_THREADS", str(os.cpu_count() or 1))
    # ... and its idle workers spin, taking the cores from xpuc's next run: not here
    os.environ.setdefault("TVM_THREAD_POOL_SPIN_COUNT", "0")
    try:
        import tvm
        from tvm import te
    except ImportError:
        print("tvm_cpu: skipped: apache-tvm is not installed")
        return 0
    from xpuc.frontends import tvm as xt

    reps = 3 if opts.quick else 10
    rng = np.random.default_rng(0)
    threads = tvm.get_global_func("runtime.NumThreads")()
    print(f"xpuc cpu target vs TVM {tvm.__version__} llvm ({threads} threads), medians of {reps}")
    print(f"{'computation':14} {'size':24} {'schedule':11} {'xpuc':>9} {'tvm':>9} {'tvm/xpuc':>9}")
    ratios: dict[str, list[float]] = {"unscheduled": [], "simple": []}
    for name, size, tensors in workloads(opts.quick):
        plain = te.create_prim_func(tensors)
        arrays = [rng.standard_normal([int(d) for d in t.shape]).astype(str(t.dtype))
                  for t in tensors]  # fmt: skip
        for label, func in (("unscheduled", plain), ("simple", simple_schedule(plain))):
            ours = [a.copy() for a in arrays]
            theirs = [tvm.runtime.tensor(a) for a in arrays]
            kernel = xt.load(xt.compile(func, "cpu"))
            built = tvm.compile(func, target="llvm")
            kernel(*ours)
            built(*theirs)
            if not np.allclose(ours[-1], theirs[-1].numpy(), rtol=1e-3, atol=1e-4):
                print(f"{name:14} {size:24} {label:11} results differ: not timed")
                continue
            t_x = median_ms(lambda kernel=kernel, ours=ours: kernel(*ours), reps)
            t_t = median_ms(lambda built=built, theirs=theirs: built(*theirs), reps)
            ratios[label].append(t_t / t_x)
            print(f"{name:14} {size:24} {label:11} {t_x:8.2f}ms {t_t:8.2f}ms {t_t / t_x:9.2f}")
    for label, rs in ratios.items():
        if rs:
            geo = math.exp(sum(map(math.log, rs)) / len(rs))
            print(f"geomean tvm/xpuc, {label}: {geo:.2f} over {len(rs)} computations "
                  "(above 1: xpuc faster)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
