import os

import numpy as np

import xpuc

art = xpuc.compile_file(
    __import__("sys").argv[1]
    if len(__import__("sys").argv) > 1
    else str(__import__("pathlib").Path(__file__).with_name("stencil.cu")),
    os.environ.get("XPUC_TEST_TARGET", "cpu"),
)
print([k.name for k in art.kernels], [k.arg_types for k in art.kernels])
mod = xpuc.load(art)
ok = True
rng = np.random.default_rng(8)
w = np.array([0.05, 0.1, 0.2, 0.3, 0.2, 0.1, 0.05], np.float32)
mod.symbol("c_weights")[...] = w
n = 1000
x = rng.standard_normal(n).astype(np.float32)
o = np.zeros_like(x)
mod.stencil_1d[(n + 127) // 128, 128](x, o, n)
xp = np.concatenate([np.zeros(3), x, np.zeros(3)])
ref = sum(w[k] * xp[k : k + n] for k in range(7))
g = np.allclose(o, ref, atol=1e-5)
ok &= g
print("stencil_1d", "PASS" if g else "FAIL", np.abs(o - ref).max())
nx, ny = 50, 37
u = rng.standard_normal((ny, nx)).astype(np.float32)
ref = u.astype(np.float64).copy()
a, b = u.copy(), np.zeros_like(u)
for _it in range(20):
    mod.jacobi_step[((nx + 15) // 16, (ny + 15) // 16), (16, 16)](a, b, nx, ny)
    a, b = b, a
    r2 = ref.copy()
    r2[1:-1, 1:-1] = 0.25 * (ref[1:-1, :-2] + ref[1:-1, 2:] + ref[:-2, 1:-1] + ref[2:, 1:-1])
    ref = r2
g = np.allclose(a, ref, atol=1e-5)
ok &= g
print("jacobi_step x20", "PASS" if g else "FAIL", np.abs(a - ref).max())
B, N, iters = 4, 32, 50
G = rng.standard_normal((B, N, N)).astype(np.float32)
res = np.zeros(B, np.float32)
ref = G.astype(np.float64).copy()
prev = None
for _it in range(iters):
    prev = ref.copy()
    r2 = ref.copy()
    r2[:, 1:-1, 1:-1] = 0.25 * (
        ref[:, 1:-1, :-2] + ref[:, 1:-1, 2:] + ref[:, :-2, 1:-1] + ref[:, 2:, 1:-1]
    )
    ref = r2
mod["jacobi_inblock<32>"][B, (32, 32)](G, res, iters)
rr = np.abs(ref - prev).max((1, 2))
g = np.allclose(G, ref, atol=1e-5) and np.allclose(res, rr, atol=1e-5)
ok &= g
print("jacobi_inblock<32>", "PASS" if g else "FAIL", np.abs(G - ref).max(), res, rr)
print("ALL", "PASS" if ok else "FAIL")
