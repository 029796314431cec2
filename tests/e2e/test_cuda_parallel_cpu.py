"""Shared memory, barriers, warp intrinsics and atomics: CUDA kernels run on cpu vs numpy."""

import numpy as np
import pytest

import xpuc

TARGET = "cpu"  # conftest's `target` fixture runs each test on every target
pytestmark = pytest.mark.usefixtures("target")


def load(src: str, **kw):
    return xpuc.load(xpuc.compile(src, TARGET, **kw))


@pytest.mark.parametrize("opt_level", [0, 3])
def test_tiled_matmul_shared_memory(opt_level):
    src = """
    #define TILE 16
    __global__ void matmul(const float *A, const float *B, float *C, int M, int N, int K) {
        __shared__ float As[TILE][TILE];
        __shared__ float Bs[TILE][TILE];
        int row = blockIdx.y * TILE + threadIdx.y;
        int col = blockIdx.x * TILE + threadIdx.x;
        float acc = 0.0f;
        for (int t = 0; t < (K + TILE - 1) / TILE; ++t) {
            int ak = t * TILE + threadIdx.x, bk = t * TILE + threadIdx.y;
            As[threadIdx.y][threadIdx.x] = (row < M && ak < K) ? A[row * K + ak] : 0.0f;
            Bs[threadIdx.y][threadIdx.x] = (bk < K && col < N) ? B[bk * N + col] : 0.0f;
            __syncthreads();
            #pragma unroll
            for (int k = 0; k < TILE; ++k)
                acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
            __syncthreads();
        }
        if (row < M && col < N) C[row * N + col] = acc;
    }"""
    m, n, k = 45, 37, 53
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c = np.zeros((m, n), np.float32)
    load(src, opt_level=opt_level)["matmul"][(3, 3), (16, 16)](a, b, c, m, n, k)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_block_reduction_with_barriers_in_a_loop():
    src = """
    __global__ void block_sum(const double *in, double *out, int n) {
        extern __shared__ double s[];
        unsigned t = threadIdx.x;
        unsigned i = blockIdx.x * blockDim.x * 2 + t;
        double v = 0;
        if (i < n) v = in[i];
        if (i + blockDim.x < n) v += in[i + blockDim.x];
        s[t] = v;
        __syncthreads();
        for (unsigned step = blockDim.x / 2; step > 0; step >>= 1) {
            if (t < step) s[t] += s[t + step];
            __syncthreads();
        }
        if (t == 0) out[blockIdx.x] = s[0];
    }"""
    x = np.random.default_rng(1).random(5000)
    out = np.zeros(10)
    load(src)["block_sum"][10, 256, 256 * 8](x, out, 5000)
    np.testing.assert_allclose(out, np.pad(x, (0, 120)).reshape(10, 512).sum(1))


def test_warp_shuffle_reduction_and_votes():
    src = """
    __device__ int warp_reduce(int v) {
        for (int off = warpSize / 2; off > 0; off /= 2)
            v += __shfl_down_sync(0xffffffff, v, off);
        return v;
    }
    __global__ void k(const int *in, int *sums, unsigned *ballots, int *anys, int *bcast) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        int v = in[i];
        int s = warp_reduce(v);
        unsigned b = __ballot_sync(0xffffffff, v % 3 == 0);
        int a = __any_sync(0xffffffff, v == 7) + 2 * __all_sync(0xffffffff, v >= 0);
        int first = __shfl_sync(0xffffffff, v, 0);
        int x = __shfl_xor_sync(0xffffffff, v, 1, 16);
        int u = __shfl_up_sync(0xffffffff, v, 3);
        if ((threadIdx.x & 31) == 0) {
            sums[i / 32] = s; ballots[i / 32] = b; anys[i / 32] = a;
        }
        bcast[3 * i] = first; bcast[3 * i + 1] = x; bcast[3 * i + 2] = u;
    }"""
    v = np.random.default_rng(2).integers(0, 50, 128).astype(np.int32)
    sums, anys = np.zeros(4, np.int32), np.zeros(4, np.int32)
    ballots = np.zeros(4, np.uint32)
    bcast = np.zeros(3 * 128, np.int32)
    load(src)["k"][2, 64](v, sums, ballots, anys, bcast)
    w = v.reshape(4, 32)
    np.testing.assert_array_equal(sums, w.sum(1))
    bits = (w % 3 == 0).astype(np.uint64) << np.arange(32, dtype=np.uint64)
    np.testing.assert_array_equal(ballots, bits.sum(1).astype(np.uint32))
    np.testing.assert_array_equal(anys, (w == 7).any(1) + 2)
    lane = np.arange(128) % 32
    got = bcast.reshape(128, 3)
    np.testing.assert_array_equal(got[:, 0], np.repeat(w[:, 0], 32))
    np.testing.assert_array_equal(got[:, 1], v[np.arange(128) ^ 1])
    np.testing.assert_array_equal(got[:, 2], np.where(lane >= 3, v[np.arange(128) - 3], v))


def test_histogram_with_shared_and_global_atomics():
    src = """
    __global__ void hist(const unsigned char *data, int n, unsigned int *bins) {
        __shared__ unsigned int local[64];
        for (int b = threadIdx.x; b < 64; b += blockDim.x) local[b] = 0;
        __syncthreads();
        for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
            atomicAdd(&local[data[i] % 64], 1u);
        __syncthreads();
        for (int b = threadIdx.x; b < 64; b += blockDim.x) atomicAdd(bins + b, local[b]);
    }"""
    data = np.random.default_rng(3).integers(0, 256, 100_000).astype(np.uint8)
    bins = np.zeros(64, np.uint32)
    load(src)["hist"][8, 128](data, data.size, bins)
    np.testing.assert_array_equal(bins, np.bincount(data % 64, minlength=64))


def test_atomics_of_every_kind():
    src = """
    __global__ void k(int *i, unsigned *u, float *f, unsigned long long *c) {
        int t = blockIdx.x * blockDim.x + threadIdx.x;
        atomicAdd(&i[0], t); atomicSub(&i[1], t); atomicMax(&i[2], t); atomicMin(&i[3], -t);
        atomicOr(&i[4], 1 << (t % 31)); atomicAnd(&i[5], ~(1 << (t % 31)));
        atomicXor(&i[6], t); atomicExch(&i[7], 5);
        atomicInc(&u[0], 9u); atomicDec(&u[1], 1000u);
        atomicAdd(&f[0], 0.5f);
        unsigned long long old = c[0], seen;
        do { seen = old; old = atomicCAS(&c[0], seen, seen + 2); } while (old != seen);
    }"""
    n = 4 * 64
    i = np.array([0, 0, -1, 1, 0, -1, 0, 0], np.int32)
    u = np.array([0, 0], np.uint32)
    f = np.zeros(1, np.float32)
    c = np.zeros(1, np.uint64)
    load(src)["k"][4, 64](i, u, f, c)
    t = np.arange(n)
    xor = 0
    for x in t:
        xor ^= int(x)
    assert i.tolist() == [t.sum(), -t.sum(), n - 1, -(n - 1), 0x7FFFFFFF, -(2**31), xor, 5]
    assert u[0] == n % 10 and u[1] == 1000 - (n - 1)  # the first atomicDec wraps 0 to 1000
    assert f[0] == n * 0.5 and c[0] == 2 * n


def test_scan_with_syncthreads_count():
    src = """
    __global__ void scan(const int *in, int *out, int *count) {
        __shared__ int buf[2][256];
        int t = threadIdx.x, pin = 0;
        buf[0][t] = in[blockIdx.x * blockDim.x + t];
        __syncthreads();
        for (int off = 1; off < blockDim.x; off *= 2) {
            int pout = 1 - pin;
            buf[pout][t] = buf[pin][t] + (t >= off ? buf[pin][t - off] : 0);
            pin = pout;
            __syncthreads();
        }
        out[blockIdx.x * blockDim.x + t] = buf[pin][t];
        int c = __syncthreads_count(buf[pin][t] > 1000);
        int any = __syncthreads_or(t == 5), all = __syncthreads_and(t < 1000);
        if (t == 0) { count[3 * blockIdx.x] = c; count[3 * blockIdx.x + 1] = any;
                      count[3 * blockIdx.x + 2] = all; }
    }"""
    x = np.random.default_rng(4).integers(0, 20, 3 * 256).astype(np.int32)
    out, count = np.zeros_like(x), np.zeros(9, np.int32)
    load(src)["scan"][3, 256](x, out, count)
    want = np.cumsum(x.reshape(3, 256), axis=1)
    np.testing.assert_array_equal(out.reshape(3, 256), want)
    assert count.reshape(3, 3).tolist() == [[int((w > 1000).sum()), 1, 1] for w in want]


def test_transpose_through_padded_shared_tile():
    src = """
    #define T 32
    __global__ void transpose(float *out, const float *in, int w, int h) {
        __shared__ float tile[T][T + 1];
        int x = blockIdx.x * T + threadIdx.x, y = blockIdx.y * T + threadIdx.y;
        for (int j = 0; j < T; j += blockDim.y)
            if (x < w && y + j < h) tile[threadIdx.y + j][threadIdx.x] = in[(y + j) * w + x];
        __syncthreads();
        x = blockIdx.y * T + threadIdx.x;
        y = blockIdx.x * T + threadIdx.y;
        for (int j = 0; j < T; j += blockDim.y)
            if (x < h && y + j < w) out[(y + j) * h + x] = tile[threadIdx.x][threadIdx.y + j];
    }"""
    w, h = 70, 45
    a = np.arange(w * h, dtype=np.float32).reshape(h, w)
    out = np.zeros((w, h), np.float32)
    load(src)["transpose"][(3, 2), (32, 8)](out, a, w, h)
    np.testing.assert_array_equal(out, a.T)


def test_cooperative_groups_tiles():
    src = """
    #include <cooperative_groups.h>
    namespace cg = cooperative_groups;
    __global__ void k(const float *in, float *out) {
        cg::thread_block block = cg::this_thread_block();
        cg::thread_block_tile<16> tile = cg::tiled_partition<16>(block);
        float v = in[block.group_index().x * block.size() + block.thread_rank()];
        for (int o = tile.size() / 2; o > 0; o /= 2) v += tile.shfl_down(v, o);
        block.sync();
        cg::sync(block);
        if (tile.thread_rank() == 0)
            out[blockIdx.x * tile.meta_group_size() + tile.meta_group_rank()] = v;
    }"""
    x = np.random.default_rng(5).random(256).astype(np.float32)
    out = np.zeros(16, np.float32)
    load(src)["k"][2, 128](x, out)
    np.testing.assert_allclose(out, x.reshape(16, 16).sum(1), rtol=1e-5)


def test_barrier_in_device_function_is_inlined():
    src = """
    __device__ float neighbour_sum(float *s, float v) {
        s[threadIdx.x] = v;
        __syncthreads();
        float r = s[threadIdx.x] + s[(threadIdx.x + 1) % blockDim.x];
        __syncthreads();
        return r;
    }
    __global__ void k(const float *in, float *out) {
        __shared__ float s[64];
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        out[i] = neighbour_sum(s, in[i]);
    }"""
    x = np.arange(128, dtype=np.float32)
    out = np.zeros_like(x)
    load(src)["k"][2, 64](x, out)
    w = x.reshape(2, 64)
    np.testing.assert_array_equal(out.reshape(2, 64), w + np.roll(w, -1, axis=1))


def test_syncwarp_orders_shared_memory_within_a_warp():
    src = """
    __global__ void k(const int *in, int *out) {
        __shared__ int s[64];
        int t = threadIdx.x;
        if (t < 32) {                       // one warp works alone
            s[t] = in[t];
            __syncwarp();
            for (int off = 16; off > 0; off /= 2) {
                int v = t < off ? s[t + off] : 0;
                __syncwarp();
                s[t] += v;
                __syncwarp();
            }
            __threadfence_block();
            if (t == 0) out[0] = s[0];
        }
    }"""
    x = np.arange(32, dtype=np.int32) * 3
    out = np.zeros(1, np.int32)
    load(src)["k"][1, 64](x, out)
    assert out[0] == x.sum()


def test_barriers_after_early_return_and_in_loops_with_break():
    src = """
    __global__ void k(const int *in, int *out, int n) {
        __shared__ int s[128];
        int t = threadIdx.x;
        if (t >= n) return;              // these threads never reach the barriers
        s[t] = in[t];
        __syncthreads();
        int rounds = 0;
        while (true) {
            int left = s[(t + n - 1) % n];
            __syncthreads();
            s[t] = left + 1;
            __syncthreads();
            if (++rounds == 3) break;    // uniform break
        }
        do { out[t] = s[t]; } while (0);
    }"""
    x = np.arange(100, dtype=np.int32)
    out = np.full(128, -1, np.int32)
    load(src)["k"][1, 128](x, out, 100)
    np.testing.assert_array_equal(out[:100], np.roll(x, 3) + 3)
    assert (out[100:] == -1).all()
