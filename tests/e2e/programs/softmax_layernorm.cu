// Row-wise softmax and layer norm with warp and block reductions through
// cooperative groups (thread_block, tiled_partition<32>, shfl_xor).
#include <cstdio>
#include <cfloat>
#include <cmath>
#include <vector>
#include <cuda_runtime.h>
#include <cooperative_groups.h>
#include "common.h"

namespace cg = cooperative_groups;

template <typename Op>
__device__ float warp_allreduce(cg::thread_block_tile<32> &warp, float v, Op op)
{
    for (int o = warp.size() / 2; o > 0; o /= 2)
        v = op(v, warp.shfl_xor(v, o));
    return v;
}

struct SumOp { __device__ float operator()(float a, float b) const { return a + b; } };
struct MaxOp { __device__ float operator()(float a, float b) const { return fmaxf(a, b); } };

// Block-wide all-reduce: warps reduce, warp 0 combines, result broadcast via smem.
template <typename Op>
__device__ float block_allreduce(cg::thread_block &block, float v, float *smem, Op op, float identity)
{
    cg::thread_block_tile<32> warp = cg::tiled_partition<32>(block);
    v = warp_allreduce(warp, v, op);
    const int wid = warp.meta_group_rank();
    const int nwarps = warp.meta_group_size();
    if (warp.thread_rank() == 0) smem[wid] = v;
    block.sync();
    if (wid == 0) {
        float w = warp.thread_rank() < nwarps ? smem[warp.thread_rank()] : identity;
        w = warp_allreduce(warp, w, op);
        if (warp.thread_rank() == 0) smem[0] = w;
    }
    block.sync();
    float r = smem[0];
    block.sync();   // smem reused by the caller's next reduction
    return r;
}

// One block per row.
__global__ void softmax_rows(const float *__restrict__ x, float *__restrict__ y, int cols)
{
    __shared__ float red[32];
    cg::thread_block block = cg::this_thread_block();
    const float *row = x + (size_t)blockIdx.x * cols;
    float *out = y + (size_t)blockIdx.x * cols;

    float m = -FLT_MAX;
    for (int c = block.thread_rank(); c < cols; c += block.size()) m = fmaxf(m, row[c]);
    m = block_allreduce(block, m, red, MaxOp(), -FLT_MAX);

    float s = 0.f;
    for (int c = block.thread_rank(); c < cols; c += block.size()) s += __expf(row[c] - m);
    s = block_allreduce(block, s, red, SumOp(), 0.f);

    const float inv = 1.f / s;
    for (int c = block.thread_rank(); c < cols; c += block.size()) out[c] = __expf(row[c] - m) * inv;
}

// One warp per row (rows are short): 4 rows per 128-thread block.
__global__ void softmax_warp_per_row(const float *x, float *y, int rows, int cols)
{
    cg::thread_block block = cg::this_thread_block();
    cg::thread_block_tile<32> warp = cg::tiled_partition<32>(block);
    const int row = blockIdx.x * warp.meta_group_size() + warp.meta_group_rank();
    if (row >= rows) return;
    const float *r = x + row * cols;
    float m = -INFINITY;
    for (int c = warp.thread_rank(); c < cols; c += 32) m = fmaxf(m, r[c]);
    m = warp_allreduce(warp, m, MaxOp());
    float s = 0.f;
    for (int c = warp.thread_rank(); c < cols; c += 32) s += expf(r[c] - m);
    s = warp_allreduce(warp, s, SumOp());
    for (int c = warp.thread_rank(); c < cols; c += 32) y[row * cols + c] = expf(r[c] - m) / s;
}

// LayerNorm: y = (x - mean) * rsqrt(var + eps) * gamma + beta; also stores mean and rstd.
template <int BLOCK>
__global__ void layernorm_fwd(const float *__restrict__ x, const float *__restrict__ gamma,
                              const float *__restrict__ beta, float *__restrict__ y,
                              float *__restrict__ mean_out, float *__restrict__ rstd_out,
                              int cols, float eps)
{
    __shared__ float red[BLOCK / 32];
    cg::thread_block block = cg::this_thread_block();
    const float *row = x + (size_t)blockIdx.x * cols;
    float sum = 0.f, sq = 0.f;
    for (int c = threadIdx.x; c < cols; c += BLOCK) {
        float v = row[c];
        sum += v;
        sq += v * v;
    }
    sum = block_allreduce(block, sum, red, SumOp(), 0.f);
    sq = block_allreduce(block, sq, red, SumOp(), 0.f);
    const float mean = sum / cols;
    const float var = fmaxf(sq / cols - mean * mean, 0.f);
    const float rstd = rsqrtf(var + eps);
    for (int c = threadIdx.x; c < cols; c += BLOCK)
        y[(size_t)blockIdx.x * cols + c] = (row[c] - mean) * rstd * gamma[c] + beta[c];
    if (threadIdx.x == 0) {
        mean_out[blockIdx.x] = mean;
        rstd_out[blockIdx.x] = rstd;
    }
}

int main()
{
    const int rows = 4096, cols = 1000;
    size_t bytes = (size_t)rows * cols * sizeof(float);
    float *dx, *dy, *dg, *db, *dm, *dr;
    CUDA_CHECK(cudaMalloc(&dx, bytes)); CUDA_CHECK(cudaMalloc(&dy, bytes));
    CUDA_CHECK(cudaMalloc(&dg, cols * sizeof(float))); CUDA_CHECK(cudaMalloc(&db, cols * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&dm, rows * sizeof(float))); CUDA_CHECK(cudaMalloc(&dr, rows * sizeof(float)));
    softmax_rows<<<rows, 256>>>(dx, dy, cols);
    softmax_warp_per_row<<<(rows + 3) / 4, 128>>>(dx, dy, rows, 64);
    layernorm_fwd<256><<<rows, 256>>>(dx, dg, db, dy, dm, dr, cols, 1e-5f);
    layernorm_fwd<128><<<rows, 128>>>(dx, dg, db, dy, dm, dr, cols, 1e-5f);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    return 0;
}
