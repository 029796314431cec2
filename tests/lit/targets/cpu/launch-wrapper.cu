// RUN: xpuc compile %S/../../../../examples/saxpy.cu --emit llvm | filecheck %s

// The kernel is one thread block; the launch wrapper takes chunks of blocks from a
// shared counter (params, counter, end, chunk, grid xyz, block xyz, shared memory).
// CHECK-DAG: define void @saxpy(i32 {{.*}}, float {{.*}}, ptr {{.*}}, ptr {{.*}}, i64 {{.*}}, i64
// CHECK-DAG: define void @__xpuc_launch_saxpy(ptr {{.*}}, ptr {{.*}}, i64 {{.*}}, i64
// CHECK-DAG: atomicrmw add ptr {{.*}} monotonic
// The thread loop is vectorized at -O3.
// CHECK-DAG: <{{[0-9]+}} x float>
