// Tiled SGEMM C = A * B, row-major, templated on tile size.
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cuda_runtime.h>
#include "common.h"

template <int BLOCK_SIZE>
__global__ void matrixMulCUDA(float *C, const float *A, const float *B, int wA, int wB)
{
    int bx = blockIdx.x, by = blockIdx.y;
    int tx = threadIdx.x, ty = threadIdx.y;

    int aBegin = wA * BLOCK_SIZE * by;
    int aEnd   = aBegin + wA - 1;
    int aStep  = BLOCK_SIZE;
    int bBegin = BLOCK_SIZE * bx;
    int bStep  = BLOCK_SIZE * wB;

    float Csub = 0;
    for (int a = aBegin, b = bBegin; a <= aEnd; a += aStep, b += bStep) {
        __shared__ float As[BLOCK_SIZE][BLOCK_SIZE];
        __shared__ float Bs[BLOCK_SIZE][BLOCK_SIZE];
        As[ty][tx] = A[a + wA * ty + tx];
        Bs[ty][tx] = B[b + wB * ty + tx];
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BLOCK_SIZE; ++k)
            Csub += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    int c = wB * BLOCK_SIZE * by + BLOCK_SIZE * bx;
    C[c + wB * ty + tx] = Csub;
}

// General-size variant with bounds checks, alpha/beta and a register-blocked
// 2-outputs-per-thread inner loop.
template <int TILE>
__global__ void sgemm_bounds(int M, int N, int K, float alpha,
                             const float *__restrict__ A, const float *__restrict__ B,
                             float beta, float *__restrict__ C)
{
    __shared__ float sA[TILE][TILE + 1];
    __shared__ float sB[TILE][2 * TILE];
    const int row = blockIdx.y * TILE + threadIdx.y;
    const int col0 = blockIdx.x * 2 * TILE + threadIdx.x;
    const int col1 = col0 + TILE;
    float acc0 = 0.f, acc1 = 0.f;
    for (int t = 0; t < (K + TILE - 1) / TILE; ++t) {
        int ak = t * TILE + threadIdx.x;
        int bk = t * TILE + threadIdx.y;
        sA[threadIdx.y][threadIdx.x] = (row < M && ak < K) ? A[row * K + ak] : 0.f;
        sB[threadIdx.y][threadIdx.x]        = (bk < K && col0 < N) ? B[bk * N + col0] : 0.f;
        sB[threadIdx.y][threadIdx.x + TILE] = (bk < K && col1 < N) ? B[bk * N + col1] : 0.f;
        __syncthreads();
        for (int k = 0; k < TILE; ++k) {
            float a = sA[threadIdx.y][k];
            acc0 = fmaf(a, sB[k][threadIdx.x], acc0);
            acc1 = fmaf(a, sB[k][threadIdx.x + TILE], acc1);
        }
        __syncthreads();
    }
    if (row < M) {
        if (col0 < N) C[row * N + col0] = alpha * acc0 + beta * C[row * N + col0];
        if (col1 < N) C[row * N + col1] = alpha * acc1 + beta * C[row * N + col1];
    }
}

class DeviceMatrix {
public:
    DeviceMatrix(int r, int c) : rows(r), cols(c) { CUDA_CHECK(cudaMalloc(&ptr, bytes())); }
    ~DeviceMatrix() { cudaFree(ptr); }
    size_t bytes() const { return (size_t)rows * cols * sizeof(float); }
    void upload(const std::vector<float> &h) { CUDA_CHECK(cudaMemcpy(ptr, h.data(), bytes(), cudaMemcpyHostToDevice)); }
    void download(std::vector<float> &h) const { h.resize(rows * cols); CUDA_CHECK(cudaMemcpy(h.data(), ptr, bytes(), cudaMemcpyDeviceToHost)); }
    float *ptr; int rows, cols;
};

int main()
{
    const int block_size = 32;
    dim3 dimsA(5 * 2 * block_size, 5 * 2 * block_size, 1);
    dim3 dimsB(5 * 4 * block_size, 5 * 2 * block_size, 1);
    std::vector<float> hA(dimsA.x * dimsA.y, 1.0f), hB(dimsB.x * dimsB.y, 0.01f), hC;
    DeviceMatrix A(dimsA.y, dimsA.x), B(dimsB.y, dimsB.x), C(dimsA.y, dimsB.x);
    A.upload(hA); B.upload(hB);
    dim3 threads(block_size, block_size);
    dim3 grid(dimsB.x / threads.x, dimsA.y / threads.y);
    matrixMulCUDA<32><<<grid, threads>>>(C.ptr, A.ptr, B.ptr, dimsA.x, dimsB.x);
    matrixMulCUDA<16><<<dim3(dimsB.x / 16, dimsA.y / 16), dim3(16, 16)>>>(C.ptr, A.ptr, B.ptr, dimsA.x, dimsB.x);
    int M = 300, N = 200, K = 150;
    dim3 g2((N + 31) / 32, (M + 15) / 16);
    sgemm_bounds<16><<<g2, dim3(16, 16)>>>(M, N, K, 1.5f, A.ptr, B.ptr, 0.5f, C.ptr);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    C.download(hC);
    printf("C[0] = %f\n", hC[0]);
    return 0;
}
