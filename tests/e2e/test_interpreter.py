"""The SIMT-level interpreter (``xpuc.interpreter``) next to the compiled cpu code.

Every kernel test runs twice, once per runner: the interpreter on the optimized shared
IR and the cpu target's JIT-compiled code, each compared with numpy.  Launches are
small (the interpreter runs some tens of thousands of ops a second).
"""

import numpy as np
import pytest

import xpuc
import xpuc.interpreter
from xpuc.interpreter import InterpretError, UnsupportedOpError


@pytest.fixture
def load(run_both):
    return run_both


def test_elementwise(load):
    src = """
    __global__ void saxpy(float *y, const float *x, float a, int n) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) y[i] = a * x[i] + y[i];
    }"""
    rng = np.random.default_rng(0)
    x, y = rng.random(150, np.float32), rng.random(150, np.float32)
    want = np.float32(1.5) * x + y
    load(src).saxpy[3, 64](y, x, 1.5, 150)
    np.testing.assert_array_equal(y, want)


def test_shared_tree_reduction(load):
    src = """
    __global__ void block_sum(const float *in, float *out, int n) {
        __shared__ float s[128];
        unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
        s[t] = i < n ? in[i] : 0.0f;
        __syncthreads();
        for (unsigned step = blockDim.x / 2; step > 0; step >>= 1) {
            if (t < step) s[t] += s[t + step];
            __syncthreads();
        }
        if (t == 0) out[blockIdx.x] = s[0];
    }"""
    x = np.random.default_rng(1).integers(0, 100, 300).astype(np.float32)
    out = np.zeros(3, np.float32)
    load(src)["block_sum"][3, 128](x, out, 300)
    np.testing.assert_array_equal(out, np.pad(x, (0, 84)).reshape(3, 128).sum(1))


def test_barrier_in_loop_under_uniform_condition_and_early_exit(load):
    src = """
    __global__ void smooth(float *data, int iters, int on, int n) {
        __shared__ float s[64];
        int t = threadIdx.x;
        if (t >= n) return;  // these threads never reach a barrier
        float v = data[blockIdx.x * n + t];
        for (int it = 0; it < iters; ++it) {
            if (on) {
                s[t] = v;
                __syncthreads();
                v = 0.5f * (v + s[(t + 1) % n]);
                __syncthreads();
            }
        }
        data[blockIdx.x * n + t] = v;
    }"""
    n = 48
    data = np.random.default_rng(2).random(2 * n, np.float32)
    want = data.reshape(2, n).copy()
    for _ in range(5):
        want = np.float32(0.5) * (want + np.roll(want, -1, axis=1))
    load(src).smooth[2, 64](data, 5, 1, n)
    np.testing.assert_allclose(data.reshape(2, n), want, rtol=1e-6)


def test_warp_shuffles(load):
    src = """
    __device__ int warp_sum(int v) {
        for (int off = 16; off > 0; off /= 2) v += __shfl_down_sync(0xffffffff, v, off);
        return v;
    }
    __global__ void k(const int *in, int *out) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        int v = in[i];
        int all = v;  // butterfly: every lane ends with the warp's sum
        for (int m = 1; m < 32; m *= 2) all += __shfl_xor_sync(0xffffffff, all, m);
        out[4 * i] = warp_sum(v);  // lane 0 holds the sum
        out[4 * i + 1] = all;
        out[4 * i + 2] = __shfl_sync(0xffffffff, v, 3);
        out[4 * i + 3] = __shfl_up_sync(0xffffffff, v, 2, 8);  // 8-lane segments
    }"""
    v = np.random.default_rng(3).integers(-50, 50, 128).astype(np.int32)
    out = np.zeros(4 * 128, np.int32)
    load(src).k[2, 64](v, out)
    got, w = out.reshape(128, 4), v.reshape(4, 32)
    lane = np.arange(128) % 32
    np.testing.assert_array_equal(got[lane == 0, 0], w.sum(1))
    np.testing.assert_array_equal(got[:, 1], np.repeat(w.sum(1), 32))
    np.testing.assert_array_equal(got[:, 2], np.repeat(w[:, 3], 32))
    np.testing.assert_array_equal(got[:, 3], np.where(lane % 8 >= 2, np.roll(v, 2), v))


def test_votes_and_active_mask(load):
    src = """
    __global__ void k(const int *in, unsigned *ballot, int *anyall, unsigned *masks) {
        int i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x % 32;
        int v = in[i];
        unsigned b = __ballot_sync(0xffffffff, v > 0);
        int a = __any_sync(0xffffffff, v == 7), l = __all_sync(0xffffffff, v < 100);
        unsigned m = 0;
        if (lane < 8) m = __activemask();
        __syncwarp();
        if (lane == 0) { ballot[i / 32] = b; anyall[2 * (i / 32)] = a;
                         anyall[2 * (i / 32) + 1] = l; }
        masks[i] = m;
    }"""
    v = np.random.default_rng(4).integers(-5, 10, 128).astype(np.int32)
    v[40] = 7
    ballot, anyall = np.zeros(4, np.uint32), np.zeros(8, np.int32)
    masks = np.zeros(128, np.uint32)
    load(src).k[2, 64](v, ballot, anyall, masks)
    w = v.reshape(4, 32)
    bits = ((w > 0).astype(np.uint64) << np.arange(32, dtype=np.uint64)).sum(1)
    np.testing.assert_array_equal(ballot, bits.astype(np.uint32))
    assert anyall.reshape(4, 2).tolist() == [[int((r == 7).any()), 1] for r in w]
    np.testing.assert_array_equal(masks, np.where(np.arange(128) % 32 < 8, 0xFF, 0))


def test_atomic_histogram_and_cas(load):
    src = """
    __device__ float atomic_max_float(float *addr, float v) {
        int *bits = (int *)addr;
        int old = *bits, seen;
        do {
            seen = old;
            old = atomicCAS(bits, seen, __float_as_int(fmaxf(v, __int_as_float(seen))));
        } while (old != seen);
        return __int_as_float(old);
    }
    __global__ void hist(const int *data, int n, int *bins, float *total, float *top) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) {
            atomicAdd(&bins[data[i] % 16], 1);
            atomicAdd(total, 0.25f * data[i]);
            atomic_max_float(top, (float)data[i]);
        }
    }"""
    data = np.random.default_rng(5).integers(0, 1000, 250).astype(np.int32)
    bins, total, top = np.zeros(16, np.int32), np.zeros(1, np.float32), np.zeros(1, np.float32)
    load(src).hist[2, 128](data, 250, bins, total, top)
    np.testing.assert_array_equal(bins, np.bincount(data % 16, minlength=16))
    assert total[0] == 0.25 * data.sum()  # quarter-integers: exact in float32 at this size
    assert top[0] == data.max()


def test_dynamic_shared_memory(load):
    src = """
    __global__ void reverse(int *d) {
        extern __shared__ int s[];
        int t = threadIdx.x, n = blockDim.x, base = blockIdx.x * n;
        s[t] = d[base + t];
        __syncthreads();
        d[base + t] = s[n - 1 - t];
    }"""
    d = np.arange(192, dtype=np.int32)
    load(src).reverse[3, 64, 64 * 4](d)
    np.testing.assert_array_equal(d, np.arange(192).reshape(3, 64)[:, ::-1].ravel())


def test_device_functions_and_struct_argument(load):
    src = """
    struct Params { const float *x; float *y; int n; float scale; };
    __device__ float square(float v) { return v * v; }
    __device__ void accumulate(float *p, int i, float v) { p[i] += v; }
    __global__ void k(Params p) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < p.n) accumulate(p.y, i, p.scale * square(p.x[i]));
    }"""
    x = np.linspace(-2, 2, 100, dtype=np.float32)
    y = np.ones(100, np.float32)
    want = y + np.float32(3.0) * (x * x)
    load(src).k[2, 64]((x, y, 100, 3.0))
    np.testing.assert_array_equal(y, want)


def test_integer_wraparound_and_unsigned(load):
    src = """
    __global__ void k(const int *a, unsigned *h, int *s, int *q) {
        int i = threadIdx.x;
        unsigned x = (unsigned)a[i] * 2654435761u;
        x ^= x >> 13;
        h[i] = x + 0xF0000000u;
        s[2 * i] = a[i] * 100000;  // overflows int: wraps (as -fwrapv and the hardware)
        s[2 * i + 1] = (signed char)a[i];
        q[2 * i] = a[i] / -7;
        q[2 * i + 1] = a[i] % -7;
    }"""
    a = np.random.default_rng(6).integers(-(2**31), 2**31 - 1, 64, dtype=np.int64)
    a = a.astype(np.int32)
    h, s, q = np.zeros(64, np.uint32), np.zeros(128, np.int32), np.zeros(128, np.int32)
    load(src).k[1, 64](a, h, s, q)
    x = a.astype(np.uint32) * np.uint32(2654435761)
    x ^= x >> np.uint32(13)
    np.testing.assert_array_equal(h, x + np.uint32(0xF0000000))
    np.testing.assert_array_equal(s[0::2], a * np.int32(100000))
    np.testing.assert_array_equal(s[1::2], a.astype(np.int8))
    np.testing.assert_array_equal(q[0::2], np.trunc(a / -7).astype(np.int32))
    np.testing.assert_array_equal(q[1::2], np.fmod(a, -7))


def test_2d_launch_with_shared_tile(load):
    src = """
    #define T 8
    __global__ void transpose(float *out, const float *in, int w, int h) {
        __shared__ float tile[T][T + 1];
        int x = blockIdx.x * T + threadIdx.x, y = blockIdx.y * T + threadIdx.y;
        if (x < w && y < h) tile[threadIdx.y][threadIdx.x] = in[y * w + x];
        __syncthreads();
        x = blockIdx.y * T + threadIdx.x;
        y = blockIdx.x * T + threadIdx.y;
        if (x < h && y < w) out[y * h + x] = tile[threadIdx.x][threadIdx.y];
    }"""
    w, h = 20, 13
    a = np.arange(w * h, dtype=np.float32).reshape(h, w)
    out = np.zeros((w, h), np.float32)
    load(src).transpose[(3, 2), (8, 8)](out, a, w, h)
    np.testing.assert_array_equal(out, a.T)


def test_device_and_constant_symbols(load):
    src = """
    __constant__ float coef[4];
    __device__ int calls;
    __global__ void poly(const float *x, float *y, int n) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) {
            y[i] = coef[0] + x[i] * (coef[1] + x[i] * (coef[2] + x[i] * coef[3]));
            atomicAdd(&calls, 1);
        }
    }"""
    mod = load(src)
    mod.symbol("coef")[:] = [1, 2, 3, 4]
    mod.symbol("calls")[:] = 0
    x = np.linspace(-1, 1, 70, dtype=np.float32)
    y = np.zeros(70, np.float32)
    mod.poly[2, 64](x, y, 70)
    c = np.float32([1, 2, 3, 4])
    np.testing.assert_allclose(y, c[0] + x * (c[1] + x * (c[2] + x * c[3])), rtol=1e-6)
    assert mod.symbol("calls")[0] == 70


def test_warp_operations_reached_by_part_of_the_warp(load):
    # CUDA leaves a full-mask shuffle that some lanes skip undefined; the cpu target runs
    # it with the lanes that reach it, and so does the interpreter.  Lane 15 reads lane
    # 16, which never reached it: that value is not checked.
    src = """
    __global__ void k(const int *in, int *out) {
        int t = threadIdx.x, v = in[t];
        int s = t % 32 < 16 ? __shfl_down_sync(0xffffffff, v, 1) : -1;
        int any = __any_sync(0xffffffff, v == 7);  // every lane, after the shuffle
        __syncthreads();
        out[2 * t] = s;
        out[2 * t + 1] = any;
    }"""
    v = np.arange(64, dtype=np.int32)
    out = np.zeros(128, np.int32)
    load(src).k[1, 64](v, out)
    lane = np.arange(64) % 32
    np.testing.assert_array_equal(out[0::2][lane < 15], v[1:][lane[:-1] < 15])
    assert (out[0::2][lane >= 16] == -1).all()
    np.testing.assert_array_equal(out[1::2], np.where(np.arange(64) < 32, 1, 0))


# -- the interpreter alone: IR text, diagnostics ---------------------------------------

_COPY_KERNEL = """
builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (memref<?xf32>, memref<?xf32>) -> (), kernel}> ({
    ^bb0(%a: memref<?xf32>, %b: memref<?xf32>):
      %i = "gpu.thread_id"() <{dimension = #gpu<dim x>}> : () -> index
      %v = memref.load %a[%i] : memref<?xf32>
      %w = arith.mulf %v, %v : f32
      memref.store %w, %b[%i] : memref<?xf32>
      OP
      "gpu.return"() : () -> ()
    }) {sym_name = "square"} : () -> ()
  }) : () -> ()
}
"""


def test_load_accepts_ir_text():
    mod = xpuc.interpreter.load(_COPY_KERNEL.replace("OP", ""))
    a, b = np.arange(8, dtype=np.float32), np.zeros(8, np.float32)
    mod["square"][1, 8](a, b)
    np.testing.assert_array_equal(b, a * a)


def test_unsupported_op_is_a_typed_error_naming_it():
    op = '"memref.copy"(%a, %b) : (memref<?xf32>, memref<?xf32>) -> () loc("k.cu":7:3)'
    mod = xpuc.interpreter.load(_COPY_KERNEL.replace("OP", op))
    with pytest.raises(UnsupportedOpError, match=r"'memref.copy' at k\.cu:7:3") as e:
        mod.square[1, 8](np.zeros(8, np.float32), np.zeros(8, np.float32))
    assert isinstance(e.value, xpuc.XpucError)


def test_out_of_bounds_access_names_op_block_and_thread():
    mod = xpuc.interpreter.load(_COPY_KERNEL.replace("OP", ""))
    with pytest.raises(InterpretError, match=r"'memref.load'.*out-of-bounds") as e:
        mod.square[1, 8](np.zeros(4, np.float32), np.zeros(8, np.float32))
    assert "block (0, 0, 0), thread (4, 0, 0)" in str(e.value)


def test_printf(capsys):
    src = """
    #include <cstdio>
    __global__ void k(float f) {
        if (threadIdx.x == 1) printf("t=%d f=%.2f u=%u x=%x%%\\n", threadIdx.x, f, -1, 255);
    }"""
    xpuc.interpreter.load(xpuc.compile(src, "cpu")).k[1, 4](2.5)
    assert capsys.readouterr().out == "t=1 f=2.50 u=4294967295 x=ff%\n"
