// 256-bin histogram of bytes: shared-memory privatized histograms + atomics.
#include <cstdio>
#include <cstdint>
#include <vector>
#include <cuda_runtime.h>
#include "common.h"

#define NUM_BINS 256
#define WARPS_PER_BLOCK 4

// Naive: global atomics only.
__global__ void histo_global(const unsigned char *data, unsigned int *hist, size_t n)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    size_t stride = (size_t)blockDim.x * gridDim.x;
    for (; i < n; i += stride)
        atomicAdd(&hist[data[i]], 1u);
}

// Per-block shared histogram, grid-stride loop over uchar4 words.
__global__ void histo_shared(const uchar4 *__restrict__ data4, unsigned int *__restrict__ hist, int n4)
{
    __shared__ unsigned int s_hist[NUM_BINS];
    for (int b = threadIdx.x; b < NUM_BINS; b += blockDim.x) s_hist[b] = 0;
    __syncthreads();

    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += blockDim.x * gridDim.x) {
        uchar4 v = data4[i];
        atomicAdd(&s_hist[v.x], 1);
        atomicAdd(&s_hist[v.y], 1);
        atomicAdd(&s_hist[v.z], 1);
        atomicAdd(&s_hist[v.w], 1);
    }
    __syncthreads();

    for (int b = threadIdx.x; b < NUM_BINS; b += blockDim.x) {
        unsigned int c = s_hist[b];
        if (c) atomicAdd(&hist[b], c);
    }
}

// Per-warp sub-histograms (reduces shared atomic contention), partial
// histograms written per block then merged by a second kernel.
__global__ void histo_per_warp(const unsigned int *__restrict__ words, int nwords,
                               unsigned int *__restrict__ partial)
{
    __shared__ unsigned int s_hist[WARPS_PER_BLOCK][NUM_BINS];
    const int warp = threadIdx.x / warpSize;
    for (int j = threadIdx.x; j < WARPS_PER_BLOCK * NUM_BINS; j += blockDim.x)
        (&s_hist[0][0])[j] = 0;
    __syncthreads();

    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < nwords; i += blockDim.x * gridDim.x) {
        unsigned int w = words[i];
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            atomicAdd(&s_hist[warp][(w >> (8 * k)) & 0xFFu], 1u);
        }
    }
    __syncthreads();

    for (int bin = threadIdx.x; bin < NUM_BINS; bin += blockDim.x) {
        unsigned int sum = 0;
        for (int w = 0; w < WARPS_PER_BLOCK; ++w) sum += s_hist[w][bin];
        partial[blockIdx.x * NUM_BINS + bin] = sum;
    }
}

__global__ void merge_histograms(const unsigned int *partial, unsigned int *hist, int nparts)
{
    int bin = blockIdx.x * blockDim.x + threadIdx.x;
    if (bin >= NUM_BINS) return;
    unsigned int sum = 0;
    for (int p = 0; p < nparts; ++p) sum += partial[p * NUM_BINS + bin];
    hist[bin] = sum;
}

int main()
{
    const size_t n = 1 << 22;
    std::vector<unsigned char> h(n);
    for (size_t i = 0; i < n; ++i) h[i] = (unsigned char)((i * 2654435761u) >> 13);
    unsigned char *d_data; unsigned int *d_hist, *d_partial;
    CUDA_CHECK(cudaMalloc(&d_data, n));
    CUDA_CHECK(cudaMalloc(&d_hist, NUM_BINS * sizeof(unsigned int)));
    const int blocks = 240;
    CUDA_CHECK(cudaMalloc(&d_partial, blocks * NUM_BINS * sizeof(unsigned int)));
    CUDA_CHECK(cudaMemcpy(d_data, h.data(), n, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemset(d_hist, 0, NUM_BINS * sizeof(unsigned int)));

    histo_global<<<blocks, 256>>>(d_data, d_hist, n);
    histo_shared<<<blocks, 256>>>(reinterpret_cast<const uchar4 *>(d_data), d_hist, (int)(n / 4));
    histo_per_warp<<<blocks, WARPS_PER_BLOCK * 32>>>(reinterpret_cast<const unsigned int *>(d_data), (int)(n / 4), d_partial);
    merge_histograms<<<1, NUM_BINS>>>(d_partial, d_hist, blocks);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<unsigned int> hh(NUM_BINS);
    CUDA_CHECK(cudaMemcpy(hh.data(), d_hist, NUM_BINS * sizeof(unsigned int), cudaMemcpyDeviceToHost));
    printf("bin0 = %u\n", hh[0]);
    return 0;
}
