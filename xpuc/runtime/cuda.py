"""Run nvptx kernels through the CUDA driver API (``pip install cuda-bindings``).

``CUDAModule(artifact)`` loads the artifact's cubin (``stages['bin']``) when it runs on
device 0, else its PTX (``stages['asm']``, compiled by the driver's JIT), in the
device's primary context.  A launch, ``mod.k[grid, block](*args)`` or
``mod.k[grid, block, dynamic_shared_bytes](...)``, copies every numpy array argument
to device memory, launches, waits, and copies every (writeable) array back, so results
land in the arrays as with the cpu runtime; an array passed twice is one buffer.
Scalars are packed by the kernel's signature codes (``i32``, ``f16`` as its bits, ...),
struct arguments are tuples of their fields.  Driver errors become ``XpucError``s that
name the ``CUresult``.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

from xpuc.compiler.artifact import Artifact, KernelInfo, KernelTable, flatten_args, launch_dims
from xpuc.compiler.diagnostics import XpucError

_CTYPES = {
    "i1": ctypes.c_bool, "i8": ctypes.c_int8, "u8": ctypes.c_uint8, "i16": ctypes.c_int16,
    "u16": ctypes.c_uint16, "i32": ctypes.c_int32, "u32": ctypes.c_uint32,
    "i64": ctypes.c_int64, "u64": ctypes.c_uint64, "f32": ctypes.c_float,
    "f64": ctypes.c_double, "f16": ctypes.c_uint16,
}  # fmt: skip
_DTYPES = {"i1": np.bool_, "i8": np.int8, "u8": np.uint8, "i16": np.int16, "u16": np.uint16,
           "i32": np.int32, "u32": np.uint32, "i64": np.int64, "u64": np.uint64,
           "f16": np.float16, "f32": np.float32, "f64": np.float64}  # fmt: skip
STATIC_SHARED_LIMIT = 48 * 1024
"""Dynamic shared memory beyond this needs ``CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES``."""


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


def pack_args(info: KernelInfo, args) -> list[Param]:
    """Check a launch's arguments against the kernel's signature and say how each is
    passed.  Struct arguments (tuples) are their fields; ``None`` is a null pointer."""
    if any(isinstance(a, tuple | list) for a in args):
        args = flatten_args(args)
    if len(args) != len(info.arg_types):
        raise XpucError(
            f"kernel {info.name} takes {len(info.arg_types)} arguments "
            f"({', '.join(info.arg_names)}), {len(args)} given"
        )
    out = []
    for i, (a, code) in enumerate(zip(args, info.arg_types, strict=True)):
        name = info.arg_names[i] if i < len(info.arg_names) else f"#{i}"
        if code.startswith("*"):
            out.append(Param(value=ctypes.c_void_p(None)) if a is None else
                       Param(array=_checked_array(info, name, a, code)))  # fmt: skip
            continue
        if isinstance(a, np.ndarray) and a.ndim > 0:
            raise XpucError(f"argument '{name}' of {info.name} is a scalar ({code}), not an array")
        if code == "f16":  # passed as its bits
            a = np.float16(a).view(np.uint16)
        elif code.startswith(("i", "u")) and code != "i1" and isinstance(a, float | np.floating):
            raise XpucError(f"argument '{name}' of {info.name} is an integer ({code}), not {a!r}")
        a = a.item() if isinstance(a, np.generic) else a
        try:
            out.append(Param(value=_CTYPES[code](a)))
        except TypeError:
            msg = f"argument '{name}' of {info.name} must be a {code}, not {a!r}"
            raise XpucError(msg) from None
    return out


def _checked_array(info: KernelInfo, name: str, a, code: str) -> np.ndarray:
    want = np.dtype(_DTYPES[code[1:]])
    if not isinstance(a, np.ndarray):
        raise XpucError(f"argument '{name}' of {info.name} must be a numpy array ({code})")
    if a.dtype != want and not (code == "*u8" and a.dtype.fields):
        raise XpucError(f"argument '{name}' of {info.name} must have dtype {want}, not {a.dtype}")
    if not a.flags.c_contiguous:
        raise XpucError(f"argument '{name}' of {info.name} must be C-contiguous")
    return a


class CUDAKernel:
    def __init__(self, module: CUDAModule, info: KernelInfo, function):
        self.module = module
        self.info = info
        self.function = function
        self._shared_set = STATIC_SHARED_LIMIT

    def __getitem__(self, launch):
        """``k[grid, block]`` or ``k[grid, block, dynamic_shared_bytes]``, as ``<<<>>>``."""
        grid, block, *shared = launch
        return lambda *args: self.launch(grid, block, *args, shared=shared[0] if shared else 0)

    def __call__(self, *args, grid=1, block=1, shared=0):
        return self.launch(grid, block, *args, shared=shared)

    def launch(self, grid, block, *args, shared: int = 0) -> None:
        gx, gy, gz = launch_dims(grid, "grid")
        bx, by, bz = launch_dims(block, "block")
        if bx * by * bz > self.info.max_threads_per_block:
            raise XpucError(
                f"block of {bx * by * bz} threads exceeds the limit of "
                f"{self.info.max_threads_per_block} for {self.info.name}"
            )
        if shared < 0:
            raise XpucError(f"dynamic shared memory size must be >= 0, not {shared}")
        params = pack_args(self.info, args)
        cu, what = self.module.cu, f"launch of {self.info.name}"
        with self.module.lock:
            self.module.activate()
            if shared > self._shared_set:  # over 48 KiB: the kernel must opt in
                attr = cu.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
                why = f"{what} (cuFuncSetAttribute, {shared} bytes of dynamic shared memory)"
                _check(cu, cu.cuFuncSetAttribute(self.function, attr, shared), why)
                self._shared_set = shared
            buffers: dict[tuple[int, int], tuple[object, np.ndarray]] = {}
            try:
                cells = [self._cell(p, buffers) for p in params]
                pointers = (ctypes.c_void_p * max(len(cells), 1))(
                    *[ctypes.addressof(c) for c in cells]
                )
                _check(cu, cu.cuLaunchKernel(self.function, gx, gy, gz, bx, by, bz, shared,
                                             cu.CUstream(0), ctypes.addressof(pointers), 0),
                       what)  # fmt: skip
                _check(cu, cu.cuCtxSynchronize(), f"{what} (while it ran)")
                for dptr, host in buffers.values():
                    if host.flags.writeable and host.nbytes:
                        _check(cu, cu.cuMemcpyDtoH(host.ctypes.data, dptr, host.nbytes),
                               f"{what} (copy back)")  # fmt: skip
            finally:
                for dptr, _ in buffers.values():
                    cu.cuMemFree(dptr)

    def _cell(self, p: Param, buffers: dict) -> ctypes._SimpleCData:
        if p.array is None:
            return p.value
        a, cu = p.array, self.module.cu
        key = (a.__array_interface__["data"][0], a.nbytes)
        if key not in buffers:
            dptr = _check(cu, cu.cuMemAlloc(max(a.nbytes, 1)), "cuMemAlloc")
            buffers[key] = (dptr, a)
            if a.nbytes:
                _check(cu, cu.cuMemcpyHtoD(dptr, a.ctypes.data, a.nbytes), "cuMemcpyHtoD")
        return ctypes.c_void_p(int(buffers[key][0]))


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
