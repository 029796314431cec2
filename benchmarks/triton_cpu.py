"""Run time of the Triton tutorial kernels on xpuc's cpu target, beside numpy and Triton's
interpreter.

    python benchmarks/triton_cpu.py [--quick] [--only add_kernel] [--no-interp]
                                    [--interp-python PYTHON]

Each ``@triton.jit`` kernel of the official tutorials (``shared/conformance/
triton-tutorials``; signatures and constexprs as in ``triton_compile.py``) is compiled
by xpuc for the cpu target and launched as the tutorial's host code launches it, on
numpy arrays (all cores, xpuc's worker pool).  Its result is first checked against the
same computation written in numpy; a wrong result is reported and not timed.  Then the
launch and the numpy version are each run a few times (after a warm-up) and the
median counts; accumulators and locks the kernel adds into are re-zeroed between runs,
untimed.

The floor is Triton's interpreter (``TRITON_INTERPRET=1``, torch CPU tensors, one
program after the other), in a process of its own since the variable must be set before
the kernels are defined.  It is too slow for the full sizes: it runs the same kernel on
a smaller problem (the ``interp`` sizes below, same constexprs) and its time is scaled
to the full size by the amount of work (elements, or M*N*K), marked ``~``.  It needs
torch, which xpuc does not depend on: ``--interp-python`` names another Python that has
triton, torch and numpy, else the column is left out with the reason printed.

Each kernel runs in a child process, so that a kernel which hangs (the layer-norm
backward kernel spins on a lock) costs a timeout rather than the run.  Prints per kernel
the times in ms and the ratios numpy / xpuc and interp / xpuc (above 1: xpuc is
faster), then their geometric means.  A kernel xpuc cannot compile yet gets a row
``skipped: <error>``.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from triton_compile import SPECS, TUTORIALS, Spec, error_text, geomean, load  # noqa: E402

warnings.filterwarnings("ignore", "TRITON_DEFAULT_FP_FUSION")

F32, F16 = np.float32, np.float16
TIMEOUT_S = 300


@dataclass
class Launch:
    """One launch of a kernel, its expected results, and the numpy version of it."""

    args: list[Any]
    """In the kernel's parameter order, constexprs left out."""
    grid: tuple[int, ...]
    expect: dict[int, np.ndarray]
    """Argument index -> its value after the launch."""
    ref: Callable[[], Any]
    """The same computation in numpy (timed)."""
    zero: tuple[int, ...] = ()
    """Arguments the kernel adds into: re-zeroed before each launch."""
    tol: tuple[float, float] = (1e-5, 1e-6)


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _add(z: dict[str, int], rng: np.random.Generator) -> Launch:
    n = z["n"]
    x, y = rng.random(n, F32), rng.random(n, F32)
    out = np.empty_like(x)
    return Launch([x, y, out, n], (cdiv(n, 1024),), {2: x + y}, lambda: x + y)


def _softmax_np(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax(z: dict[str, int], rng: np.random.Generator) -> Launch:
    rows, cols = z["rows"], z["cols"]
    x = rng.standard_normal((rows, cols), F32) * 4
    y = np.empty_like(x)
    # one program a row (the tutorial sizes the grid to the GPU's occupancy)
    return Launch([y, x, cols, cols, rows, cols], (rows,), {0: _softmax_np(x)},
                  lambda: _softmax_np(x))  # fmt: skip


def _matmul_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    acc = a.astype(F32) @ b.astype(F32)
    return np.where(acc >= 0, acc, 0.01 * acc).astype(F16)


def _matmul(z: dict[str, int], rng: np.random.Generator) -> Launch:
    m, n, k = z["M"], z["N"], z["K"]
    a = rng.standard_normal((m, k), F32).astype(F16)
    b = rng.standard_normal((k, n), F32).astype(F16)
    c = np.empty((m, n), F16)
    return Launch([a, b, c, m, n, k, k, 1, n, 1, n, 1], (cdiv(m, 64) * cdiv(n, 64),),
                  {2: _matmul_np(a, b)}, lambda: _matmul_np(a, b), tol=(1e-2, 1e-2))  # fmt: skip


EPS = 1e-5


def _ln_np(x: np.ndarray, w: np.ndarray, b: np.ndarray):
    mean = x.mean(axis=1)
    xc = x - mean[:, None]
    rstd = 1 / np.sqrt((xc * xc).mean(axis=1) + F32(EPS))
    return xc * rstd[:, None] * w + b, mean, rstd


def _ln_fwd(z: dict[str, int], rng: np.random.Generator) -> Launch:
    m, n = z["M"], z["N"]
    x = rng.standard_normal((m, n), F32)
    w, b = rng.random(n, F32), rng.random(n, F32)
    y, mean, rstd = np.empty_like(x), np.empty(m, F32), np.empty(m, F32)
    ey, emean, erstd = _ln_np(x, w, b)
    return Launch([x, y, w, b, mean, rstd, n, n, EPS], (m,), {1: ey, 4: emean, 5: erstd},
                  lambda: _ln_np(x, w, b), tol=(1e-4, 1e-4))  # fmt: skip


def _ln_bwd_dx_np(x, dy, w, mean, rstd, group: int):
    m, n = x.shape
    xhat = (x - mean[:, None]) * rstd[:, None]
    wdy = w * dy
    c1 = (xhat * wdy).sum(axis=1) / n
    c2 = wdy.sum(axis=1) / n
    dx = (wdy - (xhat * c1[:, None] + c2[:, None])) * rstd[:, None]
    # row r adds into group r % group
    dw = (dy * xhat).reshape(m // group, group, n).sum(axis=0)
    return dx, dw, dy.reshape(m // group, group, n).sum(axis=0)


def _ln_bwd_dx(z: dict[str, int], rng: np.random.Generator) -> Launch:
    m, n, g = z["M"], z["N"], 64  # g: the GROUP_SIZE_M constexpr
    x, dy = rng.standard_normal((m, n), F32), rng.standard_normal((m, n), F32)
    w, b = rng.random(n, F32), rng.random(n, F32)
    _, mean, rstd = _ln_np(x, w, b)
    dx, dw, db = np.empty_like(x), np.zeros((g, n), F32), np.zeros((g, n), F32)
    lock = np.zeros(2 * g, np.int32)
    edx, edw, edb = _ln_bwd_dx_np(x, dy, w, mean, rstd, g)
    return Launch([dx, dy, dw, db, x, w, mean, rstd, lock, n, n], (m,),
                  {0: edx, 2: edw, 3: edb}, lambda: _ln_bwd_dx_np(x, dy, w, mean, rstd, g),
                  zero=(2, 3, 8), tol=(1e-4, 1e-3))  # fmt: skip


def _ln_bwd_dwdb(z: dict[str, int], rng: np.random.Generator) -> Launch:
    m, n = z["M"], z["N"]
    dw, db = rng.standard_normal((m, n), F32), rng.standard_normal((m, n), F32)
    fdw, fdb = np.empty(n, F32), np.empty(n, F32)
    return Launch([dw, db, fdw, fdb, m, n], (cdiv(n, 128),),
                  {2: dw.sum(axis=0), 3: db.sum(axis=0)},
                  lambda: (dw.sum(axis=0), db.sum(axis=0)), tol=(1e-4, 1e-4))  # fmt: skip


# kernel -> (setup, full sizes, the interpreter's sizes)
CASES: dict[str, tuple[Callable[..., Launch], dict[str, int], dict[str, int]]] = {
    "add_kernel": (_add, {"n": 1 << 20}, {"n": 1 << 16}),
    "softmax_kernel": (_softmax, {"rows": 1823, "cols": 781}, {"rows": 64, "cols": 781}),
    "matmul_kernel": (_matmul, {"M": 256, "N": 256, "K": 256}, {"M": 64, "N": 256, "K": 256}),
    "_layer_norm_fwd_fused": (_ln_fwd, {"M": 1151, "N": 4096}, {"M": 32, "N": 4096}),
    "_layer_norm_bwd_dx_fused": (_ln_bwd_dx, {"M": 4096, "N": 1000}, {"M": 128, "N": 1000}),
    "_layer_norm_bwd_dwdb": (_ln_bwd_dwdb, {"M": 256, "N": 8192}, {"M": 256, "N": 1024}),
}


def work(sizes: dict[str, int]) -> int:
    return math.prod(sizes.values())


def median_time(thunk: Callable[[], Any], reps: int, before: Callable[[], Any] = lambda: None):
    times = []
    for _ in range(reps):
        before()
        start = time.perf_counter()
        thunk()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mismatch(launch: Launch) -> str | None:
    """Why the launch's results differ from numpy's, or None."""
    rtol, atol = launch.tol
    for i, want in launch.expect.items():
        got = np.asarray(launch.args[i], dtype=F32)
        want = want.astype(F32)
        if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False):
            err = float(np.nanmax(np.abs(got - want))) if got.shape == want.shape else math.nan
            return f"argument {i} differs from numpy (max abs error {err:.3g})"
    return None


def xpuc_child(spec: Spec, reps: int) -> dict[str, Any]:
    """xpuc's and numpy's times at the full size, after the check."""
    from xpuc.frontends.triton import TritonKernel
    from xpuc.frontends.triton import compile as xpuc_compile

    setup, sizes, _ = CASES[spec.name]
    launch = setup(sizes, np.random.default_rng(0))
    try:
        art = xpuc_compile(load(spec), spec.signature, spec.constexprs, target="cpu",
                           num_warps=spec.num_warps)  # fmt: skip
        kernel = TritonKernel.load(art, spec.num_warps, spec.constexprs)
    except Exception as e:  # noqa: BLE001 - a kernel xpuc does not lower yet
        return {"error": error_text(e)}
    run = kernel[launch.grid]

    def zero() -> None:
        for i in launch.zero:
            launch.args[i][...] = 0

    zero()
    run(*launch.args)
    if why := mismatch(launch):
        return {"wrong": why}
    return {
        "xpuc": median_time(lambda: run(*launch.args), reps, zero),
        "numpy": median_time(launch.ref, reps),
    }


def load_interpreted(spec: Spec) -> Any:
    """The kernel as an interpreted function: the file's imports, literal constants and
    ``@triton.jit`` functions (``load_kernel`` keeps only compiled ones), run under the
    file's own name so that triton finds their source."""
    path = TUTORIALS / spec.file
    tree = ast.parse(path.read_text(), filename=str(path))
    env: dict[str, Any] = {"__name__": f"interp_{path.stem.replace('-', '_')}",
                           "__file__": str(path)}  # fmt: skip
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            jit = [d for d in node.decorator_list if ast.unparse(d) in ("triton.jit", "jit")]
            if not jit:
                continue
            node.decorator_list = jit
        elif isinstance(node, ast.Assign):
            try:
                ast.literal_eval(node.value)
            except ValueError:
                continue
        elif not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        code = compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec")
        try:
            exec(code, env)
        except ImportError:
            continue  # a driver-only import
    return env[spec.name]


def interp_child(spec: Spec, reps: int) -> dict[str, Any]:
    """The interpreter's time at its smaller size, and the work ratio to scale it by."""
    import torch

    setup, sizes, small = CASES[spec.name]
    launch = setup(small, np.random.default_rng(0))
    fn = load_interpreted(spec)
    args = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in launch.args]

    def zero() -> None:
        for i in launch.zero:
            launch.args[i][...] = 0  # the tensors share the arrays' memory

    def run() -> None:
        fn[launch.grid](*args, **spec.constexprs, num_warps=spec.num_warps)

    zero()
    try:
        run()
    except Exception as e:  # noqa: BLE001 - reported, the floor is optional
        return {"error": error_text(e)}
    if why := mismatch(launch):
        return {"wrong": why}
    return {"interp": median_time(run, reps, zero), "scale": work(sizes) / work(small)}


def child(mode: str, name: str, reps: int) -> int:
    spec = next(s for s in SPECS if s.name == name)
    out = xpuc_child(spec, reps) if mode == "xpuc" else interp_child(spec, reps)
    print(json.dumps(out))
    return 0


def in_child(mode: str, name: str, reps: int, python: str = sys.executable) -> dict[str, Any]:
    env = dict(os.environ)
    if mode == "interp":
        env["TRITON_INTERPRET"] = "1"
    cmd = [python, __file__, "--child", mode, name, "--reps", str(reps)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"{mode} run did not finish in {TIMEOUT_S} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{mode} process failed ({proc.returncode}): {tail}"}
    return json.loads(lines[-1])


def interp_missing(python: str) -> str | None:
    """Why ``python`` cannot run Triton's interpreter, or None."""
    probe = "import numpy, torch, triton"
    proc = subprocess.run([python, "-c", probe], capture_output=True, text=True)
    if proc.returncode == 0:
        return None
    last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
    return f"{python} cannot '{probe}' ({last}); see --interp-python"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 timed runs each, 1 interpreted")
    p.add_argument("--only", help="comma-separated kernel names")
    p.add_argument("--no-interp", action="store_true", help="leave out Triton's interpreter")
    p.add_argument(
        "--interp-python",
        default=sys.executable,
        metavar="PYTHON",
        help="the Python (with triton, torch, numpy) to run the interpreter with",
    )
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    p.add_argument("--reps", type=int, default=10, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(*args.child, args.reps)
    if not TUTORIALS.is_dir():
        print(f"triton tutorials absent ({TUTORIALS.resolve()}): nothing to measure")
        return 0
    reps, interp_reps = (3, 1) if args.quick else (10, 3)
    if not args.no_interp and (why := interp_missing(args.interp_python)):
        print(f"Triton's interpreter left out: {why}")
        args.no_interp = True
    only = set(args.only.split(",")) if args.only else None
    threads = os.environ.get("XPUC_NUM_THREADS") or os.cpu_count()
    print(f"xpuc cpu target, {threads} threads; medians of {reps} runs, interpreter "
          f"{interp_reps} run(s) at a smaller size scaled by work (~)\n")  # fmt: skip
    print(f"{'kernel':<26} {'size':<22} {'xpuc':>9} {'numpy':>9} {'np/xpuc':>8} "
          f"{'interp':>10} {'interp/xpuc':>11}")  # fmt: skip
    np_ratios: list[float] = []
    interp_ratios: list[float] = []
    for spec in SPECS:
        if only and spec.name not in only:
            continue
        sizes = CASES[spec.name][1]
        size = "x".join(map(str, sizes.values()))
        head = f"{spec.name:<26} {size:<22}"
        res = in_child("xpuc", spec.name, reps)
        if "error" in res:
            print(f"{head} skipped: {res['error']}")
            continue
        if "wrong" in res:
            print(f"{head} wrong result, not timed: {res['wrong']}")
            continue
        xs, ns = res["xpuc"], res["numpy"]
        np_ratios.append(ns / xs)
        line = f"{head} {xs * 1e3:7.2f}ms {ns * 1e3:7.2f}ms {ns / xs:8.2f}"
        if args.no_interp:
            print(line)
            continue
        ires = in_child("interp", spec.name, interp_reps, args.interp_python)
        if "interp" in ires:
            est = ires["interp"] * ires["scale"]
            interp_ratios.append(est / xs)
            print(f"{line} ~{est * 1e3:8.0f}ms {est / xs:11.1f}")
        else:
            print(f"{line}   interp: {ires.get('error') or ires.get('wrong')}")
    print()
    if np_ratios:
        print(f"geomean numpy/xpuc:  {geomean(np_ratios):.2f} over {len(np_ratios)} kernels")
    if interp_ratios:
        print(f"geomean interp/xpuc: {geomean(interp_ratios):.1f} over {len(interp_ratios)} "
              "kernels (interpreter time scaled from a smaller size)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
