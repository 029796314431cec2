import os

import numpy as np

import xpuc

art = xpuc.compile_file(
    __import__("sys").argv[1]
    if len(__import__("sys").argv) > 1
    else str(__import__("pathlib").Path(__file__).with_name("scan.cu")),
    os.environ.get("XPUC_TEST_TARGET", "cpu"),
)
print([k.name for k in art.kernels], [k.arg_types for k in art.kernels])
mod = xpuc.load(art)
rng = np.random.default_rng(3)
ok = True


def chk(name, got, ref, exact=True):
    global ok
    g = np.array_equal(got, ref) if exact else np.allclose(got, ref, rtol=1e-5, atol=1e-3)
    ok &= g
    bad = (
        np.nonzero(got != ref)[0]
        if exact
        else np.nonzero(~np.isclose(got, ref, rtol=1e-5, atol=1e-3))[0]
    )
    print(
        name,
        "PASS" if g else "FAIL",
        "first bad:",
        bad[:5],
        got[bad[:5]] if len(bad) else "",
        ref[bad[:5]] if len(bad) else "",
    )


n, T = 100000, 512
E = 2 * T
blocks = (n + E - 1) // E
x = rng.integers(-5, 10, n, dtype=np.int32)
out = np.zeros(n, np.int32)
sums = np.zeros(blocks, np.int32)
ss = np.zeros(blocks, np.int32)
smem = (E + E // 32) * 4
mod.blelloch_scan[blocks, T, smem](x, out, sums, n)
bref = np.concatenate(
    [np.concatenate([[0], np.cumsum(x[b * E : (b + 1) * E])[:-1]]) for b in range(blocks)]
).astype(np.int32)
chk("blelloch per-block", out, bref)
mod.blelloch_scan[1, 512, smem](sums, ss, None, blocks)
chk("blelloch sums", ss, np.concatenate([[0], np.cumsum(sums)[:-1]]).astype(np.int32))
mod.add_block_offsets[blocks, T](out, ss, n)
chk("full exclusive scan", out, np.concatenate([[0], np.cumsum(x)[:-1]]).astype(np.int32))
nf = 256 * 50 - 17
xf = rng.standard_normal(nf).astype(np.float32)
fo = np.zeros(nf, np.float32)
tot = np.zeros(50, np.float32)
mod["shfl_scan<256>"][50, 256](xf, fo, tot, nf)
ref = np.concatenate([np.cumsum(xf[b * 256 : (b + 1) * 256].astype(np.float64)) for b in range(50)])
chk("shfl_scan", fo, ref, exact=False)
chk(
    "shfl_scan totals",
    tot,
    np.array([xf[b * 256 : (b + 1) * 256].astype(np.float64).sum() for b in range(50)]),
    exact=False,
)
xi = rng.integers(0, 100, 128 * 8, dtype=np.int32)
oi = np.zeros_like(xi)
mod.segmented_exclusive16[8, 128](xi, oi)
r = xi.reshape(-1, 16)
ref = (np.cumsum(r, 1) - r).reshape(-1).astype(np.int32)
chk("segmented_exclusive16", oi, ref)
print("ALL", "PASS" if ok else "FAIL")
