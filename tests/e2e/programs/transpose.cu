// Matrix transpose: naive, coalesced via shared tile, and padded (bank-conflict-free).
#include <cstdio>
#include <vector>
#include <cuda_runtime.h>
#include "common.h"

const int TILE_DIM = 32;
const int BLOCK_ROWS = 8;

__global__ void copySharedMem(float *odata, const float *idata)
{
    __shared__ float tile[TILE_DIM * TILE_DIM];
    int x = blockIdx.x * TILE_DIM + threadIdx.x;
    int y = blockIdx.y * TILE_DIM + threadIdx.y;
    int width = gridDim.x * TILE_DIM;
    for (int j = 0; j < TILE_DIM; j += BLOCK_ROWS)
        tile[(threadIdx.y + j) * TILE_DIM + threadIdx.x] = idata[(y + j) * width + x];
    __syncthreads();
    for (int j = 0; j < TILE_DIM; j += BLOCK_ROWS)
        odata[(y + j) * width + x] = tile[(threadIdx.y + j) * TILE_DIM + threadIdx.x];
}

__global__ void transposeNaive(float *odata, const float *idata)
{
    int x = blockIdx.x * TILE_DIM + threadIdx.x;
    int y = blockIdx.y * TILE_DIM + threadIdx.y;
    int width = gridDim.x * TILE_DIM;
    for (int j = 0; j < TILE_DIM; j += BLOCK_ROWS)
        odata[x * width + (y + j)] = idata[(y + j) * width + x];
}

__global__ void transposeCoalesced(float *odata, const float *idata)
{
    __shared__ float tile[TILE_DIM][TILE_DIM];
    int x = blockIdx.x * TILE_DIM + threadIdx.x;
    int y = blockIdx.y * TILE_DIM + threadIdx.y;
    int width = gridDim.x * TILE_DIM;
    for (int j = 0; j < TILE_DIM; j += BLOCK_ROWS)
        tile[threadIdx.y + j][threadIdx.x] = idata[(y + j) * width + x];
    __syncthreads();
    x = blockIdx.y * TILE_DIM + threadIdx.x;
    y = blockIdx.x * TILE_DIM + threadIdx.y;
    for (int j = 0; j < TILE_DIM; j += BLOCK_ROWS)
        odata[(y + j) * width + x] = tile[threadIdx.x][threadIdx.y + j];
}

// Padded tile, arbitrary (non-multiple) rows/cols, rectangular.
__global__ void transposeNoBankConflicts(float *__restrict__ out, const float *__restrict__ in,
                                         int rows, int cols)
{
    __shared__ float tile[TILE_DIM][TILE_DIM + 1];
    int x = blockIdx.x * TILE_DIM + threadIdx.x;   // column in input
    int y = blockIdx.y * TILE_DIM + threadIdx.y;   // row in input
    for (int j = 0; j < TILE_DIM; j += BLOCK_ROWS)
        if (x < cols && (y + j) < rows)
            tile[threadIdx.y + j][threadIdx.x] = in[(size_t)(y + j) * cols + x];
    __syncthreads();
    x = blockIdx.y * TILE_DIM + threadIdx.x;       // column in output (= input row)
    y = blockIdx.x * TILE_DIM + threadIdx.y;       // row in output (= input col)
    for (int j = 0; j < TILE_DIM; j += BLOCK_ROWS)
        if (x < rows && (y + j) < cols)
            out[(size_t)(y + j) * rows + x] = tile[threadIdx.x][threadIdx.y + j];
}

// Generic templated transpose for any element type.
template <typename T, int TILE = 16>
__global__ void transposeT(T *out, const T *in, int rows, int cols)
{
    __shared__ T tile[TILE][TILE + 1];
    int bx = blockIdx.x * TILE, by = blockIdx.y * TILE;
    int x = bx + threadIdx.x, y = by + threadIdx.y;
    if (x < cols && y < rows) tile[threadIdx.y][threadIdx.x] = in[y * cols + x];
    __syncthreads();
    x = by + threadIdx.x; y = bx + threadIdx.y;
    if (x < rows && y < cols) out[y * rows + x] = tile[threadIdx.x][threadIdx.y];
}

int main()
{
    const int nx = 1024, ny = 1024;
    const size_t mem = nx * ny * sizeof(float);
    dim3 dimGrid(nx / TILE_DIM, ny / TILE_DIM, 1);
    dim3 dimBlock(TILE_DIM, BLOCK_ROWS, 1);
    std::vector<float> h(nx * ny);
    for (int i = 0; i < nx * ny; ++i) h[i] = (float)i;
    float *d_in, *d_out;
    CUDA_CHECK(cudaMalloc(&d_in, mem));
    CUDA_CHECK(cudaMalloc(&d_out, mem));
    CUDA_CHECK(cudaMemcpy(d_in, h.data(), mem, cudaMemcpyHostToDevice));
    copySharedMem<<<dimGrid, dimBlock>>>(d_out, d_in);
    transposeNaive<<<dimGrid, dimBlock>>>(d_out, d_in);
    transposeCoalesced<<<dimGrid, dimBlock>>>(d_out, d_in);
    int rows = 1000, cols = 777;
    dim3 g2((cols + TILE_DIM - 1) / TILE_DIM, (rows + TILE_DIM - 1) / TILE_DIM);
    transposeNoBankConflicts<<<g2, dimBlock>>>(d_out, d_in, rows, cols);
    transposeT<double><<<dim3((cols + 15) / 16, (rows + 15) / 16), dim3(16, 16)>>>((double *)d_out, (const double *)d_in, rows / 2, cols / 2);
    transposeT<int, 8><<<dim3((cols + 7) / 8, (rows + 7) / 8), dim3(8, 8)>>>((int *)d_out, (const int *)d_in, rows, cols);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(h.data(), d_out, mem, cudaMemcpyDeviceToHost));
    printf("%f\n", h[1]);
    cudaFree(d_in); cudaFree(d_out);
    return 0;
}
