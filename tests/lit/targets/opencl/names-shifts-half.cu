// RUN: xpuc compile %s --target opencl --emit asm -o - | filecheck %s

// Printed names are prefixed by kind (k_ kernels, f_ device functions), so none is an
// OpenCL C built-in; two that would meet are numbered.  Shifts by the width or more
// clamp as PTX does (C masks the amount).  __shared__ half arrays are ushort storage.
#include <cuda_fp16.h>

__device__ float g(const float *p) { return p[0]; }
__device__ float g_l(const float *p) { return p[1]; }

__global__ void erfc(float *a, unsigned *u, int *s, int n) {
    __shared__ float t[32];
    __shared__ __half h[32];
    t[threadIdx.x] = a[threadIdx.x];
    h[threadIdx.x] = __float2half(a[threadIdx.x]);
    __syncthreads();
    a[threadIdx.x] = g(t) + g(a) + g_l(a) + __half2float(h[31 - threadIdx.x]);
    u[threadIdx.x] = u[threadIdx.x] << n;
    s[threadIdx.x] = s[threadIdx.x] >> n;
}

// CHECK: "erfc":{"symbol":"k_erfc","mode":"simt","extra":[]}
// CHECK-DAG: float f_g_l(__local float *{{v[0-9]+}}, ulong {{v[0-9]+}});
// CHECK-DAG: float f_g(__global float *{{v[0-9]+}}, ulong {{v[0-9]+}});
// CHECK-DAG: float f_g_l_2(__global float *{{v[0-9]+}}, ulong {{v[0-9]+}});
// CHECK-LABEL: __kernel void k_erfc(
// CHECK: __local ushort [[S:hs_[A-Za-z_]+]][32] __attribute__((aligned(16)));
// CHECK-NEXT: __local half *[[H:s_[A-Za-z_]+]] = (__local half *)[[S]];
// CHECK: vstore_half_rte({{v[0-9]+}}, {{v[0-9]+}}, [[H]]);
// CHECK: = [[N:v[0-9]+]] > 31u ? 0u : {{v[0-9]+}} << [[N]];
// CHECK: = (uint)((int){{v[0-9]+}} >> ([[N]] < 31u ? [[N]] : 31u));
