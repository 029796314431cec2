"""The first-cut CUDA language, each construct run on cpu and compared with numpy."""

import numpy as np
import pytest

import xpuc

TARGET = "cpu"  # conftest's `target` fixture runs each test on every target
pytestmark = pytest.mark.usefixtures("target")


def run(src: str, kernel: str, grid, block, *args, opt_level=3):
    mod = xpuc.load(xpuc.compile(src, TARGET, opt_level=opt_level))
    mod[kernel][grid, block](*args)


@pytest.mark.parametrize("opt_level", [0, 3])
def test_grid_stride_loop_with_for(opt_level):
    src = """
    __global__ void scale(double *x, double s, int n) {
        for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
            x[i] = x[i] * s;
    }"""
    x = np.arange(1000, dtype=np.float64)
    run(src, "scale", 3, 64, x, 0.5, 1000, opt_level=opt_level)
    np.testing.assert_array_equal(x, np.arange(1000) * 0.5)


def test_two_dimensional_grid_and_block():
    src = """
    __global__ void idx2d(int *out, int w, int h) {
        int x = blockIdx.x * blockDim.x + threadIdx.x;
        int y = blockIdx.y * blockDim.y + threadIdx.y;
        if (x < w && y < h) out[y * w + x] = y * 1000 + x;
    }"""
    w, h = 37, 21
    out = np.zeros(w * h, np.int32)
    run(src, "idx2d", (5, 3), (8, 8), out, w, h)
    yy, xx = np.mgrid[0:h, 0:w]
    np.testing.assert_array_equal(out.reshape(h, w), yy * 1000 + xx)


def test_while_break_continue_and_early_return():
    src = """
    __device__ int collatz_steps(unsigned int v, int limit) {
        int steps = 0;
        while (true) {
            if (v == 1) break;
            if (steps >= limit) return -1;
            steps++;
            if (v % 2 == 0) { v = v / 2; continue; }
            v = 3 * v + 1;
        }
        return steps;
    }
    __global__ void collatz(const unsigned int *in, int *out, int n) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i >= n) return;
        out[i] = collatz_steps(in[i], 100);
    }"""

    def ref(v):
        s = 0
        while v != 1:
            if s >= 100:
                return -1
            s += 1
            v = v // 2 if v % 2 == 0 else 3 * v + 1
        return s

    vals = np.arange(1, 301, dtype=np.uint32)
    out = np.zeros(300, np.int32)
    run(src, "collatz", 3, 128, vals, out, 300)
    np.testing.assert_array_equal(out, [ref(int(v)) for v in vals])


def test_do_while_ternary_logic_and_casts():
    src = """
    __global__ void k(const float *a, int *cls, float *clamped, int n) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) {
            float v = a[i];
            cls[i] = v < 0.0f ? -1 : (v > 0.5f || v == 0.25f ? 2 : 1);
            clamped[i] = (v < -0.5f) ? -0.5f : v > 0.5f ? 0.5f : v;
            int k = 0;
            do { k += 3; } while (k < (int)(v * 10.0f));
            cls[i] += k * 10;
        }
    }"""
    a = np.linspace(-1, 1, 257).astype(np.float32)
    a[100] = 0.25
    cls = np.zeros(257, np.int32)
    cl = np.zeros(257, np.float32)
    run(src, "k", 3, 128, a, cls, cl, 257)
    base = np.where(a < 0, -1, np.where((a > 0.5) | (a == 0.25), 2, 1))
    ks = []
    for v in a:
        k = 0
        while True:
            k += 3
            if not k < int(np.float32(v) * np.float32(10.0)):
                break
        ks.append(k)
    np.testing.assert_array_equal(cls, base + np.array(ks) * 10)
    np.testing.assert_array_equal(cl, np.clip(a, -0.5, 0.5))


def test_integer_semantics_unsigned_shifts_division():
    src = """
    __global__ void ints(const int *a, int *q, int *r, unsigned int *u, long long *w, int n) {
        int i = threadIdx.x;
        if (i < n) {
            int x = a[i];
            q[i] = x / 7;
            r[i] = x % 7;
            u[i] = ((unsigned int)x >> 3) ^ (x << 2) | (~x & 0xF0);
            w[i] = (long long)x * 3000000000LL - (x > 0 ? 1 : 0);
        }
    }"""
    a = np.array([-100, -7, -1, 0, 1, 6, 7, 99, 123456, -987654], np.int32)
    n = len(a)
    q, r = np.zeros(n, np.int32), np.zeros(n, np.int32)
    u, w = np.zeros(n, np.uint32), np.zeros(n, np.int64)
    run(src, "ints", 1, 32, a, q, r, u, w, n)
    np.testing.assert_array_equal(q, np.fix(a / 7).astype(np.int32))
    np.testing.assert_array_equal(r, a - np.fix(a / 7).astype(np.int32) * 7)
    au = a.astype(np.uint32)
    np.testing.assert_array_equal(u, (au >> 3) ^ (au << 2) | (~au & 0xF0))
    np.testing.assert_array_equal(w, a.astype(np.int64) * 3000000000 - (a > 0))


def test_math_and_device_function_calls():
    src = """
    __device__ float sq(float x) { return x * x; }
    __device__ float hyp(float x, float y) { return sqrtf(sq(x) + sq(y)); }
    __global__ void k(const float *x, const float *y, float *o, double *d, int n) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) {
            o[i] = hyp(x[i], y[i]) + fabsf(x[i]) + fminf(x[i], y[i]) + expf(y[i]);
            d[i] = sqrt((double)x[i] * 2.0) + max(i, 5) + floor(x[i] * 3.7);
        }
    }"""
    rng = np.random.default_rng(0)
    x, y = rng.random(300, dtype=np.float32), rng.random(300, dtype=np.float32)
    o, d = np.zeros(300, np.float32), np.zeros(300, np.float64)
    run(src, "k", 3, 128, x, y, o, d, 300)
    ref = np.hypot(x, y) + np.abs(x) + np.minimum(x, y) + np.exp(y)
    np.testing.assert_allclose(o, ref, rtol=1e-5)
    i = np.arange(300)
    dref = np.sqrt(x.astype(np.float64) * 2) + np.maximum(i, 5) + np.floor(x * np.float32(3.7))
    np.testing.assert_allclose(d, dref, rtol=1e-12)


def test_local_array_and_pointer_arithmetic():
    src = """
    __global__ void k(const int *in, int *out, int n) {
        int i = threadIdx.x;
        int t[4] = {1, 2, 3, 4};
        const int *p = in + i * 4;
        int s = 0;
        for (int j = 0; j < 4; ++j) s += t[j] * p[j] + *(p + j);
        if (i < n) out[i] = s;
    }"""
    a = np.arange(64, dtype=np.int32)
    out = np.zeros(16, np.int32)
    run(src, "k", 1, 16, a, out, 16)
    m = a.reshape(16, 4)
    np.testing.assert_array_equal(out, (m * np.array([1, 2, 3, 4])).sum(1) + m.sum(1))


def test_host_code_and_preprocessor_are_handled():
    src = """
    #include <cstdio>
    #include <cuda_runtime.h>
    #define SCALE 3
    #ifdef USE_OFFSET
    #define OFFSET 10
    #else
    #define OFFSET 0
    #endif
    struct HostOnly { int x; HostOnly() : x(1) {} };
    template <typename T> T host_max(T a, T b) { return a > b ? a : b; }
    __global__ void k(int *o) { o[threadIdx.x] = threadIdx.x * SCALE + OFFSET; }
    int main() { int *o; k<<<1, 8>>>(o); printf("%d\\n", host_max(1, 2)); return 0; }
    """
    o = np.zeros(8, np.int32)
    mod = xpuc.load(xpuc.compile(src, TARGET, defines={"USE_OFFSET": "1"}))
    mod.k[1, 8](o)
    np.testing.assert_array_equal(o, np.arange(8) * 3 + 10)


def test_kernels_inside_extern_c_and_namespace_blocks():
    src = """
    namespace detail {
    __device__ int twice(int x) { return 2 * x; }
    void host_helper() { }
    }  // namespace detail
    extern "C" {
    __global__ void k(int *o) { o[threadIdx.x] = twice(threadIdx.x) + 1; }
    }
    """
    o = np.zeros(8, np.int32)
    mod = xpuc.load(xpuc.compile(src, TARGET))
    mod.k[1, 8](o)
    np.testing.assert_array_equal(o, np.arange(8) * 2 + 1)


def test_integer_division_traps_do_not_end_the_process():
    """x / 0 and INT_MIN / -1 trap on a CPU (SIGFPE); on a GPU they give a value."""
    src = """
    __global__ void d(const int *a, const int *b, int *o, unsigned *u) {
        int i = threadIdx.x;
        o[2 * i] = a[i] / b[i];
        o[2 * i + 1] = a[i] % b[i];
        u[i] = (unsigned)a[i] / (unsigned)b[i] + (unsigned)a[i] % (unsigned)b[i];
    }"""
    a = np.array([-(2**31), 7, 9, -9], np.int32)
    b = np.array([-1, 0, 2, 2], np.int32)
    o, u = np.zeros(8, np.int32), np.zeros(4, np.uint32)
    run(src, "d", 1, 4, a, b, o, u)
    assert o[0] == -(2**31)  # INT_MIN / -1 = INT_MIN, as PTX gives
    if TARGET == "cpu":  # OpenCL C leaves INT_MIN % -1 undefined (PoCL gives -1)
        assert o[1] == 0
    np.testing.assert_array_equal(o[4:], [4, 1, -4, -1])
    assert u[2] == 4 + 1  # the rest of the launch is unaffected
