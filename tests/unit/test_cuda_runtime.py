"""The CUDA runtime without a GPU: argument packing, what happens without cuda-bindings
or a device, and launches through a stand-in for ``cuda.bindings.driver`` whose
"device memory" is host memory and whose kernels are Python functions."""

import ctypes
import enum
import re

import numpy as np
import pytest

import xpuc
from xpuc.compiler.artifact import Artifact, KernelInfo
from xpuc.compiler.diagnostics import XpucError
from xpuc.runtime import cuda

SAXPY = """
__global__ void saxpy(int n, float a, const float *x, float *y) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}"""


@pytest.fixture(autouse=True)
def _fresh_device_arch():
    cuda.device_arch.cache_clear()
    yield
    cuda.device_arch.cache_clear()


# ---- argument packing


def info(types, names=None) -> KernelInfo:
    return KernelInfo("k", list(types), list(names or [f"a{i}" for i in range(len(types))]))


def test_pack_args_scalars_arrays_and_null():
    x = np.arange(4, dtype=np.float32)
    ps = cuda.pack_args(
        info(["i32", "f32", "*f32", "*i32", "f16", "i1", "u64", "i8"]),
        [7, np.float32(2.5), x, None, 1.5, True, 2**64 - 1, -3],
    )
    assert ps[0].value.value == 7 and isinstance(ps[0].value, ctypes.c_int32)
    assert ps[1].value.value == 2.5 and isinstance(ps[1].value, ctypes.c_float)
    assert ps[2].array is x and ps[2].value is None
    assert ps[3].array is None and ps[3].value.value is None  # a null pointer
    assert ps[4].value.value == 0x3E00  # f16 as its bits
    assert ps[5].value.value is True and ctypes.sizeof(ps[5].value) == 1
    assert ps[6].value.value == 2**64 - 1 and ps[7].value.value == -3


def test_pack_args_flattens_struct_tuples():
    x = np.zeros(3, np.float32)
    ps = cuda.pack_args(info(["*f32", "i32", "f64"]), [(x, 3), 0.5])
    assert ps[0].array is x and ps[1].value.value == 3 and ps[2].value.value == 0.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([1], r"kernel k takes 2 arguments \(n, x\), 1 given"),
        ([1, "abc"], "argument 'x' of k must be a numpy array"),
        ([1, np.zeros(3, np.float64)], "argument 'x' of k must have dtype float32, not float64"),
        ([1, np.zeros((3, 4), np.float32)[:, 1]], "argument 'x' of k must be C-contiguous"),
        ([1.5, np.zeros(3, np.float32)], r"argument 'n' of k is an integer \(i32\), not 1.5"),
        (["one", np.zeros(3, np.float32)], "argument 'n' of k must be a i32, not 'one'"),
        ([np.zeros(2, np.int32), np.zeros(3, np.float32)], "'n' of k is a scalar"),
    ],
)
def test_pack_args_rejects_what_cpu_kernels_reject(args, message):
    with pytest.raises(XpucError, match=message):
        cuda.pack_args(info(["i32", "*f32"], ["n", "x"]), args)


# ---- no cuda-bindings, no driver, no device


def test_device_arch_is_none_here_and_never_raises(monkeypatch):
    arch = cuda.device_arch()
    assert arch is None or re.fullmatch(r"sm_\d+", arch)

    def broken():
        raise RuntimeError('"cuda" is an NVIDIA driver library and can only be found ...')

    monkeypatch.setattr(cuda, "_driver", broken)
    cuda.device_arch.cache_clear()
    assert cuda.device_arch() is None


def test_loading_without_cuda_bindings_says_what_to_install(monkeypatch):
    def missing():
        raise ImportError("No module named 'cuda'")

    monkeypatch.setattr(cuda, "_driver", missing)
    with pytest.raises(XpucError, match=r"needs cuda-bindings \(pip install cuda-bindings\)"):
        cuda.CUDAModule(Artifact("nvptx:sm_90", []))


def test_loading_without_a_device_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(cuda, "_driver", lambda: FakeDriver(devices=0))
    with pytest.raises(XpucError, match="no CUDA device here"):
        cuda.CUDAModule(Artifact("nvptx:sm_90", []))


def test_xpuc_load_refuses_nvptx_without_a_gpu(monkeypatch):
    monkeypatch.setattr(cuda, "_driver", lambda: FakeDriver(devices=0))
    art = xpuc.compile(SAXPY, "nvptx:sm_90", emit="asm")
    with pytest.raises(XpucError, match="cannot run nvptx:sm_90 code on this machine"):
        xpuc.load(art)


# ---- launches through a stand-in driver


class R(enum.IntEnum):
    CUDA_SUCCESS = 0
    CUDA_ERROR_INVALID_VALUE = 1
    CUDA_ERROR_INVALID_PTX = 218
    CUDA_ERROR_ILLEGAL_ADDRESS = 700


class FakeDriver:
    """Enough of ``cuda.bindings.driver`` for CUDAModule, recording every call."""

    CUresult = R
    CUdevice_attribute = enum.IntEnum(
        "A",
        "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR",
    )
    CUfunction_attribute = enum.IntEnum("F", "CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES")

    class CUstream(int):
        pass

    def __init__(self, devices=1, cc=(9, 0), fail=None):
        self.devices, self.cc, self.fail = devices, cc, fail or {}
        self.calls: list[tuple] = []
        self.memory: dict[int, ctypes.Array] = {}
        self.kernels = {"saxpy": self._saxpy}
        self.image = b""

    def _ret(self, name, *values):
        self.calls.append((name, *values))
        return (self.fail.get(name, R.CUDA_SUCCESS), *values)

    def cuInit(self, flags):
        return self._ret("cuInit")

    def cuDeviceGetCount(self):
        return self._ret("cuDeviceGetCount", self.devices)

    def cuDeviceGet(self, i):
        return self._ret("cuDeviceGet", i)

    def cuDeviceGetAttribute(self, attr, dev):
        major = attr == self.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
        return self._ret("cuDeviceGetAttribute", self.cc[0] if major else self.cc[1])

    def cuDevicePrimaryCtxRetain(self, dev):
        return self._ret("cuDevicePrimaryCtxRetain", "ctx")

    def cuCtxSetCurrent(self, ctx):
        return self._ret("cuCtxSetCurrent")

    def cuModuleLoadData(self, address):
        self.image = ctypes.string_at(address)
        return self._ret("cuModuleLoadData", "module")

    def cuModuleGetFunction(self, module, name):
        return self._ret("cuModuleGetFunction", name.decode())

    def cuFuncSetAttribute(self, fn, attr, value):
        return self._ret("cuFuncSetAttribute", value)

    def cuMemAlloc(self, n):
        buf = (ctypes.c_char * n)()
        self.memory[ctypes.addressof(buf)] = buf
        return self._ret("cuMemAlloc", ctypes.addressof(buf))

    def cuMemFree(self, dptr):
        del self.memory[dptr]
        return self._ret("cuMemFree")

    def cuMemcpyHtoD(self, dst, src, n):
        ctypes.memmove(dst, src, n)
        return self._ret("cuMemcpyHtoD", n)

    def cuMemcpyDtoH(self, dst, src, n):
        ctypes.memmove(dst, src, n)
        return self._ret("cuMemcpyDtoH", n)

    def cuLaunchKernel(self, fn, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        args = (ctypes.c_void_p * 4).from_address(params)
        self.kernels[fn](gx * bx, *args)
        return self._ret("cuLaunchKernel", fn, (gx, gy, gz), (bx, by, bz), shared)

    def cuCtxSynchronize(self):
        return self._ret("cuCtxSynchronize")

    @staticmethod
    def _saxpy(threads, pn, pa, px, py):
        n = ctypes.c_int32.from_address(pn).value
        a = ctypes.c_float.from_address(pa).value
        x = (ctypes.c_float * n).from_address(ctypes.c_void_p.from_address(px).value)
        y = (ctypes.c_float * n).from_address(ctypes.c_void_p.from_address(py).value)
        for i in range(min(n, threads)):
            y[i] = a * x[i] + y[i]


@pytest.fixture
def fake(monkeypatch):
    drv = FakeDriver()
    monkeypatch.setattr(cuda, "_driver", lambda: drv)
    return drv


def test_device_arch_reads_the_compute_capability(fake):
    assert cuda.device_arch() == "sm_90"


def test_a_launch_copies_arrays_there_and_back(fake):
    art = xpuc.compile(SAXPY, "nvptx:sm_90", emit="asm")
    mod = xpuc.load(art)  # nvptx.can_run: device 0 is an sm_90
    assert isinstance(mod, cuda.CUDAModule)
    assert fake.image.startswith(b"//") and b".entry saxpy" in fake.image  # the PTX
    x, y = np.arange(10, dtype=np.float32), np.ones(10, np.float32)
    mod.saxpy[(2,), 8](10, 2.0, x, y)
    np.testing.assert_array_equal(y, 2 * np.arange(10) + 1)
    np.testing.assert_array_equal(x, np.arange(10))
    names = [c[0] for c in fake.calls]
    assert names.count("cuMemAlloc") == 2 and names.count("cuMemFree") == 2
    assert names.count("cuMemcpyDtoH") == 2 and not fake.memory
    launch = next(c for c in fake.calls if c[0] == "cuLaunchKernel")
    assert launch[1:] == ("saxpy", (2, 1, 1), (8, 1, 1), 0)


def test_one_array_passed_twice_is_one_buffer_and_read_only_arrays_stay(fake):
    mod = cuda.CUDAModule(xpuc.compile(SAXPY, "nvptx:sm_90", emit="asm"))
    y = np.ones(4, np.float32)
    mod.saxpy[1, 4](4, 3.0, y, y)
    np.testing.assert_array_equal(y, 4.0)
    assert [c[0] for c in fake.calls].count("cuMemAlloc") == 1
    x = np.ones(4, np.float32)
    x.flags.writeable = False
    fake.calls.clear()
    mod.saxpy[1, 4](4, 1.0, x, y)
    assert [c[0] for c in fake.calls].count("cuMemcpyDtoH") == 1  # y only
    np.testing.assert_array_equal(y, 5.0)


def test_a_cubin_for_the_device_is_loaded_instead_of_the_ptx(fake):
    art = Artifact("nvptx:sm_90", [], {"asm": "// ptx", "bin": b"\x7fELF cubin"})
    cuda.CUDAModule(art)
    assert fake.image == b"\x7fELF cubin"
    fake.cc = (10, 0)  # a Blackwell GPU: the sm_90 cubin does not run there, the PTX does
    cuda.device_arch.cache_clear()
    cuda.CUDAModule(art)
    assert fake.image == b"// ptx"
    with pytest.raises(XpucError, match=r"no PTX and its cubin \(sm_90\) does not run"):
        cuda.CUDAModule(Artifact("nvptx:sm_90", [], {"bin": b"\x7fELF"}))


def test_large_dynamic_shared_memory_is_opted_into(fake):
    mod = cuda.CUDAModule(xpuc.compile(SAXPY, "nvptx:sm_90", emit="asm"))
    args = (4, 1.0, np.ones(4, np.float32), np.ones(4, np.float32))
    mod.saxpy[1, 4, 1024](*args)
    assert not [c for c in fake.calls if c[0] == "cuFuncSetAttribute"]
    mod.saxpy[1, 4, 100 * 1024](*args)
    mod.saxpy[1, 4, 64 * 1024](*args)  # already allowed
    assert [c for c in fake.calls if c[0] == "cuFuncSetAttribute"] == [
        ("cuFuncSetAttribute", 100 * 1024)
    ]


@pytest.mark.parametrize(
    ("call", "result", "message"),
    [
        ("cuCtxSynchronize", R.CUDA_ERROR_ILLEGAL_ADDRESS,
         r"CUDA launch of saxpy \(while it ran\) failed: CUDA_ERROR_ILLEGAL_ADDRESS"),
        ("cuLaunchKernel", R.CUDA_ERROR_INVALID_VALUE,
         "CUDA launch of saxpy failed: CUDA_ERROR_INVALID_VALUE"),
        ("cuModuleLoadData", R.CUDA_ERROR_INVALID_PTX,
         r"CUDA loading the PTX \(cuModuleLoadData\) failed: CUDA_ERROR_INVALID_PTX"),
    ],
)  # fmt: skip
def test_driver_errors_name_the_cuda_result(fake, call, result, message):
    art = xpuc.compile(SAXPY, "nvptx:sm_90", emit="asm")
    fake.fail[call] = result
    with pytest.raises(XpucError, match=message):
        mod = cuda.CUDAModule(art)
        mod.saxpy[1, 4](4, 1.0, np.ones(4, np.float32), np.ones(4, np.float32))
    assert not fake.memory  # device memory freed on the way out


def test_launch_checks_block_size_and_shared_memory(fake):
    mod = cuda.CUDAModule(xpuc.compile(SAXPY, "nvptx:sm_90", emit="asm"))
    args = (4, 1.0, np.ones(4, np.float32), np.ones(4, np.float32))
    with pytest.raises(XpucError, match="block of 2048 threads exceeds the limit of 1024"):
        mod.saxpy[1, 2048](*args)
    with pytest.raises(XpucError, match="dynamic shared memory size must be >= 0"):
        mod.saxpy[1, 4, -1](*args)
    with pytest.raises(XpucError, match="no kernel named 'nope'"):
        mod["nope"]
