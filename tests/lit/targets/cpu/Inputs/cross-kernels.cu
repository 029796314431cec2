// Kernels the cross-target lit tests compile: a vectorizable one and one with a
// barrier (a block of two thread loops).

__global__ void scale(float *x, float a) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    x[i] = a * x[i];
}

__global__ void reverse(float *d) {
    __shared__ float s[256];
    int t = threadIdx.x;
    s[t] = d[t];
    __syncthreads();
    d[t] = s[blockDim.x - 1 - t];
}
