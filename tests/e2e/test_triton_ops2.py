"""Triton frontend, op by op (continued): scans, elementwise math and casts, atomics,
program ids, control flow, barriers and the errors for what is not supported."""

from __future__ import annotations

import numpy as np
import pytest
from test_triton_ops import TARGETS, kernel, rng  # imports triton_common: skips without triton
from triton_common import IGNORE_FP_FUSION, tl, triton

from xpuc.compiler.diagnostics import CompileError

pytestmark = IGNORE_FP_FUSION


# -- 6. scans ------------------------------------------------------------------------


@triton.jit
def _mul_add(a, b):
    return a * 0.5 + b


@triton.jit
def _scans(x_ptr, o_ptr, M: tl.constexpr, N: tl.constexpr):
    rm, rn = tl.arange(0, M)[:, None], tl.arange(0, N)[None, :]
    x = tl.load(x_ptr + rm * N + rn)
    tl.store(o_ptr + rm * N + rn, tl.cumsum(x, axis=1))
    tl.store(o_ptr + M * N + rm * N + rn, tl.cumsum(x, axis=0))
    tl.store(o_ptr + 2 * M * N + rm * N + rn, tl.cumprod(x, axis=1))
    tl.store(o_ptr + 3 * M * N + rm * N + rn, tl.cumsum(x, axis=1, reverse=True))
    tl.store(o_ptr + 4 * M * N + rm * N + rn, tl.associative_scan(x, 0, _mul_add))
    tl.store(o_ptr + 5 * M * N + rm * N + rn, tl.associative_scan(x, 1, _mul_add, reverse=True))


def _fold(x: np.ndarray, axis: int, reverse: bool = False) -> np.ndarray:
    x = np.moveaxis(x, axis, 0)
    x = x[::-1] if reverse else x
    out = x.copy()
    for i in range(1, len(x)):
        out[i] = out[i - 1] * 0.5 + x[i]
    out = out[::-1] if reverse else out
    return np.moveaxis(out, 0, axis)


@TARGETS
@pytest.mark.parametrize("m,n,num_warps", [(4, 8, 4), (16, 32, 1)])
def test_scans_along_both_axes(target, m, n, num_warps):
    k = kernel(_scans, "*fp32 *fp32", target, num_warps, M=m, N=n)
    x = rng().integers(1, 4, (m, n)).astype(np.float32) * 0.5  # exact sums and products
    o = np.zeros((6, m, n), np.float32)
    k[(1,)](x, o)
    np.testing.assert_array_equal(o[0], np.cumsum(x, 1))
    np.testing.assert_array_equal(o[1], np.cumsum(x, 0))
    np.testing.assert_allclose(o[2], np.cumprod(x, 1), rtol=1e-6)
    np.testing.assert_array_equal(o[3], np.cumsum(x[:, ::-1], 1)[:, ::-1])
    np.testing.assert_allclose(o[4], _fold(x, 0), rtol=1e-6)
    np.testing.assert_allclose(o[5], _fold(x, 1, reverse=True), rtol=1e-6)


@triton.jit
def _int_scan(x_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r)
    tl.store(o_ptr + r, tl.cumsum(x, axis=0))
    tl.store(o_ptr + B + r, tl.cumsum(x, axis=0, reverse=True))


@TARGETS
def test_integer_cumsum_1d(target):
    k = kernel(_int_scan, "*i32 *i32", target, B=256)
    x = rng().integers(-1000, 1000, 256).astype(np.int32)
    o = np.zeros(512, np.int32)
    k[(1,)](x, o)
    np.testing.assert_array_equal(o[:256], np.cumsum(x))
    np.testing.assert_array_equal(o[256:], np.cumsum(x[::-1])[::-1])


# -- 7. where, casts, math ------------------------------------------------------------


@triton.jit
def _math(x_ptr, y_ptr, o_ptr, s, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r)
    y = tl.load(y_ptr + r)
    o = o_ptr + r
    tl.store(o, tl.where(x > 0, x, y))
    tl.store(o + B, tl.where(x > 0, x, s))  # a scalar branch
    tl.store(o + 2 * B, tl.where(y > s, 1.0, -1.0))
    tl.store(o + 3 * B, tl.exp(x) + tl.log(tl.abs(y) + 1))
    tl.store(o + 4 * B, tl.sqrt(tl.abs(x)) + tl.sin(y))
    tl.store(o + 5 * B, tl.maximum(x, y) - tl.minimum(x, y))
    tl.store(o + 6 * B, tl.fma(x, y, s))
    tl.store(o + 7 * B, tl.minimum(tl.maximum(x, -0.5), 0.5))
    tl.store(o + 8 * B, x.to(tl.float16).to(tl.float32))
    tl.store(o + 9 * B, tl.exp2(y) * tl.cos(x))


@TARGETS
def test_where_and_float_math(target):
    k = kernel(_math, "*fp32 *fp32 *fp32 fp32", target, B=64)
    x = rng().standard_normal(64, dtype=np.float32)
    y = rng(1).standard_normal(64, dtype=np.float32)
    s = np.float32(0.25)
    o = np.zeros((10, 64), np.float32)
    k[(1,)](x, y, o, s)
    close = dict(rtol=2e-6, atol=1e-6)
    np.testing.assert_array_equal(o[0], np.where(x > 0, x, y))
    np.testing.assert_array_equal(o[1], np.where(x > 0, x, s))
    np.testing.assert_array_equal(o[2], np.where(y > s, 1.0, -1.0))
    np.testing.assert_allclose(o[3], np.exp(x) + np.log(np.abs(y) + 1), **close)
    np.testing.assert_allclose(o[4], np.sqrt(np.abs(x)) + np.sin(y), **close)
    np.testing.assert_array_equal(o[5], np.maximum(x, y) - np.minimum(x, y))
    np.testing.assert_allclose(o[6], x * y + s, **close)
    np.testing.assert_array_equal(o[7], np.clip(x, -0.5, 0.5))
    np.testing.assert_array_equal(o[8], x.astype(np.float16).astype(np.float32))
    np.testing.assert_allclose(o[9], np.exp2(y) * np.cos(x), **close)


@triton.jit
def _clamp(x_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    tl.store(o_ptr + r, tl.clamp(tl.load(x_ptr + r), -0.5, 0.5))


@triton.jit
def _nan_max(x_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r)
    tl.store(o_ptr + r, tl.maximum(x, 0.0, propagate_nan=tl.PropagateNan.ALL))
    tl.store(o_ptr + B + r, tl.maximum(x, 0.0))


@TARGETS
def test_clamp_and_nan_propagation(target):
    x = np.linspace(-1, 1, 64, dtype=np.float32)
    x[::7] = np.nan
    o = np.zeros(64, np.float32)
    kernel(_clamp, "*fp32 *fp32", target, B=64)[(1,)](x, o)
    np.testing.assert_array_equal(o, np.fmin(np.fmax(x, -0.5), 0.5))  # NaN: the bound
    o = np.zeros(128, np.float32)
    kernel(_nan_max, "*fp32 *fp32", target, B=64)[(1,)](x, o)
    np.testing.assert_array_equal(o[:64], np.maximum(x, 0))  # NaN stays NaN
    np.testing.assert_array_equal(o[64:], np.fmax(x, 0))


@triton.jit
def _casts(x_ptr, i_ptr, f_ptr, h_ptr, u_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r)
    i = tl.load(i_ptr + r)
    tl.store(i_ptr + B + r, x.to(tl.int32))  # truncates toward zero
    tl.store(f_ptr + r, i.to(tl.float32) * 0.5)
    tl.store(h_ptr + r, x.to(tl.float16))
    tl.store(u_ptr + r, x.to(tl.int32, bitcast=True))
    tl.store(f_ptr + B + r, (i.to(tl.uint32, bitcast=True) >> 28).to(tl.float32))
    tl.store(i_ptr + 2 * B + r, i.to(tl.int8).to(tl.int32))  # wraps
    tl.store(i_ptr + 3 * B + r, (x > 0).to(tl.int32))


@TARGETS
def test_casts_and_bitcasts(target):
    k = kernel(_casts, "*fp32 *i32 *fp32 *fp16 *i32", target, B=64)
    x = (rng().standard_normal(64) * 300).astype(np.float32)
    i = np.zeros(256, np.int32)
    i[:64] = rng(1).integers(-(2**31), 2**31 - 1, 64)
    iv = i[:64].copy()
    f, h, u = np.zeros(128, np.float32), np.zeros(64, np.float16), np.zeros(64, np.int32)
    k[(1,)](x, i, f, h, u)
    np.testing.assert_array_equal(i[64:128], np.trunc(x).astype(np.int32))
    np.testing.assert_array_equal(f[:64], iv.astype(np.float32) * 0.5)
    np.testing.assert_array_equal(h, x.astype(np.float16))
    np.testing.assert_array_equal(u, x.view(np.int32))
    np.testing.assert_array_equal(f[64:], (iv.view(np.uint32) >> 28).astype(np.float32))
    np.testing.assert_array_equal(i[128:192], iv.astype(np.int8).astype(np.int32))
    np.testing.assert_array_equal(i[192:], (x > 0).astype(np.int32))


@triton.jit
def _int_ops(a_ptr, b_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    a = tl.load(a_ptr + r)
    b = tl.load(b_ptr + r)
    tl.store(o_ptr + r, a // b)
    tl.store(o_ptr + B + r, a % b)
    tl.store(o_ptr + 2 * B + r, tl.umulhi(a, b))
    tl.store(o_ptr + 3 * B + r, (a >> 3) ^ (b << 2) | (a & 255))
    tl.store(o_ptr + 4 * B + r, tl.maximum(a, b) + tl.abs(b))
    tl.store(o_ptr + 5 * B + r, tl.where(a < b, a, 7))


@TARGETS
def test_integer_ops_c_semantics(target):
    k = kernel(_int_ops, "*i32 *i32 *i32", target, B=64)
    a = rng().integers(-1000, 1000, 64).astype(np.int32)
    b = rng(1).integers(1, 50, 64).astype(np.int32) * rng(2).choice([-1, 1], 64).astype(np.int32)
    o = np.zeros((6, 64), np.int32)
    k[(1,)](a, b, o)
    q = np.trunc(a / b).astype(np.int32)  # C: toward zero, remainder has a's sign
    np.testing.assert_array_equal(o[0], q)
    np.testing.assert_array_equal(o[1], a - q * b)
    hi = (a.view(np.uint32).astype(np.uint64) * b.view(np.uint32).astype(np.uint64)) >> 32
    np.testing.assert_array_equal(o[2], hi.astype(np.uint32).view(np.int32))
    np.testing.assert_array_equal(o[3], (a >> 3) ^ (b << 2) | (a & 255))
    np.testing.assert_array_equal(o[4], np.maximum(a, b) + np.abs(b))
    np.testing.assert_array_equal(o[5], np.where(a < b, a, 7))


# -- 8. atomics ------------------------------------------------------------------------


@triton.jit
def _histogram(x_ptr, bins_ptr, old_ptr, f_ptr, n, B: tl.constexpr):
    offs = tl.program_id(0) * B + tl.arange(0, B)
    m = offs < n
    x = tl.load(x_ptr + offs, mask=m, other=0)
    old = tl.atomic_add(bins_ptr + x, 1, mask=m)
    tl.store(old_ptr + offs, old, mask=m)
    tl.atomic_add(f_ptr + (x % 4), 0.5, mask=m)


@TARGETS
def test_atomic_add_histogram(target):
    k = kernel(_histogram, "*i32 *i32 *i32 *fp32 i32", target, B=128)
    n, nb = 1000, 16
    x = rng().integers(0, nb, n).astype(np.int32)
    bins, old, f = np.zeros(nb, np.int32), np.full(n, -1, np.int32), np.zeros(4, np.float32)
    k[(8,)](x, bins, old, f, n)
    np.testing.assert_array_equal(bins, np.bincount(x, minlength=nb))
    for b in range(nb):  # the old values of one bin are 0, 1, ..., count - 1 in some order
        np.testing.assert_array_equal(np.sort(old[x == b]), np.arange((x == b).sum()))
    np.testing.assert_array_equal(f, np.bincount(x % 4, minlength=4) * 0.5)


@triton.jit
def _atomic_scalars(x_ptr, s_ptr, lock_ptr, cnt_ptr, n, B: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * B + tl.arange(0, B)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0)
    tl.atomic_max(s_ptr, tl.max(x, axis=0))
    tl.atomic_min(s_ptr + 1, tl.min(x, axis=0))
    tl.atomic_max(s_ptr + 2 + (offs % 4), x, mask=offs < n)  # a tile into 4 slots
    prev = tl.atomic_xchg(s_ptr + 6, pid + 1)
    tl.store(s_ptr + 8 + pid, prev)
    while tl.atomic_cas(lock_ptr, 0, 1) == 1:  # a spin lock around a read-modify-write
        pass
    c = tl.load(cnt_ptr)
    tl.store(cnt_ptr, c + tl.sum(x, axis=0))
    tl.debug_barrier()
    tl.atomic_xchg(lock_ptr, 0)


@TARGETS
def test_atomic_max_min_xchg_cas_lock(target):
    k = kernel(_atomic_scalars, "*i32 *i32 *i32 *i32 i32", target, B=64)
    n, progs = 500, 8
    x = rng().integers(-(10**6), 10**6, n).astype(np.int32)
    s = np.zeros(8 + progs, np.int32)
    s[:6] = [-(2**31), 2**31 - 1] + [-(2**31)] * 4
    lock, cnt = np.zeros(1, np.int32), np.zeros(1, np.int32)
    k[(progs,)](x, s, lock, cnt, n)
    assert s[0] == max(x.max(), 0) and s[1] == min(x.min(), 0)  # the last program loads 0s
    np.testing.assert_array_equal(s[2:6], [x[j::4].max() for j in range(4)])
    # xchg: the previous values are 0 and every program id but the last one to swap
    assert sorted([*s[8:], s[6]]) == list(range(progs + 1))
    assert lock[0] == 0 and cnt[0] == x.sum()


# -- 9. program ids ----------------------------------------------------------------------


@triton.jit
def _pids(o_ptr):
    p0, p1, p2 = tl.program_id(0), tl.program_id(1), tl.program_id(2)
    n0, n1, n2 = tl.num_programs(0), tl.num_programs(1), tl.num_programs(2)
    lin = (p2 * n1 + p1) * n0 + p0
    r = tl.arange(0, 8)
    v = tl.where(r == 0, p0, tl.where(r == 1, p1, tl.where(r == 2, p2, 0)))
    v = tl.where(r == 3, n0, tl.where(r == 4, n1, tl.where(r == 5, n2, v)))
    tl.store(o_ptr + lin * 8 + r, v)


@TARGETS
@pytest.mark.parametrize("grid", [(5,), (3, 4), (2, 3, 4)])
def test_program_id_and_num_programs(target, grid):
    k = kernel(_pids, "*i32", target)
    g = (*grid, 1, 1)[:3]
    o = np.full((g[2], g[1], g[0], 8), -1, np.int32)
    k[grid](o)
    i2, i1, i0 = np.meshgrid(*(np.arange(d) for d in g[::-1]), indexing="ij")
    np.testing.assert_array_equal(o[..., 0], i0)
    np.testing.assert_array_equal(o[..., 1], i1)
    np.testing.assert_array_equal(o[..., 2], i2)
    assert (o[..., 3:6] == g).all() and (o[..., 6:] == 0).all()


# -- 10. loops and branches carrying tiles ------------------------------------------------


@triton.jit
def _loops(x_ptr, o_ptr, n_iter, flag, B: tl.constexpr):
    r = tl.arange(0, B)
    p = x_ptr + r
    acc = tl.zeros((B,), tl.float32)
    a = tl.load(x_ptr + r)
    b = a * 0 - 1.0
    for i in range(n_iter):
        acc += tl.load(p) * i  # p: a pointer tile advanced by a scalar
        p += B
        a, b = b, a  # a yield that swaps two tiles
    for j in range(3):  # acc carried through a second loop
        acc = acc * 2 + tl.sum(acc, axis=0) * 0 + j
    if flag > 0:
        t = acc + 1.0
    else:
        t = acc - a
    tl.store(o_ptr + r, t)
    tl.store(o_ptr + B + r, a)
    k = 1
    while k < n_iter * 5:  # a scalar while loop
        k = k * 2
    tl.store(o_ptr + 2 * B, k.to(tl.float32))


@TARGETS
@pytest.mark.parametrize("n_iter,flag", [(3, 1), (4, 0), (0, 0)])
def test_loop_carried_tiles(target, n_iter, flag):
    k = kernel(_loops, "*fp32 *fp32 i32 i32", target, B=32)
    x = rng().standard_normal(32 * 5, dtype=np.float32)
    o = np.zeros(65, np.float32)
    k[(1,)](x, o, n_iter, flag)
    acc = sum((x[32 * i : 32 * (i + 1)] * i for i in range(n_iter)), np.zeros(32, np.float32))
    for j in range(3):
        acc = acc * 2 + j
    a = x[:32] if n_iter % 2 == 0 else np.full(32, -1.0, np.float32)
    np.testing.assert_allclose(o[:32], acc + 1 if flag > 0 else acc - a, rtol=1e-6)
    np.testing.assert_array_equal(o[32:64], a)
    want_k = 1
    while want_k < n_iter * 5:
        want_k *= 2
    assert o[64] == want_k


@triton.jit
def _carried_shared(x_ptr, o_ptr, M: tl.constexpr, N: tl.constexpr):
    r = tl.arange(0, N)
    row = tl.zeros((N,), tl.float32)
    acc = tl.zeros((N, N), tl.float32)
    for i in range(M):
        x = tl.load(x_ptr + i * N * N + r[:, None] * N + r[None, :])
        row = tl.sum(x * row[None, :], axis=1) + 1  # the carried row, read with a broadcast
        acc = tl.trans(acc) * 2 + x  # the carried tile, read transposed
        tl.debug_barrier()
    tl.store(o_ptr + r, row)
    tl.store(o_ptr + N + r[:, None] * N + r[None, :], acc)


@TARGETS
def test_carried_tiles_read_across_threads(target):
    k = kernel(_carried_shared, "*fp32 *fp32", target, M=3, N=16)
    x = rng().integers(-2, 3, (3, 16, 16)).astype(np.float32)
    o = np.zeros(16 * 17, np.float32)
    k[(1,)](x, o)
    row, acc = np.zeros(16, np.float32), np.zeros((16, 16), np.float32)
    for i in range(3):
        row, acc = x[i] @ row + 1, acc.T * 2 + x[i]
    np.testing.assert_array_equal(o[:16], row)
    np.testing.assert_array_equal(o[16:].reshape(16, 16), acc)


# -- 11. debug_barrier between a store and loads of other threads' elements ---------------


@triton.jit
def _barrier(x_ptr, t_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    tl.store(t_ptr + r, tl.load(x_ptr + r) * 2)
    tl.debug_barrier()
    tl.store(o_ptr + r, tl.load(t_ptr + (B - 1 - r)))


@TARGETS
def test_debug_barrier(target):
    k = kernel(_barrier, "*fp32 *fp32 *fp32", target, B=256)
    x = rng().standard_normal(256, dtype=np.float32)
    t, o = np.zeros_like(x), np.zeros_like(x)
    k[(1,)](x, t, o)
    np.testing.assert_array_equal(o, (x * 2)[::-1])


# -- 12. what is not supported: a located error naming the op ----------------------------


@triton.jit
def _inline_asm(x_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r)
    y = tl.inline_asm_elementwise("mov.b32 $0, $1;", "=r,r", [x], dtype=tl.float32,
                                  is_pure=True, pack=1)  # fmt: skip
    tl.store(x_ptr + r, y)


@triton.jit
def _descriptor(x_ptr, B: tl.constexpr):  # tl.make_block_ptr is gone from triton 3.9
    d = tl.make_tensor_descriptor(x_ptr, [B, B], [B, 1], [B, B])
    d.store([0, 0], d.load([0, 0]) + 1)


@triton.jit
def _histogram_op(x_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    tl.store(x_ptr + r, tl.histogram(tl.load(x_ptr + r).to(tl.int32), B).to(tl.float32))


@triton.jit
def _print(x_ptr, B: tl.constexpr):
    tl.device_print("x", tl.load(x_ptr + tl.arange(0, B)))


@pytest.mark.parametrize("fn,op", [(_inline_asm, "tt.elementwise_inline_asm"),
                                   (_descriptor, "tt.make_tensor_descriptor"),
                                   (_histogram_op, "tt.histogram"),
                                   (_print, "tt.print")])  # fmt: skip
def test_unsupported_ops_are_located_errors(fn, op):
    with pytest.raises(
        CompileError, match=rf"test_triton_ops2\.py:\d+:\d+: error: (TTIR op )?'{op}'"
    ):
        kernel(fn, "*fp32", "cpu", B=16)
