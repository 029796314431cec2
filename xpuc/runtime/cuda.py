"""Run nvptx kernels through the CUDA driver API (``pip install cuda-bindings``).

``CUDAModule(artifact)`` loads the artifact's cubin (``stages['bin']``) when it runs on
device 0, else its PTX (``stages['asm']``, compiled by the driver's JIT), in the
device's primary context.  A launch, ``mod.k[grid, block](*args)`` or
``mod.k[grid, block, dynamic_shared_bytes](...)``, copies every numpy array argument
to device memory, launches, waits, and copies back what the kernel may have written, so
results land in the arrays as with the cpu runtime.  Arrays that share memory (one
passed twice, overlapping slices) are one device allocation, so they alias as on the
host.  A read-only array may be passed only where the kernel's LLVM IR says it never
writes (``KernelInfo.readonly_args``).  Scalars are packed by the kernel's signature codes (``i32``,
``f16`` as its bits, ...) and must fit them; struct arguments are tuples of their
fields.  Driver errors become ``XpucError``s that name the ``CUresult``.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Collection
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from xpuc.compiler.artifact import (
    Artifact,
    KernelInfo,
    KernelTable,
    check_launch,
    kernel_args,
)
from xpuc.compiler.diagnostics import XpucError
from xpuc.runtime.values import DTYPES, scalar

STATIC_SHARED_LIMIT = 48 * 1024
"""Shared memory (static + dynamic) beyond this needs the kernel to opt in
(``CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES``)."""


def _driver():
    """``cuda.bindings.driver`` (cuda-bindings; ``cuda.cuda`` in cuda-python before 12.6)."""
    try:
        from cuda.bindings import driver
    except ImportError:
        from cuda import cuda as driver  # type: ignore[no-redef]
    return driver


def _check(cu, result, what: str):
    """The values after the ``CUresult`` of a driver call; an XpucError naming it."""
    res, *values = result if isinstance(result, tuple) else (result,)
    if res != cu.CUresult.CUDA_SUCCESS:
        raise XpucError(f"CUDA {what} failed: {getattr(res, 'name', res)}")
    return values[0] if len(values) == 1 else values


def missing_reason() -> str | None:
    """Why no CUDA device can be used here (None when one can)."""
    try:
        cu = _driver()
    except ImportError:
        return "cuda-bindings is not installed (pip install 'xpuc[cuda]')"
    except Exception as e:  # noqa: BLE001 - a broken install: say what it said
        return f"cuda-bindings failed to load ({type(e).__name__}: {e})"
    try:
        _check(cu, cu.cuInit(0), "cuInit")
        if _check(cu, cu.cuDeviceGetCount(), "cuDeviceGetCount") < 1:
            return "the CUDA driver reports no device"
    except Exception as e:  # noqa: BLE001 - libcuda missing is an exception in cuda-bindings
        return f"no usable NVIDIA driver or GPU ({str(e).splitlines()[0] or type(e).__name__})"
    return None


@cache
def device_arch() -> str | None:
    """``sm_XY`` of CUDA device 0, or None without cuda-bindings, a driver or a GPU.
    Never raises (the driver library missing is an exception in cuda-bindings)."""
    if missing_reason() is not None:
        return None
    try:
        cu = _driver()
        dev = _check(cu, cu.cuDeviceGet(0), "cuDeviceGet")
        attr = cu.CUdevice_attribute
        cc = [
            _check(cu, cu.cuDeviceGetAttribute(a, dev), "cuDeviceGetAttribute")
            for a in (attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                      attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
        ]  # fmt: skip
        return f"sm_{cc[0]}{cc[1]}"
    except Exception:  # noqa: BLE001 - no module, no libcuda, no device: all mean "none"
        return None


@dataclass
class Param:
    """One kernel parameter of a launch: a host array to copy to the device (``array``),
    or the bytes to pass (``value``, a ctypes object: a scalar or a null pointer)."""

    array: np.ndarray | None = None
    value: ctypes._SimpleCData | None = None


def pack_args(info: KernelInfo, args, readonly: Collection[int] = ()) -> list[Param]:
    """Check a launch's arguments against the kernel's signature and say how each is
    passed.  Struct arguments (tuples) are their fields; ``None`` is a null pointer.
    ``readonly``: the indices of the pointer parameters the kernel never writes through,
    the only ones a read-only array may be passed for."""
    args = kernel_args(info, args)
    out = []
    for i, (a, code) in enumerate(zip(args, info.arg_types, strict=True)):
        name = info.arg_names[i] if i < len(info.arg_names) else f"#{i}"
        what = f"argument '{name}' of {info.name}"
        if not code.startswith("*"):
            out.append(Param(value=scalar(what, a, code)))
        elif a is None:
            out.append(Param(value=ctypes.c_void_p(None)))
        else:
            out.append(Param(array=_checked_array(what, name, a, code, i in readonly)))
    return out


def _checked_array(what: str, name: str, a, code: str, readonly: bool) -> np.ndarray:
    want = np.dtype(DTYPES[code[1:]])
    if not isinstance(a, np.ndarray):
        raise XpucError(f"{what} must be a numpy array ({code})")
    if a.dtype != want and not (code == "*u8" and a.dtype.fields):
        raise XpucError(f"{what} must have dtype {want}, not {a.dtype}")
    if not a.flags.c_contiguous:
        raise XpucError(f"{what} must be C-contiguous")
    if not (a.flags.writeable or readonly):
        raise XpucError(
            f"{what} is a read-only array, and the kernel may write through it; pass a "
            f"writeable array ({name}.copy())"
        )
    return a


@dataclass
class Span:
    """Host bytes ``[start, end)`` that array arguments sharing memory cover, copied to one
    device allocation: ``members`` (parameter index, host address) are passed as the
    allocation + ``pad`` + their offset; ``back`` are the ranges to copy back."""

    start: int
    end: int
    members: list[tuple[int, int]]
    back: list[tuple[int, int]]
    pad: int = 0


def spans(arrays: dict[int, np.ndarray], written: Collection[int]) -> list[Span]:
    """Group the array arguments (by parameter index) whose bytes overlap, so that they
    alias on the device as on the host.  Overlapping contiguous ranges leave no hole,
    so every byte of a span is some argument's.  Only the arrays of ``written``
    (writeable arrays the kernel may write) are copied back, their merged ranges."""
    ranges = sorted(((a.ctypes.data, a.ctypes.data + a.nbytes, i) for i, a in arrays.items()),
                    key=lambda r: (r[0], -r[1]))  # fmt: skip
    out: list[Span] = []
    for s, e, i in ranges:
        if out and (s < out[-1].end or s == out[-1].start):
            out[-1].end = max(out[-1].end, e)
            out[-1].members.append((i, s))
        else:
            out.append(Span(s, e, [(i, s)], []))
        if i in written and e > s:
            back = out[-1].back
            if back and s <= back[-1][1]:
                back[-1] = (back[-1][0], max(back[-1][1], e))
            else:
                back.append((s, e))
    for sp in out:  # the device addresses keep the host's alignment (mod 256)
        sp.pad = sp.start % 256 if any(s != sp.start for _, s in sp.members) else 0
    return out


class CUDAKernel:
    def __init__(self, module: CUDAModule, info: KernelInfo, function):
        self.module = module
        self.info = info
        self.function = function
        cu = module.cu
        attr = cu.CUfunction_attribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES
        self.static_shared = int(_check(cu, cu.cuFuncGetAttribute(attr, function),
                                        f"cuFuncGetAttribute of {info.name}"))  # fmt: skip
        # The driver lets a kernel use 48 KiB of shared memory, static and dynamic
        # together, unless CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES raises it.
        self._dynamic_allowed = max(STATIC_SHARED_LIMIT - self.static_shared, 0)
        self.readonly = frozenset(info.readonly_args)  # passes/memory_effects.py

    def __getitem__(self, launch):
        """``k[grid, block]`` or ``k[grid, block, dynamic_shared_bytes]``, as ``<<<>>>``."""
        grid, block, *shared = launch
        return lambda *args: self.launch(grid, block, *args, shared=shared[0] if shared else 0)

    def __call__(self, *args, grid=1, block=1, shared=0):
        return self.launch(grid, block, *args, shared=shared)

    def launch(self, grid, block, *args, shared: int = 0) -> None:
        name = self.info.name
        info = replace(self.info, max_shared_memory=0)  # the GPU's own limit, below
        (gx, gy, gz), (bx, by, bz) = check_launch(info, "", grid, block, shared)
        static, limit = self.static_shared, self.module.shared_limit
        if static + shared > limit:
            raise XpucError(
                f"{name} needs {static + shared} bytes of shared memory per block ({static} "
                f"static + {shared} dynamic); this GPU allows {limit}"
            )
        params = pack_args(self.info, args, self.readonly)
        arrays = {i: p.array for i, p in enumerate(params) if p.array is not None}
        written = [i for i, a in arrays.items() if a.flags.writeable and i not in self.readonly]
        cu, what = self.module.cu, f"launch of {name}"
        with self.module.lock:
            self.module.activate()
            if shared > self._dynamic_allowed:  # over 48 KiB in all: the kernel must opt in
                attr = cu.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
                why = f"{what} (cuFuncSetAttribute, {shared} bytes of dynamic shared memory)"
                _check(cu, cu.cuFuncSetAttribute(self.function, attr, shared), why)
                self._dynamic_allowed = shared
            allocations: list = []
            try:
                cells = [p.value for p in params]
                copies = []
                for sp in spans(arrays, written):
                    dptr = _check(cu, cu.cuMemAlloc(sp.pad + max(sp.end - sp.start, 1)),
                                  "cuMemAlloc")  # fmt: skip
                    allocations.append(dptr)
                    dev = int(dptr) + sp.pad  # where host byte sp.start is on the device
                    if sp.end > sp.start:
                        _check(cu, cu.cuMemcpyHtoD(dev, sp.start, sp.end - sp.start),
                               "cuMemcpyHtoD")  # fmt: skip
                    for i, host in sp.members:
                        cells[i] = ctypes.c_void_p(dev + host - sp.start)
                    copies += [(s, dev + s - sp.start, e - s) for s, e in sp.back]
                pointers = (ctypes.c_void_p * max(len(cells), 1))(
                    *[ctypes.addressof(c) for c in cells]
                )
                _check(cu, cu.cuLaunchKernel(self.function, gx, gy, gz, bx, by, bz, shared,
                                             cu.CUstream(0), ctypes.addressof(pointers), 0),
                       what)  # fmt: skip
                _check(cu, cu.cuCtxSynchronize(), f"{what} (while it ran)")
                for host, device, n in copies:
                    _check(cu, cu.cuMemcpyDtoH(host, device, n), f"{what} (copy back)")
            finally:
                for dptr in allocations:
                    cu.cuMemFree(dptr)


class CUDAModule(KernelTable):
    """Kernels of an nvptx artifact on CUDA device 0: ``mod.saxpy[grid, block](...)``."""

    def __init__(self, artifact: Artifact):
        try:
            self.cu = cu = _driver()
        except ImportError:
            raise XpucError("running nvptx code needs cuda-bindings (pip install "
                            "cuda-bindings)") from None  # fmt: skip
        arch = device_arch()
        if arch is None:
            raise XpucError("no CUDA device here (cuda-bindings found no driver or GPU)")
        self.artifact, self.arch = artifact, arch
        self.lock = threading.Lock()
        dev = _check(cu, cu.cuDeviceGet(0), "cuDeviceGet")
        self.context = _check(cu, cu.cuDevicePrimaryCtxRetain(dev), "cuDevicePrimaryCtxRetain")
        attr = cu.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
        optin = _check(cu, cu.cuDeviceGetAttribute(attr, dev), "cuDeviceGetAttribute")
        self.shared_limit = max(int(optin), STATIC_SHARED_LIMIT)
        """Shared memory (static + dynamic) a block may have once its kernel opts in."""
        self.activate()
        image, kind = self._image(artifact, arch)
        self._image_buffer = ctypes.create_string_buffer(image)  # NUL-terminated for PTX
        self.module = _check(cu, cu.cuModuleLoadData(ctypes.addressof(self._image_buffer)),
                             f"loading the {kind} (cuModuleLoadData)")  # fmt: skip
        self.kernels: dict[str, CUDAKernel] = {}
        for info in artifact.kernels:
            fn = _check(cu, cu.cuModuleGetFunction(self.module, info.link_name.encode()),
                        f"finding kernel {info.name}")  # fmt: skip
            self.kernels[info.name] = CUDAKernel(self, info, fn)

    def activate(self) -> None:
        _check(self.cu, self.cu.cuCtxSetCurrent(self.context), "cuCtxSetCurrent")

    @staticmethod
    def _image(artifact: Artifact, arch: str) -> tuple[bytes, str]:
        """The cubin when it runs on ``arch``, else the PTX for the driver to compile."""
        from xpuc.targets.nvptx import cubin_runs_on

        built = artifact.target.partition(":")[2]
        cubin, ptx = artifact.stages.get("bin"), artifact.stages.get("asm")
        if isinstance(cubin, bytes) and built and cubin_runs_on(built, arch):
            return cubin, f"cubin for {built}"
        if ptx:
            return str(ptx).encode(), "PTX"
        raise XpucError(
            f"the artifact has no PTX and its cubin ({built or '?'}) does not run on this "
            f"{arch} GPU; compile for nvptx:{arch}"
        )
