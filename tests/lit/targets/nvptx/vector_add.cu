// RUN: xpuc compile %S/../../../../examples/vector_add.cu --target nvptx:sm_90 --emit asm | filecheck %s
// RUN: xpuc compile %S/../../../../examples/vector_add.cu --target nvptx:sm_80 --emit llvm | filecheck %s --check-prefix=LL

// CHECK: .target sm_90
// CHECK: .address_size 64
// CHECK-LABEL: .visible .entry vector_add(
// CHECK: mov.u32 {{.*}}%ctaid.x
// CHECK: mov.u32 {{.*}}%ntid.x
// CHECK: mov.u32 {{.*}}%tid.x
// CHECK: ld.global
// CHECK: add.rn.f32
// CHECK: st.global

// LL: target triple = "nvptx64-nvidia-cuda"
// LL: define ptx_kernel void @vector_add(
// LL: call {{.*}}@llvm.nvvm.read.ptx.sreg.tid.x()
