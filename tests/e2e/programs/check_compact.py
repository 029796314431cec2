import os
import sys

import numpy as np

import xpuc

art = xpuc.compile_file(
    sys.argv[1]
    if len(sys.argv) > 1
    else str(__import__("pathlib").Path(__file__).with_name("compact.cu")),
    os.environ.get("XPUC_TEST_TARGET", "cpu"),
)
print([k.name for k in art.kernels], [k.arg_types for k in art.kernels])
mod = xpuc.load(art)
ok = True
rng = np.random.default_rng(12)
n, bs = 10000, 256
nb = (n + bs - 1) // bs
x = rng.random(n).astype(np.float32)
cnt = np.zeros(nb, np.int32)
mod.count_pass[nb, bs](x, n, 0.5, cnt)
keep = x > 0.5
rc = np.add.reduceat(
    np.concatenate([keep, np.zeros(nb * bs - n, bool)]).astype(np.int32), np.arange(0, nb * bs, bs)
)
g = np.array_equal(cnt, rc)
ok &= g
print("count_pass", "PASS" if g else "FAIL")
off = np.concatenate([[0], np.cumsum(cnt)[:-1]]).astype(np.int32)
out = np.zeros(n, np.float32)
oi = np.full(n, -1, np.int32)
mod.scatter_pass[nb, bs](x, n, 0.5, off, out, oi)
m = keep.sum()
g = np.array_equal(out[:m], x[keep]) and np.array_equal(oi[:m], np.nonzero(keep)[0])
ok &= g
print("scatter_pass", "PASS" if g else "FAIL")
xi = rng.integers(0, 1000, n).astype(np.int32)
o = np.full(n, -1, np.int32)
c = np.zeros(1, np.int32)
mod.compact_atomic[nb, bs](xi, n, o, c)
ev = xi[xi % 2 == 0]
g = c[0] == len(ev) and np.array_equal(np.sort(o[: c[0]]), np.sort(ev))
ok &= g
print("compact_atomic", "PASS" if g else "FAIL", c[0], len(ev))
keys = rng.integers(0, 256, n).astype(np.uint8)
vals = rng.random(n).astype(np.float32)
nbins = 16
counts = np.zeros(nbins, np.uint32)
sums = np.zeros(nbins, np.float32)
smem = bs * 4 + nbins * 8 + bs
mod.carve_smem[nb, bs, smem](keys, vals, n, counts, sums, nbins)
rc = np.bincount(keys % nbins, minlength=nbins)
rs = np.bincount(keys % nbins, weights=vals, minlength=nbins)
g = np.array_equal(counts, rc) and np.allclose(sums, rs, rtol=1e-4)
ok &= g
print("carve_smem", "PASS" if g else "FAIL", counts[:4], rc[:4], sums[:3], rs[:3])
print("ALL", "PASS" if ok else "FAIL")
