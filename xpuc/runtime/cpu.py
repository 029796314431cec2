"""Run cpu-target kernels: MCJIT-compile the LLVM IR, launch blocks on all cores.

A launch calls the kernel's launch wrapper once per worker of a thread pool (one worker
a core, or ``$XPUC_NUM_THREADS``); the wrappers take chunks of blocks from a shared
counter until none is left.  ctypes releases the GIL for the duration of a foreign
call, so the workers really run in parallel.

A launch whose blocks took only microseconds last time (``_INLINE_SECONDS`` for the
whole grid) runs on the calling thread instead, when the block's stack (the kernel
records it, see ``targets/cpu.py``) fits in ``_INLINE_STACK``: waking the pool costs
more than such a launch.  Launches of one module are serialized, as on one stream.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import llvmlite.binding as llvm
import numpy as np

from xpuc.compiler.artifact import (
    Artifact,
    KernelInfo,
    KernelTable,
    check_launch,
    kernel_args,
)
from xpuc.compiler.diagnostics import XpucError
from xpuc.runtime.values import scalar
from xpuc.targets.base import init_llvm
from xpuc.targets.cpu import LAUNCH_PREFIX, STACK_PREFIX

_SCALARS = {
    "i1": (ctypes.c_bool, np.bool_), "i8": (ctypes.c_int8, np.int8),
    "u8": (ctypes.c_uint8, np.uint8), "i16": (ctypes.c_int16, np.int16),
    "u16": (ctypes.c_uint16, np.uint16), "i32": (ctypes.c_int32, np.int32),
    "u32": (ctypes.c_uint32, np.uint32), "i64": (ctypes.c_int64, np.int64),
    "u64": (ctypes.c_uint64, np.uint64), "f32": (ctypes.c_float, np.float32),
    "f64": (ctypes.c_double, np.float64), "f16": (ctypes.c_uint16, np.float16),
}  # fmt: skip
_PLAIN_INTS = frozenset({"i32", "i64"})
_LAUNCH = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, *[ctypes.c_int64] * 8,
                           ctypes.c_void_p)  # fmt: skip
_POOL: ThreadPoolExecutor | None = None
_LLVM_DTYPES = {"float": "f4", "double": "f8", "half": "f2", "i8": "i1", "i16": "i2",
                "i32": "i4", "i64": "i8"}  # fmt: skip


def dtype_of(code: str) -> np.dtype:
    return np.dtype(_SCALARS[code.lstrip("*")][1])


# A block's per-thread storage (values kept across barriers, local arrays) lives on the
# worker's stack: 1024 threads with a 2 KiB local array need 8 MiB alone.
_STACK_BYTES = 512 << 20
_INLINE_STACK = 1 << 20
_INLINE_SECONDS = 40e-6


class _LargeStackPool(ThreadPoolExecutor):
    """Worker threads are created with ``_STACK_BYTES`` of stack."""

    def _adjust_thread_count(self) -> None:
        old = threading.stack_size(_STACK_BYTES)
        try:
            super()._adjust_thread_count()
        finally:
            threading.stack_size(old)


@functools.cache
def num_threads() -> int:
    """Worker threads for launches: ``$XPUC_NUM_THREADS``, else one a core (read once)."""
    env = os.environ.get("XPUC_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return os.cpu_count() or 1


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = _LargeStackPool(max_workers=num_threads(), thread_name_prefix="xpuc")
    return _POOL


def _timed(fn, *args) -> float:
    """Call, and return the seconds the call took (the time the blocks kept a core)."""
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


class CPUKernel:
    def __init__(self, module: CPUModule, info: KernelInfo, addr: int, stack: tuple[int, int]):
        self.module = module
        self.info = info
        self.fn = _LAUNCH(addr)
        self.stack = stack
        """Bytes of stack a block needs: fixed, and per thread."""
        self._codes = [
            (c, dtype_of(c), None) if c.startswith("*") else (c, None, _SCALARS[c][0])
            for c in info.arg_types
        ]
        self._readonly = frozenset(info.readonly_args)
        self.block_seconds: float | None = None
        """Wall time per block of the last launch (a core's time, on several)."""

    def __getitem__(self, launch):
        """``k[grid, block]`` or ``k[grid, block, dynamic_shared_bytes]``, as ``<<<>>>``."""
        grid, block, *shared = launch
        return lambda *args: self.launch(grid, block, *args, shared=shared[0] if shared else 0)

    def __call__(self, *args, grid=1, block=1, shared=0):
        return self.launch(grid, block, *args, shared=shared)

    def _params(self, args) -> tuple[ctypes.Array, list]:
        info = self.info
        args = kernel_args(info, args)
        keep: list = []
        params = (ctypes.c_void_p * max(len(args), 1))()
        for i, (a, (code, want, ctype)) in enumerate(zip(args, self._codes, strict=True)):
            if want is not None and a is None:
                cell = ctypes.c_void_p(None)  # a null pointer
            elif want is not None:
                if not isinstance(a, np.ndarray) or a.dtype != want or not a.flags.c_contiguous:
                    self._bad_array(i, a, code, want)
                if not a.flags.writeable and i not in self._readonly:
                    raise XpucError(
                        f"argument '{info.arg_names[i]}' of {info.name} is a read-only array, "
                        "and the kernel may write through it; pass a writeable array"
                    )
                cell = ctypes.c_void_p(a.__array_interface__["data"][0])
            elif type(a) is int and code in _PLAIN_INTS and -(1 << 31) <= a < 1 << 31:
                cell = ctype(a)  # the common case, quickly
            else:
                cell = scalar(f"argument '{info.arg_names[i]}' of {info.name}", a, code)
            keep.append(cell)
            params[i] = ctypes.addressof(cell)
        return params, keep

    def _bad_array(self, i: int, a, code: str, want: np.dtype) -> None:
        info, name = self.info, self.info.arg_names[i]
        if not isinstance(a, np.ndarray):
            raise XpucError(f"argument '{name}' of {info.name} must be a numpy array ({code})")
        if a.dtype != want and not (code == "*u8" and a.dtype.fields):
            raise XpucError(
                f"argument '{name}' of {info.name} must have dtype {want}, not {a.dtype}"
            )
        if not a.flags.c_contiguous:
            raise XpucError(f"argument '{name}' of {info.name} must be C-contiguous")

    def launch(self, grid, block, *args, shared: int = 0) -> None:
        g, b = check_launch(self.info, self.module.artifact.target, grid, block, shared)
        (gx, gy, gz), (bx, by, bz) = g, b
        params, keep = self._params(args)
        total = gx * gy * gz
        workers = min(num_threads(), total)
        need = self.stack[0] + self.stack[1] * bx * by * bz
        small = self.block_seconds is not None and self.block_seconds * total < _INLINE_SECONDS
        inline = need <= _INLINE_STACK and (workers == 1 or small)
        if inline:
            workers = 1
        p = ctypes.addressof(params)
        counter = ctypes.c_int64(0)
        c = ctypes.addressof(counter)
        dims = (gx, gy, gz, bx, by, bz)
        chunk = max(1, total // (workers * 8))
        with self.module.lock:
            bases = self.module.shared_buffers(workers, shared)
            if inline:
                busy = _timed(self.fn, p, c, total, total, *dims, bases[0])
            else:  # the pool's workers have the large stacks
                here = need <= _INLINE_STACK  # then this thread takes a share too
                futures = [_pool().submit(_timed, self.fn, p, c, total, chunk, *dims, bases[w])
                           for w in range(int(here), workers)]  # fmt: skip
                busy = _timed(self.fn, p, c, total, chunk, *dims, bases[0]) if here else 0.0
                busy += sum(f.result() for f in futures)
            self.block_seconds = busy / total
        del keep
        self._flush()

    def _flush(self) -> None:
        if self.module.prints:  # device printf writes through C stdio: keep the order
            ctypes.CDLL(None).fflush(None)


class CPUModule(KernelTable):
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
        self.lock = threading.Lock()
        self._shared: list[np.ndarray] = []
        self._shared_bytes = -1
        for info in artifact.kernels:
            addr = self._engine.get_function_address(LAUNCH_PREFIX + info.link_name)
            self.kernels[info.name] = CPUKernel(self, info, addr, self._stack(info.link_name))

    def _stack(self, name: str) -> tuple[int, int]:
        addr = self._engine.get_global_value_address(STACK_PREFIX + name)
        if not addr:  # not recorded: never run on a small stack
            return (_STACK_BYTES, 0)
        pair = (ctypes.c_int64 * 2).from_address(addr)
        return (pair[0], pair[1])

    def shared_buffers(self, workers: int, nbytes: int) -> list[int]:
        """One 64-byte aligned dynamic-shared-memory buffer per worker (kept and reused)."""
        if len(self._shared) < workers or self._shared_bytes < nbytes:
            size = max(nbytes, self._shared_bytes, 0) + 128
            count = max(workers, len(self._shared))
            self._shared = [np.zeros(size, np.uint8) for _ in range(count)]
            self._shared_bytes = size - 128
        return [(b.ctypes.data + 63) // 64 * 64 for b in self._shared[:workers]]

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
