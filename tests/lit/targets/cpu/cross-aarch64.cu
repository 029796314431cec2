// RUN: xpuc compile %s --target cpu:aarch64 --emit asm | filecheck %s
// RUN: xpuc compile %s --target cpu:kunpeng920 --emit asm | filecheck %s
// RUN: xpuc compile %s --target cpu:phytium --emit asm | filecheck %s
// RUN: xpuc compile %s --target cpu:kunpeng920 --emit llvm | filecheck %s --check-prefix=LL

// Cross-compiled for AArch64: the thread loop becomes NEON code, each kernel gets
// its launch wrapper, and a barrier splits the block into loops as on the host.

__global__ void scale(float *x, float a) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    x[i] = a * x[i];
}

__global__ void reverse(float *d) {
    __shared__ float s[256];
    int t = threadIdx.x;
    s[t] = d[t];
    __syncthreads();
    d[t] = s[blockDim.x - 1 - t];
}

// CHECK-LABEL: {{^}}scale:
// CHECK: fmul v{{[0-9]+}}.4s, v{{[0-9]+}}.4s, v{{[0-9]+}}.s[0]
// CHECK-LABEL: {{^}}reverse:
// CHECK: .globl __xpuc_launch_scale
// CHECK-LABEL: {{^}}__xpuc_launch_scale:
// CHECK: fmul v{{[0-9]+}}.4s
// CHECK: .globl __xpuc_launch_reverse
// CHECK-LABEL: {{^}}__xpuc_launch_reverse:

// LL: target triple = "aarch64-unknown-linux-gnu"
// LL: define void @__xpuc_launch_scale(ptr
