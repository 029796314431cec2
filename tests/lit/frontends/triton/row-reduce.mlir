// RUN: %python -m xpuc.frontends.triton.lower %s --num-warps 4 | filecheck %s

// Tile -> SIMT: reductions along axis 1 of a 4x64 tile whose results are broadcast back
// (a row softmax, kernel in the comment at the end).  Each result element (a row) is
// owned by one thread, which folds the row; as other threads read the results (through
// broadcast), they go to shared memory, between barriers.  The final store runs over the
// 256 elements, two per thread: element s*128 + t is at row 2s + t/64, column t%64.

// CHECK:         "memref.global"() <{sym_name = "[[MAX:[^"]+]]", type = memref<4xf32, 3 : i64>
// CHECK:         "memref.global"() <{sym_name = "[[SUM:[^"]+]]", type = memref<4xf32, 3 : i64>
// CHECK-LABEL:   "gpu.func"
// CHECK:         %[[MB:[^ ]+]] = memref.get_global @[[MAX]]
// CHECK:         %[[SB:[^ ]+]] = memref.get_global @[[SUM]]
// CHECK:         %[[TID:[^ ]+]] = "gpu.thread_id"
// CHECK:         "gpu.barrier"
// CHECK:         %[[OWN:[^ ]+]] = arith.cmpi ult, %[[TID]], %{{.*}} : index
// CHECK:         scf.if %[[OWN]] {
// CHECK:           %[[ROWMAX:[^ ]+]] = scf.for
// CHECK:             arith.maxnumf
// CHECK:           memref.store %[[ROWMAX]], %[[MB]][%[[TID]]]
// CHECK:         "gpu.barrier"
// CHECK-NOT:     "gpu.barrier"
// CHECK:         scf.if
// CHECK:           memref.load %[[MB]][%[[TID]]]
// CHECK:           math.exp
// CHECK:           scf.for
// CHECK:             math.exp
// CHECK:             arith.addf
// CHECK:           memref.store %{{.*}}, %[[SB]][%[[TID]]]
// CHECK:         "gpu.barrier"
// CHECK:         scf.for %[[S:[^ ]+]] = %{{.*}} to %[[TWO:[^ ]+]] step
// CHECK:           %[[HALF:[^ ]+]] = arith.divui %[[TID]], %{{.*}} : index
// CHECK:           %[[ROW2:[^ ]+]] = arith.muli %[[S]], %{{.*}} : index
// CHECK:           %[[ROW:[^ ]+]] = arith.addi %[[ROW2]], %[[HALF]] : index
// CHECK:           %[[COL:[^ ]+]] = arith.remui %[[TID]], %{{.*}} : index
// CHECK:           memref.load %[[MB]][%[[ROW]]]
// CHECK:           math.exp
// CHECK:           memref.load %[[SB]][%[[ROW]]]
// CHECK:           arith.divf
// CHECK:           memref.store %{{.*}} : memref<?xf32>

// @triton.jit
// def row_softmax(x_ptr, y_ptr, R: tl.constexpr, C: tl.constexpr):
//     offs = tl.arange(0, R)[:, None] * C + tl.arange(0, C)[None, :]
//     x = tl.load(x_ptr + offs)
//     m = tl.max(x, axis=1)
//     e = tl.exp(x - m[:, None])
//     tl.store(y_ptr + offs, e / tl.sum(e, axis=1)[:, None])
// with R = 4, C = 64, num_warps = 4.

#loc = loc("k.py":21:1)
#loc6 = loc("k.py":24:9)
#loc7 = loc(unknown)
#loc14 = loc("k.py":26:32)
#loc18 = loc("x_ptr"(#loc))
#loc19 = loc("y_ptr"(#loc))
#loc24 = loc("m"(#loc6))
#loc29 = loc(callsite(#loc7 at #loc14))
#loc31 = loc(callsite(#loc7 at #loc24))
module {
  tt.func public @row_softmax(%x_ptr: !tt.ptr<f32> loc("x_ptr"(#loc)), %y_ptr: !tt.ptr<f32> loc("y_ptr"(#loc))) attributes {noinline = false} {
    %offs = arith.constant dense<64> : tensor<4x1xi32> loc(#loc20)
    %offs_0 = tt.make_range {end = 4 : i32, start = 0 : i32} : tensor<4xi32> loc(#loc20)
    %offs_1 = tt.expand_dims %offs_0 {axis = 1 : i32} : tensor<4xi32> -> tensor<4x1xi32> loc(#loc20)
    %offs_2 = arith.muli %offs_1, %offs : tensor<4x1xi32> loc(#loc20)
    %offs_3 = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32> loc(#loc21)
    %offs_4 = tt.expand_dims %offs_3 {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32> loc(#loc21)
    %offs_5 = tt.broadcast %offs_2 : tensor<4x1xi32> -> tensor<4x64xi32> loc(#loc20)
    %offs_6 = tt.broadcast %offs_4 : tensor<1x64xi32> -> tensor<4x64xi32> loc(#loc20)
    %offs_7 = arith.addi %offs_5, %offs_6 : tensor<4x64xi32> loc(#loc20)
    %x = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<4x64x!tt.ptr<f32>> loc(#loc22)
    %x_8 = tt.addptr %x, %offs_7 : tensor<4x64x!tt.ptr<f32>>, tensor<4x64xi32> loc(#loc22)
    %x_9 = tt.load %x_8 : tensor<4x64x!tt.ptr<f32>> loc(#loc23)
    %m = "tt.reduce"(%x_9) <{axis = 1 : i32}> ({
    ^bb0(%m_13: f32 loc(callsite(#loc7 at #loc24)), %m_14: f32 loc(callsite(#loc7 at #loc24))):
      %m_15 = arith.maxnumf %m_13, %m_14 : f32 loc(#loc33)
      tt.reduce.return %m_15 : f32 loc(#loc30)
    }) : (tensor<4x64xf32>) -> tensor<4xf32> loc(#loc30)
    %e = tt.expand_dims %m {axis = 1 : i32} : tensor<4xf32> -> tensor<4x1xf32> loc(#loc25)
    %e_10 = tt.broadcast %e : tensor<4x1xf32> -> tensor<4x64xf32> loc(#loc26)
    %e_11 = arith.subf %x_9, %e_10 : tensor<4x64xf32> loc(#loc26)
    %e_12 = math.exp %e_11 : tensor<4x64xf32> loc(#loc27)
    %0 = tt.splat %y_ptr : !tt.ptr<f32> -> tensor<4x64x!tt.ptr<f32>> loc(#loc12)
    %1 = tt.addptr %0, %offs_7 : tensor<4x64x!tt.ptr<f32>>, tensor<4x64xi32> loc(#loc12)
    %2 = "tt.reduce"(%e_12) <{axis = 1 : i32}> ({
    ^bb0(%arg2: f32 loc(callsite(#loc7 at #loc14)), %arg3: f32 loc(callsite(#loc7 at #loc14))):
      %6 = arith.addf %arg2, %arg3 : f32 loc(#loc32)
      tt.reduce.return %6 : f32 loc(#loc28)
    }) : (tensor<4x64xf32>) -> tensor<4xf32> loc(#loc28)
    %3 = tt.expand_dims %2 {axis = 1 : i32} : tensor<4xf32> -> tensor<4x1xf32> loc(#loc14)
    %4 = tt.broadcast %3 : tensor<4x1xf32> -> tensor<4x64xf32> loc(#loc16)
    %5 = arith.divf %e_12, %4 : tensor<4x64xf32> loc(#loc16)
    tt.store %1, %5 : tensor<4x64x!tt.ptr<f32>> loc(#loc17)
    tt.return loc(#loc)
  } loc(#loc)
} loc(#loc)
#loc1 = loc("k.py":22:12)
#loc2 = loc("k.py":22:43)
#loc3 = loc("k.py":23:17)
#loc4 = loc("k.py":23:9)
#loc5 = loc("triton/language/standard.py":216:16)
#loc8 = loc("triton/language/standard.py":196:12)
#loc9 = loc("k.py":25:20)
#loc10 = loc("k.py":25:16)
#loc11 = loc("k.py":25:9)
#loc12 = loc("k.py":26:14)
#loc13 = loc("triton/language/standard.py":314:12)
#loc15 = loc("triton/language/standard.py":287:12)
#loc16 = loc("k.py":26:28)
#loc17 = loc("k.py":26:5)
#loc20 = loc("offs"(#loc1))
#loc21 = loc("offs"(#loc2))
#loc22 = loc("x"(#loc3))
#loc23 = loc("x"(#loc4))
#loc25 = loc("e"(#loc9))
#loc26 = loc("e"(#loc10))
#loc27 = loc("e"(#loc11))
#loc28 = loc(callsite(#loc13 at #loc14))
#loc30 = loc(callsite(#loc5 at #loc24))
#loc32 = loc(callsite(#loc15 at #loc28))
#loc33 = loc(callsite(#loc8 at #loc30))
