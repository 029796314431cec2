// Single-precision a*x + y, with the scale passed as a scalar parameter.
#include <cuda_runtime.h>

__device__ float scale_add(float a, float x, float y) { return a * x + y; }

__global__ void saxpy(int n, float a, const float *__restrict__ x, float *__restrict__ y) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    y[i] = scale_add(a, x[i], y[i]);
}

void host_saxpy(int n, float a, const float *x, float *y) {
    saxpy<<<(n + 255) / 256, 256>>>(n, a, x, y);
}
