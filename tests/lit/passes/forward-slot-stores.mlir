// RUN: xpuc-opt %s -p forward-slot-stores | filecheck %s

// Loads of one-element slots read the value stored last on every path; a slot whose
// loads all go away disappears with its stores.  A store in a branch, a loop that
// stores (the previous iteration's value) and an escaping slot keep their loads.
builtin.module {
  func.func @f(%n: i32, %p: memref<?xi32>, %c: i1) {
    %c0 = arith.constant 0 : index
    %one = arith.constant 1 : i32
    %a = memref.alloca() : memref<1xi32>
    %b = memref.alloca() : memref<1xi32>
    %e = memref.alloca() : memref<1xi32>
    %d = memref.alloca() : memref<1xi32>
    memref.store %n, %d[%c0] : memref<1xi32>
    %dv = memref.load %d[%c0] : memref<1xi32>
    memref.store %dv, %p[%c0] : memref<?xi32>
    memref.store %n, %a[%c0] : memref<1xi32>
    memref.store %n, %b[%c0] : memref<1xi32>
    scf.if %c {
      %x = memref.load %a[%c0] : memref<1xi32>
      memref.store %x, %p[%c0] : memref<?xi32>
      memref.store %one, %b[%c0] : memref<1xi32>
    }
    %y = memref.load %b[%c0] : memref<1xi32>
    memref.store %y, %p[%c0] : memref<?xi32>
    %lb = arith.constant 0 : index
    %ub = arith.constant 4 : index
    %st = arith.constant 1 : index
    memref.store %n, %e[%c0] : memref<1xi32>
    scf.for %i = %lb to %ub step %st {
      %z = memref.load %e[%c0] : memref<1xi32>
      %z1 = arith.addi %z, %one : i32
      memref.store %z1, %e[%c0] : memref<1xi32>
      %w = memref.load %e[%c0] : memref<1xi32>
      memref.store %w, %p[%i] : memref<?xi32>
    }
    %view = "memref.cast"(%a) : (memref<1xi32>) -> memref<?xi32>
    func.return
  }
}

// %a escapes through the cast: it stays, with its loads.
// CHECK:      func.func @f(%[[N:.*]]: i32, %[[P:.*]]: memref<?xi32>, %[[C:.*]]: i1)
// CHECK:        %[[A:.*]] = memref.alloca() : memref<1xi32>
// CHECK-NEXT:   %[[B:.*]] = memref.alloca() : memref<1xi32>
// CHECK-NEXT:   %[[E:.*]] = memref.alloca() : memref<1xi32>
// %d is read once, right after its store: the slot is gone.
// CHECK-NOT:    memref.alloca
// CHECK-NEXT:   memref.store %[[N]], %[[P]][%{{.*}}] : memref<?xi32>
// CHECK:        scf.if %[[C]] {
// CHECK-NEXT:     %[[X:.*]] = memref.load %[[A]]
// b is stored in the branch: its load after the if stays.
// CHECK:        memref.load %[[B]]
// Inside the loop: the first load is the previous iteration's value, the second the
// value just stored.
// CHECK:        scf.for
// CHECK-NEXT:     %[[Z:.*]] = memref.load %[[E]]
// CHECK-NEXT:     %[[Z1:.*]] = arith.addi %[[Z]]
// CHECK-NEXT:     memref.store %[[Z1]], %[[E]]
// CHECK-NEXT:     memref.store %[[Z1]], %[[P]]
