import os

import numpy as np

import xpuc

art = xpuc.compile_file(
    __import__("sys").argv[1]
    if len(__import__("sys").argv) > 1
    else str(__import__("pathlib").Path(__file__).with_name("matmul.cu")),
    os.environ.get("XPUC_TEST_TARGET", "cpu"),
)
print([k.name for k in art.kernels], [k.arg_types for k in art.kernels])
mod = xpuc.load(art)
rng = np.random.default_rng(1)
ok = True
for BS in (32, 16):
    hA, wA, wB = 4 * BS, 3 * BS, 2 * BS
    A = rng.standard_normal((hA, wA), dtype=np.float32)
    B = rng.standard_normal((wA, wB), dtype=np.float32)
    C = np.zeros((hA, wB), np.float32)
    mod[f"matrixMulCUDA<{BS}>"][(wB // BS, hA // BS), (BS, BS)](C, A, B, wA, wB)
    g = np.allclose(C, A @ B, rtol=1e-4, atol=1e-3)
    ok &= g
    print(BS, "PASS" if g else "FAIL", np.abs(C - A @ B).max())
M, N, K = 70, 45, 37
A = rng.standard_normal((M, K), dtype=np.float32)
B = rng.standard_normal((K, N), dtype=np.float32)
C = rng.standard_normal((M, N), dtype=np.float32)
ref = 1.5 * (A @ B) + 0.5 * C
mod["sgemm_bounds<16>"][((N + 31) // 32, (M + 15) // 16), (16, 16)](M, N, K, 1.5, A, B, 0.5, C)
g = np.allclose(C, ref, rtol=1e-4, atol=1e-3)
ok &= g
print("sgemm_bounds", "PASS" if g else "FAIL", np.abs(C - ref).max())
print("ALL", "PASS" if ok else "FAIL")
