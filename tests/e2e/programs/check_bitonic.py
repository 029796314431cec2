import os

import numpy as np

import xpuc

art = xpuc.compile_file(
    __import__("sys").argv[1]
    if len(__import__("sys").argv) > 1
    else str(__import__("pathlib").Path(__file__).with_name("bitonic.cu")),
    os.environ.get("XPUC_TEST_TARGET", "cpu"),
)
print([k.name for k in art.kernels], [k.arg_types for k in art.kernels])
mod = xpuc.load(art)
ok = True
rng = np.random.default_rng(7)
B, N = 8, 1024
for dirn in (1, 0):
    k = rng.integers(0, 1 << 20, B * N, dtype=np.uint32)
    v = np.arange(B * N, dtype=np.uint32)
    dk, dv = np.zeros_like(k), np.zeros_like(v)
    mod.bitonicSortShared[B, N // 2](dk, dv, k, v, N, dirn)
    kk = k.reshape(B, N)
    ref = np.sort(kk, 1)
    if not dirn:
        ref = ref[:, ::-1]
    g = np.array_equal(dk.reshape(B, N), ref) and np.array_equal(k[dv], dk)
    ok &= g
    print("bitonicSortShared dir", dirn, "PASS" if g else "FAIL")
f = rng.standard_normal(256 * 5).astype(np.float32)
ref = np.sort(f.reshape(5, 256), 1).reshape(-1)
mod["bitonic_xor<256>"][5, 256, 1024](f)
g = np.array_equal(f, ref)
ok &= g
print("bitonic_xor<256>", "PASS" if g else "FAIL")
print("ALL", "PASS" if ok else "FAIL")
