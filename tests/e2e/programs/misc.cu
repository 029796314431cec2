// Assorted everyday idioms: volatile warp reduce, atomicCAS loops, launch
// bounds, __syncthreads_count, integer intrinsics, __half, constant tables.
#include <cstdio>
#include <cstdint>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include "common.h"

struct Coeff { float scale; float bias; };
__constant__ Coeff c_coeffs[4];
__device__ unsigned int d_counter;

// pre-Volta style last-warp unroll with volatile (still extremely common)
template <unsigned int blockSize>
__device__ void warpReduce(volatile int *sdata, unsigned int tid)
{
    if (blockSize >= 64) sdata[tid] += sdata[tid + 32];
    if (blockSize >= 32) sdata[tid] += sdata[tid + 16];
    if (blockSize >= 16) sdata[tid] += sdata[tid + 8];
    if (blockSize >= 8)  sdata[tid] += sdata[tid + 4];
    if (blockSize >= 4)  sdata[tid] += sdata[tid + 2];
    if (blockSize >= 2)  sdata[tid] += sdata[tid + 1];
}

template <unsigned int blockSize>
__global__ void __launch_bounds__(blockSize) sum_int_volatile(const int *in, long long *out, int n)
{
    __shared__ int sdata[blockSize];
    unsigned int tid = threadIdx.x;
    int s = 0;
    for (int i = blockIdx.x * blockSize + tid; i < n; i += blockSize * gridDim.x) s += in[i];
    sdata[tid] = s;
    __syncthreads();
    #pragma unroll
    for (unsigned int k = blockSize / 2; k > 32; k >>= 1) {
        if (tid < k) sdata[tid] += sdata[tid + k];
        __syncthreads();
    }
    if (tid < 32) warpReduce<blockSize>(sdata, tid);
    if (tid == 0) atomicAdd((unsigned long long *)out, (unsigned long long)(long long)sdata[0]);
}

__device__ double atomicAddDouble(double *address, double val)
{
    unsigned long long int *address_as_ull = (unsigned long long int *)address;
    unsigned long long int old = *address_as_ull, assumed;
    do {
        assumed = old;
        old = atomicCAS(address_as_ull, assumed,
                        __double_as_longlong(val + __longlong_as_double(assumed)));
    } while (assumed != old);
    return __longlong_as_double(old);
}

__device__ float atomicMaxFloat(float *addr, float value)
{
    int old = __float_as_int(*addr);
    while (value > __int_as_float(old)) {
        int assumed = old;
        old = atomicCAS((int *)addr, assumed, __float_as_int(value));
        if (old == assumed) break;
    }
    return __int_as_float(old);
}

__global__ void stats(const double *x, int n, double *sum, float *maxv, int *count_pos)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    double v = i < n ? x[i] : 0.0;
    atomicAddDouble(sum, v);
    if (i < n) atomicMaxFloat(maxv, (float)v);
    int npos = __syncthreads_count(i < n && v > 0.0);
    if (threadIdx.x == 0) atomicAdd(count_pos, npos);
    if (threadIdx.x == 0) atomicInc(&d_counter, 0xffffffffu);
}

__global__ void bit_tricks(const unsigned *in, unsigned *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned v = in[i];
    unsigned r;
    switch (i % 6) {
    case 0: r = __popc(v); break;
    case 1: r = __clz(v); break;
    case 2: r = __brev(v); break;
    case 3: r = __ffs(v); break;
    case 4: r = __umulhi(v, 0x9E3779B9u); break;
    default: {
        unsigned x = v;
        do { x = (x >> 1) ^ (-(x & 1u) & 0xEDB88320u); } while (x > 0xFFFFFu);
        r = x;
    }
    }
    out[i] = r;
}

__global__ void affine_half(const __half *in, __half *out, int n, int which)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        Coeff c = c_coeffs[which & 3];
        float f = __half2float(in[i]);
        out[i] = __float2half(f * c.scale + c.bias);
    }
}

int main()
{
    const int n = 1 << 20;
    int *d_in; long long *d_out;
    CUDA_CHECK(cudaMalloc(&d_in, n * sizeof(int)));
    CUDA_CHECK(cudaMalloc(&d_out, sizeof(long long)));
    sum_int_volatile<256><<<64, 256>>>(d_in, d_out, n);
    double *dx, *dsum; float *dmax; int *dcnt;
    CUDA_CHECK(cudaMalloc(&dx, n * sizeof(double)));
    CUDA_CHECK(cudaMalloc(&dsum, sizeof(double)));
    CUDA_CHECK(cudaMalloc(&dmax, sizeof(float)));
    CUDA_CHECK(cudaMalloc(&dcnt, sizeof(int)));
    stats<<<(n + 255) / 256, 256>>>(dx, n, dsum, dmax, dcnt);
    bit_tricks<<<(n + 255) / 256, 256>>>((const unsigned *)d_in, (unsigned *)d_in, n);
    Coeff h[4] = {{1.f, 0.f}, {2.f, 1.f}, {0.5f, -1.f}, {-1.f, 0.f}};
    CUDA_CHECK(cudaMemcpyToSymbol(c_coeffs, h, sizeof(h)));
    affine_half<<<(n + 255) / 256, 256>>>((const __half *)dx, (__half *)dx, n, 1);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    return 0;
}
