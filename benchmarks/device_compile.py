"""Compile time of the conformance kernels for each device target, beside nvcc.

    python benchmarks/device_compile.py [--repeat 3] [--targets nvptx:sm_90,amdgpu:gfx942]

For each kernel file of ``xpuc/conformance/kernels`` and each target, times the warm
library call ``xpuc.compile(file, target)`` down to the binary the chip's driver loads
(cubin through ptxas, hsaco through ld.lld, the SPIR-V module, OpenCL C, an object for
cross CPUs; best of ``--repeat``).  The named peer is nvcc for nvptx: ``nvcc -cubin
-arch=sm_XY`` on the same file, as a process (its own start-up included, as a user
pays it; xpuc's process start-up, about 1 s of imports, is not in its numbers, so the
comparison favours xpuc by that much per file; ``benchmarks/compile_time.py`` times
both as processes).  Prints per file and target the time, for nvptx the ratio
nvcc / xpuc (above 1: xpuc compiles faster), and the geometric means.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xpuc
from xpuc.conformance.suite import KERNELS
from xpuc.targets.registry import get_target

DEFAULT = "nvptx:sm_80,nvptx:sm_90,amdgpu:gfx90a,amdgpu:gfx942,spirv,opencl,cpu:aarch64"


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def xpuc_time(path: Path, target: str, repeat: int) -> float:
    t = get_target(target)
    emit = "bin" if "bin" in t.emits else t.default_emit
    return best(lambda: xpuc.compile_file(path, target, emit=emit), repeat)


def nvcc_time(path: Path, arch: str, repeat: int) -> float | None:
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        cmd = [nvcc, "-cubin", f"-arch={arch}", "-O3", str(path), "-o", f"{d}/k.cubin"]
        if subprocess.run(cmd, capture_output=True).returncode != 0:
            return None
        return best(lambda: subprocess.run(cmd, capture_output=True, check=True), repeat)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--targets", default=DEFAULT)
    args = p.parse_args()
    targets = args.targets.split(",")
    files = sorted(KERNELS.glob("*.cu"))
    xpuc.compile_file(files[0], "cpu")  # imports and parser tables, once
    ratios: list[float] = []
    per_target: dict[str, list[float]] = {t: [] for t in targets}
    print(f"{'file':<16} {'target':<16} {'xpuc':>9} {'nvcc':>9} {'nvcc/xpuc':>10}")
    for f in files:
        for t in targets:
            secs = xpuc_time(f, t, args.repeat)
            per_target[t].append(secs)
            peer = nvcc_time(f, t.partition(":")[2], args.repeat) if t.startswith("nvptx") else None
            ratio = f"{peer / secs:10.2f}" if peer else f"{'':>10}"
            if peer:
                ratios.append(peer / secs)
            peer_s = f"{peer * 1000:7.0f}ms" if peer else f"{'-':>9}"
            print(f"{f.name:<16} {t:<16} {secs * 1000:7.0f}ms {peer_s} {ratio}")
    print()
    for t, xs in per_target.items():
        gm = math.exp(sum(map(math.log, xs)) / len(xs))
        print(f"{t:<16} geomean compile time: {gm * 1000:.0f} ms per file")
    if ratios:
        gm = math.exp(sum(map(math.log, ratios)) / len(ratios))
        print(f"nvptx compile speed vs nvcc (geomean nvcc/xpuc): {gm:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
