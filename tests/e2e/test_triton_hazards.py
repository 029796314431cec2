"""Triton frontend: memory order and the lowering's own limits, checked against numpy.

A tile is recomputed where it is used unless something could change it in between
(``xpuc/frontends/triton/analysis.py``); these kernels are the cases where recomputing
would be wrong, found in review, plus the located errors and the compile-size bound.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_triton_ops import TARGETS, kernel, rng  # first: skips the module without triton
from triton_common import tl, triton

from xpuc.compiler.diagnostics import CompileError
from xpuc.frontends.triton import compile, lower_kernel


@triton.jit
def _rotate_in_place(x_ptr, B: tl.constexpr):
    o = tl.arange(0, B)
    tl.store(x_ptr + (o + 128) % B, tl.load(x_ptr + o))


@triton.jit
def _transpose_in_place(x_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    p = x_ptr + r[:, None] * B + r[None, :]
    tl.store(p, tl.trans(tl.load(p)))


@TARGETS
def test_a_store_into_the_argument_a_tile_was_loaded_from(target):
    """The whole tile is loaded before the store, as in Triton."""
    x = np.arange(256, dtype=np.float32)
    kernel(_rotate_in_place, "*fp32", target, B=256)[(1,)](x)
    np.testing.assert_array_equal(x, np.roll(np.arange(256, dtype=np.float32), 128))
    x = rng().standard_normal((16, 16), dtype=np.float32)
    want = x.T.copy()
    kernel(_transpose_in_place, "*fp32", target, B=16)[(1,)](x)
    np.testing.assert_array_equal(x, want)


@triton.jit
def _two_stores(a_ptr, b_ptr, out, B: tl.constexpr):
    o = tl.arange(0, B)
    tl.store(out + o, tl.load(a_ptr + o))
    tl.store(out + (o ^ 1), tl.load(b_ptr + o))
    tl.store(out + B + o, tl.load(a_ptr + o))
    tl.store(out + B + (o + 128) % B, tl.load(b_ptr + o))


@TARGETS
def test_the_later_of_two_stores_to_one_place_wins(target):
    a, b = np.arange(256, dtype=np.float32), -np.arange(1, 257, dtype=np.float32)
    o = np.zeros(512, np.float32)
    kernel(_two_stores, "*fp32 *fp32 *fp32", target, B=256)[(1,)](a, b, o)
    np.testing.assert_array_equal(o[:256], b[np.arange(256) ^ 1])
    np.testing.assert_array_equal(o[256:], np.roll(b, 128))


@triton.jit
def _parallel_yield(x_ptr, o_ptr, M: tl.constexpr, N: tl.constexpr):
    rm, rn = tl.arange(0, M), tl.arange(0, N)
    row = tl.zeros((N,), tl.float32)
    acc = tl.zeros((M, N), tl.float32)
    for i in range(M):
        acc += row[None, :] * (rm[:, None] == i)  # reads the row of the iteration before
        row += tl.load(x_ptr + i * N + rn)
    tl.store(o_ptr + rm[:, None] * N + rn[None, :], acc)


@TARGETS
def test_tiles_of_two_sizes_are_yielded_together(target):
    x = np.arange(1, 5, dtype=np.float32)[:, None] * np.ones((4, 8), np.float32)
    o = np.zeros((4, 8), np.float32)
    kernel(_parallel_yield, "*fp32 *fp32", target, M=4, N=8)[(1,)](x, o)
    np.testing.assert_array_equal(o, np.cumsum(x, 0) - x)


@triton.jit
def _masked_scalar_atomic(cnt):
    old = tl.atomic_add(cnt, 1, mask=tl.program_id(0) < 0)
    tl.store(cnt + 1, old + 5)


@TARGETS
def test_a_masked_off_scalar_atomic_reads_zero(target):
    c = np.array([7, 99], np.int32)
    kernel(_masked_scalar_atomic, "*i32", target)[(1,)](c)
    assert c.tolist() == [7, 5]


@triton.jit
def _volatile(x_ptr, o_ptr, B: tl.constexpr):
    o = tl.arange(0, B)
    x = tl.load(x_ptr + o, volatile=True)
    tl.store(o_ptr + o, x - tl.sum(x, 0) / B)


def test_a_volatile_load_is_loaded_once():
    sig = {"x_ptr": "*fp32", "o_ptr": "*fp32", "B": "constexpr"}
    module, _ = lower_kernel(_volatile, sig, {"B": 128})
    x_arg = next(op for op in module.walk() if op.name == "gpu.func").body.blocks[0].args[0]
    loads = [op for op in module.walk() if op.name == "memref.load" and op.operands[0] is x_arg]
    assert len(loads) == 1


@triton.jit
def _rebased(x_ptr, y_ptr, out, n, B: tl.constexpr):
    offs = tl.arange(0, B)
    p = x_ptr + offs
    acc = tl.zeros([B], dtype=tl.float32)
    for _ in range(n):
        acc += tl.load(p)
        p = y_ptr + offs
    tl.store(out + offs, acc)


@triton.jit
def _rtz(x_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    tl.store(o_ptr + r, tl.load(x_ptr + r).to(tl.float16, fp_downcast_rounding="rtz"))


@pytest.mark.parametrize("fn,sig,what", [
    (_rebased, {"x_ptr": "*fp32", "y_ptr": "*fp32", "out": "*fp32", "n": "i32"},
     r"'scf\.for' carrying a pointer tile into different arguments"),
    (_rtz, {"x_ptr": "*fp32", "o_ptr": "*fp16"}, r"'tt\.fp_to_fp' rounding rtz"),
])  # fmt: skip
def test_unsupported_forms_are_located_errors(fn, sig, what):
    with pytest.raises(CompileError) as e:
        compile(fn, {**sig, "B": "constexpr"}, {"B": 64}, target="cpu")
    assert re.match(rf".*test_triton_hazards\.py:\d+:\d+: error: {what}", str(e.value)), e.value


@triton.jit
def _deep(x_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B * B)
    x = tl.load(x_ptr + r)
    for _ in tl.static_range(12):  # each step reads x twice, one read through an index map
        x = x * 0.5 + tl.reshape(tl.trans(tl.reshape(x, (B, B))), (B * B,))
    tl.store(o_ptr + r, x)


def test_index_maps_do_not_multiply_the_work():
    """Values are remembered per element: 12 steps, not 2**12 loads."""
    sig = {"x_ptr": "*fp32", "o_ptr": "*fp32", "B": "constexpr"}
    module, _ = lower_kernel(_deep, sig, {"B": 8})
    assert sum(op.name == "memref.load" for op in module.walk()) <= 4


@triton.jit
def _early_exits(x_ptr, o_ptr, n, B: tl.constexpr):
    pid = tl.program_id(0)
    if pid * B >= n:
        return
    o = pid * B + tl.arange(0, B)
    x = tl.load(x_ptr + o, mask=o < n, other=0.0)
    if pid == 1:
        tl.store(o_ptr + o, -x, mask=o < n)
        return
    tl.store(o_ptr + o, x - tl.sum(x, 0), mask=o < n)  # a reduction: barriers after a return


@TARGETS
def test_early_returns(target):
    x = rng().standard_normal(100, dtype=np.float32)
    o = np.full(140, 7.0, np.float32)
    kernel(_early_exits, "*fp32 *fp32 i32", target, B=32)[(5,)](x, o, 100)
    want = np.concatenate([b - b.sum() for b in np.split(np.pad(x, (0, 28)), 4)])[:100]
    want[32:64] = -x[32:64]
    np.testing.assert_allclose(o[:100], want, rtol=1e-5, atol=1e-5)
    assert (o[100:] == 7).all()


@triton.jit
def _reduce_in_a_branch(x_ptr, o_ptr, n, B: tl.constexpr):
    pid = tl.program_id(0)
    o = pid * B + tl.arange(0, B)
    x = tl.load(x_ptr + o, mask=o < n, other=0.0)
    if pid == 1:
        tl.store(o_ptr + o, -x, mask=o < n)
    else:  # barriers on one side of a uniform branch
        tl.store(o_ptr + o, x - tl.sum(x, 0), mask=o < n)


@TARGETS
def test_a_reduction_inside_a_branch(target):
    x = rng().standard_normal(100, dtype=np.float32)
    o = np.full(140, 7.0, np.float32)
    kernel(_reduce_in_a_branch, "*fp32 *fp32 i32", target, B=32)[(4,)](x, o, 100)
    want = np.concatenate([b - b.sum() for b in np.split(np.pad(x, (0, 28)), 4)])[:100]
    want[32:64] = -x[32:64]
    np.testing.assert_allclose(o[:100], want, rtol=1e-5, atol=1e-5)
    assert (o[100:] == 7).all()


@triton.jit
def _big_matmul(a_ptr, b_ptr, c_ptr, M, N, K,
                BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):  # fmt: skip
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    rn = tl.program_id(1) * BN + tl.arange(0, BN)
    rk = tl.arange(0, BK)
    acc = tl.zeros((BM, BN), tl.float32)
    for k in range(0, K, BK):
        a = tl.load(a_ptr + rm[:, None] * K + (k + rk)[None, :],
                    mask=(rm[:, None] < M) & ((k + rk)[None, :] < K), other=0.0)  # fmt: skip
        b = tl.load(b_ptr + (k + rk)[:, None] * N + rn[None, :],
                    mask=((k + rk)[:, None] < K) & (rn[None, :] < N), other=0.0)  # fmt: skip
        acc = tl.dot(a, b, acc)
    tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc, mask=(rm[:, None] < M) & (rn[None, :] < N))


@pytest.mark.parametrize("target", ["cpu", "nvptx:sm_90"])
def test_a_dot_too_big_to_stage_widened(target):
    """128x64 and 64x256 fp16 operands: 96 KiB as fp32, 48 KiB as fp16, over the 32 KiB
    staging budget: a is staged as fp32 (exactly 32 KiB), b is recomputed; the kernel fits
    a GPU block."""
    consts = {"BM": 128, "BN": 256, "BK": 64}
    if target.startswith("nvptx"):
        sig = dict.fromkeys(_big_matmul.arg_names, "i32") | dict.fromkeys(consts, "constexpr")
        sig |= {"a_ptr": "*fp16", "b_ptr": "*fp16", "c_ptr": "*fp32"}
        art = compile(_big_matmul, sig, consts, target=target, emit="asm", num_warps=8)
        sizes = re.findall(r"\.shared .*\[(\d+)\];", str(art.stages["asm"]))
        assert sum(map(int, sizes)) == 128 * 64 * 4, sizes
        return
    a = rng().standard_normal((130, 70)).astype(np.float16)
    b = rng(1).standard_normal((70, 140)).astype(np.float16)
    c = np.zeros((130, 140), np.float32)
    k = kernel(_big_matmul, "*fp16 *fp16 *fp32 i32 i32 i32", target, 8, **consts)
    k[(2, 1)](a, b, c, 130, 140, 70)
    np.testing.assert_allclose(c, a.astype(np.float32) @ b.astype(np.float32), rtol=1e-3,
                               atol=1e-3)  # fmt: skip


@triton.jit
def _infinities(x_ptr, o_ptr, n, B: tl.constexpr):
    offs = tl.arange(0, B)
    x = tl.load(x_ptr + offs)
    m = -float("inf")  # a scalar -inf and tiles of -inf and +inf: all printed as hex bits
    for s in range(0, n, B):
        y = tl.load(x_ptr + s + offs, mask=s + offs < n, other=-float("inf"))
        m = tl.maximum(m, tl.max(y, 0))
    lo = tl.min(tl.where(offs < n, x, float("inf")), 0)
    hi = tl.max(tl.where(offs < n, x, -float("inf")), 0)
    tl.store(o_ptr, lo * 10.0 + hi)
    tl.store(o_ptr + 1, m)


@TARGETS
def test_float_constants_triton_prints_as_bits(target):
    x = np.array([3, -2, 5, 1, 9, 9, 9, 9], np.float32)
    o = np.zeros(2, np.float32)
    kernel(_infinities, "*fp32 *fp32 i32", target, B=8)[(1,)](x, o, 4)
    assert o.tolist() == [-2 * 10 + 5, 5]


@triton.jit
def _returns_and_joins(x_ptr, o_ptr, n, R: tl.constexpr, B: tl.constexpr):
    offs = tl.arange(0, B)
    x = tl.load(x_ptr + offs)
    p = x_ptr + offs
    for _ in range(2):  # a pointer tile the loop shifts, used blocks later
        p += B
    s = 0.0
    for i in tl.static_range(R):  # blocks where paths meet again after a possible return
        if n > i:
            if n == i + 100:
                return
            s = s + tl.sum(x, 0) * 0.0 + 1.0
    tl.store(o_ptr + offs, tl.load(p) + s)


@TARGETS
@pytest.mark.parametrize("n", [3, 101])
def test_early_returns_where_paths_meet(target, n):
    x = rng().standard_normal(96, dtype=np.float32)
    o = np.full(32, 7.0, np.float32)
    kernel(_returns_and_joins, "*fp32 *fp32 i32", target, R=4, B=32)[(1,)](x, o, n)
    want = o.copy() if n == 101 else x[64:] + 3
    np.testing.assert_allclose(o, want, rtol=1e-6)


@triton.jit
def _while_tiles(x_ptr, o_ptr, n, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r)
    acc = tl.zeros([B, B], tl.float32)
    i = 0
    while i < n:  # tiles carried by scf.while: one read through broadcasts (shared memory)
        acc += x[:, None] * x[None, :]
        x = x * 2
        i += 1
    tl.store(o_ptr + r[:, None] * B + r[None, :], acc)
    tl.store(o_ptr + B * B + r, x)


@TARGETS
@pytest.mark.parametrize("n", [0, 3])
def test_tiles_carried_by_a_while_loop(target, n):
    x = rng().integers(-3, 4, 16).astype(np.float32)
    o = np.zeros(16 * 17, np.float32)
    kernel(_while_tiles, "*fp32 *fp32 i32", target, B=16)[(1,)](x, o, n)
    np.testing.assert_array_equal(
        o[:256].reshape(16, 16), sum(4**i for i in range(n)) * np.outer(x, x)
    )
    np.testing.assert_array_equal(o[256:], x * 2**n)


@triton.jit
def _reduce_3d(x_ptr, A: tl.constexpr, B: tl.constexpr, C: tl.constexpr):
    r = (tl.arange(0, A)[:, None, None] * B + tl.arange(0, B)[None, :, None]) * C
    r = r + tl.arange(0, C)[None, None, :]
    x = tl.load(x_ptr + r)
    tl.store(x_ptr + r, x * 0 + (tl.max(x, 2) * 1000 + tl.sum(x, 2))[:, :, None])


def test_an_llvm_assertion_does_not_end_the_process():
    """LLVM's loop vectorizer asserts (and aborts) on this kernel's cpu loops: the
    optimizer runs in a forked child, and again without the loop vectorizer."""
    x = rng().integers(-5, 5, (4, 2, 128)).astype(np.float32)
    want = np.broadcast_to((x.max(2) * 1000 + x.sum(2))[:, :, None], x.shape)
    kernel(_reduce_3d, "*fp32", "cpu", 1, A=4, B=2, C=128)[(1,)](x)
    np.testing.assert_array_equal(x, want)
