// RUN: xpuc-opt %s -p spirv-kernel-abi | filecheck %s

// Kernel buffers become global (1), stack arrays private (5); loads and stores keep
// the space, a call gets one cast back to the generic pointer.  Dynamic shared memory
// is a trailing workgroup (3) parameter of every function that reads it, and a bool
// parameter travels as a byte.
builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    // CHECK-LABEL: func.func @get
    // CHECK-SAME:    (%{{[^ ]+}}: memref<?xf32>, %[[S:[^ ]+]]: memref<?xi8, 3 : i64>)
    // CHECK:         memref.view %[[S]]
    func.func @get(%p: memref<?xf32>) -> f32 {
      %c0 = arith.constant 0 : index
      %n = arith.constant 64 : index
      %d = gpu.dynamic_shared_memory : memref<?xi8, 3 : i64>
      %v = memref.view %d[%c0][%n] : memref<?xi8, 3 : i64> to memref<?xf32, 3 : i64>
      %x = memref.load %v[%c0] : memref<?xf32, 3 : i64>
      %y = memref.load %p[%c0] : memref<?xf32>
      %z = arith.addf %x, %y : f32
      func.return %z : f32
    }
    // CHECK-LABEL: "gpu.func"
    // CHECK-SAME:    function_type = (memref<?xf32, 1 : i64>, i8, memref<?xi8, 3 : i64>) -> ()
    // CHECK:       ^bb0(%[[A:[^ ]+]]: memref<?xf32, 1 : i64>, %[[F:[^ ]+]]: i8, %[[DYN:[^ ]+]]: memref<?xi8, 3 : i64>):
    // CHECK:         %[[FLAG:[^ ]+]] = arith.trunci %[[F]] : i8 to i1
    // CHECK:         %[[GA:[^ ]+]] = "memref.memory_space_cast"(%[[A]]) : (memref<?xf32, 1 : i64>) -> memref<?xf32>
    // CHECK:         %[[L:[^ ]+]] = memref.alloca() : memref<4xf32, 5 : i64>
    // CHECK:         memref.load %[[A]][%{{[^ ]+}}] : memref<?xf32, 1 : i64>
    // CHECK:         memref.store %{{[^ ]+}}, %[[L]][%{{[^ ]+}}] : memref<4xf32, 5 : i64>
    // CHECK:         %[[LC:[^ ]+]] = "memref.cast"(%[[L]]) : (memref<4xf32, 5 : i64>) -> memref<?xf32, 5 : i64>
    // CHECK:         %[[GL:[^ ]+]] = "memref.memory_space_cast"(%[[LC]]) : (memref<?xf32, 5 : i64>) -> memref<?xf32>
    // CHECK:         func.call @get(%[[GA]], %[[DYN]])
    // CHECK:         func.call @get(%[[GL]], %[[DYN]])
    // CHECK:         arith.select %[[FLAG]]
    "gpu.func"() <{function_type = (memref<?xf32>, i1) -> (), kernel}> ({
    ^bb0(%a: memref<?xf32>, %flag: i1):
      %c0 = arith.constant 0 : index
      %l = memref.alloca() : memref<4xf32>
      %x = memref.load %a[%c0] : memref<?xf32>
      memref.store %x, %l[%c0] : memref<4xf32>
      %lg = "memref.cast"(%l) : (memref<4xf32>) -> memref<?xf32>
      %y = func.call @get(%a) : (memref<?xf32>) -> f32
      %w = func.call @get(%lg) : (memref<?xf32>) -> f32
      %r = arith.select %flag, %y, %w : f32
      memref.store %r, %a[%c0] : memref<?xf32>
      "gpu.return"() : () -> ()
    }) {sym_name = "k"} : () -> ()
  }) : () -> ()
}
