// RUN: xpuc compile %s --emit mlir -O0 | filecheck %s

template <int N>
__global__ void k(float *out) {
    __shared__ float tile[N][N + 1];
    extern __shared__ float dyn[];
    tile[threadIdx.y][threadIdx.x] = dyn[threadIdx.x];
    __syncthreads();
    float v = __shfl_down_sync(0xffffffff, tile[threadIdx.x][threadIdx.y], 1);
    unsigned b = __ballot_sync(0xffffffff, v > 0.0f);
    atomicAdd(&out[0], v);
    out[threadIdx.x] = b;
}

void host(float *o) { k<4><<<1, dim3(4, 4), 64>>>(o); }

// Static shared memory: a global in memory space 3, sized N x (N + 1) for N = 4.
// CHECK: "memref.global"() <{sym_name = "__shared_k__4_tile", type = memref<20xf32, 3 : i64>
// The instance k<4> has a mangled symbol and keeps its C++ name.
// CHECK: "gpu.func"()
// CHECK: %[[T:.*]] = memref.get_global @__shared_k__4_tile : memref<20xf32, 3 : i64>
// Dynamic shared memory: bytes, viewed as float.
// CHECK: %[[RAW:.*]] = gpu.dynamic_shared_memory : memref<?xi8, 3 : i64>
// CHECK: memref.view %[[RAW]][%{{.*}}][%{{.*}}] : memref<?xi8, 3 : i64> to memref<?xf32, 3 : i64>
// Row-major: tile[y][x] is tile + y * 5 + x.
// CHECK: arith.constant 5 : index
// CHECK: memref.store %{{.*}}, %[[T]][%{{.*}}] : memref<20xf32, 3 : i64>
// CHECK: "gpu.barrier"()
// CHECK: xpu.shuffle "down" %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK: xpu.vote "ballot" %{{.*}}, %{{.*}} : i32
// CHECK: memref.atomic_rmw
// CHECK: sym_name = "k__4"
// CHECK-SAME: xpu.source_name = "k<4>"
