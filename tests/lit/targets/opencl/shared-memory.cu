// RUN: xpuc compile %s --target opencl --emit asm -o - | filecheck %s

// __shared__ arrays are __local arrays of the kernel; device functions that name them
// get them as parameters.  A device function is printed once per address space of
// its pointer arguments.  Dynamic shared memory is a __local argument.

__shared__ float tile[64];

__device__ float get(const float *p, int i) { return p[i]; }
__device__ void put(float v) { tile[threadIdx.x] = v; }

__global__ void k(const float *in, float *out) {
    extern __shared__ float dyn[];
    put(in[threadIdx.x]);
    dyn[threadIdx.x] = 2.0f;
    __syncthreads();
    out[threadIdx.x] = get(tile, 63 - threadIdx.x) + get(in, 0) + dyn[0];
}

// CHECK: "k":{"symbol":"k_k","mode":"simt","extra":["dyn"]}
// CHECK-DAG: float f_get_l(__local float *{{v[0-9]+}}, ulong {{v[0-9]+}}, uint {{v[0-9]+}});
// CHECK-DAG: float f_get(__global float *{{v[0-9]+}}, ulong {{v[0-9]+}}, uint {{v[0-9]+}});
// CHECK-DAG: void f_put(float {{v[0-9]+}}, __local float *s___shared_tile);
// CHECK-LABEL: __kernel void k_k(__global float *{{v[0-9]+}}, __global float *{{v[0-9]+}}, __local uchar *xpuc_dyn)
// CHECK: __local float s___shared_tile[64] __attribute__((aligned(16)));
// CHECK: = (__local float *)((__local uchar *)xpuc_dyn + 0ul);
// CHECK: f_put({{v[0-9]+}}, s___shared_tile);
// CHECK: barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
// CHECK: f_get_l(
// CHECK: f_get(
