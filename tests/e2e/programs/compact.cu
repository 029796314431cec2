// Stream compaction (keep x > threshold) with warp ballots, and a kernel carving
// dynamic shared memory into several typed arrays.
#include <cstdio>
#include <cstdint>
#include <vector>
#include <cuda_runtime.h>
#include "common.h"

#define WARP_SIZE 32
#define FULL_MASK 0xffffffffu

__device__ __forceinline__ unsigned lane_id() { return threadIdx.x & (WARP_SIZE - 1); }

// Pass 1: count survivors per block.
__global__ void count_pass(const float *in, int n, float thr, int *block_counts)
{
    __shared__ int warp_counts[32];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    bool keep = i < n && in[i] > thr;
    unsigned ballot = __ballot_sync(FULL_MASK, keep);
    if (lane_id() == 0) warp_counts[threadIdx.x / WARP_SIZE] = __popc(ballot);
    __syncthreads();
    if (threadIdx.x == 0) {
        int total = 0;
        for (int w = 0; w < blockDim.x / WARP_SIZE; ++w) total += warp_counts[w];
        block_counts[blockIdx.x] = total;
    }
}

// Pass 2: given exclusive-scanned block offsets, scatter survivors in order.
__global__ void scatter_pass(const float *in, int n, float thr, const int *block_offsets,
                             float *out, int *out_idx)
{
    __shared__ int warp_offsets[32];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int warp = threadIdx.x / WARP_SIZE;
    bool keep = i < n && in[i] > thr;
    unsigned ballot = __ballot_sync(FULL_MASK, keep);
    unsigned lane_mask_lt = (1u << lane_id()) - 1u;
    int rank_in_warp = __popc(ballot & lane_mask_lt);
    if (lane_id() == 0) warp_offsets[warp] = __popc(ballot);
    __syncthreads();
    if (threadIdx.x == 0) {           // exclusive scan of warp counts
        int run = 0;
        for (int w = 0; w < blockDim.x / WARP_SIZE; ++w) {
            int c = warp_offsets[w];
            warp_offsets[w] = run;
            run += c;
        }
    }
    __syncthreads();
    if (keep) {
        int dst = block_offsets[blockIdx.x] + warp_offsets[warp] + rank_in_warp;
        out[dst] = in[i];
        out_idx[dst] = i;
    }
}

// Single-pass, unordered compaction with warp-aggregated atomics.
__global__ void compact_atomic(const int *in, int n, int *out, int *counter)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int v = in[i];
    if ((v & 1) == 0) {
        unsigned active = __activemask();
        int leader = __ffs(active) - 1;
        int lane = lane_id();
        int warp_total = __popc(active);
        int base = 0;
        if (lane == leader) base = atomicAdd(counter, warp_total);
        base = __shfl_sync(active, base, leader);
        int rank = __popc(active & ((1u << lane) - 1));
        out[base + rank] = v;
    }
}

// Dynamic shared memory carved into typed arrays: per-block key histogram of
// 8-bit keys plus a block-local copy of values and flags.
__global__ void carve_smem(const uint8_t *keys, const float *vals, int n,
                           unsigned *counts, float *sums, int nbins)
{
    extern __shared__ __align__(16) unsigned char smem_raw[];
    float *s_vals = reinterpret_cast<float *>(smem_raw);                          // blockDim.x floats
    unsigned *s_count = reinterpret_cast<unsigned *>(s_vals + blockDim.x);        // nbins
    float *s_sum = reinterpret_cast<float *>(s_count + nbins);                    // nbins
    uint8_t *s_keys = reinterpret_cast<uint8_t *>(s_sum + nbins);                 // blockDim.x bytes

    for (int b = threadIdx.x; b < nbins; b += blockDim.x) { s_count[b] = 0; s_sum[b] = 0.f; }
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    s_vals[threadIdx.x] = i < n ? vals[i] : 0.f;
    s_keys[threadIdx.x] = i < n ? keys[i] : 0;
    __syncthreads();
    if (i < n) {
        uint8_t k = s_keys[threadIdx.x] % nbins;
        atomicAdd(&s_count[k], 1u);
        atomicAdd(&s_sum[k], s_vals[threadIdx.x]);
    }
    __syncthreads();
    for (int b = threadIdx.x; b < nbins; b += blockDim.x) {
        atomicAdd(&counts[b], s_count[b]);
        atomicAdd(&sums[b], s_sum[b]);
    }
}

int main()
{
    const int n = 1 << 20, bs = 256, nb = (n + bs - 1) / bs;
    float *d_in, *d_out; int *d_counts, *d_offsets, *d_idx, *d_counter;
    CUDA_CHECK(cudaMalloc(&d_in, n * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&d_out, n * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&d_idx, n * sizeof(int)));
    CUDA_CHECK(cudaMalloc(&d_counts, nb * sizeof(int)));
    CUDA_CHECK(cudaMalloc(&d_offsets, nb * sizeof(int)));
    CUDA_CHECK(cudaMalloc(&d_counter, sizeof(int)));
    count_pass<<<nb, bs>>>(d_in, n, 0.5f, d_counts);
    std::vector<int> h(nb);
    CUDA_CHECK(cudaMemcpy(h.data(), d_counts, nb * sizeof(int), cudaMemcpyDeviceToHost));
    int run = 0;
    for (int b = 0; b < nb; ++b) { int c = h[b]; h[b] = run; run += c; }
    CUDA_CHECK(cudaMemcpy(d_offsets, h.data(), nb * sizeof(int), cudaMemcpyHostToDevice));
    scatter_pass<<<nb, bs>>>(d_in, n, 0.5f, d_offsets, d_out, d_idx);
    compact_atomic<<<nb, bs>>>((const int *)d_in, n, (int *)d_out, d_counter);
    const int nbins = 16;
    size_t smem = bs * sizeof(float) + nbins * (sizeof(unsigned) + sizeof(float)) + bs;
    carve_smem<<<nb, bs, smem>>>((const uint8_t *)d_in, d_in, n, (unsigned *)d_counts, (float *)d_offsets, nbins);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    return 0;
}
