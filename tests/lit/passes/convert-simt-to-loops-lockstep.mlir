// RUN: xpuc-opt %s -p convert-simt-to-loops | filecheck %s

// A loop with uniform bounds runs once for the block, with the thread loop inside it
// (lockstep); j = block_id * block_dim + thread_id is recomputed in that thread loop,
// not kept per thread.  A loop whose bounds depend on the thread, and one holding an
// atomic, stay inside a thread loop; so does one where each thread walks a row of its
// own (a[tx * 64 + r]): in lockstep the threads would touch 64 floats apart each step.
builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (i32, memref<?xf32>, memref<?xf32>, memref<?xi32>) -> (), kernel}> ({
    ^bb0(%n: i32, %a: memref<?xf32>, %b: memref<?xf32>, %h: memref<?xi32>):
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %tx = "gpu.thread_id"() <{dimension = #gpu<dim x>}> : () -> index
      %bx = "gpu.block_id"() <{dimension = #gpu<dim x>}> : () -> index
      %bd = "gpu.block_dim"() <{dimension = #gpu<dim x>}> : () -> index
      %base = arith.muli %bx, %bd : index
      %j = arith.addi %base, %tx : index
      %ub = arith.index_cast %n : i32 to index
      scf.for %k = %c0 to %ub step %c1 {
        %v = memref.load %a[%k] : memref<?xf32>
        %w = memref.load %b[%j] : memref<?xf32>
        %s = arith.addf %v, %w : f32
        memref.store %s, %b[%j] : memref<?xf32>
      }
      scf.for %m = %c0 to %tx step %c1 {
        %v = memref.load %a[%m] : memref<?xf32>
        memref.store %v, %b[%j] : memref<?xf32>
      }
      %c64 = arith.constant 64 : index
      %row = arith.muli %tx, %c64 : index
      scf.for %r = %c0 to %ub step %c1 {
        %at = arith.addi %row, %r : index
        %v = memref.load %a[%at] : memref<?xf32>
        memref.store %v, %b[%j] : memref<?xf32>
      }
      %one = arith.constant 1 : i32
      scf.for %q = %c0 to %ub step %c1 {
        %old = "memref.atomic_rmw"(%one, %h, %q) <{kind = 1 : i64}> : (i32, memref<?xi32>, index) -> i32
      }
      "gpu.return"() : () -> ()
    }) {sym_name = "k"} : () -> ()
  }) : () -> ()
}

// CHECK:      func.func @k(%[[N:[^ ,:)]+]]: i32, %[[A:[^ ,:)]+]]: memref<?xf32>, %[[B:[^ ,:)]+]]: memref<?xf32>, %{{[^ ,:]+}}: memref<?xi32>, %[[BX:[^ ,:)]+]]: index, %{{[^ ,:]+}}: index, %{{[^ ,:]+}}: index, %{{[^ ,:]+}}: index, %{{[^ ,:]+}}: index, %{{[^ ,:]+}}: index, %[[BD:[^ ,:)]+]]: index,
// The bound is computed once, outside the thread loops.
// CHECK:        %[[UB:[^ ,:)]+]] = arith.index_cast %[[N]] : i32 to index
// CHECK:        scf.for %[[K:[^ ,:)]+]] = %{{.*}} to %[[UB]] step %{{.*}} {
// CHECK-NEXT:     scf.for
// CHECK-NEXT:       scf.for
// CHECK-NEXT:         scf.for %[[TX:[^ ,:)]+]] = %{{.*}} to %[[BD]] step
// CHECK:                memref.load %[[A]][%[[K]]]
// CHECK:                %[[BASE:[^ ,:)]+]] = arith.muli %[[BX]], %[[BD]] : index
// CHECK-NEXT:           %[[J:[^ ,:)]+]] = arith.addi %[[BASE]], %[[TX]] : index
// CHECK-NEXT:           memref.load %[[B]][%[[J]]]
// The thread-dependent loop and the atomic loop are inside one thread loop nest.
// CHECK:        scf.for
// CHECK-NEXT:     scf.for
// CHECK-NEXT:       scf.for %[[TX2:[^ ,:)]+]] = %{{.*}} to %[[BD]] step
// CHECK:              scf.for %{{.*}} = %{{.*}} to %[[TX2]] step
// CHECK:              scf.for %[[R:[^ ]+]] = %{{.*}} to %[[UB]] step
// CHECK:                arith.addi %{{[^ ]+}}, %[[R]] : index
// CHECK:              scf.for %{{.*}} = %{{.*}} to %[[UB]] step
// CHECK-NEXT:           "memref.atomic_rmw"
