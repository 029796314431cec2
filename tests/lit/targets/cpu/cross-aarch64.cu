// RUN: xpuc compile %S/Inputs/cross-kernels.cu --target cpu:aarch64 --emit asm | filecheck %s
// RUN: xpuc compile %S/Inputs/cross-kernels.cu --target cpu:kunpeng920 --emit asm | filecheck %s
// RUN: xpuc compile %S/Inputs/cross-kernels.cu --target cpu:phytium --emit asm | filecheck %s
// RUN: xpuc compile %S/Inputs/cross-kernels.cu --target cpu:kunpeng920 --emit llvm | filecheck %s --check-prefix=LL

// Cross-compiled for AArch64: the thread loop becomes NEON code, each kernel gets
// its launch wrapper (which calls it: kernels are not inlined there), and a barrier
// splits the block into loops as on the host.

// (the kernels: Inputs/cross-kernels.cu)

// CHECK-LABEL: {{^}}scale:
// CHECK: fmul v{{[0-9]+}}.4s, v{{[0-9]+}}.4s, v{{[0-9]+}}.s[0]
// CHECK-LABEL: {{^}}reverse:
// CHECK: .globl __xpuc_launch_scale
// CHECK-LABEL: {{^}}__xpuc_launch_scale:
// CHECK: bl scale
// CHECK: .globl __xpuc_launch_reverse
// CHECK-LABEL: {{^}}__xpuc_launch_reverse:

// LL: target triple = "aarch64-unknown-linux-gnu"
// LL: define void @__xpuc_launch_scale(ptr
