// RUN: xpuc compile %s --target nvptx:sm_90 --emit asm -k 'scale<64>' -o - | filecheck %s
// __launch_bounds__ caps the block size: ptxas gets .maxntid, for plain kernels and
// template instances whose bound is a template parameter.

#define BLOCK 128

// CHECK-LABEL: .entry add_one(
// CHECK:       .maxntid 128
__global__ void __launch_bounds__(BLOCK, 2) add_one(float *x) { x[threadIdx.x] += 1.0f; }

// Kernels the host code launches come first, then requested template instances.
// CHECK-LABEL: .entry unbounded(
// CHECK-NOT:   .maxntid
// CHECK:       ret;
__global__ void unbounded(float *x) { x[threadIdx.x] = 0.0f; }

// CHECK-LABEL: .entry scale__64(
// CHECK:       .maxntid 64
template <int N>
__global__ void __launch_bounds__(N) scale(float *x) { x[threadIdx.x] *= N; }
