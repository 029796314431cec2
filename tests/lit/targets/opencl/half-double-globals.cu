// RUN: xpuc compile %s --target opencl --emit asm -o - | filecheck %s

// half is stored as half and computed in float, rounded after every operation;
// double enables cl_khr_fp64; __device__ and __constant__ variables live in one
// __global buffer the runtime passes (OpenCL C 1.2 has no writable program-scope ones).
#include <cuda_fp16.h>

__device__ int counter;
__constant__ float coeffs[4] = {1.0f, 2.0f, 3.0f, 4.0f};

__global__ void k(const __half *h, __half *o, double *d) {
    int i = threadIdx.x;
    o[i] = h[i] + h[i];
    d[i] = d[i] * coeffs[i % 4];
    atomicAdd(&counter, 1);
}

// CHECK: "globals":{"counter":[0,"i32",1,null],"coeffs":[16,"f32",4,[1.0,2.0,3.0,4.0]]}
// CHECK: #pragma OPENCL EXTENSION cl_khr_fp64 : enable
// CHECK: float xpuc_rh(float x) { return xpuc_u2h(xpuc_h2u(x)); }
// CHECK-LABEL: __kernel void k_k(__global half *{{v[0-9]+}}, __global half *{{v[0-9]+}}, __global double *{{v[0-9]+}}, __global uchar *xpuc_g)
// CHECK: = (__global float *)(xpuc_g + 16);
// CHECK: = (__global uint *)(xpuc_g + 0);
// CHECK: [[H:[^ ]+]] = vload_half({{v[0-9]+}}, {{v[0-9]+}});
// CHECK: [[S:[^ ]+]] = xpuc_rh([[H]] + [[H]]);
// CHECK: vstore_half_rte([[S]], {{v[0-9]+}}, {{v[0-9]+}});
