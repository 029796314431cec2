"""Compile time of the Triton tutorial kernels to PTX (sm_90): xpuc beside triton.compile.

    python benchmarks/triton_compile.py [--quick] [--only add_kernel]

For each ``@triton.jit`` kernel of the official tutorials
(``shared/conformance/triton-tutorials``), compiled for ``nvptx:sm_90`` with 4 warps:

* xpuc: ``xpuc.frontends.triton.compile(..., emit="asm")``, down to PTX.  It uses
  triton's own front end up to TTIR, so that part of the work is in both columns.
* triton, "to PTX": triton's stages (``make_ir``, ttir, ttgir, llir, ptx) called one
  after the other, as ``triton.compile`` calls them, without its cache and without the
  cubin stage (``triton.compile`` has no way to stop at PTX).
* triton, ``triton.compile``: the whole call, which also runs the bundled ptxas for a
  cubin and reads or writes its on-disk cache, measured as a recompile into a fresh
  cache directory and as a cache hit.

"Cold" is the first compile in a fresh process (one process per kernel and column,
``TRITON_CACHE_DIR`` a new empty directory set before triton is imported; importing
xpuc and triton is not counted).  xpuc has no on-disk cache, only in-memory caches of
looked-up targets and tools, which a fresh process starts without.  "Warm" is a
compile repeated in this process after a first one.  Every number is a median.

Prints per kernel one row per measure with both times and the ratio triton / xpuc
(above 1: xpuc compiles faster), then the geometric means of the ratios.  A kernel
that xpuc cannot compile yet gets a row ``skipped: <error>``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / ".." / "shared" / "conformance" / "triton-tutorials"
XPUC_TARGET = "nvptx:sm_90"

warnings.filterwarnings("ignore", "TRITON_DEFAULT_FP_FUSION")


@dataclass(frozen=True)
class Spec:
    """One tutorial kernel as the tutorial's host code launches it."""

    file: str
    name: str
    signature: dict[str, str]
    constexprs: dict[str, Any] = field(default_factory=dict)
    num_warps: int = 4


def _ptrs(names: str, ty: str = "*fp32") -> dict[str, str]:
    return dict.fromkeys(names.split(), ty)


SPECS: list[Spec] = [
    Spec("01-vector-add.py", "add_kernel",
         {**_ptrs("x_ptr y_ptr output_ptr"), "n_elements": "i32", "BLOCK_SIZE": "constexpr"},
         {"BLOCK_SIZE": 1024}),
    Spec("02-fused-softmax.py", "softmax_kernel",
         {**_ptrs("output_ptr input_ptr"),
          **_ptrs("input_row_stride output_row_stride n_rows n_cols", "i32"),
          "BLOCK_SIZE": "constexpr", "num_stages": "constexpr"},
         {"BLOCK_SIZE": 1024, "num_stages": 2}),
    Spec("03-matrix-multiplication.py", "matmul_kernel",
         {**_ptrs("a_ptr b_ptr c_ptr", "*fp16"),
          **_ptrs("M N K stride_am stride_ak stride_bk stride_bn stride_cm stride_cn", "i32"),
          **_ptrs("BLOCK_SIZE_M BLOCK_SIZE_N BLOCK_SIZE_K GROUP_SIZE_M ACTIVATION", "constexpr")},
         {"BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 32, "GROUP_SIZE_M": 8,
          "ACTIVATION": "leaky_relu"}),
    Spec("05-layer-norm.py", "_layer_norm_fwd_fused",
         {**_ptrs("X Y W B Mean Rstd"), "stride": "i32", "N": "i32", "eps": "fp32",
          "BLOCK_SIZE": "constexpr"},
         {"BLOCK_SIZE": 1024}),
    Spec("05-layer-norm.py", "_layer_norm_bwd_dx_fused",
         {**_ptrs("DX DY DW DB X W Mean Rstd"), "Lock": "*i32", "stride": "i32", "N": "i32",
          "GROUP_SIZE_M": "constexpr", "BLOCK_SIZE_N": "constexpr"},
         {"GROUP_SIZE_M": 64, "BLOCK_SIZE_N": 1024}),
    Spec("05-layer-norm.py", "_layer_norm_bwd_dwdb",
         {**_ptrs("DW DB FINAL_DW FINAL_DB"), "M": "i32", "N": "i32",
          "BLOCK_SIZE_M": "constexpr", "BLOCK_SIZE_N": "constexpr"},
         {"BLOCK_SIZE_M": 32, "BLOCK_SIZE_N": 128}),
]  # fmt: skip


def load(spec: Spec) -> Any:
    """The tutorial's ``@triton.jit`` function."""
    from xpuc.frontends.triton import load_kernel

    return load_kernel(TUTORIALS / spec.file, spec.name)


def error_text(e: BaseException) -> str:
    """One line for a failed compile: an XpucError's own message, else its type too."""
    try:
        from xpuc.compiler.diagnostics import XpucError
    except ImportError:  # the interpreter's process may run another Python
        return f"{type(e).__name__}: {e}".strip().splitlines()[0]
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return text if isinstance(e, XpucError) else f"{type(e).__name__}: {text}"


def xpuc_ptx(fn: Any, spec: Spec) -> str:
    from xpuc.frontends.triton import compile as xpuc_compile

    art = xpuc_compile(fn, spec.signature, spec.constexprs, target=XPUC_TARGET,
                       num_warps=spec.num_warps, emit="asm")  # fmt: skip
    return str(art.stages["asm"])


def _triton_target():
    from triton.backends.compiler import GPUTarget

    return GPUTarget("cuda", 90, 32)


def triton_ptx(fn: Any, spec: Spec) -> str:
    """triton.compile's stages up to PTX, as it runs them, minus its cache."""
    from triton._C.libtriton import ir
    from triton.compiler import ASTSource
    from triton.compiler.compiler import make_backend

    target = _triton_target()
    src = ASTSource(fn, dict(spec.signature), dict(spec.constexprs))
    backend = make_backend(target)
    options = backend.parse_options({"num_warps": spec.num_warps, **src.parse_options()})
    stages: dict[str, Callable] = {}
    backend.add_stages(stages, options, src.language)
    context = ir.context()
    ir.load_dialects(context)
    backend.load_dialects(context)
    module = src.make_ir(target, options, backend.get_codegen_implementation(options),
                         backend.get_module_map(), context)  # fmt: skip
    metadata = {"hash": "0" * 64, "target": target, **options.__dict__}
    for ext in ("ttir", "ttgir", "llir", "ptx"):
        module = stages[ext](module, metadata)
    return module


def triton_full(fn: Any, spec: Spec) -> Any:
    """The whole ``triton.compile`` (cubin included), with whatever cache is configured."""
    import triton
    from triton.compiler import ASTSource

    src = ASTSource(fn, dict(spec.signature), dict(spec.constexprs))
    return triton.compile(src, target=_triton_target(), options={"num_warps": spec.num_warps})


COLUMNS: dict[str, Callable[[Any, Spec], Any]] = {
    "xpuc": xpuc_ptx,
    "triton-ptx": triton_ptx,
    "triton": triton_full,
}


def timed(thunk: Callable[[], Any]) -> float:
    start = time.perf_counter()
    thunk()
    return time.perf_counter() - start


def cold_child(name: str, column: str) -> int:
    """In a fresh process: the first compile of one kernel by one column, as JSON."""
    spec = next(s for s in SPECS if s.name == name)
    import triton  # noqa: F401 - imported before the clock starts

    import xpuc.frontends.triton  # noqa: F401

    fn = load(spec)
    try:
        secs = timed(lambda: COLUMNS[column](fn, spec))
    except Exception as e:  # noqa: BLE001 - reported as the kernel's skip reason
        print(json.dumps({"error": error_text(e)}))
        return 0
    print(json.dumps({"s": secs}))
    return 0


def cold(spec: Spec, column: str, reps: int) -> float:
    """Median seconds of the first compile in a fresh process with a fresh triton cache."""
    times = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(prefix="triton-cache-") as cache:
            env = {**os.environ, "TRITON_CACHE_DIR": cache}
            cmd = [sys.executable, __file__, "--cold-child", spec.name, column]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"cold {column} child failed: {proc.stderr.strip()[-400:]}")
        out = json.loads(lines[-1])
        if "error" in out:
            raise RuntimeError(f"{column}: {out['error']}")
        times.append(out["s"])
    return statistics.median(times)


def warm(fn: Any, spec: Spec, reps: int) -> dict[str, float]:
    """Median seconds of repeated compiles in this process (after one to warm up)."""
    from triton import knobs

    def median(thunk: Callable[[], Any]) -> float:
        thunk()
        return statistics.median(timed(thunk) for _ in range(reps))

    def fresh_cache() -> None:
        with tempfile.TemporaryDirectory(prefix="triton-cache-") as d:
            knobs.cache.dir = d
            triton_full(fn, spec)

    out = {
        "xpuc": median(lambda: xpuc_ptx(fn, spec)),
        "triton-ptx": median(lambda: triton_ptx(fn, spec)),
        "triton-new-cache": median(fresh_cache),
    }
    with tempfile.TemporaryDirectory(prefix="triton-cache-") as d:
        knobs.cache.dir = d
        out["triton-cache-hit"] = median(lambda: triton_full(fn, spec))
    return out


# (label, xpuc key, triton key); cold keys are prefixed "cold-"
ROWS = [
    ("cold: to PTX", "cold-xpuc", "cold-triton-ptx"),
    ("cold: triton.compile (PTX+cubin)", "cold-xpuc", "cold-triton"),
    ("warm: to PTX", "xpuc", "triton-ptx"),
    ("warm: triton.compile, new cache dir", "xpuc", "triton-new-cache"),
    ("warm: triton.compile, cache hit", "xpuc", "triton-cache-hit"),
]


def measure(spec: Spec, cold_reps: int, warm_reps: int) -> dict[str, float] | str:
    """All the numbers for one kernel, or why xpuc could not compile it."""
    try:
        fn = load(spec)
        xpuc_ptx(fn, spec)
    except Exception as e:  # noqa: BLE001 - a kernel xpuc does not lower yet
        return error_text(e)
    try:
        res = {f"cold-{c}": cold(spec, c, cold_reps) for c in COLUMNS}
        res.update(warm(fn, spec, warm_reps))
    except Exception as e:  # noqa: BLE001 - e.g. triton failing on this machine
        return error_text(e)
    return res


def geomean(xs: list[float]) -> float:
    return math.exp(sum(map(math.log, xs)) / len(xs))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 cold and 3 warm compiles each")
    p.add_argument("--only", help="comma-separated kernel names")
    p.add_argument("--cold-child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.cold_child:
        return cold_child(*args.cold_child)
    if not TUTORIALS.is_dir():
        print(f"triton tutorials absent ({TUTORIALS.resolve()}): nothing to measure")
        return 0
    try:
        import triton
    except ImportError as e:
        print(f"triton is not installed ({e}): nothing to measure")
        return 0
    cold_reps, warm_reps = (1, 3) if args.quick else (3, 10)
    only = set(args.only.split(",")) if args.only else None
    print(f"triton {triton.__version__}, xpuc target {XPUC_TARGET}; "
          f"medians of {cold_reps} cold, {warm_reps} warm compiles\n")  # fmt: skip
    ratios: dict[str, list[float]] = {label: [] for label, _, _ in ROWS}
    for spec in SPECS:
        if only and spec.name not in only:
            continue
        print(f"{spec.name} ({spec.file})")
        res = measure(spec, cold_reps, warm_reps)
        if isinstance(res, str):
            print(f"  skipped: {res}\n")
            continue
        print(f"  {'measure':<38} {'xpuc':>9} {'triton':>9} {'triton/xpuc':>12}")
        for label, xk, tk in ROWS:
            r = res[tk] / res[xk]
            ratios[label].append(r)
            print(f"  {label:<38} {res[xk] * 1e3:7.1f}ms {res[tk] * 1e3:7.1f}ms {r:12.2f}")
        print()
    print("geomean triton/xpuc (above 1: xpuc compiles faster)")
    for label, rs in ratios.items():
        gm = f"{geomean(rs):.2f} over {len(rs)} kernels" if rs else "-"
        print(f"  {label:<38} {gm}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
