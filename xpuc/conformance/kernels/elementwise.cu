// Elementwise arithmetic over every element type xpuc's frontends produce.
#include <cuda_fp16.h>
#include <stdint.h>

#define AXPB(T, NAME)                                                          \
  __global__ void NAME(const T *a, const T *b, T *c, int n) {                  \
    int i = blockIdx.x * blockDim.x + threadIdx.x;                             \
    if (i < n) c[i] = a[i] * (T)3 + b[i] - (T)1;                               \
  }

AXPB(int8_t, axpb_i8)
AXPB(uint8_t, axpb_u8)
AXPB(int16_t, axpb_i16)
AXPB(uint16_t, axpb_u16)
AXPB(int, axpb_i32)
AXPB(unsigned, axpb_u32)
AXPB(long long, axpb_i64)
AXPB(unsigned long long, axpb_u64)
AXPB(float, axpb_f32)
AXPB(double, axpb_f64)

// f16: storage type; arithmetic in f32 as CUDA code without native half ops does it
__global__ void axpb_f16(const __half *a, const __half *b, __half *c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = __float2half(__half2float(a[i]) * 3.0f + __half2float(b[i]) - 1.0f);
}

// bool: a predicate array in memory
__global__ void less_than(const float *a, const float *b, bool *out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = a[i] < b[i];
}
