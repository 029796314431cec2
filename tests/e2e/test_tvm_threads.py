"""TVM frontend: GPU-scheduled PrimFuncs whose threads cooperate: cross-thread reductions
(a reduction loop bound to ``threadIdx``, directly or after ``rfactor``), shared buffers
allocated inside a block; run on cpu and opencl against numpy, PTX through ptxas."""

from __future__ import annotations

import numpy as np
import pytest
from tvm import s_tir, te, tirx  # noqa: E402
from tvm.script import tirx as T  # noqa: E402
from tvm_common import TARGETS, run  # first: skips

from xpuc.compiler.diagnostics import XpucError  # noqa: E402
from xpuc.frontends import tvm as xt  # noqa: E402
from xpuc.frontends.tvm.lower import lower_prim_func  # noqa: E402


def row_reduce(fcompute, outs: int, rows: int, n: int, threads: int, *, rfactor=False, ty=0):
    """A per-row reduction of a (rows, n) A (``fcompute(A, k)`` -> the reduce
    expression), one block per row (or ``ty`` rows per block, on threadIdx.y), the row's
    k loop split by ``threads`` onto threadIdx.x; with ``rfactor``, the partials go
    through an rfactor buffer first."""
    A = te.placeholder((rows, n), name="A")
    k = te.reduce_axis((0, n), name="k")
    out = te.compute((rows,), lambda i: fcompute(A, i, k), name="B")
    out = list(out) if outs > 1 else [out]
    sch = s_tir.Schedule(te.create_prim_func([A, *out]))
    i, kk = sch.get_loops(sch.get_sblock("B"))
    _, ki = sch.split(kk, [None, threads])
    rf = None
    if rfactor:
        rf = sch.rfactor(ki, 0)
        i, ki = sch.get_loops(sch.get_sblock("B"))
    if ty:
        io, ii = sch.split(i, [None, ty])
        sch.bind(io, "blockIdx.x")
        sch.bind(ii, "threadIdx.y")
    else:
        sch.bind(i, "blockIdx.x")
    sch.bind(ki, "threadIdx.x")
    if rf is not None:
        sch.compute_at(rf, ki)
    return sch.mod["main"]


def data(rows, n, seed):
    return np.random.default_rng(seed).standard_normal((rows, n)).astype(np.float32)


@TARGETS
def test_a_max_bound_straight_to_threads_with_a_ragged_split(target):
    """k (100) split by 32: the last step's threads are masked off by the predicate and
    take the reducer's identity."""
    func = row_reduce(lambda A, i, k: te.max(A[i, k], axis=k), 1, 16, 100, 32)
    text = str(lower_prim_func(func, "m")[0])
    assert text.count("gpu.barrier") >= 6  # one per tree step (5) and around it
    a, b = data(16, 100, 1), np.zeros(16, np.float32)
    run(func, target, a, b)
    np.testing.assert_array_equal(b, a.max(1))


@TARGETS
def test_a_sum_of_squares_after_rfactor(target):
    func = row_reduce(lambda A, i, k: te.sum(A[i, k] * A[i, k], axis=k), 1, 12, 128, 32,
                      rfactor=True)  # fmt: skip
    a, b = data(12, 128, 2), np.zeros(12, np.float32)
    run(func, target, a, b)
    np.testing.assert_allclose(b, (a * a).sum(1), rtol=1e-5)


@TARGETS
def test_rows_on_thread_y_reduce_in_separate_groups(target):
    """Four rows per block on threadIdx.y, each row's 24 threads on threadIdx.x (not a
    power of two): four independent trees in one block."""
    func = row_reduce(lambda A, i, k: te.sum(A[i, k], axis=k), 1, 16, 72, 24, ty=4)
    a, b = data(16, 72, 3), np.zeros(16, np.float32)
    run(func, target, a, b)
    np.testing.assert_allclose(b, a.sum(1), rtol=1e-5, atol=1e-5)


@TARGETS
def test_an_argmax_with_its_own_two_value_reducer(target):
    def combine(x, y):
        keep = x[1] >= y[1]
        return tirx.Select(keep, x[0], y[0]), tirx.Select(keep, x[1], y[1])

    def identity(t0, t1):
        return tirx.const(-1, t0), te.min_value(t1)

    argmax = te.comm_reducer(combine, identity, name="argmax")
    func = row_reduce(lambda A, i, k: argmax((k, A[i, k]), axis=k), 2, 8, 64, 16)
    a = data(8, 64, 4)
    idx, val = np.zeros(8, np.int32), np.zeros(8, np.float32)
    run(func, target, a, idx, val)
    np.testing.assert_array_equal(idx, a.argmax(1))
    np.testing.assert_array_equal(val, a.max(1))


@TARGETS
def test_a_softmax_scheduled_with_two_cross_thread_reductions(target):
    """Max, then sum of exponentials, each a cross-thread reduction in its own kernel,
    then the normalization: the shape TVM's GPU softmax schedules take."""
    n, m = 8, 256
    A = te.placeholder((n, m), name="A")
    k1, k2 = te.reduce_axis((0, m), name="k1"), te.reduce_axis((0, m), name="k2")
    M = te.compute((n,), lambda i: te.max(A[i, k1], axis=k1), name="M")
    E = te.compute((n, m), lambda i, j: te.exp(A[i, j] - M[i]), name="E")
    S = te.compute((n,), lambda i: te.sum(E[i, k2], axis=k2), name="S")
    O = te.compute((n, m), lambda i, j: E[i, j] / S[i], name="O")  # noqa: E741
    sch = s_tir.Schedule(te.create_prim_func([A, O]))
    for name in ("M", "S"):
        i, kk = sch.get_loops(sch.get_sblock(name))
        _, ki = sch.split(kk, [None, 64])
        sch.bind(i, "blockIdx.x")
        sch.bind(ki, "threadIdx.x")
    for name in ("E", "O"):
        i, j = sch.get_loops(sch.get_sblock(name))
        sch.bind(i, "blockIdx.x")
        sch.bind(j, "threadIdx.x")
    a, o = data(n, m, 5), np.zeros((n, m), np.float32)
    run(sch.mod["main"], target, a, o)
    e = np.exp(a - a.max(1, keepdims=True))
    np.testing.assert_allclose(o, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-7)


@TARGETS
def test_a_shared_buffer_allocated_inside_a_block(target):
    """A block under blockIdx allocates a shared tile; the threads fill it reversed, then
    each reads its neighbour's element: a barrier must separate them."""

    @T.prim_func(s_tir=True)
    def reverse(a: T.Buffer((4, 64), "float32"), b: T.Buffer((4, 64), "float32")):
        for bx in T.thread_binding(4, thread="blockIdx.x"):
            with T.sblock("tile"):
                t = T.sblock_alloc_buffer((64,), "float32", scope="shared")
                for tx in T.thread_binding(64, thread="threadIdx.x"):
                    with T.sblock("fill"):
                        t[63 - tx] = a[bx, tx]
                for tx in T.thread_binding(64, thread="threadIdx.x"):
                    with T.sblock("use"):
                        b[bx, tx] = t[(tx + 1) % 64] * T.float32(2)

    a, b = data(4, 64, 6), np.zeros((4, 64), np.float32)
    run(reverse, target, a, b)
    np.testing.assert_array_equal(b, np.roll(a[:, ::-1], -1, axis=1) * 2)


def test_ptx_of_a_cross_thread_reduction_is_accepted_by_ptxas():
    from xpuc.targets.tools import find_ptxas

    if find_ptxas() is None:
        pytest.skip("ptxas not found")
    func = row_reduce(lambda A, i, k: te.sum(A[i, k], axis=k), 1, 16, 128, 32, rfactor=True)
    art = xt.compile(func, "nvptx:sm_90", emit="bin")
    assert "bar.sync" in str(art.stages["asm"]) and art.stages["bin"][:4] == b"\x7fELF"


def test_an_allreduce_without_its_reducer_is_a_clear_error():
    @T.prim_func(s_tir=True)
    def bad(a: T.Buffer((32,), "float32"), b: T.Buffer((1,), "float32")):
        r = T.sblock_alloc_buffer((1,), "float32", scope="local")
        for tx in T.thread_binding(32, thread="threadIdx.x"):
            with T.sblock("sum"):
                T.tvm_thread_allreduce(T.uint32(1), a[tx], T.bool(True), r[0], tx)
                b[0] = r[0]

    with pytest.raises(XpucError, match="tvm_thread_allreduce outside a 'reduce_scope'"):
        xt.compile(bad, "cpu")


@TARGETS
def test_a_plain_tirx_prim_func_with_a_shared_alloc_buffer(target):
    """No root block (``@T.prim_func`` without ``s_tir``): ``T.alloc_buffer`` is a
    statement whose buffer lives for the rest of its sequence."""

    @T.prim_func
    def reverse(a: T.Buffer((4, 64), "float32"), b: T.Buffer((4, 64), "float32")):
        for bx in T.thread_binding(4, thread="blockIdx.x"):
            t = T.alloc_buffer((64,), "float32", scope="shared")
            for tx in T.thread_binding(64, thread="threadIdx.x"):
                t[63 - tx] = a[bx, tx]
            for tx in T.thread_binding(64, thread="threadIdx.x"):
                b[bx, tx] = t[(tx + 1) % 64] * T.float32(2)

    a, b = data(4, 64, 7), np.zeros((4, 64), np.float32)
    run(reverse, target, a, b)
    np.testing.assert_array_equal(b, np.roll(a[:, ::-1], -1, axis=1) * 2)


@TARGETS
def test_plain_tirx_serial_loops_stay_serial(target):
    """Without blocks nothing says a serial loop is parallel: the running sum over k must
    not be split over threads, the loop marked ``parallel`` is."""

    @T.prim_func
    def row_sums(a: T.Buffer((6, 50), "float32"), s: T.Buffer((6,), "float32")):
        for i in T.parallel(6):
            s[i] = T.float32(0)
            for k in range(50):
                s[i] = s[i] + a[i, k]

    @T.prim_func
    def serial_sum(a: T.Buffer((6, 50), "float32"), s: T.Buffer((6,), "float32")):
        for i in range(6):
            for k in range(50):
                s[i] = s[i] + a[i, k]

    _, stages, *_ = lower_prim_func(row_sums, "r")
    assert stages[0].threads == (6,)
    _, stages, *_ = lower_prim_func(serial_sum, "s")
    assert stages[0].threads == (1,)
    a = data(6, 50, 8)
    for func, start in ((row_sums, 5.0), (serial_sum, 0.0)):
        s = np.full(6, start, np.float32)
        run(func, target, a, s)
        np.testing.assert_allclose(s, a.sum(1), rtol=1e-5, atol=1e-5)


@TARGETS
def test_a_barrier_between_a_shared_write_and_a_later_read_with_work_between(target):
    """The read is not the write's neighbour in the sequence: the barrier must still be
    there (found by review)."""

    @T.prim_func
    def gap(a: T.Buffer((2, 32), "float32"), b: T.Buffer((2, 32), "float32"),
            c: T.Buffer((2, 32), "float32")):  # fmt: skip
        for bx in T.thread_binding(2, thread="blockIdx.x"):
            t = T.alloc_buffer((32,), "float32", scope="shared")
            for tx in T.thread_binding(32, thread="threadIdx.x"):
                t[tx] = a[bx, tx]
                c[bx, tx] = a[bx, tx] + T.float32(1)
                b[bx, tx] = t[31 - tx]

    assert str(lower_prim_func(gap, "g")[0]).count("gpu.barrier") == 1
    a, b, c = data(2, 32, 9), np.zeros((2, 32), np.float32), np.zeros((2, 32), np.float32)
    run(gap, target, a, b, c)
    np.testing.assert_array_equal(b, a[:, ::-1])


def test_a_barrier_only_some_threads_reach_is_a_clear_error():
    """A loop bound to 32 of the block's 64 threads runs under ``tx < 32``: a barrier
    inside would leave the other threads out (undefined on a GPU)."""

    @T.prim_func
    def half(a: T.Buffer((64,), "float32"), b: T.Buffer((64,), "float32")):
        for _bx in T.thread_binding(1, thread="blockIdx.x"):
            t = T.alloc_buffer((32,), "float32", scope="shared")
            for tx in T.thread_binding(32, thread="threadIdx.x"):
                t[tx] = a[tx]
                b[tx] = t[31 - tx]
            for tx in T.thread_binding(64, thread="threadIdx.x"):
                b[tx] = b[tx] + a[tx]

    with pytest.raises(XpucError, match="not every thread would reach it"):
        xt.compile(half, "cpu")


@TARGETS
def test_a_parallel_loop_over_a_scalar_parameter(target):
    @T.prim_func
    def head(a: T.Buffer((64,), "float32"), b: T.Buffer((64,), "float32"), n: T.int32):
        for i in T.parallel(n):
            b[i] = a[i] * T.float32(2)

    a, b = np.arange(64, dtype=np.float32), np.zeros(64, np.float32)
    run(head, target, a, b, 40)
    np.testing.assert_array_equal(b, np.where(np.arange(64) < 40, a * 2, 0))
