import os
import sys

import numpy as np

import xpuc

art = xpuc.compile_file(
    sys.argv[1]
    if len(sys.argv) > 1
    else str(__import__("pathlib").Path(__file__).with_name("particles.cu")),
    os.environ.get("XPUC_TEST_TARGET", "cpu"),
)
print([k.name for k in art.kernels], [k.arg_types for k in art.kernels])
mod = xpuc.load(art)
ok = True
rng = np.random.default_rng(11)
n = 5000
dt, g, damp, bmin, bmax = 0.01, (0.5, -9.81, 0.25), 0.999, -1.0, 1.0
f32 = np.float32
for flags in (3, 2, 1, 0):
    P = (
        [rng.uniform(-1.05, 1.05, n).astype(f32) for _ in range(3)]
        + [rng.standard_normal(n).astype(f32) * 3 for _ in range(3)]
        + [np.ones(n, f32)]
    )
    x, y, z, vx, vy, vz = [a.astype(np.float64) for a in P[:6]]
    prm = (dt, g, damp, n, bmin, bmax, flags)
    mod.update_soa[(n + 255) // 256, 256](tuple(P), prm)
    ok1 = True
    pos, vel = [x, y, z], [vx, vy, vz]
    for d in range(3):
        v = vel[d].astype(f32)
        if flags & 2:
            v = (v + f32(g[d]) * f32(dt)).astype(f32)
        v = (v * f32(damp)).astype(f32)
        p = (pos[d].astype(f32) + v * f32(dt)).astype(f32)
        if flags & 1:
            lo = p < bmin
            hi = p > bmax
            p = np.where(lo, bmin + (bmin - p), np.where(hi, bmax - (p - bmax), p)).astype(f32)
            v = np.where(lo | hi, -v, v)
        ok1 &= np.allclose(P[d], p, atol=1e-6) and np.allclose(P[3 + d], v, atol=1e-6)
    ok &= ok1
    print("update_soa flags", flags, "PASS" if ok1 else "FAIL")
    if not ok1:
        print(P[0][:4], P[3][:4])
pdt = np.dtype(
    {
        "names": ["pos", "id", "vel", "alive", "kind", "age", "energy"],
        "formats": [(f32, 3), np.int32, (f32, 3), np.uint8, np.uint8, np.uint16, np.float64],
        "offsets": [0, 12, 16, 28, 29, 30, 32],
        "itemsize": 40,
    }
)
ps = np.zeros(n, pdt)
ps["pos"] = rng.standard_normal((n, 3))
ps["vel"] = rng.standard_normal((n, 3))
ps["id"] = np.arange(n)
ps["alive"] = rng.integers(0, 2, n)
ps["kind"] = rng.integers(0, 3, n)
ps["age"] = rng.integers(95, 100, n)
ps["energy"] = -1
ref = ps.copy()
max_age = 99
mod.update_aos[16, 128](ps, (dt, g, damp, n, bmin, bmax, 3), max_age)
a = ref["alive"] != 0
k = np.where(ref["kind"] == 1, f32(2), f32(1))[:, None]
vel = ((ref["vel"] + np.array(g, f32) * f32(dt) * k) * f32(damp)).astype(f32)
pos = (ref["pos"] + vel * f32(dt)).astype(f32)
age = ref["age"] + 1
en = 0.5 * (vel.astype(f32) ** 2).sum(1, dtype=f32).astype(np.float64)
exp = ref.copy()
exp["vel"][a] = vel[a]
exp["pos"][a] = pos[a]
exp["age"][a] = age[a]
exp["energy"][a] = en[a]
exp["alive"][a & (age >= max_age)] = 0
ok2 = (
    np.allclose(ps["pos"], exp["pos"], atol=1e-6)
    and np.allclose(ps["vel"], exp["vel"], atol=1e-6)
    and np.array_equal(ps["age"], exp["age"])
    and np.array_equal(ps["alive"], exp["alive"])
    and np.array_equal(ps["kind"], exp["kind"])
    and np.array_equal(ps["id"], exp["id"])
    and np.allclose(ps["energy"], exp["energy"], rtol=1e-5)
)
ok &= ok2
print("update_aos", "PASS" if ok2 else "FAIL")
if not ok2:
    for f in pdt.names:
        print(
            f,
            np.array_equal(ps[f], exp[f])
            if f not in ("pos", "vel", "energy")
            else np.abs(ps[f] - exp[f]).max(),
        )
cnt = np.zeros(4, np.uint32)
mod.count_alive[(n + 255) // 256, 256](ps, n, cnt)
rc = np.bincount(ps["kind"][ps["alive"] != 0], minlength=4).astype(np.uint32)
ok3 = np.array_equal(cnt, rc)
ok &= ok3
print("count_alive", "PASS" if ok3 else "FAIL", cnt, rc)
print("ALL", "PASS" if ok else "FAIL")
