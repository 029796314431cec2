"""Triton frontend: ops that move elements between tiles (``tl.join``, ``tl.split``,
``tl.interleave``, ``tl.cat``, ``tl.gather``), each an index map, checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from test_triton_ops import TARGETS, kernel, rng  # first: skips the module without triton
from triton_common import tl, triton

pytestmark = pytest.mark.filterwarnings("ignore:tl.cat")


@triton.jit
def _shuffles(x_ptr, y_ptr, i_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    x = tl.load(x_ptr + r)
    y = tl.load(y_ptr + r)
    a, b = tl.split(tl.join(x, y) * 2)
    tl.store(o_ptr + r, a - b)
    r2 = tl.arange(0, 2 * B)
    tl.store(o_ptr + B + r2, tl.interleave(x, y))
    tl.store(o_ptr + 3 * B + r2, tl.cat(x, y, can_reorder=True))
    tl.store(o_ptr + 5 * B + r, tl.gather(x, tl.load(i_ptr + r), 0))


@triton.jit
def _gather_2d(x_ptr, i_ptr, o_ptr, M: tl.constexpr, N: tl.constexpr):
    rm, rn = tl.arange(0, M), tl.arange(0, N)
    x = tl.load(x_ptr + rm[:, None] * N + rn[None, :])
    idx = tl.load(i_ptr + rm[:, None] * N + rn[None, :])
    tl.store(o_ptr + rm[:, None] * N + rn[None, :], tl.gather(x, idx, 1))


@TARGETS
def test_join_split_interleave_cat_gather(target):
    x = rng().standard_normal(32, dtype=np.float32)
    y = rng(1).standard_normal(32, dtype=np.float32)
    i = rng(2).integers(0, 32, 32).astype(np.int32)
    o = np.zeros(6 * 32, np.float32)
    kernel(_shuffles, "*fp32 *fp32 *i32 *fp32", target, B=32)[(1,)](x, y, i, o)
    np.testing.assert_array_equal(o[:32], 2 * x - 2 * y)
    np.testing.assert_array_equal(o[32:96], np.stack([x, y], 1).ravel())
    np.testing.assert_array_equal(o[96:160], np.concatenate([x, y]))
    np.testing.assert_array_equal(o[160:], x[i])
    x2 = rng(3).standard_normal((8, 16), dtype=np.float32)
    i2 = rng(4).integers(0, 16, (8, 16)).astype(np.int32)
    o2 = np.zeros((8, 16), np.float32)
    kernel(_gather_2d, "*fp32 *i32 *fp32", target, M=8, N=16)[(1,)](x2, i2, o2)
    np.testing.assert_array_equal(o2, np.take_along_axis(x2, i2, 1))
