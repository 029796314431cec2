// RUN: xpuc compile %s --emit mlir -O0 | filecheck %s

// A counted `for` becomes scf.for over index, the counter stored at the top of each
// iteration; loops that assign the counter or their bound in the body, or leave with
// break, stay scf.while.
__global__ void k(float *a, int n, int m) {
    for (int i = 0; i < n; i++) a[i] += 1.0f;
    for (int j = 1; j <= n; j += 4) a[j] = 0;
    for (int p = 0; p < n; p++) { a[p] = 1; p += a[p] > 0; }
    for (int q = 0; q < m; q++) { m--; }
    for (int r = 0; r < n; r++) { if (a[r] < 0) break; }
}

// CHECK:      %[[N:.*]] = memref.load
// CHECK:      scf.for %[[I:[^ ]+]] = %{{[^ ]+}} to %{{[^ ]+}} step %{{[^ ]+}} {
// CHECK-NEXT:   %[[I32:.*]] = arith.index_cast %[[I]] : index to i32
// CHECK-NEXT:   memref.store %[[I32]]
// `j <= n`: one more; step 4.
// CHECK:      %[[ONE:[^ ]+]] = arith.constant 1 : index
// CHECK-NEXT: %[[UB1:[^ ]+]] = arith.addi %{{[^ ]+}}, %[[ONE]] : index
// CHECK-NEXT: %[[FOUR:.*]] = arith.constant 4 : index
// CHECK-NEXT: scf.for %{{[^ ]+}} = %{{[^ ]+}} to %[[UB1]] step %[[FOUR]] {
// CHECK:      scf.while
// CHECK:      scf.while
// CHECK:      scf.while
// CHECK-NOT:  scf.for
