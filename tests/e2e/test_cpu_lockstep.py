"""Loops the cpu target runs in lockstep (the thread loop inside a uniform loop), and
loops it must not: each kernel runs compiled and interpreted, against numpy.

See ``passes/simt_interchange.py``: counted ``for`` loops with uniform bounds become
``for k: for threads: body``; masks, values kept per thread, barriers and local
arrays inside them must still give each thread's own result.
"""

import numpy as np
import pytest
from xdsl.dialects import gpu

import xpuc
import xpuc.interpreter
from xpuc.compiler.driver import parse_mlir
from xpuc.passes.simt_interchange import choose_loops


@pytest.fixture
def load(run_both):
    return run_both


def _lockstep_loops(src: str) -> int:
    """How many loops of the (one) kernel convert-simt-to-loops runs in lockstep."""
    module = parse_mlir(str(xpuc.compile(src, "cpu").stages["opt"]))
    (kernel,) = [op for op in module.walk() if isinstance(op, gpu.FuncOp)]
    entry = kernel.body.blocks[0]
    return len(choose_loops(entry, list(entry.args))[0])


def test_masked_matrix_product_with_accumulator(load):
    src = """
    __global__ void mm(const float *a, const float *b, float *c, int n, int m, int p) {
        int j = blockIdx.x * blockDim.x + threadIdx.x;
        int i = blockIdx.y * blockDim.y + threadIdx.y;
        if (i < n && j < p) {
            float acc = 0.0f;
            for (int k = 0; k < m; k++) acc += a[i * m + k] * b[k * p + j];
            c[i * p + j] = acc;
        }
    }"""
    rng = np.random.default_rng(1)
    n, m, p = 11, 7, 37
    a, b = rng.random((n, m), np.float32), rng.random((m, p), np.float32)
    c = np.zeros((n, p), np.float32)
    load(src).mm[(2, 3), (32, 4)](a, b, c, n, m, p)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)


def test_nested_uniform_loops_continue_inclusive_bound_and_step(load):
    src = """
    __global__ void k(const int *x, int *out, int n) {
        int t = blockIdx.x * blockDim.x + threadIdx.x;
        int s = 0;
        for (int i = 0; i <= n; i += 3) {
            if ((i + t) % 2 == 0) continue;
            for (int j = 1; j < 4; j++) s += x[i] * j + t;
        }
        out[t] = s;
    }"""
    n = 10
    x = np.arange(n + 1, dtype=np.int32) * 5
    out = np.zeros(64, np.int32)
    load(src).k[2, 32](x, out, n)
    t = np.arange(64)
    want = sum(np.where((i + t) % 2 == 0, 0, sum(x[i] * j + t for j in range(1, 4)))
               for i in range(0, n + 1, 3))  # fmt: skip
    np.testing.assert_array_equal(out, want)


def test_barrier_inside_a_lockstep_loop_and_local_array(load):
    src = """
    __global__ void k(const float *in, float *out, int rounds) {
        __shared__ float s[64];
        float mine[4];
        int t = threadIdx.x;
        for (int q = 0; q < 4; q++) mine[q] = in[t] * q;
        s[t] = in[t];
        for (int r = 0; r < rounds; r++) {
            __syncthreads();
            float left = s[(t + 63) % 64];
            __syncthreads();
            s[t] = left + mine[r % 4];
        }
        __syncthreads();
        out[t] = s[t];
    }"""
    x = np.arange(64, dtype=np.float32)
    out = np.zeros(64, np.float32)
    load(src).k[1, 64](x, out, 5)
    s = x.copy()
    for r in range(5):
        s = np.roll(s, 1) + x * (r % 4)
    np.testing.assert_array_equal(out, s)


def test_thread_dependent_bounds_and_rows_stay_per_thread(load):
    src = """
    __global__ void tri(const float *a, float *out, int n) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) {
            float s = 0;
            for (int j = i; j < n; j++) s += a[i * n + j];
            out[i] = s;
        }
    }"""
    n = 45
    a = np.random.default_rng(2).random((n, n), np.float32)
    out = np.zeros(n, np.float32)
    load(src).tri[2, 32](a, out, n)
    np.testing.assert_allclose(out, np.triu(a).sum(1), rtol=1e-5)


def test_atomics_keep_their_loop_per_thread(load):
    src = """
    __global__ void hist(const int *x, int *h, int n) {
        for (int k = 0; k < n; k++) atomicAdd(&h[(x[k] + threadIdx.x) % 8], 1);
    }"""
    x = np.arange(20, dtype=np.int32)
    h = np.zeros(8, np.int32)
    load(src).hist[1, 16](x, h, 20)
    want = np.bincount(((x[:, None] + np.arange(16)) % 8).ravel(), minlength=8)
    np.testing.assert_array_equal(h, want)


def test_which_loops_run_in_lockstep():
    uniform = """
    __global__ void k(const float *a, float *c, int m) {
        int j = blockIdx.x * blockDim.x + threadIdx.x;
        for (int k = 0; k < m; k++) c[j] += a[k * 64 + j];
    }"""
    rows = """
    __global__ void k(const float *a, float *c, int m) {
        int j = blockIdx.x * blockDim.x + threadIdx.x;
        for (int k = 0; k < m; k++) c[j] += a[j * 1024 + k];
    }"""
    assert _lockstep_loops(uniform) > 0
    assert _lockstep_loops(rows) == 0


def test_restrict_pointers(load):
    src = """
    __global__ void axpy(const float *__restrict__ x, float *__restrict__ y, float a, int n,
                         int reps) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n)
            for (int r = 0; r < reps; r++) y[i] += a * x[i];
    }"""
    x = np.arange(100, dtype=np.float32)
    y = np.ones(100, np.float32)
    load(src).axpy[4, 32](x, y, 0.5, 100, 3)
    np.testing.assert_array_equal(y, 1 + 3 * (0.5 * x))


# Loops that look counted but are not: C's answer needs the loop as written.  Each
# kernel writes (sum of the counter's values) * 100 + (the counter after the loop).
NOT_COUNTED = {
    "bound names the counter": ("int i, s = 0; for (i = 0; i < 10 - i; i++) s++;", 505),
    "counter through a pointer": (
        "int i, s = 0; int *p = &i; for (i = 0; i < 10; i++) { if (i == 2) *p = 7; s += i; }",
        2510,
    ),
    "counter through a reference": (
        "int i, s = 0; int &r = i; for (i = 0; i < 10; i++) { if (r == 2) r = 7; s += i; }",
        2510,
    ),
    "bound through a pointer": (
        "int i, s = 0, n = 10; int *pn = &n;"
        " for (i = 0; i < n; i++) { if (i == 2) *pn = 5; s += i; }",
        1005,
    ),
    "bound wider than the counter": (
        "int i, s = 0; long long n = -4294967291LL; for (i = 0; i < n; i++) s += i;",
        0,
    ),
    "hex step": ("int i, s = 0; for (i = 0; i < 64; i += 0x10) s += i;", 9664),
    "unsigned 64-bit counter": (
        "unsigned long long u; int s = 0, i = 0;"
        " for (u = 0x8000000000000001ull; u < 5ull; u++) s++; i = (int)(u & 7);",
        1,
    ),
}


@pytest.mark.parametrize("case", NOT_COUNTED, ids=list(NOT_COUNTED))
def test_loops_that_only_look_counted(load, case):
    body, want = NOT_COUNTED[case]
    src = f"__global__ void k(int *out) {{ {body} out[threadIdx.x] = s * 100 + i; }}"
    out = np.zeros(4, np.int32)
    load(src).k[1, 4](out)
    assert (out == want).all(), out


def test_local_passed_to_a_function_beside_a_uniform_loop(load):
    src = """
    __device__ void addto(int *p, int v) { *p += v; }
    __global__ void k(const int *x, int *out, int n) {
        int s = 0;
        for (int q = 0; q < n; q++) s += x[q];
        addto(&s, threadIdx.x);
        out[threadIdx.x] = s;
    }"""
    x = np.arange(6, dtype=np.int32)
    out = np.zeros(8, np.int32)
    load(src).k[1, 8](x, out, 6)
    np.testing.assert_array_equal(out, 15 + np.arange(8))
