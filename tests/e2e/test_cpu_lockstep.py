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
