"""Kernels that once compiled wrongly (found in review), run on cpu against numpy."""

import math

import numpy as np
import pytest

import xpuc

TARGET = "cpu"  # conftest's `target` fixture runs each test on every target
pytestmark = pytest.mark.usefixtures("target")


def run(src: str, grid, block, *args, shared=0, opt_level=3):
    mod = xpuc.load(xpuc.compile(src, TARGET, opt_level=opt_level))
    mod["k"][grid, block, shared](*args)


@pytest.mark.parametrize("opt_level", [0, 3])
def test_break_and_switch_flags_reset_on_every_execution(opt_level):
    src = """
    __global__ void k(int *out) {
        int acc = 0;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 100; j++) { acc += 1; if (j == i) break; }
        out[0] = acc;
        acc = 0;
        for (int i = 0; i < 4; i++)
            switch (i) { case 0: acc += 1; break; case 1: acc += 10; break;
                         case 2: acc += 100; default: acc += 1000; }
        out[1] = acc;
        acc = 0;
        for (int i = 0; i < 5; i++) {
            switch (i % 3) { case 0: acc += 1; continue; case 1: acc += 100; break;
                             default: acc += 1000; }
            acc += 1;
        }
        out[2] = acc;
    }"""
    out = np.zeros(3, np.int32)
    run(src, 1, 1, out, opt_level=opt_level)
    assert out.tolist() == [10, 2111, 1205]


def test_pointer_arithmetic_is_scaled_by_the_element():
    src = """
    struct M { char c; double d; };
    __global__ void k(float2 *a, float *out, float *other, M *m, long *diff) {
        float2 *p = a + 1;
        out[0] = p->x;
        out[1] = (a + 2)->y;
        float2 *q = a; q++;
        out[2] = q->y;
        out[3] = (out == other) + 10 * (out + 1 > out);
        q += 1;
        out[4] = q[0].x;
        diff[0] = &a[3] - &a[0];
        M *r = m + 2;
        diff[1] = r - m;
        out[5] = (float)(m + 1)->d;
    }"""
    a = np.arange(10, dtype=np.float32)
    out, other = np.zeros(6, np.float32), np.zeros(3, np.float32)
    m = np.zeros(3, np.dtype({"names": ["c", "d"], "formats": ["i1", "f8"], "offsets": [0, 8],
                              "itemsize": 16}))  # fmt: skip
    m["d"] = [1.5, 2.5, 3.5]
    diff = np.zeros(2, np.int64)
    run(src, 1, 1, a, out, other, m, diff)
    assert out.tolist() == [2, 5, 3, 10, 4, 2.5] and diff.tolist() == [3, 2]


def test_default_arguments_of_functions_and_templates():
    src = """
    __device__ float scale(float x, float s = 2.0f) { return x * s; }
    template <typename T, int N = 4> __device__ T times(T x) { return x * N; }
    template <int N = 3> __global__ void unused(float *o) { o[0] = N; }
    __global__ void k(float *o) {
        o[0] = scale(3.0f); o[1] = scale(3.0f, 3.0f);
        o[2] = times(1.5f); o[3] = times<float, 2>(1.5f);
    }"""
    o = np.zeros(4, np.float32)
    run(src, 1, 1, o)
    assert o.tolist() == [6, 9, 6, 3]


def test_file_scope_shared_memory_in_device_functions():
    src = """
    __shared__ float s[64];
    __device__ void put(int i, float v) { s[i] = v; __syncthreads(); }
    __device__ float get(int i) { return s[i]; }
    __global__ void k(float *out) {
        put(threadIdx.x, threadIdx.x * 2.0f);
        out[threadIdx.x] = s[63 - threadIdx.x] + get(threadIdx.x);
    }"""
    out = np.zeros(64, np.float32)
    run(src, 1, 64, out)
    t = np.arange(64)
    np.testing.assert_array_equal(out, 2 * (63 - t) + 2 * t)


def test_tile_votes_cover_the_tile_only():
    src = """
    #include <cooperative_groups.h>
    namespace cg = cooperative_groups;
    __global__ void k(unsigned *out) {
        int t = threadIdx.x;
        auto t8 = cg::tiled_partition<8>(cg::this_thread_block());
        out[t] = t8.ballot(t8.thread_rank() == 1);
        out[64 + t] = t8.any(threadIdx.x == 3);
        out[128 + t] = t8.all(threadIdx.x < 4 || threadIdx.x >= 8);
    }"""
    out = np.zeros(192, np.uint32)
    run(src, 1, 64, out)
    t = np.arange(64)
    assert (out[:64] == 2).all()
    np.testing.assert_array_equal(out[64:128], t < 8)
    np.testing.assert_array_equal(out[128:], (t >= 8) & (t < 16) | (t >= 16))


def test_byte_buffers_reinterpreted():
    src = """
    struct S { int x; float y; };
    __global__ void k(float *out, int n) {
        extern __shared__ char smem[];
        float *fs = (float *)smem;
        int *is = (int *)&smem[16 * sizeof(float)];
        __shared__ unsigned char raw[64];
        float *f = (float *)raw;
        __shared__ S ss[4];
        S local[3];
        int t = threadIdx.x;
        fs[t] = t; is[t] = 10 * t; f[t] = t + 0.5f; ss[t].y = t; ss[t].x = 2;
        local[1].y = 2; local[1].x = 3;
        __syncthreads();
        out[t] = fs[3 - t] + is[t] + f[3 - t] + ss[3 - t].y * ss[t].x + local[1].y * local[1].x;
    }"""
    out = np.zeros(4, np.float32)
    run(src, 1, 4, out, 4, shared=256)
    t = np.arange(4)
    np.testing.assert_array_equal(out, (3 - t) + 10 * t + (3 - t + 0.5) + 2 * (3 - t) + 6)


def test_large_local_arrays_across_barriers_with_1024_threads():
    src = """
    __global__ void k(float *o) {
        float a[2048];
        for (int i = 0; i < 2048; i++) a[i] = threadIdx.x + i;
        __syncthreads();
        float s = 0;
        for (int i = 0; i < 2048; i += 512) s += a[i];
        o[threadIdx.x] = s;
    }"""
    o = np.zeros(1024, np.float32)
    run(src, 1, 1024, o)
    np.testing.assert_array_equal(o, 4 * np.arange(1024) + 3072)


def test_warp_operations_inside_conditions_and_locals_passed_by_reference():
    src = """
    __device__ void inc(int &x) { x += 1; }
    __device__ float sum3(const float *a) { return a[0] + a[1] + a[2]; }
    __global__ void k(float *o, int *c) {
        int t = threadIdx.x;
        float v = t;
        o[t] = t < 16 ? __shfl_down_sync(0xffffffff, v, 1) : -1.f;
        c[t] = (t < 100 && __any_sync(0xffffffff, t == 5)) ? 1 : 2;
        int x = t;
        float arr[3] = {1.0f * t, 2, 3};
        __syncthreads();
        inc(x);
        o[64 + t] = x + sum3(arr);
    }"""
    o, c = np.zeros(128, np.float32), np.zeros(64, np.int32)
    run(src, 1, 64, o, c)
    t = np.arange(64)
    np.testing.assert_array_equal(o[:15], t[1:16])
    assert (o[16:64] == -1).all()
    np.testing.assert_array_equal(c, np.where(t < 32, 1, 2))
    np.testing.assert_array_equal(o[64:], 2 * t + 6)


def test_cxx_casts_aliases_constants_and_constructors():
    src = """
    using real = float;
    constexpr int W = 3;
    static const int X = 4;
    const float PI = 3.5f;
    template <int N, typename T> __device__ T sumN(const T *a) {
        T s = 0;
        for (int i = 0; i < N; i++) s += a[i];
        return s;
    }
    struct H { float v[3]; int n; };
    __device__ float add(const float &a, const float &b) { return a + b; }
    __global__ void k(float *p, float *o) {
        const int N = 8;
        float a[N];
        using idx_t = int;
        typedef unsigned u32;
        idx_t i = static_cast<idx_t>(threadIdx.x);
        u32 j = 2u;
        dim3 d(2, 3);
        for (int q = 0; q < N; q++) a[q] = q;
        float4 *v = reinterpret_cast<float4 *>(p);
        o[i] = a[N - 1] + d.x * d.y * d.z + v[1].y + W + X + PI + (real)j;
        o[1] = sumN<3>(p);
        H h; h.v[0] = 1; h.v[1] = 2; h.v[2] = 3; h.n = 7;
        H g = h;
        g.v[1] = 20;
        o[2] = g.v[0] + g.v[1] + g.v[2] + g.n + h.v[1];
        o[3] = add(p[0] * 2, 1.5f);
    }"""
    p, o = np.arange(8, dtype=np.float32), np.zeros(4, np.float32)
    run(src, 1, 1, p, o)
    assert o.tolist() == [7 + 6 + 5 + 3 + 4 + 3.5 + 2, 3, 33, 1.5]


def test_more_math_names_and_safe_hypot():
    src = """
    __global__ void k(const float *x, float *o) {
        o[0] = asinhf(x[1]) + acoshf(x[2] + 1) + atanhf(0.5f);
        o[1] = lrintf(2.5f) + llroundf(2.5f) + __log2f(8.0f);
        o[2] = hypotf(3e20f, 4e20f);
        o[3] = 1e39f;
        o[4] = 1e20f * 1e20f;
    }"""
    x, o = np.array([1, 2, 3], np.float32), np.zeros(5, np.float32)
    run(src, 1, 1, x, o)
    np.testing.assert_allclose(o[:3], [math.asinh(2) + math.acosh(4) + math.atanh(0.5),
                                       2 + 3 + 3, 5e20], rtol=1e-6)  # fmt: skip
    assert np.isinf(o[3]) and np.isinf(o[4])


@pytest.mark.parametrize(
    "src, message",
    [
        ("__global__ void k(int *o) { o[0] = 09; }", "1:36: error: invalid digit '9' in octal"),
        ("#error not for this target\n__global__ void k() {}", "1:1: error: #error not for"),
        ("template<int N> __device__ int f() { return N + f<N - 1>(); }\n"
         "__global__ void k(int *o) { o[0] = f<3>(); }", "more than 256 instances of template"),
        ("template<typename T> __device__ T f(T a, T b) { return a; }\n"
         "__global__ void k(float *o) { o[0] = f(1, 2.0f); }",
         "conflicting types for template parameter 'T' ('int' and 'float')"),
        ("__global__ void k(int *o) { int a[1 << 30]; }", "array is too large"),
        ("__global__ void k(float *o) @\n", "1:29: error: unexpected character '@'"),
        ("__shared__ float g = 1;\n__global__ void k(float *o) { o[0] = g; }",
         "1:22: error: __shared__ variables cannot have an initializer"),
    ],
)  # fmt: skip
def test_errors_found_in_review(src, message):
    with pytest.raises(xpuc.CompileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        xpuc.compile(src, TARGET)


def test_null_pointers():
    src = """
    #include <cstdio>
    __global__ void k(const float *bias, float *o, int n) {
        int i = threadIdx.x;
        float b = 0;
        if (bias != nullptr) b = bias[i];
        if (bias == NULL) b = -1;
        if (o && i < n) o[i] = b + i;
    }"""
    mod = xpuc.load(xpuc.compile(src, TARGET))
    o = np.zeros(4, np.float32)
    mod["k"][1, 4](np.full(4, 10, np.float32), o, 4)
    assert o.tolist() == [10, 11, 12, 13]
    mod["k"][1, 4](None, o, 4)  # None passes a null pointer
    assert o.tolist() == [-1, 0, 1, 2]


def test_member_functions_functors_and_static_constants():
    src = """
    struct MaxOp { __device__ float operator()(float a, float b) const { return fmaxf(a, b); } };
    struct SumOp { __device__ float operator()(float a, float b) const { return a + b; } };
    template <typename Op> __device__ float apply(float a, float b, Op op) { return op(a, b); }
    struct V2 {
        float x, y;
        static constexpr int N = 4;
     public:
        __device__ float dot(V2 o) const { return x * o.x + y * o.y; }
        __device__ float len2() const { return dot(*this); }
        __device__ void scale(float s) { x *= s; this->y *= s; }
    };
    __global__ void k(V2 *v, float *o) {
        o[0] = v[0].dot(v[1]);
        V2 w = v[1];
        w.scale(2.0f);
        o[1] = w.len2();
        o[2] = apply(o[0], o[1], MaxOp()) + apply(1.0f, 2.0f, SumOp());
        SumOp s;
        o[3] = s(o[0], 1.0f) + V2::N + (&v[0])->len2() + MaxOp()(3.0f, 4.0f);
    }"""
    v, o = np.array([[1, 2], [3, 4]], np.float32), np.zeros(4, np.float32)
    run(src, 1, 1, v, o)
    assert o.tolist() == [11, 100, 103, 25]
