// RUN: xpuc compile %s --target opencl --emit asm -o - | filecheck %s

// Warp operations, and barriers that part of a block may not reach, have no OpenCL
// C 1.2 equivalent: such a kernel runs each block on one work-item, as loops
// (convert-simt-to-loops), its per-thread storage in a __local scratch argument.

__global__ void warp_sum(const int *in, int *out) {
    int v = in[threadIdx.x];
    for (int o = 16; o > 0; o /= 2) v += __shfl_down_sync(0xffffffff, v, o);
    if (threadIdx.x % 32 == 0) out[threadIdx.x / 32] = v;
}

__global__ void early_exit(const int *in, int *out, int n) {
    __shared__ int s[128];
    if (threadIdx.x >= n) return;
    s[threadIdx.x] = in[threadIdx.x];
    __syncthreads();
    out[threadIdx.x] = s[(threadIdx.x + 1) % n];
}

__global__ void uniform_loop(float *a, int n) {
    __shared__ float s[256];
    s[threadIdx.x] = a[threadIdx.x];
    __syncthreads();
    for (unsigned step = blockDim.x / 2; step > 0; step >>= 1) {
        if (threadIdx.x < step) s[threadIdx.x] += s[threadIdx.x + step];
        __syncthreads();
    }
    if (threadIdx.x == 0) a[0] = s[0] * n;
}

// CHECK-DAG: "warp_sum":{"symbol":"k_warp_sum","mode":"loops","extra":["bdim","scratch"],"scratch":[{{[0-9]+}},{{[0-9]+}}]}
// CHECK-DAG: "early_exit":{"symbol":"k_early_exit","mode":"loops"
// CHECK-DAG: "uniform_loop":{"symbol":"k_uniform_loop","mode":"simt"

// A barrier in a loop whose bounds all threads share stays a barrier.
// CHECK-LABEL: // uniform_loop: a work-item per CUDA thread, a work-group per block
// CHECK: while (1) {
// CHECK: barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);

// CHECK-LABEL: // warp_sum: one work-item runs each block as loops: it uses warp operations (xpu.shuffle)
// CHECK-NEXT: __kernel void k_warp_sum(__global uint *{{v[0-9]+}}, __global uint *{{v[0-9]+}}, ulong xpuc_bx, ulong xpuc_by, ulong xpuc_bz, __local uchar *xpuc_scratch)
// CHECK: __local uchar *xpuc_sp = xpuc_scratch;
// CHECK: = (__local uint *)xpuc_sp;
// CHECK: for ([[T:[^ ]+]] = 0ul; (long)[[T]] < (long)xpuc_bx; [[T]] += 1ul) {
// CHECK-NOT: barrier(

// CHECK-LABEL: // early_exit: one work-item runs each block as loops: it has a barrier that part of the block may not reach
// CHECK: __local uint {{v[0-9]+}}[128] __attribute__((aligned(64)));
