// RUN: xpuc-opt %s | filecheck %s
// RUN: xpuc-opt %s | xpuc-opt | filecheck %s

// CHECK-LABEL: func.func @shuffles
func.func @shuffles(%v: f32, %i: i32, %lane: i32, %w: i32, %m: i32) -> (f32, i32) {
  // CHECK: %{{.*}}, %{{.*}} = xpu.shuffle "xor" %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32
  %r, %ok = xpu.shuffle "xor" %v, %lane, %w, %m : f32
  // CHECK: xpu.shuffle "down" %{{.*}} : i32
  %s, %ok2 = xpu.shuffle "down" %i, %lane, %w, %m : i32
  func.return %r, %s : f32, i32
}

// CHECK-LABEL: func.func @votes
func.func @votes(%p: i1, %m: i32) -> (i32, i1, i1, i32) {
  // CHECK: xpu.vote "ballot" %{{.*}}, %{{.*}} : i32
  %b = xpu.vote "ballot" %p, %m : i32
  // CHECK: xpu.vote "any" %{{.*}}, %{{.*}} : i1
  %a = xpu.vote "any" %p, %m : i1
  // CHECK: xpu.vote "all" %{{.*}}, %{{.*}} : i1
  %l = xpu.vote "all" %p, %m : i1
  // CHECK: xpu.active_mask : i32
  %am = xpu.active_mask : i32
  func.return %b, %a, %l, %am : i32, i1, i1, i32
}

// CHECK-LABEL: func.func @arith_additions
func.func @arith_additions(%i: index, %x: f32) -> (i32, f32) {
  // CHECK: arith.index_castui %{{.*}} : index to i32
  %u = arith.index_castui %i : index to i32
  // CHECK: arith.remf %{{.*}}, %{{.*}} : f32
  %r = arith.remf %x, %x : f32
  func.return %u, %r : i32, f32
}
