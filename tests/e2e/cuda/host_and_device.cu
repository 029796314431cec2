#include <cstdio>
#include <vector>
#include <memory>
#include <algorithm>
#include <cuda_runtime.h>
#include <cooperative_groups.h>
namespace cg = cooperative_groups;

#define CHECK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { \
    fprintf(stderr, "%s\n", cudaGetErrorString(e)); exit(1); } } while (0)

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) { CHECK(cudaMalloc(&p_, n * sizeof(T))); }
  ~DeviceBuffer() { cudaFree(p_); }
  T *get() const { return p_; }
 private:
  T *p_ = nullptr;
  size_t n_;
};

struct Config { int n; float alpha; };   // shared by host and device

static inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

__device__ __forceinline__ float axpy(float a, float x, float y) { return a * x + y; }

template <int UNROLL>
__global__ void __launch_bounds__(256) saxpy(Config c, const float *__restrict__ x,
                                              float *__restrict__ y) {
  int base = (blockIdx.x * blockDim.x + threadIdx.x) * UNROLL;
#pragma unroll
  for (int u = 0; u < UNROLL; ++u) {
    int i = base + u;
    if (i < c.n) y[i] = axpy(c.alpha, x[i], y[i]);
  }
}

int main(int argc, char **argv) {
  const int n = 1 << 20;
  std::vector<float> hx(n, 1.0f), hy(n, 2.0f);
  DeviceBuffer<float> dx(n), dy(n);
  auto launch = [&](auto kernel, int unroll) {
    kernel<<<ceil_div(n, 256 * unroll), 256>>>(Config{n, 2.0f}, dx.get(), dy.get());
  };
  saxpy<4><<<ceil_div(n, 1024), 256>>>(Config{n, 2.0f}, dx.get(), dy.get());
  std::sort(hx.begin(), hx.end(), [](float a, float b) { return a > b; });
  printf("%f\n", hy[0]);
  return 0;
}
