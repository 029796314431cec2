// Integer operations whose C semantics targets get wrong most often.
__global__ void int_ops(const int *a, const int *b, int *out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int x = a[i], y = b[i];
  out[6 * i + 0] = x / y;               // truncating division
  out[6 * i + 1] = x % y;               // remainder takes the dividend's sign
  out[6 * i + 2] = x >> 3;              // arithmetic shift
  out[6 * i + 3] = (int)((unsigned)x >> 3);
  out[6 * i + 4] = (x & 0xff) ^ (y | 0x10);
  out[6 * i + 5] = min(x, y) + max(x, y);
}

__global__ void uint_ops(const unsigned *a, const unsigned *b, unsigned *out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  unsigned x = a[i], y = b[i];
  out[3 * i + 0] = x / y;
  out[3 * i + 1] = x % y;
  out[3 * i + 2] = (x << 5) + (y >> 2);
}
