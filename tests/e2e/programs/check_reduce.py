import os
import sys

import numpy as np

import xpuc

art = xpuc.compile_file(
    sys.argv[1]
    if len(sys.argv) > 1
    else str(__import__("pathlib").Path(__file__).with_name("reduce.cu")),
    os.environ.get("XPUC_TEST_TARGET", "cpu"),
)
print([k.name for k in art.kernels], [k.arg_types for k in art.kernels])
mod = xpuc.load(art)
R6T, R6F = [k.name for k in art.kernels if k.name.startswith("reduce6")][:2]
print(R6T, R6F)
rng = np.random.default_rng(0)
n = 1 << 16
x = (rng.integers(0, 256, n) / 256.0).astype(np.float32)
T = 256
ok = True


def check(name, out, nb, ref_in):
    global ok
    ref = ref_in.astype(np.float64)
    got = out[:nb].astype(np.float64)
    # compare per-block partial sums
    good = np.allclose(got, ref, rtol=1e-4, atol=1e-3)
    print(name, "PASS" if good else "FAIL", got[:4], ref[:4])
    ok &= good


def blocksum(x, per):
    pad = (-len(x)) % per
    return np.concatenate([x, np.zeros(pad, np.float32)]).astype(np.float64).reshape(-1, per).sum(1)


for k in ["reduce0", "reduce1", "reduce2"]:
    out = np.zeros(n, np.float32)
    nb = (n + T - 1) // T
    mod[k][nb, T, T * 4](x, out, n)
    check(k, out, nb, blocksum(x, T))
for k in ["reduce3", "reduce4", "reduce5<256>"]:
    out = np.zeros(n, np.float32)
    nb = (n + 2 * T - 1) // (2 * T)
    mod[k][nb, T, T * 4](x, out, n)
    check(k, out, nb, blocksum(x, 2 * T))
out = np.zeros(n, np.float32)
nb = (n + 255) // 256
mod["reduce5<128>"][nb, 128, 512](x, out, n)
check("reduce5<128>", out, nb, blocksum(x, 256))


# reduce6: grid-stride, 64 blocks; block b sums elements i where (i // 512) % 64 == b
def r6ref(x, nn):
    xs = x[:nn].astype(np.float64)
    idx = np.arange(nn)
    return np.bincount((idx // 512) % 64, weights=xs, minlength=64)


out = np.zeros(64, np.float32)
mod[R6T][64, 256](x, out, n)
check("reduce6<256,true>", out, 64, r6ref(x, n))
out = np.zeros(64, np.float32)
mod[R6F][64, 256](x, out, n - 3)
check("reduce6<256,false>", out, 64, r6ref(x, n - 3))
print("ALL", "PASS" if ok else "FAIL")
