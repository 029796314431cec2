// Warp-level operations on 32-lane segments (width 32 also on 64-lane wavefronts).
__global__ void warp_sum(const float *x, float *out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  float v = x[i];
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off, 32);
  if ((threadIdx.x & 31) == 0) out[i / 32] = v;
}

__global__ void warp_xor_max(const int *x, int *out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int v = x[i];
  for (int m = 1; m < 32; m <<= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, m, 32));
  out[i] = v;
}

__global__ void warp_broadcast(const double *x, double *out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  out[i] = __shfl_sync(0xffffffffu, x[i], 5, 32) + __shfl_up_sync(0xffffffffu, x[i], 1, 32);
}

__global__ void warp_votes(const int *x, unsigned *ballots, int *flags) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  bool p = x[i] > 0;
  unsigned b = __ballot_sync(0xffffffffu, p);
  int any = __any_sync(0xffffffffu, p), all = __all_sync(0xffffffffu, p);
  if ((threadIdx.x & 31) == 0) {
    ballots[i / 32] = b;
    flags[2 * (i / 32)] = any;
    flags[2 * (i / 32) + 1] = all;
  }
}

// Shuffles within 8-lane segments: each segment of a warp sums on its own.
__global__ void segment_sum(const int *x, int *out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int v = x[i];
  for (int m = 1; m < 8; m <<= 1) v += __shfl_xor_sync(0xffffffffu, v, m, 8);
  out[i] = v;
}
