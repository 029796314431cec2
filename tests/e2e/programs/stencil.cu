// Stencils: 1-D radius-R stencil with halo, 2-D Jacobi step with shared tile
// and halo, and an in-block Jacobi solver iterating in shared memory.
#include <cstdio>
#include <vector>
#include <cuda_runtime.h>
#include "common.h"

#define RADIUS 3
#define BLOCK_1D 128
#define BX 16
#define BY 16

__constant__ float c_weights[2 * RADIUS + 1];

__global__ void stencil_1d(const float *in, float *out, int n)
{
    __shared__ float temp[BLOCK_1D + 2 * RADIUS];
    int gindex = threadIdx.x + blockIdx.x * blockDim.x;
    int lindex = threadIdx.x + RADIUS;
    temp[lindex] = gindex < n ? in[gindex] : 0.0f;
    if (threadIdx.x < RADIUS) {
        int l = gindex - RADIUS, r = gindex + BLOCK_1D;
        temp[lindex - RADIUS] = l >= 0 ? in[l] : 0.0f;
        temp[lindex + BLOCK_1D] = r < n ? in[r] : 0.0f;
    }
    __syncthreads();
    float result = 0;
    for (int offset = -RADIUS; offset <= RADIUS; offset++)
        result += c_weights[offset + RADIUS] * temp[lindex + offset];
    if (gindex < n) out[gindex] = result;
}

__device__ __forceinline__ float clamped(const float *u, int nx, int ny, int x, int y)
{
    x = min(max(x, 0), nx - 1);
    y = min(max(y, 0), ny - 1);
    return u[y * nx + x];
}

// One Jacobi sweep for Laplace on an nx*ny grid; boundary cells are kept fixed.
__global__ void jacobi_step(const float *__restrict__ u, float *__restrict__ unew, int nx, int ny)
{
    __shared__ float tile[BY + 2][BX + 2];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int i = blockIdx.x * BX + tx;   // column
    const int j = blockIdx.y * BY + ty;   // row
    const int sx = tx + 1, sy = ty + 1;

    tile[sy][sx] = clamped(u, nx, ny, i, j);
    if (tx == 0)       tile[sy][0]      = clamped(u, nx, ny, i - 1, j);
    if (tx == BX - 1)  tile[sy][BX + 1] = clamped(u, nx, ny, i + 1, j);
    if (ty == 0)       tile[0][sx]      = clamped(u, nx, ny, i, j - 1);
    if (ty == BY - 1)  tile[BY + 1][sx] = clamped(u, nx, ny, i, j + 1);
    __syncthreads();

    if (i < nx && j < ny) {
        if (i == 0 || j == 0 || i == nx - 1 || j == ny - 1)
            unew[j * nx + i] = tile[sy][sx];
        else
            unew[j * nx + i] = 0.25f * (tile[sy][sx - 1] + tile[sy][sx + 1] +
                                        tile[sy - 1][sx] + tile[sy + 1][sx]);
    }
}

// Each block owns an independent (N x N) problem, iterates `iters` sweeps in
// shared memory (ping-pong buffers), writes back the result and the residual.
template <int N>
__global__ void jacobi_inblock(float *grids, float *residual, int iters)
{
    __shared__ float buf[2][N][N];
    __shared__ float red[N * N / 32];
    float *g = grids + blockIdx.x * N * N;
    const int x = threadIdx.x, y = threadIdx.y;
    buf[0][y][x] = g[y * N + x];
    buf[1][y][x] = g[y * N + x];
    __syncthreads();
    int cur = 0;
    for (int it = 0; it < iters; ++it) {
        int nxt = cur ^ 1;
        if (x > 0 && y > 0 && x < N - 1 && y < N - 1)
            buf[nxt][y][x] = 0.25f * (buf[cur][y][x - 1] + buf[cur][y][x + 1] +
                                      buf[cur][y - 1][x] + buf[cur][y + 1][x]);
        __syncthreads();
        cur = nxt;
    }
    g[y * N + x] = buf[cur][y][x];
    // residual: max |u_new - u_old| of the last sweep
    float d = fabsf(buf[cur][y][x] - buf[cur ^ 1][y][x]);
    for (int o = 16; o > 0; o >>= 1) d = fmaxf(d, __shfl_xor_sync(0xffffffff, d, o));
    int lin = y * N + x;
    if ((lin & 31) == 0) red[lin >> 5] = d;
    __syncthreads();
    if (lin == 0) {
        float m = 0.f;
        for (int w = 0; w < N * N / 32; ++w) m = fmaxf(m, red[w]);
        residual[blockIdx.x] = m;
    }
}

int main()
{
    const int nx = 512, ny = 384, n1 = 100000;
    float *d_u, *d_unew, *d_in, *d_out;
    CUDA_CHECK(cudaMalloc(&d_u, nx * ny * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&d_unew, nx * ny * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&d_in, n1 * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&d_out, n1 * sizeof(float)));
    float w[2 * RADIUS + 1] = {0.05f, 0.1f, 0.2f, 0.3f, 0.2f, 0.1f, 0.05f};
    CUDA_CHECK(cudaMemcpyToSymbol(c_weights, w, sizeof(w)));
    stencil_1d<<<(n1 + BLOCK_1D - 1) / BLOCK_1D, BLOCK_1D>>>(d_in, d_out, n1);
    dim3 block(BX, BY), grid((nx + BX - 1) / BX, (ny + BY - 1) / BY);
    for (int it = 0; it < 100; ++it) {
        jacobi_step<<<grid, block>>>(d_u, d_unew, nx, ny);
        std::swap(d_u, d_unew);
    }
    float *d_res;
    CUDA_CHECK(cudaMalloc(&d_res, 64 * sizeof(float)));
    jacobi_inblock<32><<<64, dim3(32, 32)>>>(d_u, d_res, 200);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    return 0;
}
