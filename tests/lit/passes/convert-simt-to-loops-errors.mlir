// RUN: not xpuc-opt %s -p convert-simt-to-loops 2>&1 | filecheck %s

// A barrier in a loop that carries SSA values cannot be cut into thread loops yet.
builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (memref<?xf32>) -> (), kernel}> ({
    ^bb0(%a: memref<?xf32>):
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c4 = arith.constant 4 : index
      %z = arith.constant 0.0 : f32
      %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %z) -> (f32) {
        "gpu.barrier"() : () -> ()
        %v = memref.load %a[%i] : memref<?xf32>
        %s = arith.addf %acc, %v : f32
        scf.yield %s : f32
      }
      memref.store %r, %a[%c0] : memref<?xf32>
      "gpu.return"() : () -> ()
    }) {sym_name = "k"} : () -> ()
  }) : () -> ()
}

// CHECK: kernel @k: cpu: a barrier inside a loop that carries values is not supported
// CHECK-NOT: Traceback
