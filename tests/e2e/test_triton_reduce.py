"""Triton frontend, reductions: ``tt.reduce`` (tl.sum/max/min) and ``scf.for`` over rows."""

from __future__ import annotations

import numpy as np
import pytest
from triton_common import (  # first: skips the module without triton
    IGNORE_FP_FUSION,
    TUTORIALS,
    needs_tutorials,
    skip_unless_runs,
    tl,
    triton,
)

from xpuc.frontends.triton import TritonKernel, compile, load_kernel, lower_kernel

pytestmark = IGNORE_FP_FUSION

SOFTMAX_SIG = {"output_ptr": "*fp32", "input_ptr": "*fp32", "input_row_stride": "i32",
               "output_row_stride": "i32", "n_rows": "i32", "n_cols": "i32",
               "BLOCK_SIZE": "constexpr", "num_stages": "constexpr"}  # fmt: skip
SOFTMAX_CONSTS = {"BLOCK_SIZE": 128, "num_stages": 2}


def _softmax():
    return load_kernel(TUTORIALS / "02-fused-softmax.py", "softmax_kernel")


@needs_tutorials
@pytest.mark.parametrize("target", ["cpu", "opencl"])
def test_tutorial_softmax(target):
    skip_unless_runs(target)
    art = compile(_softmax(), SOFTMAX_SIG, SOFTMAX_CONSTS, target=target, num_warps=4)
    k = TritonKernel.load(art, 4, SOFTMAX_CONSTS)
    n_rows, n_cols = 37, 100
    x = np.random.default_rng(2).standard_normal((n_rows, n_cols), dtype=np.float32) * 4
    y = np.full_like(x, -1.0)
    k[(min(n_rows, 8), 1, 1)](y, x, x.strides[0] // 4, y.strides[0] // 4, n_rows, n_cols,
                              BLOCK_SIZE=128, num_stages=2)  # fmt: skip
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)


@triton.jit
def _reductions(x_ptr, i_ptr, out_f, out_i, n, B: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * B + tl.arange(0, B)
    m = offs < n
    x = tl.load(x_ptr + offs, mask=m, other=0.0)
    s = tl.sum(x, axis=0)
    hi = tl.max(tl.load(x_ptr + offs, mask=m, other=-1e30), axis=0)
    lo = tl.min(tl.load(x_ptr + offs, mask=m, other=1e30), axis=0)
    tl.store(out_f + pid * 2, s)
    tl.store(out_f + pid * 2 + 1, hi - lo)
    v = tl.load(i_ptr + offs, mask=m, other=7)
    vs, vmax, vmin = tl.sum(v, axis=0), tl.max(v, axis=0), tl.min(v, axis=0)
    tl.store(out_i + pid * 3, vs)
    tl.store(out_i + pid * 3 + 1, vmax)
    tl.store(out_i + pid * 3 + 2, vmin)


@pytest.mark.parametrize("target", ["cpu", "opencl"])
@pytest.mark.parametrize("block,num_warps", [(256, 4), (32, 2)])
def test_sum_max_min_masked(target, block, num_warps):
    skip_unless_runs(target)
    sig = {"x_ptr": "*fp32", "i_ptr": "*i32", "out_f": "*fp32", "out_i": "*i32", "n": "i32",
           "B": "constexpr"}  # fmt: skip
    art = compile(_reductions, sig, {"B": block}, target=target, num_warps=num_warps)
    k = TritonKernel.load(art, num_warps)
    rng = np.random.default_rng(3)
    progs = 3
    n = progs * block - block // 2 - 3
    x = rng.standard_normal(n, dtype=np.float32)
    iv = rng.integers(-1000, 1000, n, dtype=np.int32)
    of, oi = np.zeros(progs * 2, np.float32), np.zeros(progs * 3, np.int32)
    k[progs](x, iv, of, oi, n)
    for p in range(progs):
        xs = x[p * block : (p + 1) * block]
        ms = iv[p * block : (p + 1) * block]
        pad = block - len(ms)
        np.testing.assert_allclose(of[p * 2], xs.sum(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(of[p * 2 + 1], xs.max() - xs.min(), rtol=1e-6)
        assert oi[p * 3] == ms.sum() + 7 * pad
        assert oi[p * 3 + 1] == max(ms.max(), 7 if pad else -(10**9))
        assert oi[p * 3 + 2] == min(ms.min(), 7 if pad else 10**9)


@needs_tutorials
def test_softmax_ir_uses_shared_memory_and_barriers():
    module, _ = lower_kernel(_softmax(), SOFTMAX_SIG, SOFTMAX_CONSTS, num_warps=4)
    text = str(module)
    assert "tt." not in text and "tensor<" not in text
    assert text.count("memref.global") == 2 and "memref<128xf32, 3 : i64>" in text
    # per reduce: store, log2(128) steps, read; and one ending each row (the loop stores)
    assert text.count("gpu.barrier") == 2 * (1 + 7 + 1) + 1


@needs_tutorials
@pytest.mark.ptxas
def test_softmax_ptx_accepted_by_ptxas():
    art = compile(_softmax(), SOFTMAX_SIG, SOFTMAX_CONSTS, target="nvptx:sm_90", emit="bin")
    asm = str(art.stages["asm"])
    assert ".entry softmax_kernel" in asm and "bar.sync" in asm and ".shared" in asm
    assert art.stages["bin"][:4] == b"\x7fELF"


@triton.jit
def _sum_2d(x_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r[:, None] * B + r[None, :])
    tl.store(o_ptr + r, tl.sum(x, axis=0))
    tl.store(o_ptr + B + r, tl.max(x, axis=1))


@triton.jit
def _abs_max(a, b):
    return tl.maximum(tl.abs(a), tl.abs(b))


@triton.jit
def _custom(x_ptr, o_ptr, B: tl.constexpr):
    x = tl.load(x_ptr + tl.arange(0, B))
    tl.store(o_ptr, tl.reduce(x, 0, _abs_max))
    tl.store(o_ptr + 1, tl.argmax(x, axis=0).to(tl.float32))


@pytest.mark.parametrize("target", ["cpu", "opencl"])
def test_reductions_along_an_axis_and_custom_combines(target):
    skip_unless_runs(target)
    sig = {"x_ptr": "*fp32", "o_ptr": "*fp32", "B": "constexpr"}
    x = np.random.default_rng(5).standard_normal((16, 16), dtype=np.float32)
    o = np.zeros(32, np.float32)
    TritonKernel.load(compile(_sum_2d, sig, {"B": 16}, target=target))[(1,)](x, o)
    np.testing.assert_allclose(o, np.concatenate([x.sum(0), x.max(1)]), rtol=1e-5, atol=1e-6)
    v = x.ravel()[:200]
    o = np.zeros(2, np.float32)
    TritonKernel.load(compile(_custom, sig, {"B": 128}, target=target))[(1,)](v, o)
    assert o.tolist() == [np.abs(v[:128]).max(), float(np.argmax(v[:128]))]


@triton.jit
def _store_then_reduce(x_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r)
    tl.store(x_ptr + r, x + 1)
    tl.store(o_ptr + r, x - tl.sum(x, axis=0))


@pytest.mark.parametrize("target", ["cpu", "opencl"])
def test_a_tile_loaded_before_a_store_keeps_its_value(target):
    """The load is kept (materialized) where it stands, not recomputed after the store."""
    skip_unless_runs(target)
    sig = {"x_ptr": "*fp32", "o_ptr": "*fp32", "B": "constexpr"}
    x = np.arange(64, dtype=np.float32)
    want = x - x.sum()
    o = np.zeros(64, np.float32)
    TritonKernel.load(compile(_store_then_reduce, sig, {"B": 64}, target=target))[(1,)](x, o)
    np.testing.assert_array_equal(o, want)
    np.testing.assert_array_equal(x, np.arange(64, dtype=np.float32) + 1)
