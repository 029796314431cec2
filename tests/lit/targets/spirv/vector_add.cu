// RUN: xpuc compile %S/../../../../examples/vector_add.cu --target spirv --emit llvm | filecheck %s --check-prefix=LL
// RUN: xpuc compile %S/../../../../examples/vector_add.cu --target spirv --emit asm | filecheck %s

// LL: target triple = "spirv64v1.2-unknown-unknown"
// LL-LABEL: define spir_kernel void @vector_add(
// LL-SAME:    ptr addrspace(1) {{.*}}, ptr addrspace(1) {{.*}}, ptr addrspace(1) {{.*}}, i32
// LL:       call {{.*}}@_Z12get_group_idj(i32 0)
// LL:       call {{.*}}@_Z14get_local_sizej(i32 0)
// LL:       call {{.*}}@_Z12get_local_idj(i32 0)
// LL:       load float, ptr addrspace(1)
// LL:       fadd float

// CHECK:     OpCapability Kernel
// CHECK:     OpMemoryModel Physical64 OpenCL
// CHECK:     OpEntryPoint Kernel %[[K:[^ ]+]] "vector_add"
// CHECK-DAG: OpDecorate %[[GID:[^ ]+]] BuiltIn WorkgroupId
// CHECK-DAG: OpDecorate %[[LID:[^ ]+]] BuiltIn LocalInvocationId
// CHECK-DAG: OpDecorate %[[SIZE:[^ ]+]] BuiltIn WorkgroupSize
// CHECK:     %[[K]] = OpFunction
// CHECK:     OpLoad %{{[^ ]+}} %[[GID]]
// CHECK:     OpFAdd
// CHECK:     OpStore
