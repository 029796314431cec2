"""The opencl target: OpenCL C printed from the SIMT-level IR, run through pyopencl.

The kernels of the other e2e tests run on opencl too (``conftest.py``'s ``target``);
here are what is particular to it: address-space versions of device functions, the
choice between SIMT and loop mode, argument conversions, the device choice, and each
error a user can meet.  Tests that launch skip, with the reason, without a device.
"""

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
    assert meta["plain"] == {"mode": "simt", "extra": []}
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


@pytest.mark.parametrize("name", ["kernel", "clamp", "get_value"])
def test_kernels_named_as_opencl_reserves_a_name(device, name):
    art = compile_cl(f"__global__ void {name}(float *a) {{ a[threadIdx.x] *= 2; }}")
    assert f"__kernel void k_{name}(" in art.asm
    a = np.ones(4, np.float32)
    xpuc.load(art)[name][1, 4](a)
    np.testing.assert_array_equal(a, 2)


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
    with pytest.raises(XpucError, match="bytes of local memory per block"):
        k[1, 8, device.local_mem_size + 4](np.zeros(8, np.float32))


def test_validate_builds_with_the_driver(device):
    tgt = get_target("opencl")
    art = compile_cl("__global__ void k(int *a) { a[threadIdx.x] = 1; }")
    assert tgt.validate(art) == rt.device_label(device)
    art.stages["asm"] = str(art.stages["asm"]).replace("__kernel void k(", "__kernel void k(int")
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
