// RUN: %python -m xpuc.frontends.triton.ttir %s | filecheck %s

// TTIR of tutorial 01's add_kernel, as triton 3.9 prints it (paths shortened): the
// import parses triton's pretty form with its trailing location aliases.

// CHECK-LABEL: tt.func public @add_kernel(%x_ptr: !tt.ptr<f32>, %y_ptr: !tt.ptr<f32>, %output_ptr: !tt.ptr<f32>, %n_elements: i32)
// CHECK:         %[[PID:.*]] = tt.get_program_id x : i32
// CHECK:         %[[R:.*]] = tt.make_range {end = 1024 : i32, start = 0 : i32} : tensor<1024xi32>
// CHECK:         %[[S:.*]] = tt.splat %{{.*}} : i32 -> tensor<1024xi32>
// CHECK:         %[[OFF:.*]] = arith.addi %[[S]], %[[R]] : tensor<1024xi32>
// CHECK:         %[[M:.*]] = arith.cmpi slt, %[[OFF]], %{{.*}} : tensor<1024xi32>
// CHECK:         %[[P:.*]] = tt.addptr %{{.*}}, %[[OFF]] : tensor<1024x!tt.ptr<f32>>, tensor<1024xi32>
// CHECK-NEXT:    %[[X:.*]] = tt.load %[[P]], %[[M]] : tensor<1024x!tt.ptr<f32>>
// CHECK:         %[[SUM:.*]] = arith.addf %[[X]], %{{.*}} : tensor<1024xf32>
// CHECK:         tt.store %{{.*}}, %[[SUM]], %[[M]] : tensor<1024x!tt.ptr<f32>>
// CHECK-NEXT:    tt.return

#loc = loc("01-vector-add.py":30:1)
#loc13 = loc("x_ptr"(#loc))
#loc14 = loc("y_ptr"(#loc))
#loc15 = loc("output_ptr"(#loc))
#loc16 = loc("n_elements"(#loc))
module {
  tt.func public @add_kernel(%x_ptr: !tt.ptr<f32> loc("x_ptr"(#loc)), %y_ptr: !tt.ptr<f32> loc("y_ptr"(#loc)), %output_ptr: !tt.ptr<f32> loc("output_ptr"(#loc)), %n_elements: i32 loc("n_elements"(#loc))) attributes {noinline = false} {
    %block_start = arith.constant 1024 : i32 loc(#loc17)
    %pid = tt.get_program_id x : i32 loc(#loc18)
    %block_start_0 = arith.muli %pid, %block_start : i32 loc(#loc17)
    %offsets = tt.make_range {end = 1024 : i32, start = 0 : i32} : tensor<1024xi32> loc(#loc19)
    %offsets_1 = tt.splat %block_start_0 : i32 -> tensor<1024xi32> loc(#loc20)
    %offsets_2 = arith.addi %offsets_1, %offsets : tensor<1024xi32> loc(#loc20)
    %mask = tt.splat %n_elements : i32 -> tensor<1024xi32> loc(#loc21)
    %mask_3 = arith.cmpi slt, %offsets_2, %mask : tensor<1024xi32> loc(#loc21)
    %x = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<1024x!tt.ptr<f32>> loc(#loc22)
    %x_4 = tt.addptr %x, %offsets_2 : tensor<1024x!tt.ptr<f32>>, tensor<1024xi32> loc(#loc22)
    %x_5 = tt.load %x_4, %mask_3 : tensor<1024x!tt.ptr<f32>> loc(#loc23)
    %y = tt.splat %y_ptr : !tt.ptr<f32> -> tensor<1024x!tt.ptr<f32>> loc(#loc24)
    %y_6 = tt.addptr %y, %offsets_2 : tensor<1024x!tt.ptr<f32>>, tensor<1024xi32> loc(#loc24)
    %y_7 = tt.load %y_6, %mask_3 : tensor<1024x!tt.ptr<f32>> loc(#loc25)
    %output = arith.addf %x_5, %y_7 : tensor<1024xf32> loc(#loc26)
    %0 = tt.splat %output_ptr : !tt.ptr<f32> -> tensor<1024x!tt.ptr<f32>> loc(#loc11)
    %1 = tt.addptr %0, %offsets_2 : tensor<1024x!tt.ptr<f32>>, tensor<1024xi32> loc(#loc11)
    tt.store %1, %output, %mask_3 : tensor<1024x!tt.ptr<f32>> loc(#loc12)
    tt.return loc(#loc)
  } loc(#loc)
} loc(#loc)
#loc1 = loc("01-vector-add.py":44:19)
#loc2 = loc("01-vector-add.py":39:11)
#loc3 = loc("01-vector-add.py":45:29)
#loc4 = loc("01-vector-add.py":45:15)
#loc5 = loc("01-vector-add.py":47:12)
#loc6 = loc("01-vector-add.py":50:17)
#loc7 = loc("01-vector-add.py":50:9)
#loc8 = loc("01-vector-add.py":51:17)
#loc9 = loc("01-vector-add.py":51:9)
#loc10 = loc("01-vector-add.py":52:14)
#loc11 = loc("01-vector-add.py":54:14)
#loc12 = loc("01-vector-add.py":54:5)
#loc17 = loc("block_start"(#loc1))
#loc18 = loc("pid"(#loc2))
#loc19 = loc("offsets"(#loc3))
#loc20 = loc("offsets"(#loc4))
#loc21 = loc("mask"(#loc5))
#loc22 = loc("x"(#loc6))
#loc23 = loc("x"(#loc7))
#loc24 = loc("y"(#loc8))
#loc25 = loc("y"(#loc9))
#loc26 = loc("output"(#loc10))
