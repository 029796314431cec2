// RUN: xpuc-opt %s -p map-parallel-loops | filecheck %s --check-prefix=FLAT
// RUN: xpuc-opt %s -p 'map-parallel-loops{tile=8,32}' | filecheck %s --check-prefix=TILE
// RUN: xpuc-opt %s -p 'map-parallel-loops{block_size=64}' | filecheck %s --check-prefix=B64

// A 2-D scf.parallel over [2, n) x [0, 100): flat, each thread takes iteration
// bid * block_size + tid of the row-major nest; tiled 8x32, the block index splits into
// the two tile counts and the thread index into the tile's rows and columns; either
// way a guard drops the iterations past the bounds.  The kernel records its launch.
builtin.module attributes {gpu.container_module} {
  "gpu.module"() <{sym_name = "kernels"}> ({
    "gpu.func"() <{function_type = (memref<?xf32>, index) -> (), kernel}> ({
    ^bb0(%p: memref<?xf32>, %n: index):
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c100 = arith.constant 100 : index
      "scf.parallel"(%c2, %c0, %n, %c100, %c1, %c1) <{operandSegmentSizes = array<i32: 2, 2, 2, 0>}> ({
      ^bb1(%i: index, %j: index):
        %at = arith.muli %i, %c100 : index
        %x = arith.addi %at, %j : index
        %v = arith.index_cast %x : index to i32
        %f = arith.sitofp %v : i32 to f32
        memref.store %f, %p[%x] : memref<?xf32>
        scf.reduce
      }) : (index, index, index, index, index, index) -> ()
      "gpu.return"() : () -> ()
    }) {sym_name = "k", xpu.map_parallel = []} : () -> ()
  }) : () -> ()
}

// FLAT:      "gpu.func"
// FLAT-DAG:  %[[ROWS:.*]] = arith.subi %n, %c2
// FLAT-DAG:  %[[BID:.*]] = "gpu.block_id"
// FLAT-DAG:  %[[TID:.*]] = "gpu.thread_id"
// FLAT:      %[[BS:.*]] = arith.constant 256 : index
// FLAT:      %[[G0:.*]] = arith.muli %[[BID]], %[[BS]]
// FLAT:      %[[G:.*]] = arith.addi %[[G0]], %[[TID]]
// FLAT:      %[[TOTAL:.*]] = arith.muli %[[ROWS]], %{{.*}}
// FLAT:      %[[IN:.*]] = arith.cmpi ult, %[[G]], %[[TOTAL]]
// FLAT:      arith.remui %[[G]]
// FLAT:      arith.divui %[[G]]
// FLAT:      scf.if %[[IN]] {
// FLAT:        memref.store
// FLAT-NOT:  scf.parallel
// FLAT:      xpu.launch_tile = [], xpu.launch_block = 256 : i64
// FLAT-NOT:  xpu.map_parallel

// TILE:      "gpu.func"
// TILE:      %[[C8:.*]] = arith.constant 8 : index
// TILE:      %[[C32:.*]] = arith.constant 32 : index
// TILE:      arith.divui
// TILE:      arith.divui
// TILE:      %[[U:.*]] = arith.remui %{{.*}}, %[[C32]]
// TILE:      %[[R:.*]] = arith.divui %{{.*}}, %[[C32]]
// TILE:      %[[ROW0:.*]] = arith.muli %{{.*}}, %[[C8]]
// TILE:      %[[ROW:.*]] = arith.addi %[[ROW0]], %[[R]]
// TILE:      arith.cmpi ult, %[[ROW]]
// TILE:      %[[COL0:.*]] = arith.muli %{{.*}}, %[[C32]]
// TILE:      %[[COL:.*]] = arith.addi %[[COL0]], %[[U]]
// TILE:      arith.cmpi ult, %[[COL]]
// TILE:      arith.andi
// TILE:      scf.if
// TILE:      xpu.launch_tile = [8 : i64, 32 : i64], xpu.launch_block = 256 : i64

// B64:       arith.constant 64 : index
// B64:       xpu.launch_tile = [], xpu.launch_block = 64 : i64
