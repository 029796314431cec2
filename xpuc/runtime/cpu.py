"""Run cpu-target kernels: MCJIT-compile the LLVM IR, launch blocks on all cores.

A launch splits the grid's blocks into one contiguous range per worker and calls the
kernel's launch wrapper for each range from a thread pool.  ctypes releases the GIL
for the duration of a foreign call, so the ranges really run in parallel.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import llvmlite.binding as llvm
import numpy as np

from xpuc.compiler.artifact import Artifact, KernelInfo, canonical_kernel_name
from xpuc.compiler.diagnostics import XpucError
from xpuc.targets.base import init_llvm
from xpuc.targets.cpu import LAUNCH_PREFIX

_SCALARS = {
    "i1": (ctypes.c_bool, np.bool_), "i8": (ctypes.c_int8, np.int8),
    "u8": (ctypes.c_uint8, np.uint8), "i16": (ctypes.c_int16, np.int16),
    "u16": (ctypes.c_uint16, np.uint16), "i32": (ctypes.c_int32, np.int32),
    "u32": (ctypes.c_uint32, np.uint32), "i64": (ctypes.c_int64, np.int64),
    "u64": (ctypes.c_uint64, np.uint64), "f32": (ctypes.c_float, np.float32),
    "f64": (ctypes.c_double, np.float64), "f16": (ctypes.c_uint16, np.float16),
}  # fmt: skip
_LAUNCH = ctypes.CFUNCTYPE(None, ctypes.c_void_p, *[ctypes.c_int64] * 8, ctypes.c_void_p)
_POOL: ThreadPoolExecutor | None = None
_LLVM_DTYPES = {"float": "f4", "double": "f8", "half": "f2", "i8": "i1", "i16": "i2",
                "i32": "i4", "i64": "i8"}  # fmt: skip


def dtype_of(code: str) -> np.dtype:
    return np.dtype(_SCALARS[code.lstrip("*")][1])


# A block's per-thread storage (values kept across barriers, local arrays) lives on the
# worker's stack: 1024 threads with a 2 KiB local array need 8 MiB alone.
_STACK_BYTES = 512 << 20


class _LargeStackPool(ThreadPoolExecutor):
    """Worker threads are created with ``_STACK_BYTES`` of stack."""

    def _adjust_thread_count(self) -> None:
        old = threading.stack_size(_STACK_BYTES)
        try:
            super()._adjust_thread_count()
        finally:
            threading.stack_size(old)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = _LargeStackPool(max_workers=os.cpu_count() or 1, thread_name_prefix="xpuc")
    return _POOL


def _dim3(v, what: str) -> tuple[int, int, int]:
    if isinstance(v, int | np.integer):
        v = (int(v),)
    t = tuple(int(x) for x in v)
    if not 1 <= len(t) <= 3 or any(x < 1 for x in t):
        raise XpucError(f"{what} must be 1 to 3 positive integers, got {v!r}")
    return (t + (1, 1))[:3]


def _flatten(args) -> list:
    """Struct arguments (passed as tuples) become their fields, as the kernel ABI has them."""
    out: list = []
    for a in args:
        if isinstance(a, tuple | list):
            out += _flatten(a)
        else:
            out.append(a)
    return out


class CPUKernel:
    def __init__(self, module: CPUModule, info: KernelInfo, addr: int):
        self.module = module
        self.info = info
        self.fn = _LAUNCH(addr)

    def __getitem__(self, launch):
        """``k[grid, block]`` or ``k[grid, block, dynamic_shared_bytes]``, as ``<<<>>>``."""
        grid, block, *shared = launch
        return lambda *args: self.launch(grid, block, *args, shared=shared[0] if shared else 0)

    def __call__(self, *args, grid=1, block=1, shared=0):
        return self.launch(grid, block, *args, shared=shared)

    def _params(self, args) -> tuple[ctypes.Array, list]:
        info = self.info
        args = _flatten(args)
        if len(args) != len(info.arg_types):
            raise XpucError(
                f"kernel {info.name} takes {len(info.arg_types)} arguments "
                f"({', '.join(info.arg_names)}), {len(args)} given"
            )
        keep: list = []
        params = (ctypes.c_void_p * max(len(args), 1))()
        for i, (a, code, name) in enumerate(zip(args, info.arg_types, info.arg_names, strict=True)):
            if code.startswith("*") and a is None:
                cell = ctypes.c_void_p(None)  # a null pointer
            elif code.startswith("*"):
                want = dtype_of(code)
                if not isinstance(a, np.ndarray):
                    raise XpucError(
                        f"argument '{name}' of {info.name} must be a numpy array ({code})"
                    )
                if a.dtype != want and not (code == "*u8" and a.dtype.fields):
                    raise XpucError(
                        f"argument '{name}' of {info.name} must have dtype {want}, not {a.dtype}"
                    )
                if not a.flags.c_contiguous:
                    raise XpucError(f"argument '{name}' of {info.name} must be C-contiguous")
                cell = ctypes.c_void_p(a.ctypes.data)
            else:
                ctype = _SCALARS[code][0]
                if code == "f16":  # passed as its bits
                    a = np.float16(a).view(np.uint16)
                cell = ctype(a.item() if isinstance(a, np.generic) else a)
            keep.append(cell)
            params[i] = ctypes.addressof(cell)
        return params, keep

    def launch(self, grid, block, *args, shared: int = 0) -> None:
        gx, gy, gz = _dim3(grid, "grid")
        bx, by, bz = _dim3(block, "block")
        if bx * by * bz > self.info.max_threads_per_block:
            raise XpucError(
                f"block of {bx * by * bz} threads exceeds the limit of "
                f"{self.info.max_threads_per_block} for {self.info.name}"
            )
        if shared < 0:
            raise XpucError(f"dynamic shared memory size must be >= 0, not {shared}")
        params, keep = self._params(args)
        total = gx * gy * gz
        workers = min(os.cpu_count() or 1, total)
        p = ctypes.addressof(params)
        # one dynamic-shared-memory buffer per worker; 64-byte aligned
        smem = np.zeros((max(workers, 1), (shared + 127) // 64 * 64 + 64), np.uint8)
        base = [(smem[w].ctypes.data + 63) // 64 * 64 for w in range(max(workers, 1))]
        if workers <= 1:  # still on a worker: its stack is the large one
            _pool().submit(self.fn, p, 0, total, gx, gy, gz, bx, by, bz, base[0]).result()
            self._flush()
            return
        step = -(-total // workers)
        futures = [
            _pool().submit(self.fn, p, lo, min(lo + step, total), gx, gy, gz, bx, by, bz, base[w])
            for w, lo in enumerate(range(0, total, step))
        ]
        for f in futures:
            f.result()
        del keep
        self._flush()

    def _flush(self) -> None:
        if self.module.prints:  # device printf writes through C stdio: keep the order
            ctypes.CDLL(None).fflush(None)


class CPUModule:
    """Kernels of a cpu artifact, as attributes: ``mod.saxpy[grid, block](...)``."""

    def __init__(self, artifact: Artifact):
        if "llir" not in artifact.stages:
            raise XpucError(
                "the artifact has no LLVM IR to load (compile with emit='llvm' or later)"
            )
        init_llvm()
        host = llvm.get_process_triple().split("-")[0]
        self.artifact = artifact
        self._mod = llvm.parse_assembly(str(artifact.stages["llir"]))
        self.prints = any(f.name == "printf" for f in self._mod.functions)
        if self._mod.triple.split("-")[0] != host:
            raise XpucError(f"cannot run {self._mod.triple} code on this {host} machine")
        tm = llvm.Target.from_default_triple().create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
            opt=3, jit=True,
        )  # fmt: skip
        self._engine = llvm.create_mcjit_compiler(self._mod, tm)
        self._engine.finalize_object()
        self.kernels: dict[str, CPUKernel] = {}
        for info in artifact.kernels:
            addr = self._engine.get_function_address(LAUNCH_PREFIX + info.link_name)
            self.kernels[info.name] = CPUKernel(self, info, addr)

    def symbol(self, name: str) -> np.ndarray:
        """A ``__device__``/``__constant__`` variable as a numpy array over its memory.

        Writing to it is ``cudaMemcpyToSymbol``; reading is ``cudaMemcpyFromSymbol``.
        """
        for g in self._mod.global_variables:
            if g.name == name and g.linkage == llvm.Linkage.external:
                m = re.fullmatch(r"\[(\d+) x (\w+)\]", str(g.global_value_type))
                if m is None or m.group(2) not in _LLVM_DTYPES:
                    break
                n, dtype = int(m.group(1)), np.dtype(_LLVM_DTYPES[m.group(2)])
                addr = self._engine.get_global_value_address(name)
                buf = (ctypes.c_char * (n * dtype.itemsize)).from_address(addr)
                return np.frombuffer(buf, dtype=dtype, count=n)
        raise XpucError(f"no __device__ or __constant__ variable named '{name}'")

    def __getattr__(self, name: str) -> CPUKernel:
        kernels = self.__dict__.get("kernels", {})
        if name in kernels:
            return kernels[name]
        raise AttributeError(f"no kernel named '{name}' (kernels: {', '.join(kernels) or 'none'})")

    def __getitem__(self, name: str) -> CPUKernel:
        if name not in self.kernels:
            spaced = {canonical_kernel_name(k): v for k, v in self.kernels.items()}
            if canonical_kernel_name(name) in spaced:
                return spaced[canonical_kernel_name(name)]
            raise XpucError(f"no kernel named '{name}' (kernels: {', '.join(self.kernels)})")
        return self.kernels[name]
