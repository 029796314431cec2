// RUN: xpuc compile %s --target cpu:loongarch64 --emit asm | filecheck %s
// RUN: xpuc compile %s --target cpu:loongarch64 --emit llvm | filecheck %s --check-prefix=LL

// LA464 has 256-bit LASX ($xr) and 128-bit LSX ($vr) vectors: the thread loop uses
// LASX, its remainder LSX, and the last few threads scalar code.

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
// CHECK: xvfmul.s $xr{{[0-9]+}}, $xr{{[0-9]+}}, $xr{{[0-9]+}}
// CHECK: vfmul.s $vr{{[0-9]+}}, $vr{{[0-9]+}}, $vr{{[0-9]+}}
// CHECK-LABEL: {{^}}reverse:
// CHECK: .globl __xpuc_launch_scale
// CHECK-LABEL: {{^}}__xpuc_launch_scale:
// CHECK: xvfmul.s
// CHECK: .globl __xpuc_launch_reverse
// CHECK-LABEL: {{^}}__xpuc_launch_reverse:

// LL: target triple = "loongarch64-unknown-linux-gnu"
// LL: define void @__xpuc_launch_reverse(ptr
