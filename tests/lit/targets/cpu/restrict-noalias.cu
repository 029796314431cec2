// RUN: xpuc compile %s --emit llvm | filecheck %s
// RUN: xpuc compile %s --target nvptx:sm_90 --emit llvm | filecheck %s --check-prefix=PTX

// __restrict__ pointer parameters (and only they) are noalias in LLVM IR, on every
// target: CUDA promises their memory is reached through them alone.
__global__ void k(const float *__restrict__ a, float *__restrict b, float *c, int n) {
    int i = threadIdx.x;
    for (int q = 0; q < n; q++) b[i] += a[q] * c[i];
}

// CHECK: define void @k(ptr noalias {{[^,]*}}, ptr noalias {{[^,]*}}, ptr {{[a-z() ]*}}%{{[^,]*}}, i32
// PTX: define ptx_kernel void @k(ptr noalias {{[^,]*}}, ptr noalias {{[^,]*}}, ptr {{[a-z() ]*}}%{{[^,]*}}, i32
