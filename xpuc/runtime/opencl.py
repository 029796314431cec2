"""Run opencl-target kernels through pyopencl (PoCL on this machine).

The device is chosen once, deterministically: ``$XPUC_OPENCL_PLATFORM`` and
``$XPUC_OPENCL_DEVICE`` (case-insensitive substrings of the platform and device
names) narrow the choice; otherwise a PoCL installed with the system (its ICD in
``/etc/OpenCL/vendors``) comes first, other drivers next, and the PoCL that the
``pocl-binary-distribution`` wheel bundles last (its 3.0 build fails on some newer
CPUs).  One context and queue serve every module; built programs are cached per
source text.  A launch copies each array argument to a buffer and back, as
``cudaMemcpy`` around a launch would.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os

import numpy as np

from xpuc.compiler.artifact import (
    Artifact,
    KernelInfo,
    KernelTable,
    check_launch,
    kernel_args,
)
from xpuc.compiler.diagnostics import TargetError, ToolNotFoundError, XpucError
from xpuc.runtime.cpu import CPUKernel, dtype_of
from xpuc.runtime.values import DTYPES, scalar
from xpuc.targets.opencl_program import read_meta

_PROGRAMS: dict[str, object] = {}
_EXTENSION_TYPES = {
    "cl_khr_fp64": "double (f64)",
    "cl_khr_int64_base_atomics": "64-bit atomics",
    "cl_khr_int64_extended_atomics": "64-bit atomic min/max/and/or/xor",
}


def _cl():
    import pyopencl

    return pyopencl


_THREAD_STACK = 256 << 20


def _grow_thread_stacks() -> None:
    """Give threads created from now on 256 MiB of (virtual) stack by default.

    PoCL keeps the private variables a work-group holds across a barrier on the stack of
    its worker threads, which it starts with the default size (8 MiB): 1024 work-items
    with 8 KiB of private arrays each overflow it.  glibc's
    ``pthread_setattr_default_np`` raises the default before PoCL starts its workers
    (on the first ``clGetPlatformIDs``); elsewhere this does nothing."""
    try:
        libc = ctypes.CDLL(None)
        attr = ctypes.create_string_buffer(256)  # pthread_attr_t is 56 bytes on glibc
        if libc.pthread_attr_init(attr) == 0:
            libc.pthread_attr_setstacksize(attr, ctypes.c_size_t(_THREAD_STACK))
            libc.pthread_setattr_default_np(attr)
            libc.pthread_attr_destroy(attr)
    except (AttributeError, OSError):  # not glibc
        pass


@functools.cache
def _wheel_pocl() -> str | None:
    """The version string of the wheel's PoCL ("PoCL 3.0"), when it is installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return "PoCL " + version("pocl-binary-distribution")
    except PackageNotFoundError:
        return None


def _rank(platform) -> int:
    """0: a PoCL but the wheel's; 1: another driver; 2: the wheel's PoCL."""
    wheel, v = _wheel_pocl(), platform.version
    if wheel and (wheel + "-" in v or wheel + " " in v):
        return 2
    return 0 if "PoCL" in v else 1


@functools.cache
def _choice():
    """(device, None) or (None, why there is none)."""
    try:
        cl = _cl()
    except ImportError:
        return None, "pyopencl is not installed (pip install 'xpuc[opencl]')"
    _grow_thread_stacks()
    try:
        platforms = cl.get_platforms()
    except Exception as e:  # no ICD loader or no platform: pyopencl raises its own errors
        return None, f"no OpenCL platform ({str(e).splitlines()[0]})"
    want_p = os.environ.get("XPUC_OPENCL_PLATFORM", "").lower()
    want_d = os.environ.get("XPUC_OPENCL_DEVICE", "").lower()
    found = []
    for i, p in enumerate(platforms):
        if want_p not in f"{p.name} {p.version}".lower():
            continue
        try:
            devices = p.get_devices()
        except Exception:  # a platform without devices raises DEVICE_NOT_FOUND
            continue
        for j, d in enumerate(devices):
            if want_d in d.name.lower():
                found.append((_rank(p), i, j, d))
    if not found:
        wanted = [f"XPUC_OPENCL_PLATFORM={want_p!r}"] * bool(want_p) + [
            f"XPUC_OPENCL_DEVICE={want_d!r}"] * bool(want_d)  # fmt: skip
        return None, "no OpenCL device" + (" matches " + " and ".join(wanted)) * bool(wanted)
    return min(found, key=lambda f: f[:3])[3], None


def find_device():
    """The OpenCL device kernels run on, or None."""
    return _choice()[0]


def missing_reason() -> str:
    return _choice()[1] or ""


def platform_label(device) -> str:
    """``PoCL 3.1+debian``, or the platform's name."""
    v = device.platform.version
    return " ".join(v[v.index("PoCL") :].split()[:2]) if "PoCL" in v else device.platform.name


def device_label(device) -> str:
    """``PoCL 3.1+debian (pthread-...)``: the platform and the device."""
    return f"{platform_label(device)} ({device.name})"


@functools.cache
def _queue():
    cl = _cl()
    ctx = cl.Context([find_device()])
    return ctx, cl.CommandQueue(ctx)


@functools.cache
def zero_copy() -> bool:
    """Whether the device computes in a ``USE_HOST_PTR`` array itself (PoCL on the CPU
    does), so its writes are in the array once the queue is finished, without a map.
    Tried once, on an aligned array and on one 4 bytes off alignment."""
    cl = _cl()
    if not find_device().host_unified_memory:
        return False
    ctx, queue = _queue()
    prog = cl.Program(ctx, "__kernel void probe(__global int *x) { x[get_global_id(0)] = 7; }")
    kernel = prog.build().probe
    for a in (np.zeros(64, np.int32), np.zeros(65, np.int32)[1:]):
        flags = cl.mem_flags.READ_WRITE | cl.mem_flags.USE_HOST_PTR
        buf = cl.Buffer(ctx, flags, hostbuf=a)
        kernel.set_args(buf)
        cl.enqueue_nd_range_kernel(queue, kernel, (64,), None)
        queue.finish()
        buf.release()
        if not (a == 7).all():
            return False
    return True


def build_options(device) -> list[str]:
    """Options the program is built with: correctly rounded ``/`` and ``sqrt`` for
    float, as CUDA has them, where the device can (GPU drivers default to less)."""
    cl = _cl()
    correct = cl.device_fp_config.CORRECTLY_ROUNDED_DIVIDE_SQRT
    return ["-cl-fp32-correctly-rounded-divide-sqrt"] * bool(device.single_fp_config & correct)


def build(source: str):
    """The program built from OpenCL C text (cached); TargetError with the build log."""
    key = hashlib.sha256(source.encode()).hexdigest()
    if key not in _PROGRAMS:
        cl = _cl()
        device = find_device()
        if device is None:
            raise ToolNotFoundError(f"cannot build OpenCL C: {missing_reason()}")
        meta = read_meta(source)
        missing = [e for e in meta.get("extensions", []) if e not in device.extensions.split()]
        if missing:
            raise TargetError(
                f"the program uses {', '.join(_EXTENSION_TYPES.get(e, e) for e in missing)}, "
                f"which the OpenCL device {device_label(device)} lacks "
                f"(no {', '.join(missing)})"
            )
        try:
            _PROGRAMS[key] = cl.Program(_queue()[0], source).build(build_options(device))
        except cl.RuntimeError as e:
            raise TargetError(
                f"the OpenCL compiler of {device_label(device)} rejected the program:\n{e}"
            ) from None
    return _PROGRAMS[key]


class OpenCLKernel:
    def __init__(self, module: OpenCLModule, info: KernelInfo, launch: dict):
        self.module = module
        self.info = info
        self.kernel = _cl().Kernel(module.program, launch.get("symbol", info.link_name))
        # pointers it may write (passes/memory_effects.py): all, where not recorded
        self.writes = set(range(len(info.arg_types))) - set(info.readonly_args)
        self.mode = launch["mode"]
        self.extra = launch["extra"]
        self.scratch = launch.get("scratch", [0, 0])

    __getitem__ = CPUKernel.__getitem__
    __call__ = CPUKernel.__call__
    _bad_array = CPUKernel._bad_array  # the cpu runtime's argument errors, word for word

    def _args(self, args) -> tuple[list, list[tuple[np.ndarray, object]]]:
        info = self.info
        args = kernel_args(info, args)
        out, buffers = [], []
        for i, (a, code) in enumerate(zip(args, info.arg_types, strict=True)):
            if code.startswith("*") and a is None:
                out.append(None)
            elif code.startswith("*"):
                want = dtype_of(code)
                if not isinstance(a, np.ndarray) or a.dtype != want or not a.flags.c_contiguous:
                    self._bad_array(i, a, code, want)
                if not a.flags.writeable and i in self.writes:
                    raise XpucError(
                        f"argument '{info.arg_names[i]}' of {info.name} is a read-only array, "
                        "and the kernel may write through it; pass a writeable array"
                    )
                out.append(self._buffer(a, buffers, i))
            else:  # f16 is passed as its bits, i1 as a byte
                v = scalar(f"argument '{info.arg_names[i]}' of {info.name}", a, code).value
                out.append(np.uint8(v) if code == "i1" else DTYPES[code.replace("f16", "u16")](v))
        return out, buffers

    def _buffer(self, a: np.ndarray, buffers: list, i: int):
        cl = _cl()
        start = a.__array_interface__["data"][0]
        for b, buf in buffers:
            if b.__array_interface__["data"][0] == start and b.nbytes == a.nbytes:
                return buf  # the same array twice: one buffer, as one pointer would be
            if np.shares_memory(a, b):
                raise XpucError(
                    f"argument '{self.info.arg_names[i]}' of {self.info.name} overlaps another "
                    "array argument; OpenCL buffers cannot alias in part"
                )
        # A device sharing the host's memory (PoCL on the CPU) works on the array itself:
        # no copy in, and mapping after the launch makes its writes visible.  Others get
        # a copy in and a copy back.
        shared = self.module.device.host_unified_memory and a.flags.writeable
        host = cl.mem_flags.USE_HOST_PTR if shared else cl.mem_flags.COPY_HOST_PTR
        flags = cl.mem_flags.READ_WRITE | (host if a.nbytes else 0)
        buf = cl.Buffer(self.module.ctx, flags, size=max(a.nbytes, 4),
                        hostbuf=a if a.nbytes else None)  # fmt: skip
        buffers.append((a, buf))
        return buf

    def launch(self, grid, block, *args, shared: int = 0) -> None:
        cl = _cl()
        g, b = check_launch(self.info, self.module.artifact.target, grid, block, shared)
        (gx, gy, gz), (bx, by, bz) = g, b
        threads = bx * by * bz
        values, buffers = self._args(args)
        local = 0
        for e in self.extra:
            if e == "bdim":
                values += [np.uint64(bx), np.uint64(by), np.uint64(bz)]
            elif e == "scratch":
                nbytes = self.scratch[0] * threads + self.scratch[1]
                values.append(cl.LocalMemory(nbytes))
                local += nbytes
            elif e == "dyn":
                values.append(cl.LocalMemory(max(shared, 16)))
                local += shared
            elif e == "globals":
                values.append(self.module.globals_buffer())
        limit = self.module.device.local_mem_size
        if local > limit:
            raise XpucError(f"{self.info.name} needs {local} bytes of local memory per block; "
                            f"the OpenCL device has {limit}")  # fmt: skip
        if self.mode == "loops":
            size, group = (gx, gy, gz), (1, 1, 1)
        else:
            size, group = (gx * bx, gy * by, gz * bz), (bx, by, bz)
        queue = self.module.queue
        with self.module.lock:
            self.kernel.set_args(*values)
            cl.enqueue_nd_range_kernel(queue, self.kernel, size, group)
            unified = self.module.device.host_unified_memory
            direct = unified and zero_copy()
            for a, buf in buffers:
                if not (a.nbytes and a.flags.writeable) or direct:
                    continue
                if unified:  # map and unmap: the device's writes reach the array
                    view, _ = cl.enqueue_map_buffer(queue, buf, cl.map_flags.READ, 0,
                                                    (a.nbytes,), np.uint8)  # fmt: skip
                    view.base.release(queue)
                else:
                    cl.enqueue_copy(queue, a, buf)
            if "globals" in self.extra:
                cl.enqueue_copy(queue, self.module.image, self.module.gbuf)
            queue.finish()
        if self.module.prints:  # PoCL writes printf output through C stdio
            ctypes.CDLL(None).fflush(None)


class OpenCLModule(KernelTable):
    """Kernels of an opencl artifact, as attributes: ``mod.saxpy[grid, block](...)``."""

    def __init__(self, artifact: Artifact):
        import threading

        if "asm" not in artifact.stages:
            raise XpucError("the artifact has no OpenCL C to load (compile with emit='asm')")
        source = str(artifact.stages["asm"])
        self.artifact = artifact
        self.device = find_device()
        if self.device is None:
            raise ToolNotFoundError(f"cannot run OpenCL kernels: {missing_reason()}")
        self.ctx, self.queue = _queue()
        self.program = build(source)
        meta = read_meta(source)
        self.prints = "printf(" in source
        self.lock = threading.Lock()
        self.symbols = meta.get("globals", {})
        self.image = np.zeros(max(meta.get("globals_bytes", 0), 16), np.uint8)
        for name, (_, _, count, init) in self.symbols.items():
            if init is not None:
                view = self.symbol(name)
                view[:] = np.asarray(init[:count] + init[-1:] * (count - len(init)), view.dtype)
        self.gbuf = None
        self.kernels = {
            info.name: OpenCLKernel(self, info, meta["kernels"][info.link_name])
            for info in artifact.kernels
        }

    def globals_buffer(self):
        """The buffer of ``__device__``/``__constant__`` variables, with the host's writes."""
        cl = _cl()
        if self.gbuf is None:
            self.gbuf = cl.Buffer(self.ctx, cl.mem_flags.READ_WRITE, size=self.image.nbytes)
        cl.enqueue_copy(self.queue, self.gbuf, self.image)
        return self.gbuf

    def symbol(self, name: str) -> np.ndarray:
        """A ``__device__``/``__constant__`` variable as a numpy array over its memory.

        Writing to it is ``cudaMemcpyToSymbol``; reading is ``cudaMemcpyFromSymbol``
        (launches copy the variables to the device and back)."""
        if name not in self.symbols:
            raise XpucError(f"no __device__ or __constant__ variable named '{name}'")
        offset, code, count, _ = self.symbols[name]
        dtype = np.dtype(np.uint8) if code == "i1" else dtype_of(code)
        return self.image[offset : offset + count * dtype.itemsize].view(dtype)
