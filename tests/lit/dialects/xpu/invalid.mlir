// RUN: xpuc-opt %s --verify-diagnostics | filecheck %s

func.func @bad_mode(%v: f32, %l: i32) {
  %r, %ok = xpu.shuffle "sideways" %v, %l, %l, %l : f32
  func.return
}
// CHECK: error: invalid IR: 'xpu.shuffle' mode must be one of idx, up, down, xor, got 'sideways'

// -----

func.func @bad_shuffle_type(%v: memref<4xf32>, %l: i32) {
  %r, %ok = xpu.shuffle "idx" %v, %l, %l, %l : memref<4xf32>
  func.return
}
// CHECK: error: invalid IR: 'xpu.shuffle' value must be an integer or float scalar, got memref<4xf32>

// -----

func.func @bad_vote(%p: i1, %m: i32) {
  %b = xpu.vote "most" %p, %m : i32
  func.return
}
// CHECK: error: invalid IR: 'xpu.vote' mode must be one of ballot, any, all, got 'most'

// -----

func.func @ballot_type(%p: i1, %m: i32) {
  %b = xpu.vote "ballot" %p, %m : i1
  func.return
}
// CHECK: error: invalid IR: 'xpu.vote' ballot returns i32, not i1

// -----

func.func @castui(%i: i32) {
  %u = arith.index_castui %i : i32 to i64
  func.return
}
// CHECK: error: invalid IR: 'arith.index_castui' op operand type 'i32' and result type 'i64' are cast incompatible
