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
W = "__global__ void w(int *x, int *y) { x[1] = 5; y[0] = 7; }"


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
        ([1.5, np.zeros(3, np.float32)], r"argument 'n' of k must be an integer \(i32\), not 1.5"),
        (["one", np.zeros(3, np.float32)], r"'n' of k must be an integer \(i32\), not 'one'"),
        ([np.zeros(2, np.int32), np.zeros(3, np.float32)], "'n' of k is a scalar"),
    ],
)
def test_pack_args_rejects_what_cpu_kernels_reject(args, message):
    with pytest.raises(XpucError, match=message):
        cuda.pack_args(info(["i32", "*f32"], ["n", "x"]), args)


def test_read_only_arrays_only_for_parameters_the_kernel_never_writes():
    x = np.zeros(3, np.float32)
    x.flags.writeable = False
    assert cuda.pack_args(info(["*f32"], ["x"]), [x], readonly={0})[0].array is x
    message = r"'x' of k is a read-only array, and the kernel may write through it; pass a writ"
    with pytest.raises(XpucError, match=message):
        cuda.pack_args(info(["*f32"], ["x"]), [x])


@pytest.mark.parametrize(
    ("code", "value", "message"),
    [
        ("i32", 2**31, r"\(i32\) must be in \[-2147483648, 2147483647\], not 2147483648"),
        ("u32", -1, r"\(u32\) must be in \[0, 4294967295\], not -1"),
        ("i8", np.int64(300), r"\(i8\) must be in \[-128, 127\], not 300"),
        ("u64", 2**64, r"\(u64\) must be in \[0, 18446744073709551615\]"),
        ("i1", 2, r"\(i1\) must be in \[0, 1\], not 2"),
        ("i1", 0.5, r"must be a bool \(i1\), not 0.5"),
        ("i64", np.float64(2.0), r"must be an integer \(i64\), not 2.0"),
        ("i32", None, r"must be an integer \(i32\), not None"),
        ("f32", 1e39, r"\(f32\) is out of range: 1e\+39"),
        ("f16", 70000, r"\(f16\) is out of range: 70000"),
        ("f64", 10**400, r"\(f64\) is out of range: 1000"),
        ("f32", "2.5", r"must be a number \(f32\), not '2.5'"),
        ("f64", 1j, r"must be a number \(f64\), not 1j"),
    ],
)
def test_scalars_must_be_of_their_kind_and_fit(code, value, message):
    with pytest.raises(XpucError, match=r"argument 'v' of k " + message):
        cuda.pack_args(info([code], ["v"]), [value])


def test_scalars_that_fit_are_taken():
    codes = ["i8", "u64", "i32", "i32", "i1", "f32", "f32", "f16", "u8"]
    vals = [-128, np.uint64(2**64 - 1), np.array(3), True, np.bool_(False), float("inf"),
            float("nan"), 65504, 255]  # fmt: skip
    got = [p.value.value for p in cuda.pack_args(info(codes), vals)]
    assert got[:5] == [-128, 2**64 - 1, 3, 1, False] and got[5] == float("inf")
    assert got[6] != got[6] and got[7] == 0x7BFF and got[8] == 255


def test_read_only_arguments_come_from_the_compiler():
    for level in (0, 3):  # the analysis is of the shared IR: the same at every level
        art = xpuc.compile(SAXPY, "nvptx:sm_90", emit="asm", opt_level=level)
        assert art.kernels[0].readonly_args == [2]  # const float *x


def test_spans_group_arrays_that_share_memory():
    a, b, e = np.arange(16, dtype=np.int32), np.zeros(4, np.int32), np.zeros(0, np.int32)
    arrays = {0: a[0:4], 1: a[2:6], 2: b, 3: a[0:4], 4: a[5:10], 5: a[12:14], 6: e}
    by_member = {i: sp for sp in cuda.spans(arrays, written={0, 1, 2, 3, 5})
                 for i, _ in sp.members}  # fmt: skip
    at, whole = a.ctypes.data, by_member[0]
    assert len({id(sp) for sp in by_member.values()}) == 4  # a[0:10], a[12:14], the empty one, b
    assert (whole.start, whole.end, whole.pad) == (at, at + 40, at % 256)
    assert sorted(whole.members) == [(0, at), (1, at + 8), (3, at), (4, at + 20)]
    assert whole.back == [(at, at + 24)]  # a[5:10] is not written: a[6:10] is not copied
    assert by_member[5].back == [(at + 48, at + 56)] and by_member[5].pad == 0
    assert by_member[6].back == [] and by_member[6].end == by_member[6].start
    assert by_member[2].back == [(b.ctypes.data, b.ctypes.data + 16)]


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
    CUdevice_attribute = enum.IntEnum("A", [f"CU_DEVICE_ATTRIBUTE_{a}" for a in (
        "COMPUTE_CAPABILITY_MAJOR", "COMPUTE_CAPABILITY_MINOR",
        "MAX_SHARED_MEMORY_PER_BLOCK_OPTIN")])  # fmt: skip
    CUfunction_attribute = enum.IntEnum("F", "CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES "
                                        "CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES")  # fmt: skip

    class CUstream(int):
        pass

    def __init__(self, devices=1, cc=(9, 0), fail=None):
        self.devices, self.cc, self.fail = devices, cc, fail or {}
        self.calls: list[tuple] = []
        self.memory: dict[int, ctypes.Array] = {}
        self.kernels = {"saxpy": self._saxpy, "w": self._w}
        self.image = b""
        self.optin, self.static_shared = 227 * 1024, {}  # an H100's limit; kernel: bytes
        self.pointers: list[int] = []  # the pointer arguments of the last launch

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
        values = [*self.cc, self.optin]
        return self._ret("cuDeviceGetAttribute", values[attr - 1])

    def cuDevicePrimaryCtxRetain(self, dev):
        return self._ret("cuDevicePrimaryCtxRetain", "ctx")

    def cuCtxSetCurrent(self, ctx):
        return self._ret("cuCtxSetCurrent")

    def cuModuleLoadData(self, address):
        self.image = ctypes.string_at(address)
        return self._ret("cuModuleLoadData", "module")

    def cuModuleGetFunction(self, module, name):
        return self._ret("cuModuleGetFunction", name.decode())

    def cuFuncGetAttribute(self, attr, fn):
        assert attr == self.CUfunction_attribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES
        return self._ret("cuFuncGetAttribute", self.static_shared.get(fn, 0))

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
        def arg(i):  # the address of the i-th argument's bytes
            return ctypes.c_void_p.from_address(params + 8 * i).value

        self.pointers = []
        self.kernels[fn](gx * bx, arg)
        return self._ret("cuLaunchKernel", fn, (gx, gy, gz), (bx, by, bz), shared)

    def cuCtxSynchronize(self):
        return self._ret("cuCtxSynchronize")

    def _array(self, cell, ctype, n):
        self.pointers.append(ctypes.c_void_p.from_address(cell).value)
        return (ctype * n).from_address(self.pointers[-1])

    def _saxpy(self, threads, arg):
        n = ctypes.c_int32.from_address(arg(0)).value
        a = ctypes.c_float.from_address(arg(1)).value
        x, y = self._array(arg(2), ctypes.c_float, n), self._array(arg(3), ctypes.c_float, n)
        for i in range(min(n, threads)):
            y[i] = a * x[i] + y[i]

    def _w(self, threads, arg):
        x, y = self._array(arg(0), ctypes.c_int32, 2), self._array(arg(1), ctypes.c_int32, 1)
        x[1], y[0] = 5, 7


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
    assert ("cuMemcpyDtoH", 40) in fake.calls and not fake.memory
    assert names.count("cuMemcpyDtoH") == 1  # y: the IR says saxpy never writes x
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
    with pytest.raises(XpucError, match="argument 'y' of saxpy is a read-only array"):
        mod.saxpy[1, 4](4, 1.0, y, x)  # saxpy writes y


def test_overlapping_arrays_are_one_allocation_and_alias_as_on_the_host(fake):
    mod = cuda.CUDAModule(xpuc.compile(W, "nvptx:sm_90", emit="asm"))
    a = np.ones(9, np.int32)
    mod.w[1, 1](a[1:9], a[0:8])
    np.testing.assert_array_equal(a[:4], [7, 1, 5, 1])
    cpu = np.ones(9, np.int32)
    xpuc.load(xpuc.compile(W, "cpu")).w[1, 1](cpu[1:9], cpu[0:8])
    np.testing.assert_array_equal(a, cpu)
    pad = a.ctypes.data % 256  # the device addresses keep the host's alignment
    assert [c for c in fake.calls if c[0].startswith("cuMem")] == [
        ("cuMemAlloc", fake.pointers[1] - pad), ("cuMemcpyHtoD", 36), ("cuMemcpyDtoH", 36),
        ("cuMemFree",)]  # fmt: skip
    assert fake.pointers[0] - fake.pointers[1] == 4  # x is y + 1 element, as on the host
    a = np.ones(9, np.int32)
    mod.w[1, 1](a[0:2], a[1:3])  # x[1] and y[0] are one int: the second write wins
    np.testing.assert_array_equal(a[:3], [1, 7, 1])


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


@pytest.mark.parametrize("static", [0, 40 * 1024])
def test_shared_memory_over_48_kib_is_opted_into(fake, static):
    fake.static_shared["saxpy"] = static
    mod = cuda.CUDAModule(xpuc.compile(SAXPY, "nvptx:sm_90", emit="asm"))
    args = (4, 1.0, np.ones(4, np.float32), np.ones(4, np.float32))
    mod.saxpy[1, 4, 8 * 1024](*args)  # 48 KiB in all at most: no opt-in
    assert not [c for c in fake.calls if c[0] == "cuFuncSetAttribute"]
    mod.saxpy[1, 4, 16 * 1024](*args)  # with 40 KiB static: 56 KiB
    mod.saxpy[1, 4, 100 * 1024](*args)
    mod.saxpy[1, 4, 64 * 1024](*args)  # already allowed
    sets = [c[1] // 1024 for c in fake.calls if c[0] == "cuFuncSetAttribute"]
    assert sets == ([16, 100] if static else [100])
    fake.calls.clear()
    with pytest.raises(XpucError, match=(
        rf"saxpy needs {static + 235520} bytes of shared memory per block \({static} "
        r"static \+ 235520 dynamic\); this GPU allows 232448")):  # fmt: skip
        mod.saxpy[1, 4, 230 * 1024](*args)
    assert not fake.calls  # refused before the driver saw it


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
