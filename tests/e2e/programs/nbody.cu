// All-pairs N-body integration step (GPU Gems 3 style) with float4 positions.
#include <cstdio>
#include <cmath>
#include <vector>
#include <cuda_runtime.h>
#include "common.h"

__constant__ float softeningSquared;

inline __host__ __device__ float3 operator+(float3 a, float3 b) { return make_float3(a.x + b.x, a.y + b.y, a.z + b.z); }
inline __host__ __device__ float3 operator*(float3 a, float s) { return make_float3(a.x * s, a.y * s, a.z * s); }
inline __host__ __device__ void operator+=(float3 &a, float3 b) { a.x += b.x; a.y += b.y; a.z += b.z; }

__device__ float3 bodyBodyInteraction(float4 bi, float4 bj, float3 ai)
{
    float3 r;
    r.x = bj.x - bi.x;
    r.y = bj.y - bi.y;
    r.z = bj.z - bi.z;
    float distSqr = r.x * r.x + r.y * r.y + r.z * r.z + softeningSquared;
    float invDist = rsqrtf(distSqr);
    float invDistCube = invDist * invDist * invDist;
    float s = bj.w * invDistCube;          // w holds the mass
    ai.x += r.x * s;
    ai.y += r.y * s;
    ai.z += r.z * s;
    return ai;
}

__device__ float3 tile_calculation(float4 myPosition, float3 accel)
{
    extern __shared__ float4 shPosition[];
#pragma unroll 4
    for (int i = 0; i < blockDim.x; i++)
        accel = bodyBodyInteraction(myPosition, shPosition[i], accel);
    return accel;
}

__global__ void calculate_forces(const float4 *__restrict__ devX, float4 *__restrict__ devA, int N)
{
    extern __shared__ float4 shPosition[];
    float3 acc = {0.0f, 0.0f, 0.0f};
    int gtid = blockIdx.x * blockDim.x + threadIdx.x;
    float4 myPosition = gtid < N ? devX[gtid] : make_float4(0.f, 0.f, 0.f, 0.f);
    for (int i = 0, tile = 0; i < N; i += blockDim.x, tile++) {
        int idx = tile * blockDim.x + threadIdx.x;
        shPosition[threadIdx.x] = idx < N ? devX[idx] : make_float4(0.f, 0.f, 0.f, 0.f);
        __syncthreads();
        acc = tile_calculation(myPosition, acc);
        __syncthreads();
    }
    if (gtid < N) devA[gtid] = make_float4(acc.x, acc.y, acc.z, 0.0f);
}

// Leapfrog integrate with damping; velocities in float4 too (w unused).
__global__ void integrateBodies(float4 *__restrict__ pos, float4 *__restrict__ vel,
                                const float4 *__restrict__ acc, float dt, float damping, int N)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N) return;
    float4 p = pos[i];
    float4 v = vel[i];
    float4 a = acc[i];
    float3 nv = (make_float3(v.x, v.y, v.z) + make_float3(a.x, a.y, a.z) * dt) * damping;
    p.x += nv.x * dt;
    p.y += nv.y * dt;
    p.z += nv.z * dt;
    pos[i] = p;
    vel[i] = make_float4(nv.x, nv.y, nv.z, v.w);
}

int main()
{
    const int N = 16384, p = 256;
    std::vector<float4> hPos(N), hVel(N);
    for (int i = 0; i < N; i++) {
        hPos[i] = make_float4(rand() / (float)RAND_MAX, rand() / (float)RAND_MAX, rand() / (float)RAND_MAX, 1.0f);
        hVel[i] = make_float4(0, 0, 0, 1);
    }
    float4 *dPos, *dVel, *dAcc;
    CUDA_CHECK(cudaMalloc(&dPos, N * sizeof(float4)));
    CUDA_CHECK(cudaMalloc(&dVel, N * sizeof(float4)));
    CUDA_CHECK(cudaMalloc(&dAcc, N * sizeof(float4)));
    CUDA_CHECK(cudaMemcpy(dPos, hPos.data(), N * sizeof(float4), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dVel, hVel.data(), N * sizeof(float4), cudaMemcpyHostToDevice));
    float soft = 0.01f;
    CUDA_CHECK(cudaMemcpyToSymbol(softeningSquared, &soft, sizeof(float)));
    for (int step = 0; step < 10; ++step) {
        calculate_forces<<<(N + p - 1) / p, p, p * sizeof(float4)>>>(dPos, dAcc, N);
        integrateBodies<<<(N + p - 1) / p, p>>>(dPos, dVel, dAcc, 0.001f, 0.995f, N);
    }
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(hPos.data(), dPos, N * sizeof(float4), cudaMemcpyDeviceToHost));
    printf("%f %f %f\n", hPos[0].x, hPos[0].y, hPos[0].z);
    return 0;
}
