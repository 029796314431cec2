// REQUIRES: spirv-val
// RUN: xpuc compile %s --target spirv --emit asm | filecheck %s
// RUN: xpuc compile %s --target spirv --emit bin -o %t.spv
// RUN: spirv-val --target-env spv1.3 %t.spv
// RUN: not xpuc compile %s --target spirv:1.2 --emit bin -o %t12.spv 2>&1 | filecheck %s --check-prefix=ERR

// Warp operations need SPIR-V 1.3 (GroupNonUniform*) and 32-lane sub-groups.
// CHECK: OpCapability GroupNonUniformShuffle
// CHECK: OpCapability GroupNonUniformBallot
// CHECK: OpCapability GroupNonUniformVote
// CHECK: OpCapability SubgroupDispatch
// CHECK: OpEntryPoint Kernel %[[K:[^ ]+]] "warp"
// CHECK: OpExecutionMode %[[K]] SubgroupSize 32
// CHECK: BuiltIn SubgroupLocalInvocationId
// CHECK: OpGroupNonUniformShuffle
// CHECK: OpGroupNonUniformBallot
// CHECK: OpGroupNonUniformAny
// CHECK: OpGroupNonUniformAll

// ERR: error: warp shuffles and votes need SPIR-V 1.3

__global__ void warp(const float *x, float *out, unsigned *votes) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  float v = x[i];
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  out[i] = v;
  votes[i] = __ballot_sync(0xffffffffu, v > 0) + __any_sync(0xffffffffu, v > 1)
             + __all_sync(0xffffffffu, v > 2);
}
