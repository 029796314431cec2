// Particle update: struct-of-arrays with a Params struct passed by value, and an
// array-of-structs version with mixed field types.
#include <cstdio>
#include <cstdint>
#include <vector>
#include <cuda_runtime.h>
#include "common.h"

struct Params {
    float dt;
    float3 gravity;
    float damping;
    int   n;
    float bounds_min, bounds_max;
    unsigned int flags;          // bit 0: bounce at bounds, bit 1: apply gravity
};

struct ParticlesSoA {
    float *x, *y, *z;
    float *vx, *vy, *vz;
    float *mass;
};

enum Flags { kBounce = 1u << 0, kGravity = 1u << 1 };

__device__ __forceinline__ void reflect(float &p, float &v, float lo, float hi)
{
    if (p < lo) { p = lo + (lo - p); v = -v; }
    else if (p > hi) { p = hi - (p - hi); v = -v; }
}

__global__ void update_soa(ParticlesSoA P, const Params prm)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= prm.n) return;
    float vx = P.vx[i], vy = P.vy[i], vz = P.vz[i];
    if (prm.flags & kGravity) {
        vx += prm.gravity.x * prm.dt;
        vy += prm.gravity.y * prm.dt;
        vz += prm.gravity.z * prm.dt;
    }
    vx *= prm.damping; vy *= prm.damping; vz *= prm.damping;
    float x = P.x[i] + vx * prm.dt;
    float y = P.y[i] + vy * prm.dt;
    float z = P.z[i] + vz * prm.dt;
    if (prm.flags & kBounce) {
        reflect(x, vx, prm.bounds_min, prm.bounds_max);
        reflect(y, vy, prm.bounds_min, prm.bounds_max);
        reflect(z, vz, prm.bounds_min, prm.bounds_max);
    }
    P.x[i] = x; P.y[i] = y; P.z[i] = z;
    P.vx[i] = vx; P.vy[i] = vy; P.vz[i] = vz;
}

// AoS, mixed types: C layout with padding (sizeof == 40).
struct Particle {
    float3   pos;       // 0
    int      id;        // 12
    float3   vel;       // 16
    uint8_t  alive;     // 28
    uint8_t  kind;      // 29
    uint16_t age;       // 30
    double   energy;    // 32
};

__global__ void update_aos(Particle *ps, Params prm, int max_age)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < prm.n; i += blockDim.x * gridDim.x) {
        Particle p = ps[i];
        if (!p.alive) continue;
        float k = p.kind == 1 ? 2.0f : 1.0f;
        p.vel.x = (p.vel.x + prm.gravity.x * prm.dt * k) * prm.damping;
        p.vel.y = (p.vel.y + prm.gravity.y * prm.dt * k) * prm.damping;
        p.vel.z = (p.vel.z + prm.gravity.z * prm.dt * k) * prm.damping;
        p.pos.x += p.vel.x * prm.dt;
        p.pos.y += p.vel.y * prm.dt;
        p.pos.z += p.vel.z * prm.dt;
        p.age++;
        p.energy = 0.5 * (double)(p.vel.x * p.vel.x + p.vel.y * p.vel.y + p.vel.z * p.vel.z);
        if (p.age >= max_age) p.alive = 0;
        ps[i] = p;
    }
}

// Per-field in-place update through a pointer to a struct member
__global__ void count_alive(const Particle *ps, int n, unsigned int *alive_by_kind)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n && ps[i].alive) atomicAdd(&alive_by_kind[ps[i].kind], 1u);
}

int main()
{
    const int n = 100000;
    Params prm;
    prm.dt = 0.01f; prm.gravity = make_float3(0.f, -9.81f, 0.f); prm.damping = 0.999f;
    prm.n = n; prm.bounds_min = -10.f; prm.bounds_max = 10.f; prm.flags = kBounce | kGravity;
    ParticlesSoA d;
    float **fields[] = {&d.x, &d.y, &d.z, &d.vx, &d.vy, &d.vz, &d.mass};
    for (float **f : fields) CUDA_CHECK(cudaMalloc(f, n * sizeof(float)));
    update_soa<<<(n + 255) / 256, 256>>>(d, prm);

    std::vector<Particle> h(n);
    Particle *dp;
    CUDA_CHECK(cudaMalloc(&dp, n * sizeof(Particle)));
    CUDA_CHECK(cudaMemcpy(dp, h.data(), n * sizeof(Particle), cudaMemcpyHostToDevice));
    update_aos<<<128, 256>>>(dp, prm, 100);
    unsigned int *dcount;
    CUDA_CHECK(cudaMalloc(&dcount, 4 * sizeof(unsigned int)));
    count_alive<<<(n + 255) / 256, 256>>>(dp, n, dcount);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaDeviceSynchronize());
    return 0;
}
