// RUN: xpuc compile %s --emit llvm -O0 | filecheck %s
// RUN: xpuc compile %s --emit llvm | filecheck %s --check-prefix=OPT

// The loop over a block's x threads is a parallel loop: its loads and stores are one
// access group, and its latch carries llvm.loop.parallel_accesses.  So LLVM vectorizes
// it without checking at run time whether a and b overlap.
__global__ void blur(const float *a, float *b, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i > 0 && i < n - 1) b[i] = (a[i - 1] + a[i] + a[i + 1]) / 3.0f;
}

// CHECK: load float, {{.*}} !llvm.access.group ![[G:[0-9]+]]
// CHECK: store float {{.*}} !llvm.access.group ![[G]]
// CHECK: br label {{.*}} !llvm.loop ![[L:[0-9]+]]
// CHECK-DAG: ![[G]] = distinct !{}
// CHECK-DAG: ![[L]] = distinct !{![[L]], ![[P:[0-9]+]]}
// CHECK-DAG: ![[P]] = !{!"llvm.loop.parallel_accesses", ![[G]]}

// OPT: define void @blur(
// OPT-NOT: vector.memcheck
// OPT: <{{[0-9]+}} x float>
// OPT-LABEL: define void @__xpuc_launch_blur(
