"""Compile time of xpuc beside nvcc, on the same files, in one run.

    python benchmarks/compile_time.py [--repeat 5]

For each example it runs, as separate processes, ``xpuc compile FILE --target
nvptx:sm_90 -o out.ptx`` and ``nvcc -ptx -arch=sm_90 FILE -o out.ptx`` (when nvcc is
found), and reports the median wall time and the median CPU time (user + system of the
child) of each, then the ratio xpuc / nvcc.  It also times the library call
``xpuc.compile`` in a warm process (imports and parser tables already loaded), which
is what a JIT user or a test suite pays per kernel.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ["examples/vector_add.cu", "examples/saxpy.cu"]


def timed(cmd: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def median_of(cmd: list[str], repeat: int) -> tuple[float, float]:
    runs = [timed(cmd) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    xpuc_bin = shutil.which("xpuc", path=os.path.dirname(sys.executable)) or "xpuc"
    nvcc = shutil.which("nvcc")
    out = Path(tempfile.mkdtemp()) / "out.ptx"
    print(f"{'file':<24} {'xpuc wall':>10} {'xpuc cpu':>10} {'nvcc wall':>10} {'nvcc cpu':>10} "
          f"{'wall ratio':>11} {'cpu ratio':>10}")  # fmt: skip
    for rel in EXAMPLES:
        src = str(ROOT / rel)
        xw, xc = median_of([xpuc_bin, "compile", src, "--target", "nvptx:sm_90", "-o", str(out)],
                           args.repeat)  # fmt: skip
        if nvcc:
            nw, nc = median_of([nvcc, "-ptx", "-arch=sm_90", src, "-o", str(out)], args.repeat)
            print(f"{rel:<24} {xw:>9.3f}s {xc:>9.3f}s {nw:>9.3f}s {nc:>9.3f}s "
                  f"{xw / nw:>10.2f}x {xc / nc:>9.2f}x")  # fmt: skip
        else:
            print(f"{rel:<24} {xw:>9.3f}s {xc:>9.3f}s {'(no nvcc)':>10}")

    import xpuc

    for rel in EXAMPLES:
        src = (ROOT / rel).read_text()
        xpuc.compile(src, "nvptx:sm_90", emit="asm")  # warm up parser tables and LLVM
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            xpuc.compile(src, "nvptx:sm_90", emit="asm", filename=rel)
            times.append(time.perf_counter() - start)
        print(
            f"library xpuc.compile({rel}, nvptx:sm_90, emit=asm), warm: "
            f"{statistics.median(times) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
