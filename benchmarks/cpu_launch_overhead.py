"""Launch overhead of xpuc's cpu runtime beside PoCL's, in one run.

    python benchmarks/cpu_launch_overhead.py [--launches 5000]

A kernel that adds one to each element is launched back to back on 256 floats (one
block of 256) and on 64 Ki floats (256 blocks), from Python: xpuc through
``mod.k[grid, block](...)``, PoCL through PyOpenCL with the queue drained after each
launch (as xpuc's launches are synchronous).  Prints microseconds per launch and the
ratio PoCL / xpuc.  PoCL is found as ``benchmarks/cpu_vs_pocl.py`` finds it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

CUDA = """
__global__ void inc(float *a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) a[i] += 1.0f;
}"""
OPENCL = """
__kernel void inc(__global float *a, int n) {
    int i = get_global_id(0);
    if (i < n) a[i] += 1.0f;
}"""


def per_launch(fn, launches: int) -> float:
    for _ in range(100):
        fn()
    start = time.perf_counter()
    for _ in range(launches):
        fn()
    return (time.perf_counter() - start) / launches


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--launches", type=int, default=5000)
    opts = ap.parse_args()
    system_icd = Path("/etc/OpenCL/vendors/pocl.icd")
    if system_icd.exists():
        os.environ.setdefault("OCL_ICD_VENDORS", str(system_icd))
    try:
        import pyopencl as cl
    except ImportError:
        print("skipped: pyopencl is not installed (pip install 'pyopencl[pocl]')")
        return 0
    import xpuc

    mod = xpuc.load(xpuc.compile(CUDA, "cpu"))
    pocl = [p for p in cl.get_platforms() if "Portable Computing Language" in p.name]
    if not pocl:
        print("skipped: no PoCL platform")
        return 0
    ctx = cl.Context(pocl[0].get_devices())
    queue = cl.CommandQueue(ctx)
    kernel = cl.Program(ctx, OPENCL).build().inc
    print(f"{'elements':>9} {'blocks':>6} {'xpuc us':>8} {'pocl us':>8} {'pocl/xpuc':>9}")
    for n in (256, 1 << 16):
        a = np.zeros(n, np.float32)
        buf = cl.Buffer(ctx, cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR, hostbuf=a)
        launch = mod.inc[n // 256, 256]
        tx = per_launch(lambda a=a, launch=launch, n=n: launch(a, n), opts.launches)
        n32 = np.int32(n)

        def ocl(buf=buf, n32=n32, n=n) -> None:
            kernel(queue, (n,), (256,), buf, n32)
            queue.finish()

        tp = per_launch(ocl, opts.launches)
        print(f"{n:>9} {n // 256:>6} {tx * 1e6:8.1f} {tp * 1e6:8.1f} {tp / tx:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
