"""Multi-card programs that launch frontend kernels, with numpy references."""

from __future__ import annotations

import numpy as np

from xpuc.comm.builder import Program

VADD = """
__global__ void vadd(const float *a, const float *b, float *c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}
"""

# One block per row; the block's threads stride over the columns, then reduce in
# shared memory (max, then sum): a kernel that is only right on whole rows.
SOFTMAX = """
#define T 32
__global__ void softmax_rows(const float *x, float *y, int cols) {
  __shared__ float red[T];
  const float *row = x + blockIdx.x * cols;
  float *out = y + blockIdx.x * cols;
  float m = -1e30f;
  for (int j = threadIdx.x; j < cols; j += T) m = fmaxf(m, row[j]);
  red[threadIdx.x] = m;
  __syncthreads();
  for (int s = T / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]);
    __syncthreads();
  }
  m = red[0];
  __syncthreads();
  float sum = 0.0f;
  for (int j = threadIdx.x; j < cols; j += T) sum += expf(row[j] - m);
  red[threadIdx.x] = sum;
  __syncthreads();
  for (int s = T / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  for (int j = threadIdx.x; j < cols; j += T) out[j] = expf(row[j] - m) / red[0];
}
"""

# The row sums of a matrix, one block per row, reduced in dynamic shared memory sized
# at launch (one float per thread): blockDim.x must be a power of two.
ROW_SUM = """
__global__ void row_sum(const float *x, float *out, int cols) {
  extern __shared__ float part[];
  float s = 0.0f;
  for (int j = threadIdx.x; j < cols; j += blockDim.x) s += x[blockIdx.x * cols + j];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int k = blockDim.x / 2; k > 0; k /= 2) {
    if (threadIdx.x < k) part[threadIdx.x] += part[threadIdx.x + k];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = part[0];
}
"""

GELU = """
__global__ void gelu(float *x, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    float v = x[i];
    x[i] = 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v)));
  }
}
"""


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def gelu(x):
    return 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def dp_vadd(n: int, size: int = 1000):
    """z = vadd(x, y) + x on shards of the batch; ``size`` per device, not a multiple
    of the block, so the kernel's bounds check matters."""
    p = Program("dp_vadd", grid=(n,))
    x = p.input("x", (n * size,))
    y = p.input("y", (n * size,))
    k = p.cuda(VADD)
    count = p.local_size(x, split=[0])
    (z,) = p.launch(k, grid=p.cdiv(count, 128), block=128,
                    args=[x, y, p.empty_like(x), count], split=[0])  # fmt: skip
    p.output(p.add(z, x))
    rng = np.random.default_rng(n)
    args = [rand(rng, n * size), rand(rng, n * size)]
    return p.module(), args, [args[0] + args[1] + args[0]]


def softmax_program(n: int, split: bool, rows: int = 8, cols: int = 50):
    """Row softmax of x @ w, x's rows split over the devices: the kernel on the row
    shards, or (``split=False``) on the whole tensor on every device (the default
    layout for a kernel, gathered first)."""
    p = Program("softmax", grid=(n,))
    x = p.input("x", (rows, 16), split=[0])
    w = p.input("w", (16, cols))
    h = p.matmul(x, w)
    k = p.cuda(SOFTMAX)
    layout = [0] if split else None
    blocks = p.local_dim(h, 0, split=layout)
    (y,) = p.launch(k, grid=blocks, block=32, args=[h, p.empty_like(h), cols], split=layout)
    p.output(y)
    rng = np.random.default_rng(3 + n)
    args = [rand(rng, rows, 16), rand(rng, 16, cols)]
    return p.module(), args, [softmax(args[0] @ args[1])]


def tp_mlp_gelu(n: int, m: int = 8, d: int = 16, h: int = 64):
    """A tensor-parallel MLP whose activation is a CUDA kernel run on the column
    shards between the column-parallel and the row-parallel matmul."""
    p = Program("mlp", grid=(n,))
    x = p.input("x", (m, d))
    w1 = p.input("w1", (d, h), split=[None, 0])
    w2 = p.input("w2", (h, d), split=[0])
    k = p.cuda(GELU)
    a = p.matmul(x, w1)
    count = p.local_size(a, split=[None, 0])
    (g,) = p.launch(k, grid=p.cdiv(count, 64), block=64, args=[a, count], split=[None, 0])
    p.output(p.matmul(g, w2))
    rng = np.random.default_rng(7 + n)
    args = [rand(rng, m, d), rand(rng, d, h), rand(rng, h, d)]
    return p.module(), args, [gelu(args[0] @ args[1]) @ args[2]]


def row_sums(n: int, rows: int = 8, cols: int = 40, threads: int = 16):
    """Row sums by a kernel with dynamic shared memory, rows split over the devices."""
    p = Program("row_sums", grid=(n,))
    x = p.input("x", (rows, cols))
    k = p.cuda(ROW_SUM)
    out = p.empty((rows,))
    blocks = p.local_dim(x, 0, split=[0])
    (s,) = p.launch(k, grid=blocks, block=threads, args=[x, out, cols], split=[0],
                    shared=threads * 4)  # fmt: skip
    p.output(s)
    x_np = rand(np.random.default_rng(11 + n), rows, cols)
    return p.module(), [x_np], [x_np.sum(axis=1)]
