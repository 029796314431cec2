"""The C++ side of CUDA: templates, structs, vector types, typedef/enum, switch, references,
__constant__ memory, half precision, intrinsics and the math library; run on cpu vs numpy."""

import math

import numpy as np
import pytest

import xpuc

TARGET = "cpu"  # conftest's `target` fixture runs each test on every target
pytestmark = pytest.mark.usefixtures("target")


def load(src: str, **kw):
    return xpuc.load(xpuc.compile(src, TARGET, **kw))


TEMPLATED = """
template <typename T> __device__ T square(T x) { return x * x; }
template <int BLOCK, typename T>
__global__ void scale_sq(T *out, const T *in, T s, int n) {
    __shared__ T buf[BLOCK];
    int i = blockIdx.x * BLOCK + threadIdx.x;
    buf[threadIdx.x] = i < n ? in[i] : T(0);
    __syncthreads();
    if (i < n) out[i] = s * square<T>(buf[threadIdx.x]) + square(buf[threadIdx.x]);
}
void host(float *o, const float *i, int n) {
    scale_sq<128, float><<<n / 128 + 1, 128>>>(o, i, 2.f, n);
}
"""


def test_template_kernel_instantiated_from_the_host_launch():
    art = xpuc.compile(TEMPLATED, TARGET)
    assert [k.name for k in art.kernels] == ["scale_sq<128, float>"]
    x = np.arange(300, dtype=np.float32)
    out = np.zeros_like(x)
    xpuc.load(art)["scale_sq<128, float>"][3, 128](out, x, 2.0, 300)
    np.testing.assert_allclose(out, 3 * x * x)


def test_template_kernel_instantiated_on_request():
    art = xpuc.compile(TEMPLATED, TARGET, kernels=["scale_sq<64, double>"])
    names = sorted(k.name for k in art.kernels)
    assert names == ["scale_sq<128, float>", "scale_sq<64, double>"]
    x = np.linspace(0, 1, 100)
    out = np.zeros_like(x)
    xpuc.load(art)["scale_sq<64, double>"][2, 64](out, x, 0.5, 100)
    np.testing.assert_allclose(out, 1.5 * x * x)


def test_struct_of_arrays_and_typedef_enum():
    src = """
    typedef float real;
    enum Mode { ADD = 1, MUL = 4, KEEP };
    struct SoA { real *x; real *y; int n; };
    struct Pair { real a, b; };
    __device__ Pair split(real v) { Pair p; p.a = v * 2; p.b = v - 1; return p; }
    __device__ void bump(real &r, const Pair &p) { r += p.a * p.b; }
    __global__ void k(SoA s, Mode mode, real *out) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i >= s.n) return;
        Pair p = split(s.x[i]);
        real acc = s.y[i];
        switch (mode) {
        case ADD: acc += p.a; break;
        case MUL: acc *= p.b;   // falls through
        case KEEP: bump(acc, p); break;
        default: acc = -1;
        }
        out[i] = acc;
    }"""
    n = 50
    x = np.linspace(-2, 2, n).astype(np.float32)
    y = np.arange(n, dtype=np.float32)
    mod = load(src)
    for mode, want in [
        (1, y + 2 * x),
        (4, y * (x - 1) + 2 * x * (x - 1)),
        (5, y + 2 * x * (x - 1)),
        (9, -np.ones(n)),
    ]:
        out = np.zeros(n, np.float32)
        mod["k"][1, 64]((x, y, n), mode, out)
        np.testing.assert_allclose(out, want, rtol=1e-5, err_msg=f"mode {mode}")


def test_vector_types_float4_and_int2():
    src = """
    __global__ void k(const float4 *a, float4 *b, int2 *c, float *dot) {
        int i = threadIdx.x;
        float4 v = a[i];
        float4 w = make_float4(v.w, v.z, v.y, v.x);
        w.x += 1.0f;
        b[i] = w;
        c[i] = make_int2(i, -i);
        c[i].y -= 1;
        dot[i] = v.x * w.x + v.y * w.y + v.z * w.z + v.w * w.w;
    }"""
    a = np.arange(32, dtype=np.float32).reshape(8, 4)
    b, c, dot = np.zeros_like(a), np.zeros((8, 2), np.int32), np.zeros(8, np.float32)
    load(src)["k"][1, 8](a, b, c, dot)
    w = a[:, ::-1].copy()
    w[:, 0] += 1
    np.testing.assert_array_equal(b, w)
    np.testing.assert_array_equal(c, np.stack([np.arange(8), -np.arange(8) - 1], 1))
    np.testing.assert_allclose(dot, (a * w).sum(1))


def test_constant_memory_local_arrays_and_initializers():
    src = """
    __constant__ float coeff[4] = {0.5f, -1.0f, 2.0f, 0.25f};
    __device__ int counter_table[3] = {7, 8, 9};
    __global__ void k(const float *x, float *y, int *z) {
        int i = threadIdx.x;
        float m[2][3] = {{1, 2, 3}, {4, 5, 6}};
        int idx[] = {2, 0, 1};
        float acc = 0;
        #pragma unroll
        for (int j = 0; j < 4; ++j) acc += coeff[j] * x[i + j];
        y[i] = acc + m[i % 2][idx[i % 3]];
        z[i] = counter_table[i % 3] + sizeof(m) + sizeof(double) * 10;
    }"""
    x = np.arange(20, dtype=np.float32)
    y, z = np.zeros(16, np.float32), np.zeros(16, np.int32)
    load(src)["k"][1, 16](x, y, z)
    c = np.array([0.5, -1, 2, 0.25])
    m = np.array([[1, 2, 3], [4, 5, 6]])
    i = np.arange(16)
    want = np.array([c @ x[k : k + 4] for k in range(16)]) + m[i % 2, np.array([2, 0, 1])[i % 3]]
    np.testing.assert_allclose(y, want, rtol=1e-6)
    np.testing.assert_array_equal(z, np.array([7, 8, 9])[i % 3] + 24 + 80)


def test_integer_intrinsics():
    src = """
    __global__ void k(const unsigned *x, int *out) {
        int i = threadIdx.x;
        unsigned v = x[i];
        out[8 * i + 0] = __popc(v);
        out[8 * i + 1] = __clz(v);
        out[8 * i + 2] = __ffs(v);
        out[8 * i + 3] = __brev(v);
        out[8 * i + 4] = __umulhi(v, 0x9e3779b9u);
        out[8 * i + 5] = __mulhi((int)v, -7);
        out[8 * i + 6] = __popcll(((unsigned long long)v << 32) | v);
        out[8 * i + 7] = __mul24(v & 0xffff, 3);
    }"""
    x = np.array([0, 1, 0x80000000, 0xDEADBEEF, 12345, 0xFFFFFFFF], np.uint32)
    out = np.zeros(8 * x.size, np.int32)
    load(src)["k"][1, x.size](x, out)
    for i, v in enumerate(int(a) for a in x):
        sv = v - (1 << 32) if v >= 1 << 31 else v
        want = [
            bin(v).count("1"),
            32 - v.bit_length(),
            (v & -v).bit_length(),
            int(f"{v:032b}"[::-1], 2),
            (v * 0x9E3779B9) >> 32,
            (sv * -7) >> 32,
            2 * bin(v).count("1"),
            (v & 0xFFFF) * 3,
        ]
        got = [int(g) & 0xFFFFFFFF for g in out[8 * i : 8 * i + 8]]
        assert got == [w & 0xFFFFFFFF for w in want], (v, got, want)


MATH_F = ["sqrtf", "rsqrtf", "expf", "exp2f", "logf", "log2f", "log10f", "sinf", "cosf",
          "tanf", "tanhf", "fabsf", "floorf", "ceilf", "roundf", "truncf", "erff",
          "__expf", "__logf", "__sinf", "__cosf"]  # fmt: skip
NUMPY = {"sqrt": np.sqrt, "rsqrt": lambda v: 1 / np.sqrt(v), "exp": np.exp, "exp2": np.exp2,
         "log": np.log, "log2": np.log2, "log10": np.log10, "sin": np.sin, "cos": np.cos,
         "tan": np.tan, "tanh": np.tanh, "fabs": np.abs, "floor": np.floor, "ceil": np.ceil,
         "round": lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5), "trunc": np.trunc,
         "erf": np.vectorize(math.erf)}  # fmt: skip


@pytest.mark.parametrize("double", [False, True])
def test_math_library(double):
    names = [n for n in MATH_F if not (double and n.startswith("__"))]
    calls = "\n".join(
        f"out[{k} * n + i] = {n[:-1] if double else n}(x[i]);" for k, n in enumerate(names)
    )
    t = "double" if double else "float"
    f = "" if double else "f"
    src = f"""
    __global__ void k(const {t} *x, {t} *out, int n, {t} *bin) {{
        int i = threadIdx.x;
        {calls}
        bin[4 * i] = pow{f}(x[i], 1.5{f});
        bin[4 * i + 1] = fmod{f}(x[i] * 7, 1.25{f});
        bin[4 * i + 2] = fmin{f}(x[i], 1) + fmax{f}(x[i], 2);
        bin[4 * i + 3] = __fdividef(x[i], 3) + min(i, 2) + max(-i, -1) + abs(-i);
    }}"""
    dt = np.float64 if double else np.float32
    x = np.linspace(0.1, 3.7, 32).astype(dt)
    out = np.zeros(len(names) * 32, dt)
    binr = np.zeros(4 * 32, dt)
    load(src)["k"][1, 32](x, out, 32, binr)
    for k, n in enumerate(names):
        base = n.strip("_")[:-1]
        want = NUMPY[base](x.astype(np.float64))
        tol = 2e-3 if n.startswith("__") else (1e-12 if double else 3e-6)
        np.testing.assert_allclose(out[k * 32 : (k + 1) * 32], want, rtol=tol, atol=tol, err_msg=n)
    i = np.arange(32)
    want = np.stack(
        [x**1.5, np.fmod(x * 7, 1.25), np.minimum(x, 1) + np.maximum(x, 2),
         x / 3 + np.minimum(i, 2) + np.maximum(-i, -1) + i], 1
    )  # fmt: skip
    np.testing.assert_allclose(binr.reshape(32, 4), want, rtol=1e-5)


def test_half_precision_load_store_convert():
    src = """
    #include <cuda_fp16.h>
    __global__ void k(const __half *h, float *f, __half *o) {
        int i = threadIdx.x;
        float v = __half2float(h[i]);
        f[i] = v * 2.0f;
        o[i] = __float2half(v + 0.5f);
    }"""
    h = np.linspace(-4, 4, 16).astype(np.float16)
    f, o = np.zeros(16, np.float32), np.zeros(16, np.float16)
    load(src)["k"][1, 16](h, f, o)
    np.testing.assert_array_equal(f, h.astype(np.float32) * 2)
    np.testing.assert_array_equal(o, (h.astype(np.float32) + 0.5).astype(np.float16))


def test_printf_from_device_code(capfd):
    src = r"""
    #include <cstdio>
    __global__ void k(const float *a, int n) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) printf("a[%d] = %.1f %c %u\n", i, a[i], 'x', 7u);
    }"""
    load(src)["k"][2, 2](np.array([1.5, 2.5, 3.5], np.float32), 3)
    lines = capfd.readouterr().out.splitlines()
    assert sorted(lines) == ["a[0] = 1.5 x 7", "a[1] = 2.5 x 7", "a[2] = 3.5 x 7"]


def test_constant_memory_written_from_the_host():
    src = """
    __constant__ float scale[2];
    __device__ int calls;
    __global__ void k(float *x) {
        x[threadIdx.x] *= scale[threadIdx.x % 2];
        if (threadIdx.x == 0) calls += 1;
    }"""
    mod = load(src)
    mod.symbol("scale")[:] = [2.0, -1.0]  # cudaMemcpyToSymbol
    x = np.ones(4, np.float32)
    mod["k"][1, 4](x)
    mod["k"][1, 4](x)
    np.testing.assert_array_equal(x, [4, 1, 4, 1])
    assert mod.symbol("calls")[0] == 2
    with pytest.raises(xpuc.XpucError, match="no __device__ or __constant__ variable named 'nope'"):
        mod.symbol("nope")


def test_array_of_structs_with_mixed_fields_uses_c_layout():
    src = """
    struct Particle { float x, y; int id; double w; float4 v; };
    __global__ void k(Particle *p, float *out, unsigned long *size) {
        int i = threadIdx.x;
        Particle q = p[i];
        out[i] = q.x + q.y * q.id + (float)p[i].w + q.v.w;
        p[i].id += 1;
        p[i].v.x = q.w;
        size[0] = sizeof(Particle);
    }"""
    f4 = np.dtype({"names": list("xyzw"), "formats": ["f4"] * 4, "offsets": [0, 4, 8, 12],
                   "itemsize": 16, "aligned": True})  # fmt: skip
    dt = np.dtype(
        {"names": ["x", "y", "id", "w", "v"], "formats": ["f4", "f4", "i4", "f8", f4],
         "offsets": [0, 4, 8, 16, 32], "itemsize": 48}  # C layout: float4 is 16-aligned
    )  # fmt: skip
    p = np.zeros(8, dt)
    p["x"], p["y"], p["id"], p["w"] = np.arange(8), 2.0, np.arange(8) * 10, 0.5
    p["v"]["w"] = 7
    out, size = np.zeros(8, np.float32), np.zeros(1, np.uint64)
    load(src)["k"][1, 8](p, out, size)
    i = np.arange(8)
    np.testing.assert_allclose(out, i + 2.0 * i * 10 + 0.5 + 7)
    np.testing.assert_array_equal(p["id"], i * 10 + 1)
    np.testing.assert_array_equal(p["v"]["x"], 0.5)
    assert size[0] == dt.itemsize == 48


def test_host_code_is_skipped_and_the_launched_template_compiled():
    """C++ host code: classes, templates, lambdas, std:: calls, macros, <<<>>> launches."""
    from pathlib import Path

    art = xpuc.compile_file(Path(__file__).with_name("cuda") / "host_and_device.cu", TARGET)
    (info,) = art.kernels
    assert info.name == "saxpy<4>" and info.arg_names == ["c.n", "c.alpha", "x", "y"]
    x, y = np.arange(5000, dtype=np.float32), np.ones(5000, np.float32)
    xpuc.load(art)["saxpy<4>"][5, 256]((5000, 3.0), x, y)
    np.testing.assert_allclose(y, 3 * x + 1)


def test_more_math_classification_and_ldg():
    src = """
    __global__ void k(const float *x, float *o, int *c) {
        int i = threadIdx.x;
        float v = __ldg(&x[i]);
        float s, co;
        sincosf(v, &s, &co);
        o[8 * i + 0] = hypotf(v, 2.0f);
        o[8 * i + 1] = fdimf(v, 0.5f);
        o[8 * i + 2] = exp10f(v);
        o[8 * i + 3] = rintf(v * 4);
        o[8 * i + 4] = __saturatef(v - 0.2f);
        o[8 * i + 5] = s * s + co * co;
        o[8 * i + 6] = __fmaf_rn(v, 2.0f, __frcp_rn(4.0f)) + __fsqrt_rn(v);
        o[8 * i + 7] = __fadd_rn(v, __fmul_rn(v, __fdiv_rn(v, 2.0f)));
        float z = v - v;
        c[4 * i + 0] = isnan(z / z);
        c[4 * i + 1] = isinf(v / z);
        c[4 * i + 2] = isfinite(v);
        c[4 * i + 3] = signbit(-v) != 0;
    }"""
    x = np.array([0.125, 0.5, 0.875, 1.0], np.float32)
    o, c = np.zeros(32, np.float32), np.zeros(16, np.int32)
    load(src)["k"][1, 4](x, o, c)
    v = x.astype(np.float64)
    want = np.stack([np.hypot(v, 2), np.maximum(v - 0.5, 0), 10**v, np.rint(v * 4),
                     np.clip(v - 0.2, 0, 1), np.ones(4), v * 2 + 0.25 + np.sqrt(v),
                     v + v * v / 2], 1)  # fmt: skip
    np.testing.assert_allclose(o.reshape(4, 8), want, rtol=1e-5)
    assert c.reshape(4, 4).tolist() == [[1, 1, 1, 1]] * 4


def test_operator_overloads_and_function_overloads():
    src = """
    inline __device__ float3 operator+(float3 a, float3 b) {
        return make_float3(a.x + b.x, a.y + b.y, a.z + b.z);
    }
    inline __device__ float3 operator-(float3 a) { return make_float3(-a.x, -a.y, -a.z); }
    inline __device__ float3 operator*(float3 a, float s) {
        return make_float3(a.x * s, a.y * s, a.z * s);
    }
    inline __device__ float3 operator*(float s, float3 a) { return a * s; }
    inline __device__ void operator+=(float3 &a, float3 b) { a.x += b.x; a.y += b.y; a.z += b.z; }
    inline __device__ bool operator==(float3 a, float3 b) { return a.x == b.x && a.y == b.y; }
    inline __device__ float dot(float3 a, float3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
    inline __device__ float dot(float2 a, float2 b) { return a.x * b.x + a.y * b.y; }
    __device__ int twice(int x) { return 2 * x; }
    __device__ float twice(float x) { return 2.5f * x; }
    __device__ void normalize(float3 &v) { v = v * (1.0f / sqrtf(dot(v, v))); }
    __global__ void k(const float3 *p, float3 *o, float *d) {
        int i = threadIdx.x;
        float3 a = p[i], b = p[i + 1];
        float3 c = a + b * 2.0f + (-a);
        c += 0.5f * b;
        o[i] = c;
        float3 n = b;
        normalize(n);
        d[i] = dot(a, b) + dot(make_float2(1, 2), make_float2(3, 4)) + twice(3) + twice(2.0f)
               + (a == a) * 100 + n.x * n.x + n.y * n.y + n.z * n.z;
    }"""
    p = np.arange(1, 16, dtype=np.float32).reshape(5, 3)
    o, d = np.zeros((4, 3), np.float32), np.zeros(4, np.float32)
    load(src)["k"][1, 4](p, o, d)
    a, b = p[:4], p[1:5]
    np.testing.assert_allclose(o, 2.5 * b, rtol=1e-6)
    np.testing.assert_allclose(d, (a * b).sum(1) + 11 + 6 + 5 + 100 + 1, rtol=1e-6)
