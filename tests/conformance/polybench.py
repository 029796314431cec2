"""PolyBench-ACC conformance: compile each benchmark's CUDA file with xpuc, check every kernel.

``--target cpu`` compiles each ``.cu`` file with its own headers at a small problem
size, runs the host code's launch sequence (its grids, blocks, argument order and loops)
on inputs made as its init function makes them, and checks each launch against a numpy
reference of the stage it implements (``polybench_specs``), computed in float64 from the
arrays the launch saw.  A launch's error is the largest ``|got - want| / (|want| + 2% of
the array's largest magnitude)`` over all arrays; a kernel is correct when that stays
within the benchmark's threshold (the benchmarks' own 0.05 percent; adi's own 2.5
percent) for all of its launches.  ``--target nvptx:sm_XX`` compiles each file to a cubin: a
kernel is accepted when it is an ``.entry`` of the PTX and ptxas accepts the file.

Prints one row per kernel and, as the last line, ``polybench <target>: N/M kernels
correct`` (or ``accepted by ptxas``); exits 1 unless every kernel passes.  Without the
conformance data (``../shared/conformance`` beside the repository, or ``--data``), or
without ptxas for nvptx, it says why and exits 0.

    python tests/conformance/polybench.py --target cpu [--only gemm]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from polybench_specs import Benchmark, HostStep, State, all_benchmarks

import xpuc
from xpuc.compiler.diagnostics import XpucError
from xpuc.targets.tools import find_ptxas

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
DATA = CONFORMANCE / "polybench-acc" / "CUDA"

FLOOR = 2e-2
"""Errors are relative to at least this fraction of the array's largest magnitude, so
elements near zero (cancellation) are judged against the array's scale."""


@dataclass
class KernelResult:
    benchmark: str
    kernel: str
    compiled: bool = False
    passed: bool = False
    detail: str = ""
    """Why it failed: the first line of an error, or what did not match."""
    error: float = 0.0
    """cpu: the largest relative error of its launches."""
    launches: int = 0
    mismatch: str = ""
    """cpu: the first launch (counting from 1) that did not match, and its array."""
    in_ptx: bool = False
    ptxas: bool = False


def describe(exc: BaseException, root: Path | None = None) -> str:
    """An exception as one line; anything but an XpucError is an xpuc crash."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()] or [""]
    line = lines[0]
    if line.endswith(":") and len(lines) > 1:  # "ptxas rejected the PTX for sm_90:" ...
        line = f"{line} {lines[1]}"
    if root is not None:
        line = line.replace(f"{root}/", "")
    if isinstance(exc, XpucError):
        return line or type(exc).__name__
    return f"internal error: {type(exc).__name__}: {line}"


def max_error(got: State, want: State) -> tuple[float, str]:
    """The largest relative error over all arrays (NaN matches NaN), and its array."""
    worst, where = 0.0, ""
    for name, w in want.items():
        g = got[name].astype(np.float64)
        same = (g == w) | (np.isnan(g) & np.isnan(w))
        if same.all():
            continue
        scale = np.abs(w[np.isfinite(w)]).max(initial=0.0)
        with np.errstate(invalid="ignore", over="ignore"):
            err = np.abs(g - w) / (np.abs(w) + FLOOR * scale + np.finfo(np.float32).tiny)
        err = float(np.nan_to_num(np.where(same, 0.0, err), nan=np.inf).max())
        if err > worst:
            worst, where = err, name
    return worst, where


def _compile(bench: Benchmark, root: Path, target: str, **kwargs) -> xpuc.Artifact:
    path = root / bench.source
    return xpuc.compile_file(path, target, include_dirs=[str(path.parent), str(root / "utilities")],
                             defines=bench.defines, **kwargs)  # fmt: skip


def check_cpu(bench: Benchmark, root: Path = DATA, target: str = "cpu") -> list[KernelResult]:
    """Run the benchmark's launch sequence on the cpu target (or another that runs here,
    such as opencl) and check every launch."""
    rows = {k: KernelResult(bench.name, k) for k in bench.kernels}
    try:
        art = _compile(bench, root, target)
        mod = xpuc.load(art)
    except Exception as e:  # a crash is a result to report too
        for row in rows.values():
            row.detail = describe(e, root)
        return list(rows.values())
    compiled = {k.name for k in art.kernels}
    for row in rows.values():
        row.compiled = row.kernel in compiled
        if not row.compiled:
            row.detail = "not among the compiled kernels"

    state = bench.init(bench.sizes)
    for step in bench.steps(bench.sizes):
        if isinstance(step, HostStep):
            step.apply(state)
            continue
        if 0 in step.grid:  # CUDA rejects an empty grid; the host ignores the error
            continue
        row = rows[step.kernel]
        want = {k: v.astype(np.float64) for k, v in state.items()}
        step.reference(want)
        if row.compiled and not row.detail:
            args = [state[a] if isinstance(a, str) else a for a in step.args]
            try:
                mod[step.kernel][step.grid, step.block](*args)
            except Exception as e:
                row.detail = describe(e, root)
            else:
                row.launches += 1
                err, array = max_error(state, want)
                row.error = max(row.error, err)
                if err <= bench.rtol:
                    continue
                if not row.mismatch:
                    row.mismatch = f"first wrong at launch {row.launches} ({array})"
        # Go on from the reference's arrays, so that the kernels after a wrong (or
        # missing) one are checked on the inputs they should have seen.
        for k, v in want.items():
            state[k][...] = v

    for row in rows.values():
        ran = row.compiled and not row.detail
        if ran and row.launches == 0:
            row.detail = "never launched"
        row.passed = ran and row.launches > 0 and row.error <= bench.rtol
        if ran and not row.passed:
            row.detail = row.detail or row.mismatch
    return list(rows.values())


def _has_entry(ptx: str, kernel: str) -> bool:
    return re.search(rf"\.entry\s+{re.escape(kernel)}\s*\(", ptx) is not None


def check_nvptx(
    bench: Benchmark, root: Path = DATA, target: str = "nvptx:sm_90"
) -> list[KernelResult]:
    """Compile the benchmark to a cubin; each kernel must be a PTX entry ptxas accepts."""
    rows = [KernelResult(bench.name, k) for k in bench.kernels]
    ptx, failure, ptxas_ok = None, "", False
    try:
        art = _compile(bench, root, target, emit="bin")
        ptx, ptxas_ok = str(art.stages["asm"]), bool(art.stages.get("bin"))
        failure = "" if ptxas_ok else "no cubin produced"
    except Exception as e:
        failure = describe(e, root)
        try:  # did it get as far as PTX?
            ptx = str(_compile(bench, root, target, emit="asm").stages["asm"])
        except Exception:  # the first error is the one to show
            ptx = None
    for row in rows:
        row.compiled = ptx is not None
        row.in_ptx = ptx is not None and _has_entry(ptx, row.kernel)
        row.ptxas = ptxas_ok
        row.passed = row.compiled and row.in_ptx and row.ptxas
        row.detail = failure or ("" if row.in_ptx else "no .entry in the PTX")
    return rows


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def format_table(rows: list[KernelResult], target: str) -> str:
    if target in ("cpu", "opencl"):
        head = ("benchmark", "kernel", "compiled", "correct", "max error", "detail")
        body = [(r.benchmark, r.kernel, _yes(r.compiled), _yes(r.passed),
                 f"{r.error:.1e}" if r.launches else "-", r.detail) for r in rows]  # fmt: skip
    else:
        head = ("benchmark", "kernel", "compiled", ".entry in PTX", "ptxas", "detail")
        body = [(r.benchmark, r.kernel, _yes(r.compiled), _yes(r.in_ptx), _yes(r.ptxas),
                 r.detail) for r in rows]  # fmt: skip
    widths = [max(len(str(line[i])) for line in [head, *body]) for i in range(len(head) - 1)]
    lines = []
    for line in [head, None, *body]:
        if line is None:
            lines.append("  ".join("-" * w for w in widths) + "  ------")
            continue
        cells = [str(c).ljust(w) for c, w in zip(line, widths, strict=False)]
        lines.append("  ".join([*cells, str(line[-1])]).rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    benches = all_benchmarks()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="cpu",
                        help="cpu, opencl, or nvptx:sm_XX (default: cpu)")  # fmt: skip
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run this benchmark only (repeatable): "
                        + ", ".join(b.name for b in benches))  # fmt: skip
    parser.add_argument("--data", type=Path, default=DATA,
                        help=f"PolyBench-ACC's CUDA folder (default: {DATA})")  # fmt: skip
    opts = parser.parse_args(argv)

    family = opts.target.split(":")[0]
    if family not in ("cpu", "opencl", "nvptx"):
        parser.error(f"--target must be cpu, opencl or nvptx:sm_XX, not {opts.target!r}")
    if opts.only:
        unknown = sorted(set(opts.only) - {b.name for b in benches})
        if unknown:
            parser.error(f"unknown benchmark {', '.join(unknown)}")
        benches = tuple(b for b in benches if b.name in opts.only)
    root = opts.data.resolve()
    if not root.is_dir():
        print(f"polybench {family}: skipped: no PolyBench-ACC conformance data at {root}")
        return 0
    if family == "nvptx" and find_ptxas() is None:
        print(f"polybench {family}: skipped: ptxas not found (PATH, $CUDA_HOME/bin, triton)")
        return 0

    rows: list[KernelResult] = []
    start = time.perf_counter()
    for bench in benches:
        rows += (check_nvptx(bench, root, opts.target) if family == "nvptx"
                 else check_cpu(bench, root, family))  # fmt: skip
    seconds = time.perf_counter() - start
    print(format_table(rows, family))
    if family != "nvptx":
        print("\nnotes (size choices, and where this harness departs from the benchmarks' code):")
        for bench in benches:
            for note in bench.notes:
                print(f"  {bench.name}: {note}")
    passed = sum(r.passed for r in rows)
    verdict = "accepted by ptxas" if family == "nvptx" else "correct"
    print(f"\n({len(benches)} benchmark{'s' * (len(benches) != 1)} in {seconds:.1f} s)")
    print(f"polybench {family}: {passed}/{len(rows)} kernels {verdict}")
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
