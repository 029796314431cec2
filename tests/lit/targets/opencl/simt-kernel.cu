// RUN: xpuc compile %s --target opencl --emit asm -o - | filecheck %s

// A kernel without warp operations keeps CUDA's threads: a work-item each, a
// work-group per block.  Integers are unsigned in C; signed operations cast.

__device__ float scale_add(float a, float x, float y) { return a * x + y; }

__global__ void saxpy(int n, float a, const float *__restrict__ x, float *__restrict__ y) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = scale_add(a, x[i], y[i]) / (i % 3 - 7);
}

// CHECK: /* xpuc: {"kernels":{"saxpy":{"symbol":"k_saxpy","mode":"simt","extra":[]}}
// CHECK: #pragma OPENCL FP_CONTRACT OFF
// CHECK: float f_scale_add(float [[A:[^,]+]], float [[X:[^,]+]], float [[Y:[a-z0-9]+]]);
// CHECK-LABEL: float f_scale_add({{[^;]*}}) {
// CHECK: [[M:[^ ]+]] = [[A]] * [[X]];
// CHECK: = [[M]] + [[Y]];
// CHECK-LABEL: // saxpy: a work-item per CUDA thread, a work-group per block
// CHECK-NEXT: __kernel void k_saxpy(uint [[N:[^,]+]], float {{v[0-9]+}}, __global float *restrict {{v[0-9]+}}, __global float *restrict {{v[0-9]+}})
// Variables are declared first (PoCL mishandles block-scoped ones in loops with barriers).
// CHECK: uint
// CHECK: = (ulong)get_group_id(0);
// CHECK: (ulong)get_local_size(0);
// CHECK: (ulong)get_local_id(0);
// CHECK: = (int)[[I:[^ ]+]] < (int)[[N]];
// CHECK: = f_scale_add(
// CHECK: = (uint)((int)[[I]] % (int)3u);
