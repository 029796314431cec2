// RUN: %python -m xpuc.frontends.triton.lower %s --num-warps 1 | filecheck %s

// Tile -> SIMT: a K loop of tl.dot (fp16 inputs, fp32 accumulator) with pointer tiles
// advanced by a constant each iteration (kernel in the comment at the end).  One warp
// (32 threads) owns the 16x16 accumulator, 8 elements per thread in private slots; the
// pointer tiles are their initial tiles plus an i32 carried by the loop (in a slot, as
// the loop holds barriers); each iteration stages the a and b tiles in shared memory,
// widened to f32, between barriers, and tt.dot at (m, n) is a loop over k reading them.

// CHECK:         "memref.global"() <{sym_name = "[[A:[^"]+]]", type = memref<256xf32, 3 : i64>
// CHECK:         "memref.global"() <{sym_name = "[[B:[^"]+]]", type = memref<256xf32, 3 : i64>
// CHECK-LABEL:   "gpu.func"
// CHECK:         %[[ACC:[^ ]+]] = memref.alloca() : memref<8xf32>
// CHECK:         %[[DA:[^ ]+]] = memref.alloca() : memref<1xi32>
// CHECK:         %[[SA:[^ ]+]] = memref.get_global @[[A]]
// CHECK:         %[[SB:[^ ]+]] = memref.get_global @[[B]]
// CHECK:         %[[TID:[^ ]+]] = "gpu.thread_id"() <{dimension = #gpu<dim x>}>
// CHECK:         scf.for %[[S0:[^ ]+]] = %{{.*}} to %{{.*}} step
// CHECK:           memref.store %{{.*}}, %[[ACC]][%[[S0]]] : memref<8xf32>
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} : i32 {
// CHECK:           %[[OFF:[^ ]+]] = memref.load %[[DA]]
// CHECK:           "gpu.barrier"
// CHECK:           scf.for
// CHECK:             %[[E:[^ ]+]] = arith.addi %{{.*}}, %[[TID]] : index
// CHECK:             arith.addi %{{.*}}, %[[OFF]] : i32
// CHECK:             %[[X:[^ ]+]] = memref.load %{{.*}} : memref<?xf16>
// CHECK:             %[[XF:[^ ]+]] = arith.extf %[[X]] : f16 to f32
// CHECK:             %[[Y:[^ ]+]] = memref.load %{{.*}} : memref<?xf16>
// CHECK:             %[[YF:[^ ]+]] = arith.extf %[[Y]] : f16 to f32
// CHECK:             memref.store %[[XF]], %[[SA]][%[[E]]]
// CHECK:             memref.store %[[YF]], %[[SB]][%[[E]]]
// CHECK:           "gpu.barrier"
// CHECK:           scf.for %[[S:[^ ]+]] = %{{.*}} to %{{.*}} step
// CHECK:             %[[N:[^ ]+]] = arith.remui %[[TID]], %{{.*}} : index
// CHECK:             %[[C:[^ ]+]] = memref.load %[[ACC]][%[[S]]] : memref<8xf32>
// CHECK:             %[[DOT:[^ ]+]] = scf.for %[[K:[^ ]+]] = %{{.*}} iter_args(%[[SUM:[^ ]+]] = %[[C]]) -> (f32) {
// CHECK:               %[[AF:[^ ]+]] = memref.load %[[SA]]
// CHECK-NOT:           arith.extf
// CHECK:               %[[BF:[^ ]+]] = memref.load %[[SB]]
// CHECK-NOT:           arith.extf
// CHECK:               %[[P:[^ ]+]] = arith.mulf %[[AF]], %[[BF]] : f32
// CHECK:               %[[NEW:[^ ]+]] = arith.addf %[[SUM]], %[[P]] : f32
// CHECK:               scf.yield %[[NEW]] : f32
// CHECK:             memref.store %[[DOT]], %[[ACC]][%[[S]]] : memref<8xf32>
// CHECK:           memref.store %{{.*}}, %[[DA]]
// CHECK:         memref.load %[[ACC]]
// CHECK:         memref.store %{{.*}} : memref<?xf32>


// @triton.jit
// def dot_loop(a_ptr, b_ptr, c_ptr, K, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
//     rm, rn, rk = tl.arange(0, BM), tl.arange(0, BN), tl.arange(0, BK)
//     a_ptrs = a_ptr + rm[:, None] * K + rk[None, :]
//     b_ptrs = b_ptr + rk[:, None] * BN + rn[None, :]
//     acc = tl.zeros((BM, BN), dtype=tl.float32)
//     for k in range(0, K, BK):
//         acc = tl.dot(tl.load(a_ptrs), tl.load(b_ptrs), acc)
//         a_ptrs += BK
//         b_ptrs += BK * BN
//     tl.store(c_ptr + rm[:, None] * BN + rn[None, :], acc)
// with a_ptr, b_ptr: *fp16, c_ptr: *fp32, BM = BN = BK = 16, num_warps = 1.

#loc = loc("k.py":6:1)
#loc18 = loc("a_ptr"(#loc))
#loc19 = loc("b_ptr"(#loc))
#loc20 = loc("c_ptr"(#loc))
#loc21 = loc("K"(#loc))
module {
  tt.func public @dot_loop(%a_ptr: !tt.ptr<f16> loc("a_ptr"(#loc)), %b_ptr: !tt.ptr<f16> loc("b_ptr"(#loc)), %c_ptr: !tt.ptr<f32> loc("c_ptr"(#loc)), %K: i32 loc("K"(#loc))) attributes {noinline = false} {
    %acc = arith.constant dense<0.000000e+00> : tensor<16x16xf32> loc(#loc35)
    %c16_i32 = arith.constant 16 : i32 loc(#loc3)
    %c0_i32 = arith.constant 0 : i32 loc(#loc3)
    %cst = arith.constant dense<256> : tensor<16x16xi32> loc(#loc4)
    %cst_0 = arith.constant dense<16> : tensor<16x16xi32> loc(#loc4)
    %cst_1 = arith.constant dense<16> : tensor<16x1xi32> loc(#loc4)
    %rm = tt.make_range {end = 16 : i32, start = 0 : i32} : tensor<16xi32> loc(#loc23)
    %a_ptrs = tt.expand_dims %rm {axis = 1 : i32} : tensor<16xi32> -> tensor<16x1xi32> loc(#loc24)
    %a_ptrs_2 = tt.splat %K : i32 -> tensor<16x1xi32> loc(#loc24)
    %a_ptrs_3 = arith.muli %a_ptrs, %a_ptrs_2 : tensor<16x1xi32> loc(#loc24)
    %a_ptrs_4 = tt.splat %a_ptr : !tt.ptr<f16> -> tensor<16x1x!tt.ptr<f16>> loc(#loc25)
    %a_ptrs_5 = tt.addptr %a_ptrs_4, %a_ptrs_3 : tensor<16x1x!tt.ptr<f16>>, tensor<16x1xi32> loc(#loc25)
    %a_ptrs_6 = tt.expand_dims %rm {axis = 0 : i32} : tensor<16xi32> -> tensor<1x16xi32> loc(#loc26)
    %a_ptrs_7 = tt.broadcast %a_ptrs_5 : tensor<16x1x!tt.ptr<f16>> -> tensor<16x16x!tt.ptr<f16>> loc(#loc25)
    %a_ptrs_8 = tt.broadcast %a_ptrs_6 : tensor<1x16xi32> -> tensor<16x16xi32> loc(#loc25)
    %a_ptrs_9 = tt.addptr %a_ptrs_7, %a_ptrs_8 : tensor<16x16x!tt.ptr<f16>>, tensor<16x16xi32> loc(#loc25)
    %b_ptrs = arith.muli %a_ptrs, %cst_1 : tensor<16x1xi32> loc(#loc27)
    %b_ptrs_10 = tt.splat %b_ptr : !tt.ptr<f16> -> tensor<16x1x!tt.ptr<f16>> loc(#loc28)
    %b_ptrs_11 = tt.addptr %b_ptrs_10, %b_ptrs : tensor<16x1x!tt.ptr<f16>>, tensor<16x1xi32> loc(#loc28)
    %b_ptrs_12 = tt.broadcast %b_ptrs_11 : tensor<16x1x!tt.ptr<f16>> -> tensor<16x16x!tt.ptr<f16>> loc(#loc28)
    %b_ptrs_13 = tt.addptr %b_ptrs_12, %a_ptrs_8 : tensor<16x16x!tt.ptr<f16>>, tensor<16x16xi32> loc(#loc28)
    %acc_14:3 = scf.for %k = %c0_i32 to %K step %c16_i32 iter_args(%a_ptrs_15 = %a_ptrs_9, %b_ptrs_16 = %b_ptrs_13, %acc_17 = %acc) -> (tensor<16x16x!tt.ptr<f16>>, tensor<16x16x!tt.ptr<f16>>, tensor<16x16xf32>)  : i32 {
      %acc_18 = tt.load %a_ptrs_15 : tensor<16x16x!tt.ptr<f16>> loc(#loc30)
      %acc_19 = tt.load %b_ptrs_16 : tensor<16x16x!tt.ptr<f16>> loc(#loc31)
      %acc_20 = tt.dot %acc_18, %acc_19, %acc_17, inputPrecision = tf32 : tensor<16x16xf16> * tensor<16x16xf16> -> tensor<16x16xf32> loc(#loc32)
      %a_ptrs_21 = tt.addptr %a_ptrs_15, %cst_0 : tensor<16x16x!tt.ptr<f16>>, tensor<16x16xi32> loc(#loc33)
      %b_ptrs_22 = tt.addptr %b_ptrs_16, %cst : tensor<16x16x!tt.ptr<f16>>, tensor<16x16xi32> loc(#loc34)
      scf.yield %a_ptrs_21, %b_ptrs_22, %acc_20 : tensor<16x16x!tt.ptr<f16>>, tensor<16x16x!tt.ptr<f16>>, tensor<16x16xf32> loc(#loc3)
    } loc(#loc37)
    %0 = tt.splat %c_ptr : !tt.ptr<f32> -> tensor<16x1x!tt.ptr<f32>> loc(#loc16)
    %1 = tt.addptr %0, %b_ptrs : tensor<16x1x!tt.ptr<f32>>, tensor<16x1xi32> loc(#loc16)
    %2 = tt.broadcast %1 : tensor<16x1x!tt.ptr<f32>> -> tensor<16x16x!tt.ptr<f32>> loc(#loc16)
    %3 = tt.addptr %2, %a_ptrs_8 : tensor<16x16x!tt.ptr<f32>>, tensor<16x16xi32> loc(#loc16)
    tt.store %3, %acc_14#2 : tensor<16x16x!tt.ptr<f32>> loc(#loc17)
    tt.return loc(#loc)
  } loc(#loc)
} loc(#loc)
#loc1 = loc("triton/language/standard.py":155:12)
#loc2 = loc("k.py":12:11)
#loc3 = loc("k.py":13:5)
#loc4 = loc(unknown)
#loc5 = loc("k.py":7:10)
#loc6 = loc("k.py":10:22)
#loc7 = loc("k.py":10:14)
#loc8 = loc("k.py":10:40)
#loc9 = loc("k.py":11:22)
#loc10 = loc("k.py":11:14)
#loc11 = loc("k.py":14:22)
#loc12 = loc("k.py":14:39)
#loc13 = loc("k.py":14:15)
#loc14 = loc("k.py":15:9)
#loc15 = loc("k.py":16:9)
#loc16 = loc("k.py":17:14)
#loc17 = loc("k.py":17:5)
#loc22 = loc("acc"(#loc2))
#loc23 = loc("rm"(#loc5))
#loc24 = loc("a_ptrs"(#loc6))
#loc25 = loc("a_ptrs"(#loc7))
#loc26 = loc("a_ptrs"(#loc8))
#loc27 = loc("b_ptrs"(#loc9))
#loc28 = loc("b_ptrs"(#loc10))
#loc29 = loc("a_ptrs"(#loc3))
#loc30 = loc("acc"(#loc11))
#loc31 = loc("acc"(#loc12))
#loc32 = loc("acc"(#loc13))
#loc33 = loc("a_ptrs"(#loc14))
#loc34 = loc("b_ptrs"(#loc15))
#loc35 = loc(callsite(#loc1 at #loc22))
#loc36 = loc("b_ptrs"(#loc29))
#loc37 = loc("acc"(#loc36))
