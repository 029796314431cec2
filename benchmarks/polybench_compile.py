"""Compile time of the 21 PolyBench-ACC CUDA files: xpuc beside nvcc, in one run.

    python benchmarks/polybench_compile.py [--repeat 3] [--target nvptx:sm_90]

For each benchmark it times, as separate processes, ``xpuc compile F.cu --target T
-o out.ptx`` and ``nvcc -ptx -arch=sm_90 F.cu`` (both with the benchmark's headers
and ``-DcudaThreadSynchronize=cudaDeviceSynchronize``, which CUDA 13 needs), plus
the library call ``xpuc.compile_file`` in this warm process.  It prints the median
wall times, the ratio xpuc / nvcc per file, and as the last line the geometric mean
of the ratios.  The conformance folder is read from ``../shared/conformance``.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "conformance" / "polybench-acc" / "CUDA"
DEFINES = {"cudaThreadSynchronize": "cudaDeviceSynchronize"}


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--target", default="nvptx:sm_90")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"skipped: PolyBench-ACC not found at {DATA}")
        return
    sys.path.insert(0, str(ROOT))
    import xpuc

    xpuc_bin = shutil.which("xpuc", path=os.path.dirname(sys.executable)) or "xpuc"
    nvcc = shutil.which("nvcc")
    out = Path(tempfile.mkdtemp())
    defs = [f"-D{k}={v}" for k, v in DEFINES.items()]
    print(f"{'benchmark':<16} {'xpuc (process)':>15} {'xpuc (library)':>15} {'nvcc -ptx':>10} "
          f"{'ratio':>7}")  # fmt: skip
    ratios = []
    for cu in sorted(DATA.rglob("*.cu")):
        inc = [f"-I{cu.parent}", f"-I{DATA / 'utilities'}"]
        cmd = [xpuc_bin, "compile", str(cu), "--target", args.target, "-o", str(out / "x.ptx")]
        x_proc = statistics.median(wall(cmd + inc + defs) for _ in range(args.repeat))
        lib = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            xpuc.compile_file(cu, args.target, emit="asm", defines=DEFINES,
                              include_dirs=[str(cu.parent), str(DATA / "utilities")])  # fmt: skip
            lib.append(time.perf_counter() - start)
        x_lib = statistics.median(lib)
        if nvcc:
            ncmd = [nvcc, "-ptx", "-arch=sm_90", str(cu), "-o", str(out / "n.ptx"), *inc, *defs]
            n = statistics.median(wall(ncmd) for _ in range(args.repeat))
            ratios.append(x_proc / n)
            print(f"{cu.stem:<16} {x_proc:>14.3f}s {x_lib:>14.3f}s {n:>9.3f}s {x_proc / n:>7.2f}")
        else:
            print(f"{cu.stem:<16} {x_proc:>14.3f}s {x_lib:>14.3f}s {'-':>10} {'-':>7}")
    if ratios:
        geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print(f"polybench compile time xpuc/nvcc geomean: {geo:.2f} (lower is faster)")
    else:
        print("nvcc not found: no ratio")


if __name__ == "__main__":
    main()
