// RUN: xpuc-opt %s -p convert-scf-to-cf | filecheck %s

// scf.while (which xDSL's own pass does not lower) with an scf.if nested inside.
// CHECK-LABEL: func.func @count
func.func @count(%n: i32, %flag: i1) -> i32 {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %r = scf.while (%i = %c0) : (i32) -> i32 {
    %go = arith.cmpi slt, %i, %n : i32
    scf.condition(%go) %i : i32
  } do {
  ^bb0(%j: i32):
    %next = scf.if %flag -> (i32) {
      %k = arith.addi %j, %c1 : i32
      scf.yield %k : i32
    } else {
      scf.yield %n : i32
    }
    scf.yield %next : i32
  }
  func.return %r : i32
}
// CHECK:        cf.br ^[[HEAD:.*]](%{{.*}} : i32)
// CHECK:      ^[[HEAD]](%[[I:.*]]: i32):
// CHECK:        %[[GO:.*]] = arith.cmpi slt, %[[I]]
// CHECK:        cf.cond_br %[[GO]], ^[[BODY:.*]](%[[I]] : i32), ^[[EXIT:.*]](%[[I]] : i32)
// CHECK:      ^[[BODY]](%{{.*}}: i32):
// CHECK:        cf.cond_br %{{.*}}, ^{{.*}}, ^{{.*}}
// CHECK:        cf.br ^[[HEAD]]
// CHECK:      ^[[EXIT]](%[[R:.*]]: i32):
// CHECK:        func.return %[[R]] : i32
// CHECK-NOT:  scf.

// A thread loop marked xpu.parallel: its latch gets xpu.parallel_loop and its accesses
// (also under an scf.if) xpu.access_group, with the same number.
// CHECK-LABEL: func.func @threads
func.func @threads(%a: memref<?xf32>, %n: index, %c: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %t = %c0 to %n step %c1 {
    %v = memref.load %a[%t] : memref<?xf32>
    scf.if %c {
      memref.store %v, %a[%t] : memref<?xf32>
    }
  } {xpu.parallel}
  func.return
}
// CHECK:        memref.load %{{.*}}[%{{.*}}] {xpu.access_group = [[G:[0-9]+]] : i64}
// CHECK:        memref.store %{{.*}}, %{{.*}}[%{{.*}}] {xpu.access_group = [[G]] : i64}
// CHECK:        cf.br ^{{.*}}(%{{.*}} : index) {xpu.parallel_loop = [[G]] : i64}
