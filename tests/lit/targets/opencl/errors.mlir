// RUN: not xpuc compile %s --target opencl --emit asm -o - 2>&1 | filecheck %s

// An op the renderer has no C for is named, with its function; no traceback.
builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (memref<?xi32>) -> (), kernel}> ({
    ^bb0(%0: memref<?xi32>):
      %c = arith.constant 0 : index
      %v = memref.load %0[%c] : memref<?xi32>
      %p = math.ipowi %v, %v : i32
      memref.store %p, %0[%c] : memref<?xi32>
      "gpu.return"() : () -> ()
    }) {sym_name = "k"} : () -> ()
  }) : () -> ()
}

// CHECK: xpuc: error: 'math.ipowi' cannot be printed as OpenCL C (in @k)
// CHECK-NOT: Traceback
