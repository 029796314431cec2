import os

import numpy as np

import xpuc

art = xpuc.compile_file(
    __import__("sys").argv[1]
    if len(__import__("sys").argv) > 1
    else str(__import__("pathlib").Path(__file__).with_name("spmv.cu")),
    os.environ.get("XPUC_TEST_TARGET", "cpu"),
)
print([k.name for k in art.kernels], [k.arg_types for k in art.kernels])
mod = xpuc.load(art)
ok = True
rng = np.random.default_rng(9)
rows, cols = 500, 300
# variable row lengths, including empty and >32 long rows
lens = rng.integers(0, 80, rows)
lens[::17] = 0
ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
nnz = int(ptr[-1])
idx = rng.integers(0, cols, nnz).astype(np.int32)
val = rng.standard_normal(nnz).astype(np.float32)
x = rng.standard_normal(cols).astype(np.float32)
D = np.zeros((rows, cols))
for r in range(rows):
    np.add.at(D[r], idx[ptr[r] : ptr[r + 1]], val[ptr[r] : ptr[r + 1]])
ref = D @ x
y = np.full(rows, np.nan, np.float32)
mod.spmv_csr_scalar[(rows + 255) // 256, 256](rows, ptr, idx, val, x, y)
g = np.allclose(y, ref, atol=1e-4)
ok &= g
print("scalar", "PASS" if g else "FAIL")
y = np.full(rows, np.nan, np.float32)
mod.spmv_csr_vector[(rows * 32 + 255) // 256, 256](rows, ptr, idx, val, x, y)
g = np.allclose(y, ref, atol=1e-4)
ok &= g
print("vector", "PASS" if g else "FAIL", np.nanmax(np.abs(y - ref)))
vd, xd = val.astype(np.float64), x.astype(np.float64)
for tpr, a, b in ((4, 2.0, 0.5), (8, 1.0, 0.0)):
    y0 = rng.standard_normal(rows)
    y = y0.copy()
    mod[f"spmv_csr_subwarp<{tpr}>"][(rows * tpr + 255) // 256, 256](rows, ptr, idx, vd, xd, y, a, b)
    r = a * (D @ xd) + b * y0
    g = np.allclose(y, r, atol=1e-10)
    ok &= g
    print("subwarp", tpr, "PASS" if g else "FAIL", np.abs(y - r).max())
print("ALL", "PASS" if ok else "FAIL")
