// Sparse matrix-vector multiply y = A*x, CSR format: scalar (thread per row),
// vector (warp per row, shuffles), and a templated sub-warp variant.
#include <cstdio>
#include <vector>
#include <cuda_runtime.h>
#include "common.h"

typedef float real_t;

__global__ void spmv_csr_scalar(int num_rows, const int *__restrict__ row_ptr,
                                const int *__restrict__ col_idx, const real_t *__restrict__ vals,
                                const real_t *__restrict__ x, real_t *__restrict__ y)
{
    int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row < num_rows) {
        real_t dot = 0;
        int row_start = row_ptr[row];
        int row_end = row_ptr[row + 1];
        for (int jj = row_start; jj < row_end; jj++)
            dot += vals[jj] * __ldg(&x[col_idx[jj]]);
        y[row] = dot;
    }
}

__inline__ __device__ real_t warpReduceSum(real_t val)
{
    for (int offset = warpSize / 2; offset > 0; offset /= 2)
        val += __shfl_down_sync(0xffffffff, val, offset);
    return val;
}

__global__ void spmv_csr_vector(int num_rows, const int *row_ptr, const int *col_idx,
                                const real_t *vals, const real_t *x, real_t *y)
{
    const int thread_id = blockIdx.x * blockDim.x + threadIdx.x;
    const int warp_id = thread_id / 32;
    const int lane = thread_id & 31;
    const int row = warp_id;
    if (row < num_rows) {           // whole warp takes the same branch
        real_t sum = 0;
        for (int jj = row_ptr[row] + lane; jj < row_ptr[row + 1]; jj += 32)
            sum += vals[jj] * x[col_idx[jj]];
        sum = warpReduceSum(sum);
        if (lane == 0) y[row] = sum;
    }
}

// THREADS_PER_ROW lanes cooperate on a row; y = alpha*A*x + beta*y
template <unsigned THREADS_PER_ROW>
__global__ void spmv_csr_subwarp(int num_rows, const int *row_ptr, const int *col_idx,
                                 const double *vals, const double *x, double *y,
                                 double alpha, double beta)
{
    const unsigned lane = threadIdx.x % THREADS_PER_ROW;
    const int rows_per_block = blockDim.x / THREADS_PER_ROW;
    const int row = blockIdx.x * rows_per_block + threadIdx.x / THREADS_PER_ROW;
    double sum = 0.0;
    if (row < num_rows) {
        const int start = row_ptr[row], end = row_ptr[row + 1];
        for (int jj = start + lane; jj < end; jj += THREADS_PER_ROW)
            sum += vals[jj] * x[col_idx[jj]];
    }
#pragma unroll
    for (unsigned off = THREADS_PER_ROW / 2; off > 0; off >>= 1)
        sum += __shfl_down_sync(0xffffffffu, sum, off, THREADS_PER_ROW);
    if (row < num_rows && lane == 0)
        y[row] = alpha * sum + beta * y[row];
}

struct CsrMatrix {
    int rows, cols, nnz;
    std::vector<int> ptr, idx;
    std::vector<float> val;
};

static CsrMatrix make_laplacian_1d(int n)
{
    CsrMatrix m; m.rows = m.cols = n; m.ptr.push_back(0);
    for (int i = 0; i < n; ++i) {
        if (i > 0) { m.idx.push_back(i - 1); m.val.push_back(-1.f); }
        m.idx.push_back(i); m.val.push_back(2.f);
        if (i < n - 1) { m.idx.push_back(i + 1); m.val.push_back(-1.f); }
        m.ptr.push_back((int)m.idx.size());
    }
    m.nnz = (int)m.idx.size();
    return m;
}

int main()
{
    CsrMatrix A = make_laplacian_1d(1 << 16);
    int *d_ptr, *d_idx; float *d_val, *d_x, *d_y;
    CUDA_CHECK(cudaMalloc(&d_ptr, (A.rows + 1) * sizeof(int)));
    CUDA_CHECK(cudaMalloc(&d_idx, A.nnz * sizeof(int)));
    CUDA_CHECK(cudaMalloc(&d_val, A.nnz * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&d_x, A.cols * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&d_y, A.rows * sizeof(float)));
    CUDA_CHECK(cudaMemcpy(d_ptr, A.ptr.data(), (A.rows + 1) * sizeof(int), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(d_idx, A.idx.data(), A.nnz * sizeof(int), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(d_val, A.val.data(), A.nnz * sizeof(float), cudaMemcpyHostToDevice));
    const int bs = 256;
    spmv_csr_scalar<<<(A.rows + bs - 1) / bs, bs>>>(A.rows, d_ptr, d_idx, d_val, d_x, d_y);
    spmv_csr_vector<<<(A.rows * 32 + bs - 1) / bs, bs>>>(A.rows, d_ptr, d_idx, d_val, d_x, d_y);
    double *dd_val, *dd_x, *dd_y;
    CUDA_CHECK(cudaMalloc(&dd_val, A.nnz * sizeof(double)));
    CUDA_CHECK(cudaMalloc(&dd_x, A.cols * sizeof(double)));
    CUDA_CHECK(cudaMalloc(&dd_y, A.rows * sizeof(double)));
    spmv_csr_subwarp<4><<<(A.rows * 4 + bs - 1) / bs, bs>>>(A.rows, d_ptr, d_idx, dd_val, dd_x, dd_y, 2.0, 0.5);
    spmv_csr_subwarp<8><<<(A.rows * 8 + bs - 1) / bs, bs>>>(A.rows, d_ptr, d_idx, dd_val, dd_x, dd_y, 1.0, 0.0);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    return 0;
}
