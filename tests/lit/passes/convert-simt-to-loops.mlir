// RUN: xpuc-opt %s -p convert-simt-to-loops | filecheck %s
// RUN: xpuc-opt %s -p 'convert-simt-to-loops{warp-size=64}' | filecheck %s --check-prefix=W64

builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    func.func @dev(%x: i32) -> index {
      %t = "gpu.thread_id"() <{dimension = #gpu<dim y>}> : () -> index
      func.return %t : index
    }
    "gpu.func"() <{function_type = (memref<?xf32>, i32) -> (), kernel}> ({
    ^bb0(%a: memref<?xf32>, %n: i32):
      %slot = memref.alloca() : memref<i32>
      %tx = "gpu.thread_id"() <{dimension = #gpu<dim x>}> : () -> index
      %bx = "gpu.block_id"() <{dimension = #gpu<dim x>}> : () -> index
      %bd = "gpu.block_dim"() <{dimension = #gpu<dim x>}> : () -> index
      %gd = "gpu.grid_dim"() <{dimension = #gpu<dim z>}> : () -> index
      %ws = "gpu.subgroup_size"() : () -> index
      %ty = func.call @dev(%n) : (i32) -> index
      %v = arith.constant 1.0 : f32
      memref.store %v, %a[%tx] : memref<?xf32>
      "gpu.return"() : () -> ()
    }) {sym_name = "k", xpu.arg_names = ["a", "n"]} : () -> ()
  }) : () -> ()
}

// The gpu.module is dissolved; the device function takes the 12 id values.
// CHECK-NOT: gpu.module
// CHECK:       func.func @dev(%{{.*}}: i32, %{{[^:]*}}: index, %[[TY:[^:]*]]: index, %{{.*}}: index,
// CHECK-NEXT:    func.return %[[TY]] : index

// The kernel runs one block: its arguments are followed by block id, grid and block
// sizes, and the block's dynamic shared memory.
// CHECK:       func.func @k(%[[A:[^:]*]]: memref<?xf32>, %[[N:[^:]*]]: i32, %[[BX:[^:]*]]: index, %{{[^:]*}}: index, %{{[^:]*}}: index, %{{[^:]*}}: index, %{{[^:]*}}: index, %[[GZ:[^:]*]]: index, %[[BDX:[^:]*]]: index, %[[BDY:[^:]*]]: index, %[[BDZ:[^:]*]]: index, %{{[^:]*}}: memref<?xi8, 3 : i64>)
// CHECK-SAME:  xpu.kernel
// Stack slots and uniform values (the warp size) go in front of the thread loops.
// CHECK:         memref.alloca() : memref<i32>
// CHECK:         arith.constant 32 : index
// CHECK:         scf.for %[[TZ:[^ ]*]] = %{{.*}} to %[[BDZ]] step
// CHECK:           scf.for %[[TYV:[^ ]*]] = %{{.*}} to %[[BDY]] step
// CHECK:             scf.for %[[TX:[^ ]*]] = %{{.*}} to %[[BDX]] step
// CHECK:               func.call @dev(%[[N]], %[[TX]], %[[TYV]], %[[TZ]], %[[BX]]
// CHECK:               memref.store %{{.*}}, %[[A]][%[[TX]]] : memref<?xf32>
// CHECK-NOT: gpu.

// W64: arith.constant 64 : index
