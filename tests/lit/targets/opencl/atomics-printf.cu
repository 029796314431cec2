// RUN: xpuc compile %s --target opencl --emit asm -o - | filecheck %s

// Integer atomics are OpenCL built-ins (64-bit ones need cl_khr_int64_*_atomics);
// float atomics are compare-and-swap loops.  printf's %lld is OpenCL's %ld.

__global__ void k(int *i, float *f, unsigned long long *c, long long *m) {
    atomicAdd(&i[0], 1);
    atomicMax(&i[1], (int)threadIdx.x);
    atomicAdd(f, 0.5f);
    atomicCAS(c, 0ull, 1ull);
    atomicMin(m, -1ll);
    printf("thread %d of %lld: %f\n", threadIdx.x, (long long)blockDim.x, f[0]);
}

// CHECK: "extensions":["cl_khr_fp64","cl_khr_int64_base_atomics","cl_khr_int64_extended_atomics"]
// CHECK: #pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable
// CHECK: float xpuc_atomic0_float_global(volatile __global float *p, float v) {
// CHECK: atomic_cmpxchg(q, seen, as_uint((float)(as_float(seen) + v)))
// CHECK-LABEL: __kernel void k_k(
// CHECK: (uint)atomic_add((volatile __global uint *)&{{v[0-9]+}}[{{v[0-9]+}}], (uint)1u);
// CHECK: (uint)atomic_max((volatile __global int *)&{{v[0-9]+}}[{{v[0-9]+}}], (int){{v[0-9]+}});
// CHECK: xpuc_atomic0_float_global(&{{v[0-9]+}}[0ul], 0.5f);
// CHECK: atom_cmpxchg((volatile __global ulong *)&{{v[0-9]+}}[0ul], 0ul, 1ul);
// CHECK: (ulong)atom_min((volatile __global long *)&{{v[0-9]+}}[0ul], (long)0xfffffffffffffffful);
// CHECK: printf("thread %d of %ld: %f\n", {{v[0-9]+}}, {{v[0-9]+}}, {{v[0-9]+}});
