import os

import numpy as np

import xpuc

art = xpuc.compile_file(
    __import__("sys").argv[1]
    if len(__import__("sys").argv) > 1
    else str(__import__("pathlib").Path(__file__).with_name("nbody.cu")),
    os.environ.get("XPUC_TEST_TARGET", "cpu"),
)
print([k.name for k in art.kernels], [k.arg_types for k in art.kernels])
mod = xpuc.load(art)
ok = True
rng = np.random.default_rng(6)
N, p = 1000, 128
pos = rng.random((N, 4), dtype=np.float32)
pos[:, 3] = rng.random(N) + 0.5
vel = np.zeros((N, 4), np.float32)
vel[:, 3] = 1
acc = np.zeros((N, 4), np.float32)
mod.symbol("softeningSquared")[...] = 0.01
mod.calculate_forces[(N + p - 1) // p, p, p * 16](pos, acc, N)
P = pos.astype(np.float64)
r = P[None, :, :3] - P[:, None, :3]
d2 = (r**2).sum(-1) + 0.01
ref = (r * (P[None, :, 3] / d2**1.5)[..., None]).sum(1)
g = np.allclose(acc[:, :3], ref, rtol=1e-3, atol=1e-2) and np.all(acc[:, 3] == 0)
ok &= g
print("calculate_forces", "PASS" if g else "FAIL", np.abs(acc[:, :3] - ref).max(), acc[0], ref[0])
p0, v0 = pos.copy(), vel.copy()
mod.integrateBodies[(N + p - 1) // p, p](pos, vel, acc, 0.001, 0.995, N)
nv = (v0[:, :3] + acc[:, :3] * 0.001) * 0.995
g = (
    np.allclose(vel[:, :3], nv, atol=1e-6)
    and np.allclose(pos[:, :3], p0[:, :3] + nv * 0.001, atol=1e-6)
    and np.array_equal(pos[:, 3], p0[:, 3])
    and np.all(vel[:, 3] == 1)
)
ok &= g
print("integrateBodies", "PASS" if g else "FAIL")
print("ALL", "PASS" if ok else "FAIL")
