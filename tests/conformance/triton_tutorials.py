"""Triton tutorials conformance: compile the kernels of the official Triton tutorials with
xpuc, and check each one (seven checks: matmul counts twice, once per activation).

The tutorials (``01-vector-add.py``, ``02-fused-softmax.py``, ``03-matrix-multiplication.py``,
``05-layer-norm.py``) are read from ``../shared/conformance/triton-tutorials`` beside the
repository; only their imports, constants and ``@triton.jit`` functions are executed
(``load_kernel``), never their driver code.

``--target cpu`` (or ``opencl``) launches each kernel the way its tutorial does (its grid
formula, argument order, strides in elements, its ``num_warps`` formula) at reduced sizes
and compares the outputs with a numpy reference.  Where the tutorial's formula depends on
the GPU (the softmax's program count) or on an autotuner (matmul's block sizes), the
choice is stated next to the kernel's launch.  The matmul kernel is two of the seven,
``ACTIVATION=""`` and ``"leaky_relu"`` (two compiles), as ``docs/triton.md`` counts them.

``--target nvptx:sm_XX`` compiles each kernel to PTX: a kernel is accepted when it is an
``.entry`` of the PTX and ptxas accepts it (``Target.validate``, as ``xpuc conformance``
judges nvptx).

Prints one line per kernel and, last, ``triton-tutorials <target>: N/7 kernels correct``
(or ``accepted by ptxas``); exits 1 unless all seven pass.  Without triton, the tutorials'
folder, ptxas (nvptx) or an OpenCL device (opencl), it says why and exits 0.

    python tests/conformance/triton_tutorials.py --target cpu [--kernel add_kernel]
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import family, target_missing  # noqa: E402

TUTORIALS = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "triton-tutorials"
)
SEED = 2026

Launcher = Any
"""Indexed by a grid, gives a callable taking the kernel's arguments (numpy arrays for
pointers, Python numbers for scalars) and its constexprs as keywords: ``k[grid](...)``."""
Build = Callable[[dict[str, Any], int], Launcher]
"""``build(constexprs, num_warps)``: the kernel compiled with those values, ready to launch."""


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def next_power_of_2(n: int) -> int:
    return 1 << (n - 1).bit_length()


def _strides(a: np.ndarray) -> tuple[int, ...]:
    """Strides in elements, as ``torch.Tensor.stride()`` gives them."""
    return tuple(s // a.itemsize for s in a.strides)


def compare(label: str, got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str:
    """'' when ``|got - want| <= atol + rtol * |want|`` everywhere, else the first miss."""
    g, w = np.asarray(got, np.float64), np.asarray(want, np.float64)
    bad = ~np.isclose(g, w, rtol=rtol, atol=atol)
    if not bad.any():
        return ""
    at = np.unravel_index(int(np.argmax(bad)), bad.shape)
    where = ", ".join(map(str, at))
    return (f"{label}: {int(bad.sum())} of {bad.size} elements differ; first at [{where}]: "
            f"got {g[at]:.6g}, want {w[at]:.6g}")  # fmt: skip


def first_problem(*problems: str) -> str:
    return next((p for p in problems if p), "")


# --- 01-vector-add.py: add_kernel ---------------------------------------------------------

ADD_SIG = {"x_ptr": "*fp32", "y_ptr": "*fp32", "output_ptr": "*fp32", "n_elements": "i32",
           "BLOCK_SIZE": "constexpr"}  # fmt: skip


def check_add(k: Launcher, rng: np.random.Generator) -> str:
    n_elements = 10_000  # the tutorial's 98432, reduced; not a multiple of BLOCK_SIZE
    x = rng.random(n_elements, dtype=np.float32)
    y = rng.random(n_elements, dtype=np.float32)
    output = np.full_like(x, np.nan)
    grid = lambda meta: (cdiv(n_elements, meta["BLOCK_SIZE"]),)  # noqa: E731 - as the tutorial
    k[grid](x, y, output, n_elements, BLOCK_SIZE=1024)
    return compare("output", output, x + y, 0, 0)


# --- 02-fused-softmax.py: softmax_kernel --------------------------------------------------

SOFTMAX_SIG = {"output_ptr": "*fp32", "input_ptr": "*fp32", "input_row_stride": "i32",
               "output_row_stride": "i32", "n_rows": "i32", "n_cols": "i32",
               "BLOCK_SIZE": "constexpr", "num_stages": "constexpr"}  # fmt: skip
SOFTMAX_ROWS, SOFTMAX_COLS = 37, 100
SOFTMAX_CONSTS = {"BLOCK_SIZE": next_power_of_2(SOFTMAX_COLS), "num_stages": 4}
"""num_stages: the tutorial's ``4 if SIZE_SMEM > 200000 else 2``, for an sm_90 (228 KiB)."""
SOFTMAX_PROGRAMS = 8
"""The tutorial's ``NUM_SM * occupancy`` (device properties) taken as 8, so that with
``min(num_programs, n_rows)`` each persistent program loops over several rows."""


def check_softmax(k: Launcher, rng: np.random.Generator) -> str:
    n_rows, n_cols = SOFTMAX_ROWS, SOFTMAX_COLS
    x = rng.standard_normal((n_rows, n_cols), dtype=np.float32)
    y = np.full_like(x, np.nan)
    num_programs = min(SOFTMAX_PROGRAMS, n_rows)
    # The tutorial passes BLOCK_SIZE and num_stages positionally; TritonKernel takes
    # constexprs as keywords only.
    k[(num_programs, 1, 1)](y, x, _strides(x)[0], _strides(y)[0], n_rows, n_cols,
                            **SOFTMAX_CONSTS)  # fmt: skip
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(axis=1, keepdims=True))
    return compare("y", y, e / e.sum(axis=1, keepdims=True), 1e-5, 1e-7)


# --- 03-matrix-multiplication.py: matmul_kernel -------------------------------------------

MATMUL_SIG = {"a_ptr": "*fp16", "b_ptr": "*fp16", "c_ptr": "*fp16",
              "M": "i32", "N": "i32", "K": "i32",
              "stride_am": "i32", "stride_ak": "i32", "stride_bk": "i32", "stride_bn": "i32",
              "stride_cm": "i32", "stride_cn": "i32",
              "BLOCK_SIZE_M": "constexpr", "BLOCK_SIZE_N": "constexpr",
              "BLOCK_SIZE_K": "constexpr", "GROUP_SIZE_M": "constexpr",
              "ACTIVATION": "constexpr"}  # fmt: skip
MATMUL_BLOCKS = {"BLOCK_SIZE_M": 32, "BLOCK_SIZE_N": 32, "BLOCK_SIZE_K": 32, "GROUP_SIZE_M": 4}
"""In place of the autotuner's pick (its configs: 32..256 blocks, GROUP_SIZE_M=8, 2..8
warps): small blocks so that M, N, K below span several, GROUP_SIZE_M above num_pid_m."""


def check_matmul(activation: str) -> Callable[[Launcher, np.random.Generator], str]:
    def check(k: Launcher, rng: np.random.Generator) -> str:
        M, N, K = 70, 50, 90  # noqa: N806 - the tutorial's names; none a multiple of 32
        a = rng.standard_normal((M, K), dtype=np.float32).astype(np.float16)
        b = rng.standard_normal((K, N), dtype=np.float32).astype(np.float16)
        c = np.full((M, N), np.nan, np.float16)
        grid = lambda meta: (cdiv(M, meta["BLOCK_SIZE_M"]) * cdiv(N, meta["BLOCK_SIZE_N"]),)  # noqa: E731
        k[grid](a, b, c, M, N, K, *_strides(a), *_strides(b), *_strides(c),
                **MATMUL_BLOCKS, ACTIVATION=activation)  # fmt: skip
        want = a.astype(np.float64) @ b.astype(np.float64)
        if activation == "leaky_relu":
            want = np.where(want >= 0, want, 0.01 * want)
        # fp16 output: one rounding (half an ulp, 2**-11 relative) plus fp32 accumulation.
        return compare("c", c, want, 2e-3, 1e-2)

    return check


# --- 05-layer-norm.py: forward, backward dx (locks), backward dw/db -----------------------

LN_M, LN_N, LN_EPS = 37, 200, 1e-5
LN_BLOCK = min(65536 // 4, next_power_of_2(LN_N))  # fp32: MAX_FUSED_SIZE = 65536 // 4
LN_WARPS = min(max(LN_BLOCK // 256, 1), 8)
LN_GROUP_SIZE_M = 4
"""The tutorial's GROUP_SIZE_M is 256 for N <= 1024; 4 here, so that several rows (programs)
contend for each lock and accumulate into the same partial sums."""

LN_FWD_SIG = {"X": "*fp32", "Y": "*fp32", "W": "*fp32", "B": "*fp32", "Mean": "*fp32",
              "Rstd": "*fp32", "stride": "i32", "N": "i32", "eps": "fp32",
              "BLOCK_SIZE": "constexpr"}  # fmt: skip
LN_DX_SIG = {"DX": "*fp32", "DY": "*fp32", "DW": "*fp32", "DB": "*fp32", "X": "*fp32",
             "W": "*fp32", "Mean": "*fp32", "Rstd": "*fp32", "Lock": "*i32", "stride": "i32",
             "N": "i32", "GROUP_SIZE_M": "constexpr", "BLOCK_SIZE_N": "constexpr"}  # fmt: skip
LN_DX_CONSTS = {"GROUP_SIZE_M": LN_GROUP_SIZE_M, "BLOCK_SIZE_N": LN_BLOCK}
LN_DWDB_SIG = {"DW": "*fp32", "DB": "*fp32", "FINAL_DW": "*fp32", "FINAL_DB": "*fp32",
               "M": "i32", "N": "i32", "BLOCK_SIZE_M": "constexpr",
               "BLOCK_SIZE_N": "constexpr"}  # fmt: skip
LN_DWDB_CONSTS = {"BLOCK_SIZE_M": 32, "BLOCK_SIZE_N": 128}


def _ln_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """x, weight, bias, dy as the tutorial's test makes them."""
    x = (-2.3 + 0.5 * rng.standard_normal((LN_M, LN_N))).astype(np.float32)
    w = rng.random(LN_N, dtype=np.float32)
    b = rng.random(LN_N, dtype=np.float32)
    dy = (0.1 * rng.standard_normal((LN_M, LN_N))).astype(np.float32)
    return x, w, b, dy


def _ln_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=1)
    var = ((x64 - mean[:, None]) ** 2).mean(axis=1)
    return mean, 1 / np.sqrt(var + LN_EPS)


def check_ln_fwd(k: Launcher, rng: np.random.Generator) -> str:
    x, w, b, _ = _ln_inputs(rng)
    M, N = x.shape  # noqa: N806
    y = np.full_like(x, np.nan)
    mean = np.full(M, np.nan, np.float32)
    rstd = np.full(M, np.nan, np.float32)
    k[(M,)](x, y, w, b, mean, rstd, _strides(x)[0], N, LN_EPS, BLOCK_SIZE=LN_BLOCK)
    want_mean, want_rstd = _ln_stats(x)
    want_y = (x - want_mean[:, None]) * want_rstd[:, None] * w + b
    return first_problem(compare("mean", mean, want_mean, 1e-5, 1e-6),
                         compare("rstd", rstd, want_rstd, 1e-4, 0),
                         compare("y", y, want_y, 1e-4, 1e-5))  # fmt: skip


def check_ln_bwd_dx(k: Launcher, rng: np.random.Generator) -> str:
    x, w, _, dy = _ln_inputs(rng)
    M, N = x.shape  # noqa: N806
    G = LN_GROUP_SIZE_M  # noqa: N806
    mean64, rstd64 = _ln_stats(x)
    m, v = mean64.astype(np.float32), rstd64.astype(np.float32)  # what the forward saved
    locks = np.zeros(2 * G, np.int32)
    _dw = np.zeros((G, N), np.float32)
    _db = np.zeros((G, N), np.float32)
    dx = np.full_like(dy, np.nan)
    k[(M,)](dx, dy, _dw, _db, x, w, m, v, locks, _strides(x)[0], N,
            BLOCK_SIZE_N=LN_BLOCK, GROUP_SIZE_M=G)  # fmt: skip

    xhat = (x - m[:, None].astype(np.float64)) * v[:, None]
    wdy = w.astype(np.float64) * dy
    c1 = (xhat * wdy).sum(axis=1, keepdims=True) / N
    c2 = wdy.sum(axis=1, keepdims=True) / N
    want_dx = (wdy - (xhat * c1 + c2)) * v[:, None]
    group = np.arange(M) % G  # row r accumulates into partial row r % GROUP_SIZE_M
    want_dw = np.stack([(dy * xhat)[group == g].sum(axis=0) for g in range(G)])
    want_db = np.stack([dy[group == g].astype(np.float64).sum(axis=0) for g in range(G)])
    # Every lock released (0), every group's count set (1).
    want_locks = np.repeat([0, 1], G)
    return first_problem(compare("dx", dx, want_dx, 1e-4, 1e-5),
                         compare("_dw", _dw, want_dw, 1e-4, 1e-5),
                         compare("_db", _db, want_db, 1e-4, 1e-5),
                         compare("locks", locks, want_locks, 0, 0))  # fmt: skip


def check_ln_bwd_dwdb(k: Launcher, rng: np.random.Generator) -> str:
    # The partial sums as the tutorial's backward has them for M=37, N <= 1024: its
    # GROUP_SIZE_M of 256 rows, of which min(GROUP_SIZE_M, M) = 37 are used; more than
    # BLOCK_SIZE_M, so the kernel's row loop runs twice, the second time masked.
    group_size_m, M, N = 256, LN_M, LN_N  # noqa: N806
    _dw = np.zeros((group_size_m, N), np.float32)
    _db = np.zeros((group_size_m, N), np.float32)
    _dw[:M] = rng.standard_normal((M, N), dtype=np.float32)
    _db[:M] = rng.standard_normal((M, N), dtype=np.float32)
    dw = np.full(N, np.nan, np.float32)
    db = np.full(N, np.nan, np.float32)
    grid = lambda meta: (cdiv(N, meta["BLOCK_SIZE_N"]),)  # noqa: E731 - as the tutorial
    k[grid](_dw, _db, dw, db, min(group_size_m, M), N, **LN_DWDB_CONSTS)
    want_dw, want_db = _dw.astype(np.float64).sum(axis=0), _db.astype(np.float64).sum(axis=0)
    return first_problem(compare("dw", dw, want_dw, 1e-5, 1e-5),
                         compare("db", db, want_db, 1e-5, 1e-5))  # fmt: skip


# --- the table of kernels -------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    name: str
    file: str
    signature: dict[str, str]
    constexprs: dict[str, Any]
    num_warps: int
    """The tutorial's (its formula, or triton's default of 4 where the launch gives none)."""
    check: Callable[[Launcher, np.random.Generator], str]
    """Launches as the tutorial does; '' when the outputs match numpy, else what did not."""
    kernel: str = ""
    """The ``@triton.jit`` function's name, when it is not ``name``."""


KERNELS: dict[str, Spec] = {s.name: s for s in (
    Spec("add_kernel", "01-vector-add.py", ADD_SIG, {"BLOCK_SIZE": 1024}, 4, check_add),
    Spec("softmax_kernel", "02-fused-softmax.py", SOFTMAX_SIG, SOFTMAX_CONSTS, 8,
         check_softmax),
    Spec("matmul_kernel", "03-matrix-multiplication.py", MATMUL_SIG,
         {**MATMUL_BLOCKS, "ACTIVATION": ""}, 4, check_matmul("")),
    Spec("matmul_kernel+leaky_relu", "03-matrix-multiplication.py", MATMUL_SIG,
         {**MATMUL_BLOCKS, "ACTIVATION": "leaky_relu"}, 4, check_matmul("leaky_relu"),
         kernel="matmul_kernel"),
    Spec("_layer_norm_fwd_fused", "05-layer-norm.py", LN_FWD_SIG, {"BLOCK_SIZE": LN_BLOCK},
         LN_WARPS, check_ln_fwd),
    Spec("_layer_norm_bwd_dx_fused", "05-layer-norm.py", LN_DX_SIG, LN_DX_CONSTS, LN_WARPS,
         check_ln_bwd_dx),
    Spec("_layer_norm_bwd_dwdb", "05-layer-norm.py", LN_DWDB_SIG, LN_DWDB_CONSTS, 4,
         check_ln_bwd_dwdb),
)}  # fmt: skip


def describe(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()] or [""]
    line = lines[0]
    if line.endswith(":") and len(lines) > 1:  # "ptxas rejected the PTX for sm_90:" ...
        line = f"{line} {lines[1]}"
    for folder in (TUTORIALS, TUTORIALS.resolve()):
        line = line.replace(f"{folder}/", "")
    return f"{type(exc).__name__}: {line}"


def _ptxas_check(spec: Spec, fn: Any, target: str) -> tuple[bool, str]:
    from xpuc.frontends.triton import compile
    from xpuc.targets.registry import get_target

    art = compile(fn, spec.signature, spec.constexprs, target=target,
                  num_warps=spec.num_warps, emit="asm")  # fmt: skip
    name = art.kernels[0].name
    if not re.search(rf"\.entry\s+{re.escape(name)}\s*\(", str(art.stages["asm"])):
        return False, f"no .entry {name} in the PTX"
    get_target(target).validate(art)  # runs ptxas; raises when it rejects the PTX
    return True, "ptxas accepts it"


def run_kernel(name: str, target: str, build: Build | None = None) -> tuple[bool, str]:
    """Check one tutorial kernel on ``target``: (passed, a one-line message).

    ``build`` replaces xpuc's compile-and-load (the harness's own check runs the kernels
    under Triton's interpreter this way)."""
    spec = KERNELS[name]
    try:
        from xpuc.frontends.triton import TritonKernel, compile, load_kernel

        if build is None:
            fn = load_kernel(TUTORIALS / spec.file, spec.kernel or name)
            if family(target) == "nvptx":
                return _ptxas_check(spec, fn, target)

            def build(consts: dict[str, Any], num_warps: int) -> Launcher:
                art = compile(fn, spec.signature, consts, target=target, num_warps=num_warps)
                return TritonKernel.load(art, num_warps, consts)

        problem = spec.check(build(spec.constexprs, spec.num_warps), np.random.default_rng(SEED))
    except Exception as e:  # any failure, xpuc's or a crash, is this kernel's result
        return False, describe(e)
    return (False, problem) if problem else (True, "matches numpy")


def missing_reason(target: str) -> str:
    """Why ``target`` cannot be checked here ('' when it can)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return "triton is not installed (pip install 'xpuc[triton]')"
    if not TUTORIALS.is_dir():
        return f"no Triton tutorials conformance data at {TUTORIALS.resolve()}"
    return target_missing(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="cpu",
                        help="cpu, opencl, or nvptx:sm_XX (default: cpu)")  # fmt: skip
    parser.add_argument("--kernel", action="append", metavar="NAME", choices=list(KERNELS),
                        help="run this one only (repeatable): " + ", ".join(KERNELS))  # fmt: skip
    opts = parser.parse_args(argv)
    if family(opts.target) not in ("cpu", "opencl", "nvptx"):
        parser.error(f"--target must be cpu, opencl or nvptx:sm_XX, not {opts.target!r}")

    # Triton 3.9 warns on every compile that its FP fusion default will change.
    warnings.filterwarnings("ignore", "TRITON_DEFAULT_FP_FUSION")
    reason = missing_reason(opts.target)
    if reason:
        print(f"triton-tutorials {opts.target}: skipped: {reason}")
        return 0
    names = opts.kernel or list(KERNELS)
    passed = 0
    width = max(map(len, names))
    for name in names:
        ok, message = run_kernel(name, opts.target)
        passed += ok
        print(f"{name:<{width}}  {'PASS' if ok else 'FAIL'}  {message}", flush=True)
    verdict = "accepted by ptxas" if family(opts.target) == "nvptx" else "kernels correct"
    print(f"triton-tutorials {opts.target}: {passed}/{len(names)} {verdict}")
    return 0 if passed == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
