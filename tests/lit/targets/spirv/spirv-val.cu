// REQUIRES: spirv-val, spirv-dis
// RUN: xpuc compile %s --target spirv --emit bin -o %t.spv
// RUN: spirv-val --target-env opencl2.2 %t.spv
// RUN: spirv-dis %t.spv | filecheck %s
// RUN: xpuc compile %s --target spirv:1.5 --emit bin -o %t15.spv
// RUN: spirv-val --target-env spv1.5 %t15.spv
// RUN: spirv-dis %t15.spv | filecheck %s --check-prefix=V15

// A block reduction in shared memory with barriers, atomics, math and a dynamic
// shared-memory buffer (a trailing __local parameter).

// CHECK: ; Version: 1.2
// CHECK-DAG: OpExtInstImport "OpenCL.std"
// CHECK-DAG: OpEntryPoint Kernel %{{[^ ]+}} "block_sum"
// CHECK-DAG: OpDecorate %[[SMEM:[^ ]+]] Alignment 16
// CHECK: %[[SMEM]] = OpVariable %{{[^ ]+}} Workgroup
// CHECK-LABEL: %block_sum = OpFunction %void
// CHECK-NEXT:  OpFunctionParameter %_ptr_CrossWorkgroup_float
// CHECK-NEXT:  OpFunctionParameter %_ptr_CrossWorkgroup_float
// CHECK-NEXT:  OpFunctionParameter %uint
// CHECK-NEXT:  OpFunctionParameter %_ptr_Workgroup_{{[a-z]+}}
// CHECK:       OpExtInst %float %{{[^ ]+}} exp
// CHECK:       OpControlBarrier %uint_2 %uint_2 %uint_784
// CHECK:       OpAtomicFAddEXT %float %{{[^ ]+}} %uint_1

// V15: ; Version: 1.5
// V15: OpEntryPoint Kernel

__global__ void block_sum(const float *x, float *total, int n) {
  __shared__ float s[256];
  extern __shared__ float scale[];
  int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
  if (t == 0) scale[0] = 2.0f;
  s[t] = i < n ? expf(x[i]) : 0.0f;
  __syncthreads();
  for (int k = blockDim.x / 2; k > 0; k >>= 1) {
    if (t < k) s[t] += s[t + k];
    __syncthreads();
  }
  if (t == 0) atomicAdd(total, s[0] * scale[0]);
}
