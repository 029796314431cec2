"""xpuc's cpu target against PoCL: the PolyBench-ACC kernels, CUDA through xpuc beside the
benchmark authors' own OpenCL kernels on PoCL, in one run.

    python benchmarks/cpu_vs_pocl.py [--repeat 5] [--only gemm] [--threads N] [--no-one-core]

For each benchmark, the CUDA file (``polybench-acc/CUDA``) is compiled by xpuc for the
cpu target and the OpenCL file (``polybench-acc/OpenCL``) is built by PoCL
(``pyopencl[pocl]``), both at the sizes below.  Both run the host code's launch sequence
as ``tests/conformance/polybench_specs`` records it (the same grids and blocks: an
OpenCL global size of grid x block, a local size of block), from the same inputs, on
all cores (xpuc's worker pool and PoCL's pthread device both use one thread a core).
The OpenCL kernels take their arguments in another order and a few under other
names; they are matched by name.  Each side runs the sequence once to warm up (PoCL
compiles a kernel for each local size on first use), then ``--repeat`` times from fresh
inputs; the best time counts.  Host-side copies between launches are not timed.  The
final arrays of the two must agree (the conformance test's error measure).

``--target opencl`` puts xpuc's opencl target on its side instead: the CUDA file becomes
OpenCL C, run by the same PoCL device as the authors' OpenCL (xpuc's OpenCL runtime
copies the arrays to and from buffers at each launch, and that is timed).

Prints per benchmark both times and the ratio PoCL / xpuc (above 1: xpuc is faster),
then the same on one core (a second process with ``--threads 1``), and as the last line
``cpu vs pocl geomean speedup: X.XX`` over all cores.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
POLYBENCH = ROOT.parent / "shared" / "conformance" / "polybench-acc"
sys.path.insert(0, str(ROOT / "tests" / "conformance"))

from polybench import max_error  # noqa: E402
from polybench_specs import (  # noqa: E402
    Benchmark,
    HostStep,
    Launch,
    State,
    Step,
    all_benchmarks,
    ceil_grid,
)
from polybench_specs.datamining import EPS, FLOAT_N  # noqa: E402


@dataclass(frozen=True)
class Setup:
    """How one benchmark runs here: its sizes, and what the OpenCL side needs on top."""

    sizes: dict[str, int]
    kernels: dict[str, str] = field(default_factory=dict)
    """CUDA kernel -> OpenCL kernel, where the names differ."""
    extra: dict[str, float] = field(default_factory=dict)
    """OpenCL parameters the CUDA kernels have as macros: their values."""
    steps: Callable[[dict[str, int]], Iterable[Step]] | None = None
    """A launch sequence of its own, where the host's does not fit both kernels."""
    one_d: frozenset[str] = frozenset()
    """Kernels with a 1-D index that the CUDA host launches in 32 x 8 blocks, so that 8
    threads compute (or race to add into) each element.  The OpenCL host launches them
    1-D, as work-groups of 32; both sides run them that way here."""


def _lu_full_grids(z: dict[str, int]) -> Iterator[Step]:
    """lu's host shrinks its grids with k, and its CUDA kernels index from 0 (so they
    miss the end of each row late in the factorisation) while the OpenCL kernels index
    from k + 1: with grids over the whole matrix both compute the whole factorisation."""
    n = z["N"]
    for k in range(n - 1):
        yield Launch("lu_kernel1", (ceil_grid(n, 256), 1), (256, 1), (n, "A", k), _no_ref)
        yield Launch("lu_kernel2", (ceil_grid(n, 32), ceil_grid(n, 8)), (32, 8), (n, "A", k),
                     _no_ref)  # fmt: skip


def _no_ref(state: State) -> None:
    """(The benchmark compares the two sides with each other, not with numpy.)"""


# Sizes: each sequence takes >= 50 ms on the faster side here, and keeps the relations
# the specs need (square where the host assumes it, multiples of the block sizes where
# the host's grids round down).
SETUPS: dict[str, Setup] = {
    "correlation": Setup({"M": 512, "N": 512}, extra={"float_n": FLOAT_N, "eps": EPS}),
    "covariance": Setup({"M": 512, "N": 512}, extra={"float_n": FLOAT_N}),
    "2mm": Setup({"NI": 768, "NJ": 768, "NK": 768, "NL": 768}),
    "3mm": Setup({"NI": 640, "NJ": 640, "NK": 640, "NL": 640, "NM": 640}),
    "atax": Setup({"NX": 8192, "NY": 8192}, one_d=frozenset({"atax_kernel1", "atax_kernel2"})),
    "bicg": Setup({"NX": 8192, "NY": 8192},
                  kernels={"bicg_kernel1": "bicgKernel2", "bicg_kernel2": "bicgKernel1"}),
    "doitgen": Setup({"NR": 160, "NQ": 160, "NP": 160}),
    "gemm": Setup({"NI": 1024, "NJ": 1024, "NK": 1024}, kernels={"gemm_kernel": "gemm"}),
    "gemver": Setup({"N": 8192}),
    "gesummv": Setup({"N": 8192}),
    "mvt": Setup({"N": 8192}, one_d=frozenset({"mvt_kernel1", "mvt_kernel2"})),
    "syr2k": Setup({"NI": 1024, "NJ": 1024}),
    "syrk": Setup({"NI": 1024, "NJ": 1024}),
    "gramschmidt": Setup({"NI": 512, "NJ": 512}),
    "lu": Setup({"N": 1024}, steps=_lu_full_grids),
    "adi": Setup({"N": 1024, "TSTEPS": 2}),
    "convolution-2d": Setup({"NI": 12288, "NJ": 12288},
                            kernels={"convolution2D_kernel": "Convolution2D_kernel"}),
    "convolution-3d": Setup({"NI": 384, "NJ": 384, "NK": 384},
                            kernels={"convolution3D_kernel": "Convolution3D_kernel"}),
    "fdtd-2d": Setup({"TMAX": 50, "NX": 2048, "NY": 2048},
                     kernels={f"fdtd_step{i}_kernel": f"fdtd_kernel{i}" for i in (1, 2, 3)}),
    "jacobi-1d-imper": Setup({"N": 1 << 22, "TSTEPS": 50},
                             kernels={f"runJacobiCUDA_kernel{i}": f"runJacobi1D_kernel{i}"
                                      for i in (1, 2)}),
    "jacobi-2d-imper": Setup({"N": 2048, "TSTEPS": 50},
                             kernels={f"runJacobiCUDA_kernel{i}": f"runJacobi2D_kernel{i}"
                                      for i in (1, 2)}),
}  # fmt: skip


def _key(name: str) -> str:
    return name.replace("_", "").lower()


def geometry(setup: Setup, step) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The grid and block a launch runs with here."""
    if step.kernel in setup.one_d:
        return step.grid[:1], step.block[:1]
    return tuple(step.grid), tuple(step.block)


class Side(Protocol):
    """One implementation of a benchmark: runs its launch sequence over a state."""

    def run(self, bench: Benchmark, state: State) -> float:
        """Run the whole sequence on ``state`` (updated in place); the launches' seconds."""
        ...


TARGET = "cpu"
"""The xpuc side's target: ``cpu``, or ``opencl`` (xpuc's OpenCL C on the same PoCL)."""


class XpucSide:
    def __init__(self, bench: Benchmark, setup: Setup):
        import xpuc

        cu = POLYBENCH / "CUDA" / bench.source
        art = xpuc.compile_file(cu, TARGET, include_dirs=[str(cu.parent),
                                str(POLYBENCH / "CUDA" / "utilities")],
                                defines={k: str(v) for k, v in setup.sizes.items()})  # fmt: skip
        self.mod = xpuc.load(art)
        self.setup = setup

    def run(self, bench: Benchmark, state: State) -> float:
        seconds = 0.0
        for step in steps_of(bench, self.setup):
            if isinstance(step, HostStep):
                step.apply(state)
                continue
            if 0 in step.grid:
                continue
            args = [state[a] if isinstance(a, str) else a for a in step.args]
            start = time.perf_counter()
            grid, block = geometry(self.setup, step)
            self.mod[step.kernel][grid, block](*args)
            seconds += time.perf_counter() - start
        return seconds


class PoclSide:
    def __init__(self, bench: Benchmark, setup: Setup, cuda: XpucSide):
        import pyopencl as cl

        self.cl = cl
        pocl = [p for p in cl.get_platforms() if "Portable Computing Language" in p.name]
        if not pocl:
            raise RuntimeError("no PoCL platform (pip install 'pyopencl[pocl]')")
        self.ctx = cl.Context(pocl[0].get_devices())
        self.queue = cl.CommandQueue(self.ctx)
        folder = (POLYBENCH / "OpenCL" / bench.source).parent
        source = next(folder.glob("*.cl")).read_text()
        self.program = cl.Program(self.ctx, source).build(options=["-cl-kernel-arg-info"])
        self.setup = setup
        self.cuda_params = {k.name: k.arg_names for k in cuda.mod.artifact.kernels}
        self.params, self.kernels = {}, {}
        for k in self.program.all_kernels():
            self.kernels[k.function_name] = k
            n = k.get_info(cl.kernel_info.NUM_ARGS)
            self.params[k.function_name] = [
                k.get_arg_info(i, cl.kernel_arg_info.NAME) for i in range(n)
            ]

    def _args(self, step, buffers: dict, kernel: str) -> list:
        by_name = {_key(p): a for p, a in zip(self.cuda_params[step.kernel], step.args,
                                                 strict=True)}  # fmt: skip
        extra = {_key(p): v for p, v in self.setup.extra.items()}
        out = []
        for p in self.params[kernel]:
            a = by_name[_key(p)] if _key(p) in by_name else extra[_key(p)]
            if isinstance(a, str):
                out.append(buffers[a])
            elif isinstance(a, float):
                out.append(np.float32(a))
            else:
                out.append(np.int32(a))
        return out

    def run(self, bench: Benchmark, state: State) -> float:
        cl = self.cl
        mf = cl.mem_flags
        buffers = {k: cl.Buffer(self.ctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=v)
                   for k, v in state.items()}  # fmt: skip
        self.queue.finish()
        seconds, start = 0.0, time.perf_counter()
        for step in steps_of(bench, self.setup):
            if isinstance(step, HostStep):  # a host copy: untimed
                self.queue.finish()
                seconds += time.perf_counter() - start
                for k, b in buffers.items():
                    cl.enqueue_copy(self.queue, state[k], b)
                step.apply(state)
                for k, b in buffers.items():
                    cl.enqueue_copy(self.queue, b, state[k])
                self.queue.finish()
                start = time.perf_counter()
                continue
            if 0 in step.grid:
                continue
            name = self.setup.kernels.get(step.kernel, step.kernel)
            kernel = self.kernels[name]
            grid, local = geometry(self.setup, step)
            glob = tuple(g * b for g, b in zip(grid, local, strict=True))
            kernel(self.queue, glob, local, *self._args(step, buffers, name))
        self.queue.finish()
        seconds += time.perf_counter() - start
        for k, b in buffers.items():
            cl.enqueue_copy(self.queue, state[k], b)
        self.queue.finish()
        return seconds


_SIZES: dict[str, dict[str, int]] = {}


def bench_sizes(bench: Benchmark) -> dict[str, int]:
    return _SIZES[bench.name]


def steps_of(bench: Benchmark, setup: Setup) -> Iterable[Step]:
    return (setup.steps or bench.steps)(bench_sizes(bench))


def best_time(side: Side, bench: Benchmark, repeat: int) -> tuple[float, State]:
    state = bench.init(bench_sizes(bench))
    side.run(bench, {k: v.copy() for k, v in state.items()})  # warm-up
    best, final = math.inf, state
    for _ in range(repeat):
        fresh = {k: v.copy() for k, v in state.items()}
        best = min(best, side.run(bench, fresh))
        final = fresh
    return best, final


def measure(names: list[str], repeat: int) -> list[tuple[str, float, float, str]]:
    benches = {b.name: b for b in all_benchmarks()}
    rows = []
    for name in names:
        bench, setup = benches[name], SETUPS[name]
        _SIZES[name] = setup.sizes
        xs = XpucSide(bench, setup)
        ps = PoclSide(bench, setup, xs)
        tx, fx = best_time(xs, bench, repeat)
        tp, fp = best_time(ps, bench, repeat)
        err, where = max_error(fx, {k: v.astype(np.float64) for k, v in fp.items()})
        check = "equal" if err <= max(bench.rtol, 1e-3) else f"DIFFER ({where}: {err:.1e})"
        rows.append((name, tx, tp, check))
        print(f"{name:<16} {tx * 1e3:10.1f} {tp * 1e3:10.1f} {tp / tx:8.2f}  {check}", flush=True)
    return rows


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", action="append", metavar="NAME", choices=sorted(SETUPS))
    ap.add_argument("--threads", type=int, help="worker threads for both sides (default: all)")
    ap.add_argument("--no-one-core", action="store_true", help="skip the one-core run")
    ap.add_argument(
        "--target",
        default="cpu",
        choices=["cpu", "opencl"],
        help="xpuc's side: the cpu target, or its OpenCL C run by the same PoCL",
    )
    opts = ap.parse_args()
    global TARGET
    TARGET = opts.target
    if not POLYBENCH.is_dir():
        print(f"skipped: PolyBench-ACC not found at {POLYBENCH}")
        return 0
    system_icd = Path("/etc/OpenCL/vendors/pocl.icd")
    if system_icd.exists():  # see the module's docstring: the wheel's PoCL cannot run here
        os.environ.setdefault("OCL_ICD_VENDORS", str(system_icd))
    try:
        import pyopencl  # noqa: F401
    except ImportError:
        print("skipped: pyopencl is not installed (pip install 'pyopencl[pocl]')")
        return 0
    if opts.threads:  # must be set before either runtime starts its threads
        os.environ["XPUC_NUM_THREADS"] = os.environ["POCL_MAX_PTHREAD_COUNT"] = str(opts.threads)
    cores = opts.threads or os.cpu_count()
    names = opts.only or list(SETUPS)
    print(f"{cores} core{'s' * (cores != 1)}: best of {opts.repeat}, milliseconds")
    print(f"{'benchmark':<16} {'xpuc':>10} {'pocl':>10} {'speedup':>8}  result")
    rows = measure(names, opts.repeat)
    speedup = geomean([tp / tx for _, tx, tp, _ in rows])
    if not opts.threads and not opts.no_one_core and cores > 1:
        print("\none core:", flush=True)
        cmd = [
            sys.executable,
            __file__,
            "--threads",
            "1",
            "--repeat",
            str(opts.repeat),
            "--target",
            TARGET,
        ]
        cmd += [f"--only={n}" for n in names]
        subprocess.run(cmd, check=False)
        print()
    label = f"{TARGET} vs pocl"
    if opts.threads:
        label += f" ({cores} core{'s' * (cores != 1)})"
    print(f"{label} geomean speedup: {speedup:.2f}")
    return 0 if all(r[3] == "equal" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
