"""Run xpuc's cubins on a real NVIDIA GPU, check them, and time them beside nvcc's.

Two steps, because the GPU machine may lack xpuc's dependencies:

    python benchmarks/gpu_check.py prepare DIR   # here: xpuc and nvcc cubins for sm_90
    python3 benchmarks/gpu_check.py run DIR      # on the GPU machine: needs only libcuda

``run`` uses the CUDA driver API through ctypes (no numpy, no CUDA Python) to load
each cubin, launch ``vector_add`` and ``saxpy`` on sizes that are not multiples of the
block size, compare every element with a Python reference, and time both builds on
64 Mi elements with CUDA events (median of 20 launches).  It prints effective memory
bandwidth and the ratio xpuc time / nvcc time.  This is a validation and benchmark
script; xpuc's own CUDA runtime over cuda-bindings is a separate issue.
"""

from __future__ import annotations

import ctypes
import re
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNELS = ("vector_add", "saxpy")


def prepare(out: Path) -> None:
    import xpuc

    out.mkdir(parents=True, exist_ok=True)
    for k in KERNELS:
        src = ROOT / "examples" / f"{k}.cu"
        art = xpuc.compile_file(src, "nvptx:sm_90", emit="bin")
        (out / f"{k}.xpuc.cubin").write_bytes(art.binary)
        (out / f"{k}.xpuc.ptx").write_text(art.asm)
        cubin = out / f"{k}.nvcc.cubin"
        subprocess.run(["nvcc", "-cubin", "-arch=sm_90", "-O3", str(src), "-o", str(cubin)],
                       check=True)  # fmt: skip
        # nvcc mangles the C++ kernel name (xpuc keeps it plain, as extern "C" would)
        mangled = re.search(rb"_Z\d+" + k.encode() + rb"[A-Za-z0-9_]*", cubin.read_bytes())
        (out / f"{k}.nvcc.name").write_text(mangled.group().decode() if mangled else k)
    print(f"cubins written to {out}")


class CUDA:
    def __init__(self) -> None:
        self.lib = ctypes.CDLL("libcuda.so.1")
        self.check(self.lib.cuInit(0), "cuInit")
        dev = ctypes.c_int()
        self.check(self.lib.cuDeviceGet(ctypes.byref(dev), 0), "cuDeviceGet")
        self.ctx = ctypes.c_void_p()
        self.check(self.lib.cuDevicePrimaryCtxRetain(ctypes.byref(self.ctx), dev), "ctx")
        self.check(self.lib.cuCtxSetCurrent(self.ctx), "cuCtxSetCurrent")
        name = ctypes.create_string_buffer(100)
        self.lib.cuDeviceGetName(name, 100, dev)
        self.name = name.value.decode()

    def check(self, rc: int, what: str) -> None:
        if rc != 0:
            msg = ctypes.c_char_p()
            self.lib.cuGetErrorString(rc, ctypes.byref(msg))
            raise RuntimeError(f"{what} failed: {rc} {msg.value}")

    def function(self, cubin: bytes, name: str) -> ctypes.c_void_p:
        mod, fn = ctypes.c_void_p(), ctypes.c_void_p()
        self.check(self.lib.cuModuleLoadData(ctypes.byref(mod), cubin), "cuModuleLoadData")
        self.check(self.lib.cuModuleGetFunction(ctypes.byref(fn), mod, name.encode()), "getfn")
        return fn

    def alloc(self, nbytes: int) -> ctypes.c_uint64:
        p = ctypes.c_uint64()
        self.check(self.lib.cuMemAlloc_v2(ctypes.byref(p), ctypes.c_size_t(nbytes)), "alloc")
        return p

    def h2d(self, dst: ctypes.c_uint64, src, nbytes: int) -> None:
        self.check(self.lib.cuMemcpyHtoD_v2(dst, src, ctypes.c_size_t(nbytes)), "HtoD")

    def d2h(self, dst, src: ctypes.c_uint64, nbytes: int) -> None:
        self.check(self.lib.cuMemcpyDtoH_v2(dst, src, ctypes.c_size_t(nbytes)), "DtoH")

    def launch(self, fn, grid: int, block: int, args: list) -> None:
        params = (ctypes.c_void_p * len(args))(*[ctypes.addressof(a) for a in args])
        self.check(self.lib.cuLaunchKernel(fn, grid, 1, 1, block, 1, 1, 0, None, params, None),
                   "cuLaunchKernel")  # fmt: skip

    def sync(self) -> None:
        self.check(self.lib.cuCtxSynchronize(), "sync")

    def time_ms(self, fn, grid, block, args, reps: int = 20) -> float:
        start, end = ctypes.c_void_p(), ctypes.c_void_p()
        self.lib.cuEventCreate(ctypes.byref(start), 0)
        self.lib.cuEventCreate(ctypes.byref(end), 0)
        times = []
        for _ in range(reps + 3):
            self.lib.cuEventRecord(start, None)
            self.launch(fn, grid, block, args)
            self.lib.cuEventRecord(end, None)
            self.lib.cuEventSynchronize(end)
            ms = ctypes.c_float()
            self.lib.cuEventElapsedTime(ctypes.byref(ms), start, end)
            times.append(ms.value)
        times = sorted(times[3:])
        return times[len(times) // 2]


def f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def kernel_name(folder: Path, k: str, build: str) -> str:
    f = folder / f"{k}.{build}.name"
    return f.read_text().strip() if f.exists() else k


def run(folder: Path) -> int:
    cu = CUDA()
    print(f"device: {cu.name}")
    failures = 0
    n = 100_003  # not a multiple of the block size
    a = (ctypes.c_float * n)(*[f32(i * 0.5) for i in range(n)])
    b = (ctypes.c_float * n)(*[f32(1.0 / (i + 1)) for i in range(n)])
    nb = 4 * n
    for build in ("xpuc", "nvcc"):
        va = cu.function((folder / f"vector_add.{build}.cubin").read_bytes(),
                         kernel_name(folder, "vector_add", build))  # fmt: skip
        sx = cu.function((folder / f"saxpy.{build}.cubin").read_bytes(),
                         kernel_name(folder, "saxpy", build))  # fmt: skip
        da, db, dc = cu.alloc(nb + 64), cu.alloc(nb + 64), cu.alloc(nb + 64)
        cu.h2d(da, a, nb)
        cu.h2d(db, b, nb)
        cu.launch(va, (n + 255) // 256, 256, [da, db, dc, ctypes.c_int(n)])
        cu.sync()
        c = (ctypes.c_float * n)()
        cu.d2h(c, dc, nb)
        bad = sum(1 for i in range(n) if c[i] != f32(a[i] + b[i]))
        print(f"{build} vector_add n={n}: {'ok' if bad == 0 else f'{bad} wrong'}")
        failures += bad != 0
        cu.h2d(db, b, nb)
        cu.launch(sx, (n + 127) // 128, 128, [ctypes.c_int(n), ctypes.c_float(2.5), da, db])
        cu.sync()
        cu.d2h(c, db, nb)
        # nvcc contracts a*x+y into one fma; xpuc (like clang without -ffp-contract=fast)
        # rounds twice: both are within one ulp of the exact value.
        worst = max(abs(c[i] - (2.5 * a[i] + b[i])) / max(abs(2.5 * a[i] + b[i]), 1e-30)
                    for i in range(n))  # fmt: skip
        ok = worst < 2e-7
        print(f"{build} saxpy n={n}: {'ok' if ok else 'WRONG'} (max rel err {worst:.2e})")
        failures += not ok

    big = 64 * 1024 * 1024
    da, db, dc = cu.alloc(4 * big), cu.alloc(4 * big), cu.alloc(4 * big)
    results = {}
    for build in ("xpuc", "nvcc"):
        va = cu.function((folder / f"vector_add.{build}.cubin").read_bytes(),
                         kernel_name(folder, "vector_add", build))  # fmt: skip
        sx = cu.function((folder / f"saxpy.{build}.cubin").read_bytes(),
                         kernel_name(folder, "saxpy", build))  # fmt: skip
        results[(build, "vector_add")] = cu.time_ms(
            va, big // 256, 256, [da, db, dc, ctypes.c_int(big)]
        )
        results[(build, "saxpy")] = cu.time_ms(
            sx, big // 256, 256, [ctypes.c_int(big), ctypes.c_float(2.5), da, db]
        )
    for k, moved in (("vector_add", 12), ("saxpy", 12)):
        x, v = results[("xpuc", k)], results[("nvcc", k)]
        print(
            f"{k:<11} n=64Mi  xpuc {x:.3f} ms ({moved * big / x / 1e6:.0f} GB/s)  "
            f"nvcc {v:.3f} ms ({moved * big / v / 1e6:.0f} GB/s)  xpuc/nvcc time {x / v:.3f}"
        )
    print("gpu check:", "PASS" if failures == 0 else f"{failures} FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("prepare", "run"):
        sys.exit(__doc__)
    folder = Path(sys.argv[2])
    if sys.argv[1] == "prepare":
        prepare(folder)
    else:
        sys.exit(run(folder))
