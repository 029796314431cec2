// RUN: xpuc compile %S/Inputs/cross-kernels.cu --target cpu:riscv64 --emit asm | filecheck %s --check-prefix=RV
// RUN: xpuc compile %S/Inputs/cross-kernels.cu --target cpu:riscv64v --emit asm | filecheck %s --check-prefix=RVV

// rv64gc has no vector unit: the thread loop stays scalar.  With +v it is
// vectorized with length-agnostic RVV code (vsetvli sets the vector length).

// (the kernels: Inputs/cross-kernels.cu)

// RV: .attribute 5, "rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0_
// RV-NOT: v1p0
// RV-LABEL: {{^}}scale:
// RV-NOT: vsetvli
// RV: fmul.s fa{{[0-9]+}}, fa{{[0-9]+}}, fa{{[0-9]+}}
// RV-NOT: vsetvli
// RV-LABEL: {{^}}reverse:
// RV-NOT: vsetvli
// RV: .globl __xpuc_launch_scale
// RV-LABEL: {{^}}__xpuc_launch_scale:
// RV-NOT: vsetvli
// RV: .globl __xpuc_launch_reverse
// RV-LABEL: {{^}}__xpuc_launch_reverse:
// RV-NOT: vsetvli

// RVV: .attribute 5, "rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0_v1p0_
// RVV-LABEL: {{^}}scale:
// RVV: vsetvli {{.*}}, e32,
// RVV: vfmul.vf v{{[0-9]+}}, v{{[0-9]+}}, fa{{[0-9]+}}
// RVV-LABEL: {{^}}reverse:
// RVV: .globl __xpuc_launch_scale
// RVV-LABEL: {{^}}__xpuc_launch_scale:
// RVV: call scale
// RVV: .globl __xpuc_launch_reverse
// RVV-LABEL: {{^}}__xpuc_launch_reverse:
