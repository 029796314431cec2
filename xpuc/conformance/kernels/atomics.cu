// Atomics on global and shared memory.
__global__ void histogram(const int *x, unsigned *bins, int n, int nbins) {
  __shared__ unsigned local[64];
  for (int b = threadIdx.x; b < nbins; b += blockDim.x) local[b] = 0;
  __syncthreads();
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    atomicAdd(&local[x[i] % nbins], 1u);
  __syncthreads();
  for (int b = threadIdx.x; b < nbins; b += blockDim.x) atomicAdd(&bins[b], local[b]);
}

__global__ void atomic_mix(const int *x, int *acc, float *fsum, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  atomicMax(&acc[0], x[i]);
  atomicMin(&acc[1], x[i]);
  atomicAdd(&acc[2], x[i]);
  atomicOr(&acc[3], 1 << (x[i] & 15));
  atomicAdd(fsum, 0.5f);
  int old = atomicCAS(&acc[4], 0, i + 1);  // exactly one thread wins
  if (old == 0) atomicExch(&acc[5], i + 1);
}

// The old value atomicAdd returns: every thread gets a ticket of its own.
__global__ void tickets(unsigned *counter, unsigned *ticket, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) ticket[i] = atomicAdd(counter, 1u);
}
