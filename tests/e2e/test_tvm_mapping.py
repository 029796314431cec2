"""TVM frontend: how unscheduled and cpu-scheduled stages are mapped onto threads
(``map-parallel-loops`` and its tile options; ``sch.parallel``/``sch.vectorize``), run on
cpu and opencl against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from tvm import s_tir, te, tirx  # noqa: E402
from tvm_common import TARGETS, skip_without  # first: skips

from xpuc.compiler.diagnostics import XpucError  # noqa: E402
from xpuc.frontends import tvm as xt  # noqa: E402
from xpuc.frontends.tvm.lower import lower_prim_func  # noqa: E402
from xpuc.passes.map_parallel_loops import launch  # noqa: E402


def stencil_3d(shape):
    """Each element: itself and its two neighbours along the last axis (clamped)."""
    A = te.placeholder(shape, name="A")
    last = shape[-1] - 1
    B = te.compute(shape, lambda i, j, k: A[i, j, k] * 2 + A[i, j, tirx.max(k - 1, 0)]
                   - A[i, j, tirx.min(k + 1, last)], name="B")  # fmt: skip
    return te.create_prim_func([A, B])


def stencil_ref(a):
    left = np.concatenate([a[..., :1], a[..., :-1]], axis=-1)
    right = np.concatenate([a[..., 1:], a[..., -1:]], axis=-1)
    return a * 2 + left - right


@TARGETS
@pytest.mark.parametrize(("tile", "block_size"), [
    ((), 256), ((), 64), ((16, 16), 256), ((32,), 256), ((4, 4, 4), 256), ((2, 2, 2, 2), 256),
])  # fmt: skip
def test_tiles_cover_a_ragged_3d_space_exactly_once(target, tile, block_size):
    """Extents not multiples of the tile: the last tiles' extra threads must do nothing;
    a tile deeper than the nest takes its last entries."""
    skip_without(target)
    shape = (5, 37, 45)
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    b = np.full(shape, np.nan, np.float32)
    art = xt.compile(stencil_3d(shape), target, tile=tile, block_size=block_size)
    xt.load(art)(a, b)
    np.testing.assert_array_equal(b, stencil_ref(a))


def test_the_launch_follows_the_tile():
    assert launch([5, 37, 45], (), 256) == (-(-5 * 37 * 45 // 256), 256)
    assert launch([5, 37, 45], (16, 16), 256) == (5 * 3 * 3, 256)
    assert launch([5, 37, 45], (2, 2, 2, 2), 256) == (3 * 19 * 23, 8)
    assert launch([3], (), 256) == (1, 3)
    _, stages, *_ = lower_prim_func(stencil_3d((5, 37, 45)), "s", tile=(8, 32))
    assert stages[0].tile == (8, 32) and stages[0].threads == (5, 37, 45)


@TARGETS
def test_a_tiled_matmul_with_symbolic_sizes(target):
    skip_without(target)
    n, m = tirx.Var("n", "int32"), tirx.Var("m", "int32")
    A, B = te.placeholder((n, 24), name="A"), te.placeholder((24, m), name="B")
    r = te.reduce_axis((0, 24), name="r")
    C = te.compute((n, m), lambda i, j: te.sum(A[i, r] * B[r, j], axis=r), name="C")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((19, 24), np.float32), rng.standard_normal((24, 33), np.float32)
    c = np.zeros((19, 33), np.float32)
    xt.load(xt.compile(te.create_prim_func([A, B, C]), target, tile=(8, 8)))(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


def cpu_scheduled(n: int, m: int, vec: int):
    """A row-wise scale scheduled as TVM schedules for a cpu: rows parallel, the inner
    columns vectorized."""
    A = te.placeholder((n, m), name="A")
    B = te.compute((n, m), lambda i, j: A[i, j] * 3 + 1, name="B")
    sch = s_tir.Schedule(te.create_prim_func([A, B]))
    i, j = sch.get_loops(sch.get_sblock("B"))
    jo, ji = sch.split(j, [None, vec])
    sch.parallel(i)
    sch.vectorize(ji)
    return sch.mod["main"]


@TARGETS
def test_parallel_rows_and_vectorized_columns(target):
    """``sch.parallel`` loops become blocks (the cpu runtime's cores), the loops inside
    them the threads of a block (the cpu target's vector lanes): one block per row, or,
    past 1024 threads, one per vector."""
    skip_without(target)
    func = cpu_scheduled(10, 64, 16)
    _, stages, *_ = lower_prim_func(func, "s")
    assert stages[0].tile == (4, 16) and launch([10, 4, 16], stages[0].tile, 256) == (10, 64)
    _, stages, *_ = lower_prim_func(cpu_scheduled(3, 4096, 8), "s")
    assert stages[0].tile == (8,)
    a = np.random.default_rng(2).standard_normal((10, 64)).astype(np.float32)
    b = np.zeros((10, 64), np.float32)
    xt.load(xt.compile(func, target))(a, b)
    np.testing.assert_array_equal(b, a * 3 + 1)


def test_bad_tile_options_are_a_clear_error():
    with pytest.raises(XpucError, match="must be positive"):
        xt.compile(stencil_3d((2, 3, 4)), "cpu", tile=(0, 4))


def test_a_vectorized_loop_wider_than_a_block_is_cut_to_1024_threads():
    A = te.placeholder((2, 2048), name="A")
    B = te.compute((2, 2048), lambda i, j: A[i, j] + 1, name="B")
    sch = s_tir.Schedule(te.create_prim_func([A, B]))
    sch.vectorize(sch.get_loops(sch.get_sblock("B"))[1])
    _, stages, *_ = lower_prim_func(sch.mod["main"], "v")
    assert stages[0].tile == (1024,)
    a, b = np.ones((2, 2048), np.float32), np.zeros((2, 2048), np.float32)
    xt.load(xt.compile(sch.mod["main"], "cpu"))(a, b)
    np.testing.assert_array_equal(b, a + 1)
