// Warps are 32 lanes on every chip: wave64 (gfx942) takes the lane's half of the
// wavefront and the 32 ballot bits of that half; wave32 (gfx1100) is one warp a wave.
// RUN: xpuc compile %s --target amdgpu:gfx942 --emit llvm | filecheck %s --check-prefix=W64
// RUN: xpuc compile %s --target amdgpu:gfx1100 --emit llvm | filecheck %s --check-prefix=W32
// RUN: xpuc compile %s --target amdgpu:gfx942 --emit asm | filecheck %s --check-prefix=ISA64
// RUN: xpuc compile %s --target amdgpu:gfx1100 --emit asm | filecheck %s --check-prefix=ISA32

__global__ void warp(int *a, unsigned *b) {
    int v = a[threadIdx.x];
    v += __shfl_xor_sync(0xffffffff, v, 1);
    b[threadIdx.x] = __ballot_sync(0xffffffff, v > 0);
    a[threadIdx.x] = v + warpSize;
}

// W64-LABEL: define amdgpu_kernel void @warp(
// W64: [[LO:%[^ ]+]] = {{.*}}call i32 @llvm.amdgcn.mbcnt.lo(i32 -1, i32 0)
// W64: [[HW:%[^ ]+]] = {{.*}}call i32 @llvm.amdgcn.mbcnt.hi(i32 -1, i32 [[LO]])
// W64: and i32 [[HW]], 32
// W64: call i64 @llvm.amdgcn.ballot.i64(i1 true)
// W64: call i32 @llvm.amdgcn.ds.bpermute(
// W64: call i64 @llvm.amdgcn.ballot.i64(i1 %
// W64: add i32 %{{[^ ]+}}, 32

// W32-LABEL: define amdgpu_kernel void @warp(
// W32-NOT: mbcnt.hi
// W32: call i32 @llvm.amdgcn.mbcnt.lo(i32 -1, i32 0)
// W32-NOT: mbcnt.hi
// W32: call i32 @llvm.amdgcn.ds.bpermute(
// W32: call i32 @llvm.amdgcn.ballot.i32(i1 %
// W32: add i32 %{{[^ ]+}}, 32

// ISA64: .amdgcn_target "amdgcn-amd-amdhsa--gfx942"
// ISA64: v_mbcnt_hi_u32_b32
// ISA64: ds_bpermute_b32
// ISA64: .amdhsa_kernel warp
// ISA64-NOT: .amdhsa_wavefront_size32 1
// ISA64: .end_amdhsa_kernel

// ISA32: .amdgcn_target "amdgcn-amd-amdhsa--gfx1100"
// ISA32: ds_bpermute_b32
// ISA32: .amdhsa_wavefront_size32 1
