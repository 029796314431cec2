// Block reduction through shared memory and barriers; one partial sum per block.
__global__ void block_sum(const float *x, float *partial, int n) {
  __shared__ float s[256];
  int t = threadIdx.x;
  int i = blockIdx.x * blockDim.x * 2 + t;
  float v = 0.0f;
  if (i < n) v += x[i];
  if (i + blockDim.x < n) v += x[i + blockDim.x];
  s[t] = v;
  __syncthreads();
  for (int k = blockDim.x / 2; k > 0; k >>= 1) {
    if (t < k) s[t] += s[t + k];
    __syncthreads();
  }
  if (t == 0) partial[blockIdx.x] = s[0];
}

// The same with the block size chosen at launch: dynamic shared memory.
__global__ void block_max_dynamic(const int *x, int *partial, int n) {
  extern __shared__ int d[];
  int t = threadIdx.x;
  int i = blockIdx.x * blockDim.x + t;
  d[t] = i < n ? x[i] : -2147483647 - 1;
  __syncthreads();
  for (int k = blockDim.x / 2; k > 0; k >>= 1) {
    if (t < k) d[t] = max(d[t], d[t + k]);
    __syncthreads();
  }
  if (t == 0) partial[blockIdx.x] = d[0];
}
