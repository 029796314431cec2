// Classic parallel reduction sequence (Harris), sum of floats.
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cuda_runtime.h>
#include "common.h"

// 0: interleaved addressing with divergent branch
__global__ void reduce0(const float *g_in, float *g_out, unsigned int n)
{
    extern __shared__ float sdata[];
    unsigned int tid = threadIdx.x;
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    sdata[tid] = (i < n) ? g_in[i] : 0.0f;
    __syncthreads();
    for (unsigned int s = 1; s < blockDim.x; s *= 2) {
        if (tid % (2 * s) == 0)
            sdata[tid] += sdata[tid + s];
        __syncthreads();
    }
    if (tid == 0) g_out[blockIdx.x] = sdata[0];
}

// 1: interleaved addressing, strided index, no divergence
__global__ void reduce1(const float *g_in, float *g_out, unsigned int n)
{
    extern __shared__ float sdata[];
    unsigned int tid = threadIdx.x;
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    sdata[tid] = (i < n) ? g_in[i] : 0.0f;
    __syncthreads();
    for (unsigned int s = 1; s < blockDim.x; s *= 2) {
        int index = 2 * s * tid;
        if (index < blockDim.x)
            sdata[index] += sdata[index + s];
        __syncthreads();
    }
    if (tid == 0) g_out[blockIdx.x] = sdata[0];
}

// 2: sequential addressing
__global__ void reduce2(const float *g_in, float *g_out, unsigned int n)
{
    extern __shared__ float sdata[];
    unsigned int tid = threadIdx.x;
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    sdata[tid] = (i < n) ? g_in[i] : 0.0f;
    __syncthreads();
    for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s)
            sdata[tid] += sdata[tid + s];
        __syncthreads();
    }
    if (tid == 0) g_out[blockIdx.x] = sdata[0];
}

// 3: first add during global load
__global__ void reduce3(const float *g_in, float *g_out, unsigned int n)
{
    extern __shared__ float sdata[];
    unsigned int tid = threadIdx.x;
    unsigned int i = blockIdx.x * (blockDim.x * 2) + threadIdx.x;
    float mySum = (i < n) ? g_in[i] : 0.0f;
    if (i + blockDim.x < n) mySum += g_in[i + blockDim.x];
    sdata[tid] = mySum;
    __syncthreads();
    for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s)
            sdata[tid] = mySum = mySum + sdata[tid + s];
        __syncthreads();
    }
    if (tid == 0) g_out[blockIdx.x] = mySum;
}

// last warp unrolled with __syncwarp (volatile-free, safe on Volta+)
__device__ void warpReduceSync(float *sdata, unsigned int tid)
{
    float v = sdata[tid];
    v += sdata[tid + 32]; __syncwarp(); sdata[tid] = v; __syncwarp();
    v += sdata[tid + 16]; __syncwarp(); sdata[tid] = v; __syncwarp();
    v += sdata[tid + 8];  __syncwarp(); sdata[tid] = v; __syncwarp();
    v += sdata[tid + 4];  __syncwarp(); sdata[tid] = v; __syncwarp();
    v += sdata[tid + 2];  __syncwarp(); sdata[tid] = v; __syncwarp();
    v += sdata[tid + 1];  __syncwarp(); sdata[tid] = v;
}

// 4: unroll last warp
__global__ void reduce4(const float *g_in, float *g_out, unsigned int n)
{
    extern __shared__ float sdata[];
    unsigned int tid = threadIdx.x;
    unsigned int i = blockIdx.x * (blockDim.x * 2) + threadIdx.x;
    float mySum = (i < n) ? g_in[i] : 0.0f;
    if (i + blockDim.x < n) mySum += g_in[i + blockDim.x];
    sdata[tid] = mySum;
    __syncthreads();
    for (unsigned int s = blockDim.x / 2; s > 32; s >>= 1) {
        if (tid < s)
            sdata[tid] = mySum = mySum + sdata[tid + s];
        __syncthreads();
    }
    if (tid < 32) warpReduceSync(sdata, tid);
    if (tid == 0) g_out[blockIdx.x] = sdata[0];
}

// 5: completely unrolled, templated on block size, warp shuffles at the end
template <unsigned int blockSize>
__global__ void reduce5(const float *__restrict__ g_in, float *__restrict__ g_out, unsigned int n)
{
    extern __shared__ float sdata[];
    unsigned int tid = threadIdx.x;
    unsigned int i = blockIdx.x * (blockSize * 2) + threadIdx.x;
    float mySum = (i < n) ? g_in[i] : 0.0f;
    if (i + blockSize < n) mySum += g_in[i + blockSize];
    sdata[tid] = mySum;
    __syncthreads();

    if (blockSize >= 512) { if (tid < 256) sdata[tid] = mySum = mySum + sdata[tid + 256]; __syncthreads(); }
    if (blockSize >= 256) { if (tid < 128) sdata[tid] = mySum = mySum + sdata[tid + 128]; __syncthreads(); }
    if (blockSize >= 128) { if (tid < 64)  sdata[tid] = mySum = mySum + sdata[tid + 64];  __syncthreads(); }

    if (tid < 32) {
        if (blockSize >= 64) mySum += sdata[tid + 32];
        #pragma unroll
        for (int offset = warpSize / 2; offset > 0; offset /= 2)
            mySum += __shfl_down_sync(0xffffffff, mySum, offset);
    }
    if (tid == 0) g_out[blockIdx.x] = mySum;
}

// 6: multiple elements per thread (grid-stride), templated, shuffle-based
template <unsigned int blockSize, bool nIsPow2>
__global__ void reduce6(const float *__restrict__ g_in, float *__restrict__ g_out, unsigned int n)
{
    __shared__ float warpSums[blockSize / 32];
    unsigned int tid = threadIdx.x;
    unsigned int gridSize = blockSize * 2 * gridDim.x;
    unsigned int i = blockIdx.x * blockSize * 2 + threadIdx.x;
    float mySum = 0.0f;
    while (i < n) {
        mySum += g_in[i];
        if (nIsPow2 || i + blockSize < n)
            mySum += g_in[i + blockSize];
        i += gridSize;
    }
    unsigned int lane = tid & 31, wid = tid >> 5;
    for (int offset = 16; offset > 0; offset >>= 1)
        mySum += __shfl_xor_sync(0xffffffffu, mySum, offset);
    if (lane == 0) warpSums[wid] = mySum;
    __syncthreads();
    if (wid == 0) {
        mySum = (lane < blockSize / 32) ? warpSums[lane] : 0.0f;
        for (int offset = 16; offset > 0; offset >>= 1)
            mySum += __shfl_down_sync(0xffffffffu, mySum, offset);
        if (lane == 0) g_out[blockIdx.x] = mySum;
    }
}

int main(int argc, char **argv)
{
    const unsigned int n = 1 << 20;
    const int threads = 256;
    std::vector<float> h_in(n);
    for (unsigned int i = 0; i < n; ++i) h_in[i] = (float)(rand() & 0xff) / 256.0f;

    float *d_in, *d_out;
    CUDA_CHECK(cudaMalloc(&d_in, n * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&d_out, n * sizeof(float)));
    CUDA_CHECK(cudaMemcpy(d_in, h_in.data(), n * sizeof(float), cudaMemcpyHostToDevice));

    int blocks = (n + threads - 1) / threads;
    size_t smem = threads * sizeof(float);
    reduce0<<<blocks, threads, smem>>>(d_in, d_out, n);
    reduce1<<<blocks, threads, smem>>>(d_in, d_out, n);
    reduce2<<<blocks, threads, smem>>>(d_in, d_out, n);
    int blocks2 = (n + threads * 2 - 1) / (threads * 2);
    reduce3<<<blocks2, threads, smem>>>(d_in, d_out, n);
    reduce4<<<blocks2, threads, smem>>>(d_in, d_out, n);
    reduce5<256><<<blocks2, threads, smem>>>(d_in, d_out, n);
    reduce5<128><<<blocks2 * 2, 128, 128 * sizeof(float)>>>(d_in, d_out, n);
    reduce6<256, true><<<64, 256>>>(d_in, d_out, n);
    reduce6<256, false><<<64, 256>>>(d_in, d_out, n - 3);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());

    std::vector<float> h_out(64);
    CUDA_CHECK(cudaMemcpy(h_out.data(), d_out, 64 * sizeof(float), cudaMemcpyDeviceToHost));
    double s = 0; for (float v : h_out) s += v;
    printf("sum = %f\n", s);
    cudaFree(d_in); cudaFree(d_out);
    return 0;
}
