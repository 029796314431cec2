"""The opencl target: OpenCL C printed from the SIMT-level IR, run through pyopencl.

The kernels of the other e2e tests run on opencl too (``conftest.py``'s ``target``);
here are what is particular to it: address-space versions of device functions, the
choice between SIMT and loop mode, argument conversions, the device choice, and each
error a user can meet.  Tests that launch skip, with the reason, without a device.
"""

import re

import numpy as np
import pytest

import xpuc
import xpuc.runtime.opencl as rt
from xpuc.compiler.diagnostics import TargetError, ToolNotFoundError, XpucError
from xpuc.targets.opencl_program import read_meta
from xpuc.targets.registry import get_target


@pytest.fixture
def device():
    if rt.find_device() is None:
        pytest.skip(f"opencl: {rt.missing_reason()}")
    return rt.find_device()


def compile_cl(src: str, **kw) -> xpuc.Artifact:
    return xpuc.compile(src, "opencl", **kw)


POINTERS = """
__shared__ float tile[64];
__device__ float get(const float *p, int i) { return p[i]; }
__global__ void k(const float *in, float *out, bool first, __half h) {
    extern __shared__ float dyn[];
    tile[threadIdx.x] = in[threadIdx.x];
    dyn[threadIdx.x] = 100.0f + threadIdx.x;
    __syncthreads();
    float *p = first ? tile : dyn;
    out[threadIdx.x] = get(tile, 63 - threadIdx.x) + get(in, 0) + p[0] + __half2float(h);
}"""


def test_device_functions_per_address_space_and_scalar_conversions(device):
    art = compile_cl(POINTERS)
    assert "float f_get_l(__local float *" in art.asm and "float f_get(__global float *" in art.asm
    mod = xpuc.load(art)
    x = np.arange(64, dtype=np.float32)
    for first, p0 in ((True, 0.0), (False, 100.0)):
        out = np.zeros(64, np.float32)
        mod.k[1, 64, 64 * 4](x, out, first, np.float16(0.5))
        np.testing.assert_array_equal(out, x[::-1] + x[0] + p0 + 0.5)


MODES = """
__device__ int twice(int v) { return 2 * v; }
#define I (blockIdx.x * blockDim.x + threadIdx.x)
__global__ void plain(int *a) { a[I] = twice(a[I]); }
__global__ void warp(int *a) { a[I] = twice(__shfl_xor_sync(~0u, a[I], 1)); }
"""


def test_modes_and_launch_metadata():
    art = compile_cl(MODES)
    meta = read_meta(art.asm)["kernels"]
    assert meta["plain"] == {"symbol": "k_plain", "mode": "simt", "extra": []}
    assert meta["warp"]["mode"] == "loops" and meta["warp"]["extra"] == ["bdim", "scratch"]
    # the device function once per mode: loop mode's takes the block's ids too
    assert "uint f_twice(uint v0);" in art.asm and "uint lf_twice(uint v0, ulong v1" in art.asm


def test_a_device_function_called_in_both_modes(device):
    mod = xpuc.load(compile_cl(MODES))
    a, b = np.arange(64, dtype=np.int32), np.arange(64, dtype=np.int32)
    mod.plain[2, 32](a)
    mod.warp[2, 32](b)
    np.testing.assert_array_equal(a, 2 * np.arange(64))
    np.testing.assert_array_equal(b, 2 * (np.arange(64) ^ 1))


def test_loop_mode_runs_warp_code_with_many_blocks(device):
    src = """
    __global__ void k(const int *in, int *out) {
        int v = in[blockIdx.x * blockDim.x + threadIdx.x];
        for (int o = 16; o > 0; o /= 2) v += __shfl_down_sync(0xffffffff, v, o);
        if (threadIdx.x % 32 == 0) out[(blockIdx.x * blockDim.x + threadIdx.x) / 32] = v;
    }"""
    x = np.arange(96 * 64, dtype=np.int32)
    out = np.zeros(x.size // 32, np.int32)
    xpuc.load(compile_cl(src)).k[96, 64](x, out)
    np.testing.assert_array_equal(out, x.reshape(-1, 32).sum(1))


@pytest.mark.parametrize(
    "name", ["kernel", "clamp", "get_value", "erfc", "isless", "asinpi", "write_mem_fence",
             "xpuc_rh", "main"]
)  # fmt: skip
def test_kernels_named_as_opencl_built_ins(device, name):
    art = compile_cl(f"__global__ void {name}(float *a) {{ a[threadIdx.x] *= 2; }}")
    assert f"__kernel void k_{name}(" in art.asm
    a = np.ones(4, np.float32)
    xpuc.load(art)[name][1, 4](a)
    np.testing.assert_array_equal(a, 2)


CLASHES = """
__device__ float g(float *p) { return p[0] + 1; }
__device__ float g_l(float *p) { return p[0] + 10; }
__global__ void f_g(float *a) {
    __shared__ float s[32];
    s[threadIdx.x] = a[threadIdx.x] * 2;
    __syncthreads();
    float v = g(s + threadIdx.x) + g(a + threadIdx.x) + g_l(a + threadIdx.x);
    __syncthreads();
    a[threadIdx.x] = v;
}
__global__ void xpuc_rh(__half *h) { h[threadIdx.x] = h[threadIdx.x] * h[threadIdx.x]; }
__global__ void k_f_g(float *a) { a[threadIdx.x] = -a[threadIdx.x]; }
"""


def test_names_of_kernels_and_device_functions_cannot_clash(device):
    art = compile_cl(CLASHES)
    heads = [ln for ln in art.asm.splitlines() if ln.endswith("{") and "(" in ln]
    names = [ln.split("(")[0].split()[-1] for ln in heads]
    assert len(names) == len(set(names)) and "f_g_l" in names and "f_g_l_2" in names
    mod, ref = xpuc.load(art), xpuc.load(xpuc.compile(CLASHES, "cpu"))
    for name, dtype in (("f_g", np.float32), ("xpuc_rh", np.float16), ("k_f_g", np.float32)):
        a = np.arange(32).astype(dtype) / 4
        b = a.copy()
        mod[name][1, 32](a)
        ref[name][1, 32](b)
        np.testing.assert_array_equal(a, b)


def test_unsupported_op_is_named():
    src = """builtin.module attributes {gpu.container_module} {
      "gpu.module"() <{sym_name = "m"}> ({
        "gpu.func"() <{function_type = (memref<?xi32>) -> (), kernel}> ({
        ^bb0(%0: memref<?xi32>):
          %c = arith.constant 0 : index
          %v = memref.load %0[%c] : memref<?xi32>
          %p = math.ipowi %v, %v : i32
          memref.store %p, %0[%c] : memref<?xi32>
          "gpu.return"() : () -> ()
        }) {sym_name = "k"} : () -> ()
      }) : () -> ()
    }"""
    with pytest.raises(TargetError, match=r"'math.ipowi' cannot be printed as OpenCL C \(in @k\)"):
        xpuc.compile(src, "opencl", language="mlir")


def test_recursion_is_rejected():
    src = """__device__ int f(int n) { return n ? f(n - 1) : 0; }
    __global__ void k(int *o) { o[0] = f(3); }"""
    with pytest.raises(TargetError, match="OpenCL C has no recursion: @f calls itself"):
        compile_cl(src)


class _Lacking:
    """The device, without cl_khr_fp64."""

    def __init__(self, real):
        self.real = real
        self.extensions = real.extensions.replace("cl_khr_fp64", "")

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_a_type_the_device_lacks_is_an_error_at_load(device, monkeypatch):
    art = compile_cl("__global__ void k(double *d) { d[threadIdx.x] *= 3.0; }")
    monkeypatch.setattr(rt, "find_device", lambda: _Lacking(device))
    monkeypatch.setattr(rt, "_PROGRAMS", {})
    with pytest.raises(TargetError, match=r"uses double \(f64\), which the OpenCL device .* lacks"):
        xpuc.load(art)


def test_bad_arguments_are_clear_errors(device):
    src = "__global__ void k(float *a, float *b, int n) { a[threadIdx.x] += b[threadIdx.x] * n; }"
    k = xpuc.load(compile_cl(src)).k
    f, d = np.zeros(64, np.float32), np.zeros(8, np.float64)
    with pytest.raises(XpucError, match="takes 3 arguments"):
        k[1, 8](f)
    with pytest.raises(XpucError, match="must have dtype float32, not float64"):
        k[1, 8](f, d, 1)
    with pytest.raises(XpucError, match="must be a numpy array"):
        k[1, 8](f, [1.0], 1)
    with pytest.raises(XpucError, match="must be C-contiguous"):
        k[1, 8](f, f[::2], 1)
    with pytest.raises(XpucError, match="overlaps another array argument"):
        k[1, 8](f, f[4:], 1)
    with pytest.raises(XpucError, match="exceeds the limit of 1024"):
        k[1, 2048](f, f, 1)
    with pytest.raises(XpucError, match="dynamic shared memory size must be >= 0"):
        k[1, 8, -1](f, f, 1)
    k[1, 8](f, f, 1)  # the same array twice is one buffer, as one pointer would be
    np.testing.assert_array_equal(f, 0)


def test_local_memory_beyond_the_device_is_an_error(device):
    src = """__global__ void k(float *a) {
        extern __shared__ float s[]; s[threadIdx.x] = 1; a[threadIdx.x] = s[0]; }"""
    k = xpuc.load(compile_cl(src)).k
    k.info.max_shared_memory = 0  # unknown: the device's limit is what stops it
    with pytest.raises(XpucError, match="bytes of local memory per block"):
        k[1, 8, device.local_mem_size + 4](np.zeros(8, np.float32))


def test_validate_builds_with_the_driver(device):
    tgt = get_target("opencl")
    art = compile_cl("__global__ void k(int *a) { a[threadIdx.x] = 1; }")
    assert tgt.validate(art) == rt.device_label(device)
    art.stages["asm"] = str(art.stages["asm"]).replace("void k_k(", "void k_k(int")
    with pytest.raises(TargetError, match="rejected the program"):
        tgt.validate(art)


def test_no_device_skips_loading_and_validation(monkeypatch):
    art = compile_cl("__global__ void k(int *a) { a[0] = 1; }")
    monkeypatch.setenv("XPUC_OPENCL_DEVICE", "no such device")
    monkeypatch.setattr(rt, "_choice", rt._choice.__wrapped__)
    assert "no OpenCL device matches XPUC_OPENCL_DEVICE='no such device'" in rt.missing_reason()
    with pytest.raises(XpucError, match="cannot run opencl code on this machine"):
        xpuc.load(art)
    with pytest.raises(ToolNotFoundError, match="no OpenCL device"):
        get_target("opencl").validate(art)


def test_the_system_pocl_comes_before_the_wheel():
    class P:
        def __init__(self, version):
            self.version = version

    wheel = rt._wheel_pocl()
    system = rt._rank(P("OpenCL 3.0 PoCL 3.1+debian  Linux, None+Asserts, RELOC"))
    if wheel:
        assert rt._rank(P(f"OpenCL 3.0 {wheel}-rc2  Linux, Release")) > system
    assert system < rt._rank(P("OpenCL 3.0 CUDA 12.4"))


HALF_SHARED = """#include <cuda_fp16.h>
__shared__ __half tile[64];
__device__ __half get(const __half *p, int i) { return p[i]; }
__global__ void simt(__half *h) {
    tile[threadIdx.x] = h[threadIdx.x] * h[threadIdx.x];
    __syncthreads();
    h[threadIdx.x] = get(tile, 63 - threadIdx.x);
}
__global__ void loops(__half *h) {
    __shared__ __half s[64];
    s[threadIdx.x] = h[threadIdx.x];
    __syncthreads();
    float v = __half2float(s[63 - threadIdx.x]);
    h[threadIdx.x] = __float2half(v + __shfl_xor_sync(~0u, v, 1));
}"""


def test_shared_half_arrays_are_ushort_storage(device):
    art = compile_cl(HALF_SHARED)
    assert "__local ushort hs_" in art.asm and "__local half s_" not in art.asm
    mod, ref = xpuc.load(art), xpuc.load(xpuc.compile(HALF_SHARED, "cpu"))
    for name in ("simt", "loops"):
        a = (np.arange(64) / 8).astype(np.float16)
        b = a.copy()
        mod[name][1, 64](a)
        ref[name][1, 64](b)
        np.testing.assert_array_equal(a, b)


SHIFTS = """
__global__ void k(const unsigned *u, const int *s, const unsigned long long *q,
                  const long long *l, const int *n, unsigned *uo, int *so,
                  unsigned long long *qo, long long *lo) {
    int i = threadIdx.x;
    uo[2 * i] = u[i] << n[i]; uo[2 * i + 1] = u[i] >> n[i];
    so[2 * i] = s[i] << n[i]; so[2 * i + 1] = s[i] >> n[i];
    qo[2 * i] = q[i] << n[i]; qo[2 * i + 1] = q[i] >> n[i];
    lo[2 * i] = l[i] << n[i]; lo[2 * i + 1] = l[i] >> n[i];
}"""
AMOUNTS = [0, 1, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 100, 255, 256, -1, -32]


def shifted(x: int, n: int, bits: int, signed: bool) -> tuple[int, int]:
    """PTX's (and xpuc's interpreter's) shifts: the unsigned amount clamped to the width."""
    n = min(n % (1 << bits), bits)
    left = (x << n) % (1 << bits)
    right = (x if signed else x % (1 << bits)) >> n
    if signed and left >= 1 << (bits - 1):
        left -= 1 << bits
    return left, right


def test_shifts_by_the_width_or_more_clamp_as_ptx(device):
    k = xpuc.load(compile_cl(SHIFTS)).k
    m = len(AMOUNTS)
    n = np.array(AMOUNTS, np.int32)
    ins = [np.full(m, 0x80000001, np.uint32), np.full(m, -5, np.int32),
           np.full(m, 0x8000000000000003, np.uint64), np.full(m, -7, np.int64)]  # fmt: skip
    outs = [np.zeros(2 * m, a.dtype) for a in ins]
    k[1, m](*ins, n, *outs)
    for a, o in zip(ins, outs, strict=True):
        bits, signed = a.dtype.itemsize * 8, a.dtype.kind == "i"
        # C's int shift amount: sign-extended to 64 bits for the 64-bit operands
        want = [shifted(int(a[0]), x % (1 << 32) if bits == 32 else x, bits, signed)
                for x in AMOUNTS]  # fmt: skip
        np.testing.assert_array_equal(o, np.array(want, dtype=object).ravel().astype(a.dtype))


def narrow_shifts(bits: int) -> str:
    t, m = f"i{bits}", f"memref<?xi{bits}>"
    ops = "".join(
        f"""
      %r{k} = arith.{op} %x, %s : {t}
      %j{k} = arith.addi %j, %c{k} : index
      memref.store %r{k}, %o[%j{k}] : {m}"""
        for k, op in enumerate(["shli", "shrui", "shrsi"])
    )
    return f"""builtin.module attributes {{gpu.container_module}} {{
  "gpu.module"() <{{sym_name = "m"}}> ({{
    "gpu.func"() <{{function_type = ({m}, {m}, {m}) -> (), kernel}}> ({{
    ^bb0(%a: {m}, %n: {m}, %o: {m}):
      %i = "gpu.thread_id"() <{{dimension = #gpu<dim x>}}> : () -> index
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c3 = arith.constant 3 : index
      %x = memref.load %a[%i] : {m}
      %s = memref.load %n[%i] : {m}
      %j = arith.muli %i, %c3 : index{ops}
      "gpu.return"() : () -> ()
    }}) {{sym_name = "k"}} : () -> ()
  }}) : () -> ()
}}"""


@pytest.mark.parametrize("bits", [8, 16])
def test_narrow_shifts_clamp_as_ptx(device, bits):
    k = xpuc.load(xpuc.compile(narrow_shifts(bits), "opencl", language="mlir")).k
    dtype = np.dtype(f"int{bits}")
    amounts = [x for x in AMOUNTS if -(1 << (bits - 1)) <= x < 1 << (bits - 1)]
    for x in (-3, 0x41):
        a = np.full(len(amounts), x, dtype)
        out = np.zeros(3 * len(amounts), dtype)
        k[1, len(amounts)](a, np.array(amounts, dtype), out)
        want = []
        for n in amounts:
            left, right = shifted(x, n, bits, False)
            want += [left, right, shifted(x, n, bits, True)[1]]
        np.testing.assert_array_equal(out, np.array(want).astype(dtype))


SCALARS = """__global__ void k(float *a, const float *b, int n, unsigned u, float f, bool t) {
    a[threadIdx.x] = b[threadIdx.x] * n + u + f + t; }"""


def test_scalar_arguments_are_checked(device):
    k = xpuc.load(compile_cl(SCALARS)).k
    a, b = np.zeros(4, np.float32), np.ones(4, np.float32)
    for bad, shown in ((3.7, "3.7"), ("4", "'4'"), (np.float32(1), "1.0")):
        message = rf"argument 'n' of k must be an integer \(i32\), not {re.escape(shown)}$"
        with pytest.raises(XpucError, match=message):
            k[1, 4](a, b, bad, 1, 1.0, True)
    with pytest.raises(XpucError, match=r"'n' of k \(i32\) must be in \[-2147483648, 2147483647\]"):
        k[1, 4](a, b, 2**40, 1, 1.0, True)
    with pytest.raises(XpucError, match=r"'u' of k \(u32\) must be in \[0, 4294967295\], not -1"):
        k[1, 4](a, b, 1, -1, 1.0, True)
    with pytest.raises(XpucError, match=r"argument 'f' of k must be a number \(f32\), not '1.5'"):
        k[1, 4](a, b, 1, 1, "1.5", True)
    with pytest.raises(XpucError, match=r"argument 't' of k must be a bool \(i1\), not 0.5"):
        k[1, 4](a, b, 1, 1, 1.0, 0.5)
    k[1, 4](a, b, np.int64(2), np.uint8(3), 2, np.bool_(False))  # ints for a float: fine
    np.testing.assert_array_equal(a, 7)
    k[1, 4](a, b, -(2**31), 2**32 - 1, np.float64(0.25), 1)
    np.testing.assert_array_equal(a, np.float32(-(2**31)) + np.float32(2**32 - 1) + 1.25)


def test_read_only_arrays_only_for_pointers_never_written(device):
    k = xpuc.load(compile_cl(SCALARS)).k
    a, b = np.zeros(4, np.float32), np.ones(4, np.float32)
    b.flags.writeable = False
    k[1, 4](a, b, 1, 0, 0.0, False)  # b is only read
    np.testing.assert_array_equal(a, 1)
    with pytest.raises(XpucError, match="'a' of k is a read-only array, and the kernel may"):
        k[1, 4](b, a, 1, 0, 0.0, False)
    # pointers written through in a device function, or after a select, may be written
    src = """__device__ void put(float *p) { p[1] = 2; }
    __device__ float get(const float *p) { return p[1]; }
    __global__ void k(float *a, float *b, float *c, bool t, float *d) {
        put(a + 1); float *p = t ? b : c; p[0] = get(d + 1); }"""
    assert compile_cl(src).kernels[0].readonly_args == [4]  # d only


def test_shared_memory_beyond_the_target_is_an_error(device):
    src = """__global__ void k(float *a) {
        __shared__ float s[10000]; extern __shared__ float d[];
        s[threadIdx.x] = 1; d[threadIdx.x] = 2; a[threadIdx.x] = s[0] + d[0]; }"""
    k = xpuc.load(compile_cl(src)).k
    k.info.max_shared_memory = 48 * 1024
    with pytest.raises(XpucError, match=r"^k needs 240000 bytes of shared memory per block "
                       r"\(40000 static \+ 200000 dynamic\); opencl has 49152$"):  # fmt: skip
        k[1, 8, 200000](np.zeros(8, np.float32))
    a = np.zeros(8, np.float32)
    k[1, 8, 9152](a)
    np.testing.assert_array_equal(a, 3)


def test_divide_and_sqrt_are_correctly_rounded(device):
    class Device:
        def __init__(self, config):
            self.single_fp_config = config

    flag = "-cl-fp32-correctly-rounded-divide-sqrt"
    cl = pytest.importorskip("pyopencl")
    assert rt.build_options(Device(cl.device_fp_config.CORRECTLY_ROUNDED_DIVIDE_SQRT)) == [flag]
    assert rt.build_options(Device(cl.device_fp_config.ROUND_TO_NEAREST)) == []
    src = """__global__ void k(const float *x, const float *y, float *q, float *r) {
        int i = blockIdx.x * blockDim.x + threadIdx.x; q[i] = x[i] / y[i]; r[i] = sqrtf(x[i]); }"""
    rng = np.random.default_rng(1)
    x, y = (rng.uniform(1e-3, 1e3, 4096).astype(np.float32) for _ in range(2))
    q, r = np.zeros_like(x), np.zeros_like(x)
    xpuc.load(compile_cl(src)).k[16, 256](x, y, q, r)
    np.testing.assert_array_equal(q, x / y)
    np.testing.assert_array_equal(r, np.sqrt(x))
