// RUN: xpuc-opt %s --verify-diagnostics | filecheck %s

builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (memref<?xf32>, memref<?xf32>, i32) -> (), kernel}> ({
    ^bb0(%a: memref<?xf32>, %b: memref<?xf32>, %n: i32):
      "gpu.return"() : () -> ()
    }) {sym_name = "scale"} : () -> ()
  }) : () -> ()
  func.func @f(%x: tensor<8xf32>) -> tensor<8xf32> {
    %c1 = arith.constant 1 : index
    %r = xpu.launch @kernels::@nope blocks(%c1, %c1, %c1) threads(%c1, %c1, %c1) args(%x : tensor<8xf32>) writes [0] : tensor<8xf32>
    func.return %r : tensor<8xf32>
  }
}
// CHECK: error: invalid IR: 'xpu.launch' of @kernels::@nope: no gpu.func kernel of that name in this module

// -----

builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (memref<?xf32>, memref<?xf32>, i32) -> (), kernel}> ({
    ^bb0(%a: memref<?xf32>, %b: memref<?xf32>, %n: i32):
      "gpu.return"() : () -> ()
    }) {sym_name = "scale"} : () -> ()
  }) : () -> ()
  func.func @f(%x: tensor<8xf32>) -> tensor<8xf32> {
    %c1 = arith.constant 1 : index
    %r = xpu.launch @kernels::@scale blocks(%c1, %c1, %c1) threads(%c1, %c1, %c1) args(%x, %x : tensor<8xf32>, tensor<8xf32>) writes [0] : tensor<8xf32>
    func.return %r : tensor<8xf32>
  }
}
// CHECK: error: invalid IR: 'xpu.launch' of @kernels::@scale: the kernel takes 3 arguments, 2 given

// -----

builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (memref<?xf32>, memref<?xf32>, i32) -> (), kernel}> ({
    ^bb0(%a: memref<?xf32>, %b: memref<?xf32>, %n: i32):
      "gpu.return"() : () -> ()
    }) {sym_name = "scale"} : () -> ()
  }) : () -> ()
  func.func @f(%x: tensor<8xf32>, %y: tensor<8xi32>) -> tensor<8xf32> {
    %c1 = arith.constant 1 : index
    %n = arith.constant 8 : i32
    %r = xpu.launch @kernels::@scale blocks(%c1, %c1, %c1) threads(%c1, %c1, %c1) args(%x, %y, %n : tensor<8xf32>, tensor<8xi32>, i32) writes [0] : tensor<8xf32>
    func.return %r : tensor<8xf32>
  }
}
// CHECK: error: invalid IR: 'xpu.launch' of @kernels::@scale: argument 1 is tensor<8xi32>; the kernel takes memref<?xf32>

// -----

builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (memref<?xf32>, memref<?xf32>, i32) -> (), kernel}> ({
    ^bb0(%a: memref<?xf32>, %b: memref<?xf32>, %n: i32):
      "gpu.return"() : () -> ()
    }) {sym_name = "scale"} : () -> ()
  }) : () -> ()
  func.func @f(%x: tensor<8xf32>) -> tensor<8xf32> {
    %c1 = arith.constant 1 : index
    %n = arith.constant 8 : i32
    %r = xpu.launch @kernels::@scale blocks(%c1, %c1, %c1) threads(%c1, %c1, %c1) args(%x, %x, %n : tensor<8xf32>, tensor<8xf32>, i32) writes [2] : tensor<8xf32>
    func.return %r : tensor<8xf32>
  }
}
// CHECK: error: invalid IR: 'xpu.launch' of @kernels::@scale: the result for argument 2 must have its type i32

// -----

func.func @f(%x: tensor<8xf32>) -> index {
  %d = xpu.local_dim %x[1] : tensor<8xf32>
  func.return %d : index
}
// CHECK: error: invalid IR: 'xpu.local_dim' dimension 1 is out of range for rank 1
