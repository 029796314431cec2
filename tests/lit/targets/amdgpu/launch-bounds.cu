// RUN: xpuc compile %s --target amdgpu:gfx942 --emit llvm -o - | filecheck %s
// __launch_bounds__ narrows the flat work-group size the AMDGPU back end assumes.

// CHECK-LABEL: define amdgpu_kernel void @bounded(
// CHECK-SAME:  #[[B:[0-9]+]]
__global__ void __launch_bounds__(256) bounded(float *x) { x[threadIdx.x] += 1.0f; }

// CHECK-LABEL: define amdgpu_kernel void @unbounded(
// CHECK-SAME:  #[[U:[0-9]+]]
__global__ void unbounded(float *x) { x[threadIdx.x] = 0.0f; }

// CHECK-DAG: attributes #[[B]] = {{.*}}"amdgpu-flat-work-group-size"="1,256"
// CHECK-DAG: attributes #[[U]] = {{.*}}"amdgpu-flat-work-group-size"="1,1024"
