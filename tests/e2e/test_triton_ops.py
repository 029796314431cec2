"""Triton frontend, op by op: small kernels per family of ``tt`` ops, compiled for each
target, run and compared with numpy."""

from __future__ import annotations

import numpy as np
import pytest
from triton_common import IGNORE_FP_FUSION, skip_unless_runs, tl, triton  # first: skips

from xpuc.frontends.triton import TritonKernel, compile

pytestmark = IGNORE_FP_FUSION
TARGETS = pytest.mark.parametrize("target", ["cpu", "opencl"])
_LOADED: dict = {}


def kernel(fn, types: str, target: str, num_warps: int = 4, **consts):
    """``fn`` compiled for ``target`` (once per module): ``types`` are the codes of its
    non-constexpr parameters in order, ``consts`` its constexprs."""
    key = (fn, types, target, num_warps, tuple(sorted(consts.items())))
    if key not in _LOADED:
        skip_unless_runs(target)
        codes = iter(types.split())
        sig = {n: "constexpr" if n in consts else next(codes) for n in fn.arg_names}
        art = compile(fn, sig, consts, target=target, num_warps=num_warps)
        _LOADED[key] = TritonKernel.load(art, num_warps)
    return _LOADED[key]


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- 1. ranges, splat, broadcast, expand_dims; 2-D tiles with masks; 3-D tiles --------


@triton.jit
def _outer(x_ptr, y_ptr, o_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    rn = tl.program_id(1) * BN + tl.arange(0, BN)
    x = tl.load(x_ptr + rm, mask=rm < M, other=0.0)
    y = tl.load(y_ptr + rn, mask=rn < N, other=0.0)
    m = (rm[:, None] < M) & (rn[None, :] < N)
    v = x[:, None] * y[None, :] + tl.expand_dims(rn, 0).to(tl.float32) + 0.5
    tl.store(o_ptr + rm[:, None] * N + rn[None, :], v, mask=m)


@TARGETS
def test_broadcast_expand_dims_masked_2d(target):
    k = kernel(_outer, "*fp32 *fp32 *fp32 i32 i32", target, BM=16, BN=32)
    M, N = 37, 45
    x, y = rng().standard_normal(M, dtype=np.float32), rng(1).standard_normal(N, dtype=np.float32)
    o = np.full((M + 1, N), 7.0, np.float32)  # the extra row must stay untouched
    k[(3, 2)](x, y, o, M, N)
    want = np.outer(x, y) + np.arange(N, dtype=np.float32) + 0.5
    np.testing.assert_allclose(o[:M], want, rtol=1e-6)
    assert (o[M] == 7.0).all()


@triton.jit
def _splat_3d(x_ptr, o_ptr, s, A: tl.constexpr, B: tl.constexpr, C: tl.constexpr):
    i = tl.arange(0, A)[:, None, None]
    j = tl.arange(0, B)[None, :, None]
    k = tl.arange(0, C)[None, None, :]
    offs = i * (B * C) + j * C + k
    x = tl.load(x_ptr + offs)
    z = tl.full((A, B, C), 2.0, tl.float32) * x + s + (i + 10 * j).to(tl.float32)
    tl.store(o_ptr + offs, z, mask=k < C - 1)


@TARGETS
def test_3d_tiles_and_splat(target):
    k = kernel(_splat_3d, "*fp32 *fp32 fp32", target, A=4, B=8, C=16)
    x = rng().standard_normal((4, 8, 16), dtype=np.float32)
    o = np.zeros_like(x)
    k[(1,)](x, o, 1.5)
    ii, jj, _ = np.meshgrid(np.arange(4), np.arange(8), np.arange(16), indexing="ij")
    want = 2 * x + 1.5 + (ii + 10 * jj)
    want[:, :, -1] = 0
    np.testing.assert_allclose(o, want, rtol=1e-6)


# -- 2. reshape, trans, permute ------------------------------------------------------


@triton.jit
def _shapes(x_ptr, o_ptr, M: tl.constexpr, N: tl.constexpr):
    r = tl.arange(0, M * N)
    x = tl.load(x_ptr + r)
    a = tl.reshape(x, (M, N))
    rm, rn = tl.arange(0, M), tl.arange(0, N)
    t = tl.trans(a)  # (N, M)
    tl.store(o_ptr + rn[:, None] * M + rm[None, :], t + 1.0)
    tl.store(o_ptr + M * N + rn[:, None] * M + rm[None, :], a.T * 2.0)
    b = tl.reshape(a, (N, M))
    tl.store(o_ptr + 2 * M * N + rn[:, None] * M + rm[None, :], b)


@TARGETS
def test_reshape_and_trans(target):
    k = kernel(_shapes, "*fp32 *fp32", target, M=8, N=16)
    x = rng().standard_normal(128, dtype=np.float32)
    o = np.zeros(3 * 128, np.float32)
    k[(1,)](x, o)
    a = x.reshape(8, 16)
    np.testing.assert_array_equal(o[:128].reshape(16, 8), a.T + 1)
    np.testing.assert_array_equal(o[128:256].reshape(16, 8), a.T * 2)
    np.testing.assert_array_equal(o[256:], x)


@triton.jit
def _permute(x_ptr, o_ptr, A: tl.constexpr, B: tl.constexpr, C: tl.constexpr):
    i = tl.arange(0, A)[:, None, None]
    j = tl.arange(0, B)[None, :, None]
    k = tl.arange(0, C)[None, None, :]
    x = tl.load(x_ptr + i * (B * C) + j * C + k)
    p = tl.permute(x, (2, 0, 1))  # (C, A, B)
    c = tl.arange(0, C)[:, None, None]
    a = tl.arange(0, A)[None, :, None]
    b = tl.arange(0, B)[None, None, :]
    tl.store(o_ptr + c * (A * B) + a * B + b, p)


@TARGETS
def test_permute_3d(target):
    k = kernel(_permute, "*fp32 *fp32", target, A=2, B=4, C=8)
    x = rng().standard_normal((2, 4, 8), dtype=np.float32)
    o = np.zeros(64, np.float32)
    k[(1,)](x, o)
    np.testing.assert_array_equal(o.reshape(8, 2, 4), x.transpose(2, 0, 1))


@triton.jit
def _flip_sort(x_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r)
    tl.store(o_ptr + r, tl.flip(x, 0))
    tl.store(o_ptr + B + r, tl.sort(x))


@TARGETS
def test_flip_and_sort(target):
    k = kernel(_flip_sort, "*fp32 *fp32", target, B=16)  # sort: a large network, slow to compile
    x = rng().standard_normal(16, dtype=np.float32)
    o = np.zeros(2 * 16, np.float32)
    k[(1,)](x, o)
    np.testing.assert_array_equal(o, np.concatenate([x[::-1], np.sort(x)]))


# -- 3. pointer tensors, addptr with i32 and i64 offsets, masked loads with other -----


@triton.jit
def _gather(x_ptr, idx_ptr, o_ptr, n, B: tl.constexpr):
    offs = tl.program_id(0) * B + tl.arange(0, B)
    m = offs < n
    idx = tl.load(idx_ptr + offs, mask=m, other=0)  # i64 offsets
    p = x_ptr + idx
    v = tl.load(p, mask=m & (idx % 3 != 0), other=-1.0)
    q = o_ptr + offs.to(tl.int64)
    tl.store(q, v, mask=m)


@TARGETS
@pytest.mark.parametrize("idx_type", ["i32", "i64"])
def test_pointer_tiles_gather(target, idx_type):
    dt = np.int32 if idx_type == "i32" else np.int64
    k = kernel(_gather, f"*fp32 *{idx_type} *fp32 i32", target, B=64)
    n = 150
    x = rng().standard_normal(300, dtype=np.float32)
    idx = rng(1).integers(0, 300, n).astype(dt)
    o = np.full(n + 5, 9.0, np.float32)
    k[(3,)](x, idx, o, n)
    want = np.where(idx % 3 != 0, x[idx], -1.0)
    np.testing.assert_array_equal(o[:n], want)
    assert (o[n:] == 9.0).all()


@triton.jit
def _int_other(x_ptr, o_ptr, n, stride: tl.int64, B: tl.constexpr):
    r = tl.arange(0, B)
    p = x_ptr + r * stride
    v = tl.load(p, mask=r * stride < n, other=-5)
    tl.store(o_ptr + r, v + 1)


@TARGETS
def test_i64_stride_and_int_other(target):
    k = kernel(_int_other, "*i16 *i16 i32 i64", target, B=32)
    x = np.arange(100, dtype=np.int16)
    o = np.zeros(32, np.int16)
    k[(1,)](x, o, 100, 3)
    r = np.arange(32) * 3
    np.testing.assert_array_equal(o, np.where(r < 100, x[np.minimum(r, 99)], -5) + 1)


# -- 4. tl.dot -----------------------------------------------------------------------


@triton.jit
def _dot(a_ptr, b_ptr, c_ptr, M: tl.constexpr, N: tl.constexpr, K: tl.constexpr):
    rm, rn, rk = tl.arange(0, M), tl.arange(0, N), tl.arange(0, K)
    a = tl.load(a_ptr + rm[:, None] * K + rk[None, :])
    b = tl.load(b_ptr + rk[:, None] * N + rn[None, :])
    tl.store(c_ptr + rm[:, None] * N + rn[None, :], tl.dot(a, b))


def to_bf16(x: np.ndarray) -> np.ndarray:
    """bf16 bit patterns (uint16) of float32 ``x``, rounded to nearest even."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def from_bf16(h: np.ndarray) -> np.ndarray:
    return (h.astype(np.uint32) << 16).view(np.float32)


@triton.jit
def _bf16_math(x_ptr, y_ptr, o_ptr, f_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    x, y = tl.load(x_ptr + r), tl.load(y_ptr + r)
    tl.store(o_ptr + r, x * y + x)  # bf16 arithmetic: each op rounded
    tl.store(f_ptr + r, x.to(tl.float32) / 3)
    tl.store(o_ptr + B + r, (x.to(tl.float32) / 3).to(tl.bfloat16))


@TARGETS
def test_bf16_arithmetic_rounds_each_op(target):
    x = to_bf16(rng().standard_normal(64, dtype=np.float32))
    y = to_bf16(rng(1).standard_normal(64, dtype=np.float32))
    o, f = np.zeros(128, np.uint16), np.zeros(64, np.float32)
    kernel(_bf16_math, "*bf16 *bf16 *bf16 *fp32", target, B=64)[(1,)](x, y, o, f)
    xf, yf = from_bf16(x), from_bf16(y)
    np.testing.assert_array_equal(o[:64], to_bf16(from_bf16(to_bf16(xf * yf)) + xf))
    np.testing.assert_array_equal(f, xf / np.float32(3))
    np.testing.assert_array_equal(o[64:], to_bf16(xf / np.float32(3)))


@TARGETS
@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16", "i8"])
def test_dot(target, dtype):
    M, N, K = 16, 32, 32 if dtype == "i8" else 16  # triton wants K >= 32 for int8
    a = rng().standard_normal((M, K), dtype=np.float32)
    b = rng(1).standard_normal((K, N), dtype=np.float32)
    if dtype == "fp16":
        a, b = a.astype(np.float16), b.astype(np.float16)
    elif dtype == "i8":
        a, b = (rng(2).integers(-128, 128, (M, K)).astype(np.int8),
                rng(3).integers(-128, 128, (K, N)).astype(np.int8))  # fmt: skip
    out = "i32" if dtype == "i8" else "fp32"
    if dtype == "bf16":  # numpy has no bfloat16: the bit patterns, as uint16
        a, b = (to_bf16(x) for x in (a, b))
    k = kernel(_dot, f"*{dtype} *{dtype} *{out}", target, M=M, N=N, K=K)
    c = np.zeros((M, N), np.int32 if dtype == "i8" else np.float32)
    k[(1,)](a, b, c)
    if dtype == "i8":
        np.testing.assert_array_equal(c, a.astype(np.int32) @ b.astype(np.int32))
    elif dtype == "bf16":
        np.testing.assert_allclose(c, from_bf16(a) @ from_bf16(b), rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(c, a.astype(np.float32) @ b.astype(np.float32), rtol=1e-5,
                                   atol=1e-5)  # fmt: skip


@triton.jit
def _matmul(a_ptr, b_ptr, c_ptr, M, N, K, sam, sbk, scm,
            BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):  # fmt: skip
    rm = tl.program_id(0) * BM + tl.arange(0, BM)
    rn = tl.program_id(1) * BN + tl.arange(0, BN)
    rk = tl.arange(0, BK)
    a_ptrs = a_ptr + rm[:, None] * sam + rk[None, :]
    b_ptrs = b_ptr + rk[:, None] * sbk + rn[None, :]
    c_ptrs = c_ptr + rm[:, None] * scm + rn[None, :]
    cm = (rm[:, None] < M) & (rn[None, :] < N)
    acc = tl.load(c_ptrs, mask=cm, other=0.0)  # accumulate into C
    for k in range(0, tl.cdiv(K, BK)):
        a = tl.load(a_ptrs, mask=(rm[:, None] < M) & (rk[None, :] < K - k * BK), other=0.0)
        b = tl.load(b_ptrs, mask=(rk[:, None] < K - k * BK) & (rn[None, :] < N), other=0.0)
        acc = tl.dot(a, b, acc)
        a_ptrs += BK
        b_ptrs += BK * sbk
    tl.store(c_ptrs, acc, mask=cm)


@TARGETS
@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_matmul_k_loop_with_accumulator(target, dtype):
    k = kernel(_matmul, f"*{dtype} *{dtype} *fp32 i32 i32 i32 i32 i32 i32", target,
               BM=16, BN=16, BK=16)  # fmt: skip
    M, N, K = 37, 29, 50
    np_t = np.float32 if dtype == "fp32" else np.float16
    a = rng().standard_normal((M, K)).astype(np_t)
    b = rng(1).standard_normal((K, N)).astype(np_t)
    c = rng(2).standard_normal((M, N), dtype=np.float32)
    want = c + a.astype(np.float32) @ b.astype(np.float32)
    k[(3, 2)](a, b, c, M, N, K, K, N, N)
    np.testing.assert_allclose(c, want, rtol=1e-4, atol=1e-4)


@triton.jit
def _bdot(a_ptr, b_ptr, c_ptr, Z: tl.constexpr, M: tl.constexpr, N: tl.constexpr,
          K: tl.constexpr):  # fmt: skip
    z = tl.arange(0, Z)[:, None, None]
    rm = tl.arange(0, M)[None, :, None]
    rn = tl.arange(0, N)[None, None, :]
    rka = tl.arange(0, K)[None, None, :]
    rkb = tl.arange(0, K)[None, :, None]
    a = tl.load(a_ptr + z * M * K + rm * K + rka)
    b = tl.load(b_ptr + z * K * N + rkb * N + rn)
    tl.store(c_ptr + z * M * N + rm * N + rn, tl.dot(a, b))


@TARGETS
def test_batched_dot(target):
    k = kernel(_bdot, "*fp32 *fp32 *fp32", target, Z=2, M=16, N=16, K=16)
    a = rng().standard_normal((2, 16, 16), dtype=np.float32)
    b = rng(1).standard_normal((2, 16, 16), dtype=np.float32)
    c = np.zeros((2, 16, 16), np.float32)
    k[(1,)](a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


# -- 5. reductions -------------------------------------------------------------------


@triton.jit
def _reduce_2d(x_ptr, o_ptr, M, N, BM: tl.constexpr, BN: tl.constexpr):
    rm, rn = tl.arange(0, BM), tl.arange(0, BN)
    m = (rm[:, None] < M) & (rn[None, :] < N)
    p = x_ptr + rm[:, None] * N + rn[None, :]
    x = tl.load(p, mask=m, other=0.0)
    lo = tl.load(p, mask=m, other=float("inf"))
    hi = tl.load(p, mask=m, other=-float("inf"))
    tl.store(o_ptr + rn, tl.sum(x, axis=0))
    tl.store(o_ptr + BN + rm, tl.sum(x, axis=1))
    tl.store(o_ptr + BN + BM + rn, tl.max(hi, axis=0))
    tl.store(o_ptr + 2 * BN + BM + rm, tl.min(lo, axis=1))
    tl.store(o_ptr + 2 * BN + 2 * BM, tl.sum(x))  # the whole tile: a reshape, then axis 0
    tl.store(o_ptr + 2 * BN + 2 * BM + 1, tl.max(tl.max(hi, axis=0), axis=0))
    tl.store(o_ptr + 2 * BN + 2 * BM + 2 + rm, tl.argmax(hi, axis=1).to(tl.float32), mask=rm < M)
    tl.store(o_ptr + 2 * BN + 3 * BM + 2 + rn, tl.argmin(lo, axis=0).to(tl.float32), mask=rn < N)


@TARGETS
@pytest.mark.parametrize("bm,bn,num_warps", [(4, 4, 4), (16, 32, 4), (32, 64, 1)])
def test_reductions_2d(target, bm, bn, num_warps):
    """Tiles smaller than the thread count, about equal, and larger."""
    k = kernel(_reduce_2d, "*fp32 *fp32 i32 i32", target, num_warps, BM=bm, BN=bn)
    M, N = bm - 1, bn - 3 if bn > 4 else bn
    x = rng().standard_normal((M, N), dtype=np.float32)
    o = np.full(3 * bn + 3 * bm + 2, -7.0, np.float32)
    k[(1,)](x, o, M, N)
    z = np.zeros((bm, bn), np.float32)
    z[:M, :N] = x
    close = dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(o[:bn], z.sum(0), **close)
    np.testing.assert_allclose(o[bn : bn + bm], z.sum(1), **close)
    o = o[bn + bm :]
    np.testing.assert_array_equal(o[:N], x.max(0))
    np.testing.assert_array_equal(o[bn : bn + M], x.min(1))
    np.testing.assert_allclose(o[bn + bm], x.sum(), **close)
    assert o[bn + bm + 1] == x.max()
    np.testing.assert_array_equal(o[bn + bm + 2 : bn + bm + 2 + M], x.argmax(1))
    np.testing.assert_array_equal(o[bn + 2 * bm + 2 : bn + 2 * bm + 2 + N], x.argmin(0))


@triton.jit
def _int_reduce(x_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r[:, None] * B + r[None, :])
    tl.store(o_ptr + r, tl.sum(x, axis=1))
    tl.store(o_ptr + B + r, tl.max(x, axis=0))
    tl.store(o_ptr + 2 * B + r, tl.min(x, axis=1))
    tl.store(o_ptr + 3 * B, tl.sum(tl.reshape(x, (B * B,), can_reorder=True), axis=0))
    tl.store(o_ptr + 3 * B + 1, tl.xor_sum(tl.xor_sum(x, axis=1), axis=0))


@TARGETS
@pytest.mark.parametrize("dtype", ["i32", "i64", "u8"])
def test_integer_reductions(target, dtype):
    np_t = {"i32": np.int32, "i64": np.int64, "u8": np.uint8}[dtype]
    k = kernel(_int_reduce, f"*{dtype} *{dtype}", target, B=16)
    x = rng().integers(0, 100 if dtype == "u8" else 10**6, (16, 16)).astype(np_t)
    if dtype != "u8":
        x -= np_t(10**5)
    o = np.zeros(50, np_t)
    k[(1,)](x, o)
    np.testing.assert_array_equal(o[:16], x.sum(1, dtype=np_t))
    np.testing.assert_array_equal(o[16:32], x.max(0))
    np.testing.assert_array_equal(o[32:48], x.min(1))
    assert o[48] == x.sum(dtype=np_t) and o[49] == np.bitwise_xor.reduce(x.ravel())


@triton.jit
def _max_first(v, i, w, j):
    """(max, its first index) of two (value, index) pairs: associative and commutative."""
    take = (w > v) | ((w == v) & (j < i))
    return tl.where(take, w, v), tl.where(take, j, i)


@triton.jit
def _custom_reduce(x_ptr, o_ptr, i_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r[:, None] * B + r[None, :])
    idx = tl.broadcast_to(r[None, :], (B, B))
    v, i = tl.reduce((x, idx), 1, _max_first)
    tl.store(o_ptr + r, v)
    tl.store(i_ptr + r, i)
    tl.store(o_ptr + B, tl.reduce(tl.reduce(x, 0, _add), 0, _add))


@triton.jit
def _add(a, b):
    return a + b


@TARGETS
def test_custom_combine_two_operands(target):
    k = kernel(_custom_reduce, "*fp32 *fp32 *i32", target, B=16)
    x = rng().integers(-4, 4, (16, 16)).astype(np.float32)  # many ties
    o, i = np.zeros(17, np.float32), np.zeros(16, np.int32)
    k[(1,)](x, o, i)
    np.testing.assert_array_equal(o[:16], x.max(1))
    np.testing.assert_array_equal(i, x.argmax(1))
    assert o[16] == x.sum()
