// RUN: xpuc compile %S/../../../../examples/vector_add.cu --target amdgpu:gfx90a --emit asm | filecheck %s
// RUN: xpuc compile %S/../../../../examples/vector_add.cu --target amd/mi300x --emit llvm | filecheck %s --check-prefix=LL

// CHECK: .amdgcn_target "amdgcn-amd-amdhsa--gfx90a"
// CHECK: .amdhsa_code_object_version 5
// CHECK-LABEL: vector_add:
// CHECK: s_and_b32 {{s[0-9]+}}, {{s[0-9]+}}, 0xffff
// CHECK: global_load_dword
// CHECK: global_load_dword
// CHECK: v_add_f32
// CHECK: global_store_dword
// CHECK: s_endpgm
// CHECK: .amdhsa_kernel vector_add
// CHECK: .amdhsa_user_sgpr_dispatch_ptr 1
// CHECK: .end_amdhsa_kernel

// LL: target triple = "amdgcn-amd-amdhsa"
// LL-LABEL: define amdgpu_kernel void @vector_add(
// LL: call i32 @llvm.amdgcn.workgroup.id.x()
// LL: [[P:%[^ ]+]] = {{.*}}call ptr addrspace(4) @llvm.amdgcn.dispatch.ptr()
// LL: getelementptr inbounds nuw i8, ptr addrspace(4) [[P]], i64 4
// LL: call i32 @llvm.amdgcn.workitem.id.x()
// LL: load float, ptr addrspace(1)
// LL: attributes #{{[0-9]+}} = {{.*}}"amdgpu-flat-work-group-size"="1,1024"{{.*}}"uniform-work-group-size"="true"
// LL: !{i32 1, !"amdhsa_code_object_version", i32 500}
