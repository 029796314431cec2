// Bitonic sort of one block's worth of keys (and key/value pairs) in shared memory.
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cuda_runtime.h>
#include "common.h"

#define SHARED_SIZE_LIMIT 1024U

__device__ inline void Comparator(unsigned int &keyA, unsigned int &valA,
                                  unsigned int &keyB, unsigned int &valB, unsigned int dir)
{
    unsigned int t;
    if ((keyA > keyB) == dir) {
        t = keyA; keyA = keyB; keyB = t;
        t = valA; valA = valB; valB = t;
    }
}

// Each block sorts arrayLength (<= SHARED_SIZE_LIMIT) key/value pairs; one thread
// handles two elements.
__global__ void bitonicSortShared(unsigned int *d_DstKey, unsigned int *d_DstVal,
                                  unsigned int *d_SrcKey, unsigned int *d_SrcVal,
                                  unsigned int arrayLength, unsigned int dir)
{
    __shared__ unsigned int s_key[SHARED_SIZE_LIMIT];
    __shared__ unsigned int s_val[SHARED_SIZE_LIMIT];

    d_SrcKey += blockIdx.x * SHARED_SIZE_LIMIT + threadIdx.x;
    d_SrcVal += blockIdx.x * SHARED_SIZE_LIMIT + threadIdx.x;
    d_DstKey += blockIdx.x * SHARED_SIZE_LIMIT + threadIdx.x;
    d_DstVal += blockIdx.x * SHARED_SIZE_LIMIT + threadIdx.x;
    s_key[threadIdx.x + 0] = d_SrcKey[0];
    s_val[threadIdx.x + 0] = d_SrcVal[0];
    s_key[threadIdx.x + (SHARED_SIZE_LIMIT / 2)] = d_SrcKey[(SHARED_SIZE_LIMIT / 2)];
    s_val[threadIdx.x + (SHARED_SIZE_LIMIT / 2)] = d_SrcVal[(SHARED_SIZE_LIMIT / 2)];

    for (unsigned int size = 2; size < arrayLength; size <<= 1) {
        unsigned int ddd = dir ^ ((threadIdx.x & (size / 2)) != 0);
        for (unsigned int stride = size / 2; stride > 0; stride >>= 1) {
            __syncthreads();
            unsigned int pos = 2 * threadIdx.x - (threadIdx.x & (stride - 1));
            Comparator(s_key[pos + 0], s_val[pos + 0], s_key[pos + stride], s_val[pos + stride], ddd);
        }
    }
    // ddd == dir for the last bitonic merge step
    for (unsigned int stride = arrayLength / 2; stride > 0; stride >>= 1) {
        __syncthreads();
        unsigned int pos = 2 * threadIdx.x - (threadIdx.x & (stride - 1));
        Comparator(s_key[pos + 0], s_val[pos + 0], s_key[pos + stride], s_val[pos + stride], dir);
    }
    __syncthreads();
    d_DstKey[0] = s_key[threadIdx.x + 0];
    d_DstVal[0] = s_val[threadIdx.x + 0];
    d_DstKey[(SHARED_SIZE_LIMIT / 2)] = s_key[threadIdx.x + (SHARED_SIZE_LIMIT / 2)];
    d_DstVal[(SHARED_SIZE_LIMIT / 2)] = s_val[threadIdx.x + (SHARED_SIZE_LIMIT / 2)];
}

// Simple one-element-per-thread float sort with the XOR partner formulation,
// templated on the element count, dynamic shared memory.
template <typename T>
__device__ __forceinline__ void swap_if(T &a, T &b, bool up)
{
    if ((a > b) == up) { T t = a; a = b; b = t; }
}

template <int N>
__global__ void bitonic_xor(float *data)
{
    extern __shared__ float sh[];
    const unsigned tid = threadIdx.x;
    float *blk = data + blockIdx.x * N;
    sh[tid] = blk[tid];
    __syncthreads();
    for (unsigned k = 2; k <= N; k <<= 1) {
        for (unsigned j = k >> 1; j > 0; j >>= 1) {
            unsigned ixj = tid ^ j;
            if (ixj > tid) {
                bool up = (tid & k) == 0;
                swap_if(sh[tid], sh[ixj], up);
            }
            __syncthreads();
        }
    }
    blk[tid] = sh[tid];
}

int main()
{
    const unsigned N = SHARED_SIZE_LIMIT, batches = 64;
    std::vector<unsigned> hk(N * batches), hv(N * batches);
    for (unsigned i = 0; i < N * batches; ++i) { hk[i] = rand(); hv[i] = i; }
    unsigned *dSrcK, *dSrcV, *dDstK, *dDstV;
    size_t bytes = N * batches * sizeof(unsigned);
    CUDA_CHECK(cudaMalloc(&dSrcK, bytes)); CUDA_CHECK(cudaMalloc(&dSrcV, bytes));
    CUDA_CHECK(cudaMalloc(&dDstK, bytes)); CUDA_CHECK(cudaMalloc(&dDstV, bytes));
    CUDA_CHECK(cudaMemcpy(dSrcK, hk.data(), bytes, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dSrcV, hv.data(), bytes, cudaMemcpyHostToDevice));
    bitonicSortShared<<<batches, SHARED_SIZE_LIMIT / 2>>>(dDstK, dDstV, dSrcK, dSrcV, N, 1);
    float *dF;
    CUDA_CHECK(cudaMalloc(&dF, 256 * 32 * sizeof(float)));
    bitonic_xor<256><<<32, 256, 256 * sizeof(float)>>>(dF);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(hk.data(), dDstK, bytes, cudaMemcpyDeviceToHost));
    printf("%u %u\n", hk[0], hk[1]);
    return 0;
}
