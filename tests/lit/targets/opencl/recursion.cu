// RUN: not xpuc compile %s --target opencl --emit asm -o - 2>&1 | filecheck %s

// OpenCL C forbids recursion: said so, naming the function.
__device__ int fact(int n) { return n <= 1 ? 1 : n * fact(n - 1); }
__global__ void k(int *o) { o[threadIdx.x] = fact(threadIdx.x); }

// CHECK: xpuc: error: OpenCL C has no recursion: @fact calls itself
// CHECK-NOT: Traceback
