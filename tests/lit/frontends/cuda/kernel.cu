// RUN: xpuc compile %s --emit mlir -O0 | filecheck %s
// RUN: xpuc compile %s --emit mlir -O3 | filecheck %s --check-prefix=OPT

#include <cuda_runtime.h>

__device__ float twice(float x) { return 2.0f * x; }

__global__ void k(const float *a, float *b, unsigned n) {
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) b[i] = twice(a[i]);
}

int main() { k<<<1, 1>>>(0, 0, 0); }   // host code: skipped

// CHECK: builtin.module attributes {gpu.container_module}
// CHECK: "gpu.module"() <{sym_name = "kernels"}>
// A device function takes a pointer as base memref plus offset; here only scalars.
// CHECK-LABEL: func.func @twice(%{{.*}}: f32) -> f32
// CHECK:         arith.mulf
// CHECK-LABEL: "gpu.func"() <{function_type = (memref<?xf32>, memref<?xf32>, i32) -> (), kernel}>
// Locals are one-element slots at the entry, indexed by one zero.
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK:         memref.alloca() : memref<1xindex>
// CHECK:         %[[BID:.*]] = "gpu.block_id"() <{dimension = #gpu<dim x>}>
// CHECK-NEXT:    arith.index_castui %[[BID]] : index to i32
// CHECK:         "gpu.thread_id"() <{dimension = #gpu<dim x>}>
// unsigned comparison
// CHECK:         arith.cmpi ult
// CHECK:         scf.if
// CHECK:           func.call @twice
// CHECK:         "gpu.return"
// CHECK:       xpu.arg_types = ["*f32", "*f32", "u32"]
// CHECK-SAME:  xpu.loc = "{{.*}}kernel.cu:8:1"
// CHECK-NOT: sym_name = "main"

// At -O3 the locals are SSA values (forward-slot-stores): no slots are left.
// OPT-LABEL: "gpu.func"
// OPT-NOT: memref.alloca
// OPT: arith.cmpi ult
// OPT: scf.if
