import os

import numpy as np

import xpuc

art = xpuc.compile_file(
    __import__("sys").argv[1]
    if len(__import__("sys").argv) > 1
    else str(__import__("pathlib").Path(__file__).with_name("transpose.cu")),
    os.environ.get("XPUC_TEST_TARGET", "cpu"),
)
print([k.name for k in art.kernels], [k.arg_types for k in art.kernels])
mod = xpuc.load(art)
ok = True


def chk(name, got, ref):
    global ok
    g = np.array_equal(got, ref)
    ok &= g
    print(name, "PASS" if g else "FAIL", "" if g else np.argwhere(got != ref)[:5])


nx = ny = 128
A = np.arange(nx * ny, dtype=np.float32).reshape(ny, nx)
grid, blk = (nx // 32, ny // 32), (32, 8)
o = np.zeros_like(A)
mod.copySharedMem[grid, blk](o, A)
chk("copySharedMem", o, A)
o = np.zeros_like(A)
mod.transposeNaive[grid, blk](o, A)
chk("transposeNaive", o, A.T)
o = np.zeros_like(A)
mod.transposeCoalesced[grid, blk](o, A)
chk("transposeCoalesced", o, A.T)
rows, cols = 100, 77
B = np.random.default_rng(4).standard_normal((rows, cols)).astype(np.float32)
o = np.zeros((cols, rows), np.float32)
mod.transposeNoBankConflicts[((cols + 31) // 32, (rows + 31) // 32), (32, 8)](o, B, rows, cols)
chk("transposeNoBankConflicts", o, B.T)
tn = [k.name for k in art.kernels if k.name.startswith("transposeT")]
print(tn)
D = np.random.default_rng(5).standard_normal((50, 38))
o = np.zeros((38, 50))
mod[tn[0]][((38 + 15) // 16, (50 + 15) // 16), (16, 16)](o, D, 50, 38)
chk(tn[0], o, D.T)
ints = np.arange(rows * cols, dtype=np.int32).reshape(rows, cols)
o = np.zeros((cols, rows), np.int32)
mod[tn[1]][((cols + 7) // 8, (rows + 7) // 8), (8, 8)](o, ints, rows, cols)
chk(tn[1], o, ints.T)
print("ALL", "PASS" if ok else "FAIL")
