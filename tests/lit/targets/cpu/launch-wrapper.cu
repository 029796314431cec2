// RUN: xpuc compile %S/../../../../examples/saxpy.cu --emit llvm | filecheck %s

// The kernel is one thread block; the launch wrapper runs a range of blocks.
// CHECK-DAG: define void @saxpy(i32 {{.*}}, float {{.*}}, ptr {{.*}}, ptr {{.*}}, i64 {{.*}}, i64
// CHECK-DAG: define void @__xpuc_launch_saxpy(ptr {{.*}}, i64 {{.*}}, i64 {{.*}}, i64
// The thread loop is vectorized at -O3.
// CHECK-DAG: <{{[0-9]+}} x float>
