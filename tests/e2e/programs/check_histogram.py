import os

import numpy as np

import xpuc

art = xpuc.compile_file(
    __import__("sys").argv[1]
    if len(__import__("sys").argv) > 1
    else str(__import__("pathlib").Path(__file__).with_name("histogram.cu")),
    os.environ.get("XPUC_TEST_TARGET", "cpu"),
)
print([k.name for k in art.kernels], [k.arg_types for k in art.kernels])
mod = xpuc.load(art)
rng = np.random.default_rng(2)
n = 1 << 18
data = rng.integers(0, 256, n, dtype=np.uint8)
data[: n // 8] = 7  # heavy contention on one bin
ref = np.bincount(data, minlength=256).astype(np.uint32)
ok = True


def chk(name, got):
    global ok
    g = np.array_equal(got, ref)
    ok &= g
    print(
        name,
        "PASS" if g else "FAIL",
        got[:8],
        ref[:8],
        "diff bins:",
        np.nonzero(got != ref)[0][:10],
    )


h = np.zeros(256, np.uint32)
mod.histo_global[60, 256](data, h, n)
chk("histo_global", h)
h = np.zeros(256, np.uint32)
d4 = data.view(np.uint8).reshape(-1, 4)  # uchar4 as (n/4, 4) array?
try:
    mod.histo_shared[60, 256](data, h, n // 4)
    chk("histo_shared", h)
except Exception as e:
    print("histo_shared call error:", e)
blocks = 30
part = np.zeros(blocks * 256, np.uint32)
h = np.zeros(256, np.uint32)
mod.histo_per_warp[blocks, 128](data.view(np.uint32), n // 4, part)
mod.merge_histograms[1, 256](part, h, blocks)
chk("per_warp+merge", h)
print("ALL", "PASS" if ok else "FAIL")
