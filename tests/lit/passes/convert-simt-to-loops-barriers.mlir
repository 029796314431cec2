// RUN: xpuc-opt %s -p convert-simt-to-loops | filecheck %s

// A barrier cuts the thread loop in two; %v is live across it, the slot %s is
// per thread, and the shared array is per block.
builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    "memref.global"() <{sym_name = "__shared_k_t", type = memref<64xf32, 3 : i64>, initial_value, sym_visibility = "private", alignment = 16 : i64}> : () -> ()
    "gpu.func"() <{function_type = (memref<?xf32>) -> (), kernel}> ({
    ^bb0(%a: memref<?xf32>):
      %c0 = arith.constant 0 : index
      %s = memref.alloca() : memref<1xf32>
      %t = memref.get_global @__shared_k_t : memref<64xf32, 3 : i64>
      %tx = "gpu.thread_id"() <{dimension = #gpu<dim x>}> : () -> index
      %v = memref.load %a[%tx] : memref<?xf32>
      memref.store %v, %t[%tx] : memref<64xf32, 3 : i64>
      memref.store %v, %s[%c0] : memref<1xf32>
      "gpu.barrier"() : () -> ()
      %w = memref.load %t[%c0] : memref<64xf32, 3 : i64>
      %u = memref.load %s[%c0] : memref<1xf32>
      %x = arith.addf %w, %u : f32
      %y = arith.addf %x, %v : f32
      memref.store %y, %a[%tx] : memref<?xf32>
      "gpu.return"() : () -> ()
    }) {sym_name = "k"} : () -> ()
  }) : () -> ()
}

// CHECK-NOT:   memref.global
// CHECK:       func.func @k(
// CHECK:         %[[T:.*]] = memref.alloca() {alignment = 64 : i64} : memref<64xf32, 3 : i64>
// CHECK:         %[[XY:.*]] = arith.muli
// CHECK-NEXT:    %[[N:.*]] = arith.muli %[[XY]]
// The local slot gets one element per thread (thread t's at t * 1); the value %v crosses
// the barrier: one slot per thread.
// CHECK:         %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[NS:.*]] = arith.muli %[[N]], %[[ONE]] : index
// CHECK-NEXT:    %[[S:.*]] = memref.alloca(%[[NS]]) : memref<?xf32>
// CHECK-NEXT:    %[[SPILL:.*]] = memref.alloca(%[[N]]) : memref<?xf32>
// First thread loop: up to the barrier.
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK:               arith.muli
// CHECK-NEXT:          arith.addi
// CHECK-NEXT:          arith.muli
// CHECK-NEXT:          %[[LIN:.*]] = arith.addi
// CHECK:               %[[V:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<?xf32>
// CHECK-NEXT:          memref.store %[[V]], %[[SPILL]][%[[LIN]]] : memref<?xf32>
// CHECK:               memref.store %[[V]], %[[T]][%{{.*}}] : memref<64xf32, 3 : i64>
// CHECK:               %[[AT:.*]] = arith.muli %[[LIN]], %[[ONE]] : index
// CHECK-NEXT:          %[[AT1:.*]] = arith.addi %[[AT]], %{{.*}} : index
// CHECK-NEXT:          memref.store %[[V]], %[[S]][%[[AT1]]] : memref<?xf32>
// Second thread loop: after the barrier.
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK:               arith.muli
// CHECK-NEXT:          arith.addi
// CHECK-NEXT:          arith.muli
// CHECK-NEXT:          %[[LIN2:.*]] = arith.addi
// CHECK:               memref.load %[[T]]
// CHECK:               %[[AT2:.*]] = arith.muli %[[LIN2]], %[[ONE]] : index
// CHECK-NEXT:          %[[AT3:.*]] = arith.addi %[[AT2]], %{{.*}} : index
// CHECK-NEXT:          memref.load %[[S]][%[[AT3]]] : memref<?xf32>
// CHECK:               memref.load %[[SPILL]][%[[LIN2]]] : memref<?xf32>
// CHECK-NOT:     gpu.barrier
