// RUN: xpuc compile %S/Inputs/cross-kernels.cu --target cpu:loongarch64 --emit asm | filecheck %s
// RUN: xpuc compile %S/Inputs/cross-kernels.cu --target cpu:loongarch64 --emit llvm | filecheck %s --check-prefix=LL

// LA464 has 256-bit LASX ($xr) and 128-bit LSX ($vr) vectors: the thread loop uses
// LASX, its remainder LSX, and the last few threads scalar code.

// (the kernels: Inputs/cross-kernels.cu)

// CHECK-LABEL: {{^}}scale:
// CHECK: xvfmul.s $xr{{[0-9]+}}, $xr{{[0-9]+}}, $xr{{[0-9]+}}
// CHECK: vfmul.s $vr{{[0-9]+}}, $vr{{[0-9]+}}, $vr{{[0-9]+}}
// CHECK-LABEL: {{^}}reverse:
// CHECK: .globl __xpuc_launch_scale
// CHECK-LABEL: {{^}}__xpuc_launch_scale:
// CHECK: bl scale
// CHECK: .globl __xpuc_launch_reverse
// CHECK-LABEL: {{^}}__xpuc_launch_reverse:

// LL: target triple = "loongarch64-unknown-linux-gnu"
// LL: define void @__xpuc_launch_reverse(ptr
