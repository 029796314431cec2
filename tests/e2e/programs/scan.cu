// Prefix sums: Blelloch work-efficient exclusive scan (with bank-conflict
// avoidance), warp-shuffle inclusive scan, and a multi-block scan with
// block-sum propagation.
#include <cstdio>
#include <vector>
#include <numeric>
#include <cuda_runtime.h>
#include "common.h"

#define NUM_BANKS 32
#define LOG_NUM_BANKS 5
#define CONFLICT_FREE_OFFSET(n) ((n) >> LOG_NUM_BANKS)

// Each block scans 2*blockDim.x elements. Writes block totals to sums (if non-null).
__global__ void blelloch_scan(const int *g_idata, int *g_odata, int *sums, int n)
{
    extern __shared__ int temp[];
    int thid = threadIdx.x;
    int blockOffset = blockIdx.x * blockDim.x * 2;
    int len = blockDim.x * 2;

    int ai = thid;
    int bi = thid + blockDim.x;
    int bankOffsetA = CONFLICT_FREE_OFFSET(ai);
    int bankOffsetB = CONFLICT_FREE_OFFSET(bi);
    temp[ai + bankOffsetA] = (blockOffset + ai < n) ? g_idata[blockOffset + ai] : 0;
    temp[bi + bankOffsetB] = (blockOffset + bi < n) ? g_idata[blockOffset + bi] : 0;

    int offset = 1;
    for (int d = len >> 1; d > 0; d >>= 1) {   // up-sweep
        __syncthreads();
        if (thid < d) {
            int a = offset * (2 * thid + 1) - 1;
            int b = offset * (2 * thid + 2) - 1;
            a += CONFLICT_FREE_OFFSET(a);
            b += CONFLICT_FREE_OFFSET(b);
            temp[b] += temp[a];
        }
        offset *= 2;
    }
    if (thid == 0) {
        int last = len - 1 + CONFLICT_FREE_OFFSET(len - 1);
        if (sums) sums[blockIdx.x] = temp[last];
        temp[last] = 0;
    }
    for (int d = 1; d < len; d *= 2) {          // down-sweep
        offset >>= 1;
        __syncthreads();
        if (thid < d) {
            int a = offset * (2 * thid + 1) - 1;
            int b = offset * (2 * thid + 2) - 1;
            a += CONFLICT_FREE_OFFSET(a);
            b += CONFLICT_FREE_OFFSET(b);
            int t = temp[a];
            temp[a] = temp[b];
            temp[b] += t;
        }
    }
    __syncthreads();
    if (blockOffset + ai < n) g_odata[blockOffset + ai] = temp[ai + bankOffsetA];
    if (blockOffset + bi < n) g_odata[blockOffset + bi] = temp[bi + bankOffsetB];
}

__global__ void add_block_offsets(int *data, const int *offsets, int n)
{
    int i = blockIdx.x * blockDim.x * 2 + threadIdx.x;
    int add = offsets[blockIdx.x];
    if (i < n) data[i] += add;
    if (i + blockDim.x < n) data[i + blockDim.x] += add;
}

__device__ __forceinline__ float warp_inclusive_scan(float v)
{
    const unsigned lane = threadIdx.x & 31;
#pragma unroll
    for (int d = 1; d < 32; d <<= 1) {
        float y = __shfl_up_sync(0xffffffff, v, d);
        if (lane >= d) v += y;
    }
    return v;
}

// Block inclusive scan with shuffles: warp scans, scan of warp totals, add.
template <int BLOCK>
__global__ void shfl_scan(const float *in, float *out, float *block_totals, int n)
{
    __shared__ float warp_sums[BLOCK / 32];
    int gid = blockIdx.x * BLOCK + threadIdx.x;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    float v = gid < n ? in[gid] : 0.0f;
    v = warp_inclusive_scan(v);
    if (lane == 31) warp_sums[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float s = lane < BLOCK / 32 ? warp_sums[lane] : 0.0f;
        s = warp_inclusive_scan(s);
        if (lane < BLOCK / 32) warp_sums[lane] = s;
    }
    __syncthreads();
    if (warp > 0) v += warp_sums[warp - 1];
    if (gid < n) out[gid] = v;
    if (block_totals != nullptr && threadIdx.x == BLOCK - 1) block_totals[blockIdx.x] = v;
}

// Exclusive warp scan of ints via __shfl_up_sync with explicit width 16
__global__ void segmented_exclusive16(const int *in, int *out)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int x = in[i];
    int incl = x;
    for (int d = 1; d < 16; d *= 2) {
        int y = __shfl_up_sync(0xffffffffu, incl, d, 16);
        if ((threadIdx.x & 15) >= d) incl += y;
    }
    out[i] = incl - x;
}

int main()
{
    const int n = 1 << 20, threads = 512;
    const int elemsPerBlock = threads * 2;
    const int blocks = (n + elemsPerBlock - 1) / elemsPerBlock;
    std::vector<int> h(n, 1);
    int *d_in, *d_out, *d_sums, *d_sums_scanned;
    CUDA_CHECK(cudaMalloc(&d_in, n * sizeof(int)));
    CUDA_CHECK(cudaMalloc(&d_out, n * sizeof(int)));
    CUDA_CHECK(cudaMalloc(&d_sums, blocks * sizeof(int)));
    CUDA_CHECK(cudaMalloc(&d_sums_scanned, blocks * sizeof(int)));
    CUDA_CHECK(cudaMemcpy(d_in, h.data(), n * sizeof(int), cudaMemcpyHostToDevice));
    size_t smem = (elemsPerBlock + elemsPerBlock / NUM_BANKS) * sizeof(int);
    blelloch_scan<<<blocks, threads, smem>>>(d_in, d_out, d_sums, n);
    blelloch_scan<<<1, 512, smem>>>(d_sums, d_sums_scanned, nullptr, blocks);
    add_block_offsets<<<blocks, threads>>>(d_out, d_sums_scanned, n);

    float *f_in, *f_out, *f_tot;
    CUDA_CHECK(cudaMalloc(&f_in, n * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&f_out, n * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&f_tot, (n / 256) * sizeof(float)));
    shfl_scan<256><<<n / 256, 256>>>(f_in, f_out, f_tot, n);
    segmented_exclusive16<<<n / 128, 128>>>(d_in, d_out);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(h.data(), d_out, n * sizeof(int), cudaMemcpyDeviceToHost));
    printf("last = %d\n", h[n - 1]);
    return 0;
}
