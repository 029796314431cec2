"""TVM frontend, first slice: TE-built PrimFuncs compiled by xpuc and run against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from tvm import te, tirx  # noqa: E402
from tvm_common import TARGETS, run  # first: skips

from xpuc.compiler.diagnostics import XpucError  # noqa: E402
from xpuc.frontends import tvm as xt  # noqa: E402
from xpuc.frontends.tvm.lower import lower_prim_func  # noqa: E402


@TARGETS
def test_elementwise_with_branches_and_casts(target):
    A = te.placeholder((37, 45), name="A")
    B = te.compute((37, 45), lambda i, j: tirx.if_then_else(
        A[i, j] > 0, A[i, j] * 2, tirx.Select(A[i, j] < -1, -1.0, A[i, j])), name="B")  # fmt: skip
    Ci = te.compute((37, 45), lambda i, j: (B[i, j] * 10).astype("int32"), name="C")
    a = np.random.default_rng(0).standard_normal((37, 45)).astype(np.float32)
    c = np.zeros((37, 45), np.int32)
    run(te.create_prim_func([A, Ci]), target, a, c)
    b = np.where(a > 0, a * 2, np.where(a < -1, -1.0, a)).astype(np.float32)
    np.testing.assert_array_equal(c, (b * np.float32(10)).astype(np.int32))


@TARGETS
def test_matmul_reduction_with_init(target):
    n, m, k = 33, 17, 29
    A, B = te.placeholder((n, k), name="A"), te.placeholder((k, m), name="B")
    r = te.reduce_axis((0, k), name="r")
    C = te.compute((n, m), lambda i, j: te.sum(A[i, r] * B[r, j], axis=r), name="C")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((n, k), np.float32), rng.standard_normal((k, m), np.float32)
    c = np.full((n, m), 7.0, np.float32)
    run(te.create_prim_func([A, B, C]), target, a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


@TARGETS
def test_stages_through_an_intermediate_buffer(target):
    A = te.placeholder((8, 4), name="A")
    k = te.reduce_axis((0, 4), name="k")
    S = te.compute((8,), lambda i: te.max(A[i, k], axis=k), name="S")
    E = te.compute((8, 4), lambda i, j: te.exp(A[i, j] - S[i]), name="E")
    a = np.random.default_rng(2).standard_normal((8, 4)).astype(np.float32)
    e = np.zeros((8, 4), np.float32)
    run(te.create_prim_func([A, E]), target, a, e)
    np.testing.assert_allclose(e, np.exp(a - a.max(1, keepdims=True)), rtol=1e-6)


@TARGETS
def test_integer_floor_division(target):
    A = te.placeholder((16,), name="A", dtype="int32")
    B = te.compute((16,), lambda i: tirx.floordiv(A[i], 3) * 100 + tirx.floormod(A[i], -3)
                   + tirx.truncdiv(A[i], 4) * 10000, name="B")  # fmt: skip
    a = np.arange(-8, 8, dtype=np.int32)
    b = np.zeros(16, np.int32)
    run(te.create_prim_func([A, B]), target, a, b)
    np.testing.assert_array_equal(
        b, (a // 3) * 100 + a % -3 + np.trunc(a / 4).astype(np.int32) * 10000
    )


def test_ptx_for_a_reduction_is_accepted_by_ptxas():
    from xpuc.targets.tools import find_ptxas

    if find_ptxas() is None:
        pytest.skip("ptxas not found")
    A, B = te.placeholder((64, 64), name="A"), te.placeholder((64, 64), name="B")
    r = te.reduce_axis((0, 64), name="r")
    C = te.compute((64, 64), lambda i, j: te.sum(A[i, r] * B[r, j], axis=r), name="C")
    art = xt.compile(te.create_prim_func([A, B, C]), "nvptx:sm_90", emit="bin")
    assert ".entry main_0" in str(art.stages["asm"]) and art.stages["bin"][:4] == b"\x7fELF"


@TARGETS
def test_symbolic_shapes_are_kernel_arguments(target):
    n, m = tirx.Var("n", "int32"), tirx.Var("m", "int64")
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, m), name="k")
    S = te.compute((n,), lambda i: te.sum(A[i, k], axis=k), name="S")
    B = te.compute((n, m), lambda i, j: A[i, j] - S[i], name="B")
    a = np.random.default_rng(6).standard_normal((5, 7)).astype(np.float32)
    b = np.zeros((5, 7), np.float32)
    run(te.create_prim_func([A, B]), target, a, b)  # n = 5, m = 7 from the arrays
    np.testing.assert_allclose(b, a - a.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)
    if target == "cpu":
        k2 = xt.load(xt.compile(te.create_prim_func([A, B]), "cpu"))
        with pytest.raises(XpucError, match="n is 4 here, 5 elsewhere"):
            k2(np.zeros((5, 7), np.float32), np.zeros((4, 7), np.float32))


def test_wrong_arrays_are_a_clear_error():
    A = te.placeholder((4,), name="A")
    B = te.compute((4,), lambda i: A[i] + 1, name="B")
    k = xt.load(xt.compile(te.create_prim_func([A, B]), "cpu"))
    with pytest.raises(XpucError, match="expected 2 arguments"):
        k(np.zeros(4, np.float32))
    with pytest.raises(XpucError, match=r"buffer B: expected shape \(4,\)"):
        k(np.zeros(4, np.float32), np.zeros(5, np.float32))


def test_the_cli_compiles_a_prim_func_of_a_python_file(tmp_path):
    import subprocess
    import sys

    src = tmp_path / "ops.py"
    src.write_text(
        "from tvm import te\n"
        "A = te.placeholder((64,), name='A')\n"
        "B = te.compute((64,), lambda i: A[i] * 3, name='B')\n"
        "triple = te.create_prim_func([A, B])\n"
    )  # fmt: skip
    cli = [sys.executable, "-m", "xpuc.compiler.cli", "compile", str(src)]
    out = tmp_path / "k.cl"
    proc = subprocess.run([*cli, "--kernel", "triple", "--target", "opencl", "-o", str(out)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "__kernel void" in out.read_text()
    bad = subprocess.run([*cli, "--kernel", "nope", "--target", "cpu"], capture_output=True,
                         text=True)  # fmt: skip
    assert bad.returncode == 1 and "defines no 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr


def scheduled_matmul(n: int, m: int, k: int, shared: bool):
    """A matmul split into 16x16 tiles bound to blocks and threads; with ``shared``, the
    k loop split by 16 and both operands' tiles staged in shared memory at each step."""
    from tvm import s_tir

    A, B = te.placeholder((n, k), name="A"), te.placeholder((k, m), name="B")
    r = te.reduce_axis((0, k), name="r")
    C = te.compute((n, m), lambda i, j: te.sum(A[i, r] * B[r, j], axis=r), name="C")
    sch = s_tir.Schedule(te.create_prim_func([A, B, C]))
    blk = sch.get_sblock("C")
    i, j, kk = sch.get_loops(blk)
    bi, ti = sch.split(i, factors=[None, 16])
    bj, tj = sch.split(j, factors=[None, 16])
    ko = sch.split(kk, factors=[None, 16])[0] if shared else kk
    sch.reorder(bi, bj, ti, tj, ko)
    for loop, tag in ((bi, "blockIdx.y"), (bj, "blockIdx.x"), (ti, "threadIdx.y"),
                      (tj, "threadIdx.x")):  # fmt: skip
        sch.bind(loop, tag)
    for operand in (0, 1) if shared else ():
        tile = sch.cache_read(blk, operand, "shared")
        sch.compute_at(tile, ko)
        fo, fi = sch.split(sch.fuse(*sch.get_loops(tile)[-2:]), factors=[None, 16])
        _, ffi = sch.split(fo, factors=[None, 16])
        sch.bind(ffi, "threadIdx.y")
        sch.bind(fi, "threadIdx.x")
    return sch.mod["main"]


def check_matmul(func, target, n: int, m: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, k), np.float32), rng.standard_normal((k, m), np.float32)
    c = np.zeros((n, m), np.float32)
    run(func, target, a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


@TARGETS
def test_a_prim_func_scheduled_onto_threads_runs_as_written(target):
    check_matmul(scheduled_matmul(64, 48, 40, shared=False), target, 64, 48, 40, seed=4)


@TARGETS
def test_a_scheduled_matmul_staging_tiles_in_shared_memory(target):
    """cache_read into 'shared' at the k loop: per-block shared buffers, and barriers
    between the threads' writes and reads (and before the next k step's writes)."""
    func = scheduled_matmul(64, 64, 64, shared=True)
    module, *_ = lower_prim_func(func, "mm")
    text = str(module)
    assert text.count("memref<4096xf32, 3 : i64>") >= 2 and "gpu.barrier" in text
    check_matmul(func, target, 64, 64, 64, seed=5)


@TARGETS
def test_scalar_parameters(target):
    A = te.placeholder((16,), name="A")
    shift, scale = tirx.Var("shift", "int32"), tirx.Var("scale", "float32")
    B = te.compute((8,), lambda i: A[i + shift] * scale, name="B")
    a = np.arange(16, dtype=np.float32)
    b = np.zeros(8, np.float32)
    run(te.create_prim_func([A, shift, B, scale]), target, a, 5, b, 0.5)
    np.testing.assert_array_equal(b, a[5:13] * 0.5)


def test_a_reduction_bound_to_blocks_is_a_clear_error():
    """Blocks of a reduction loop would race on the result (TVM only rewrites reductions
    over threadIdx into an allreduce): refused, not miscompiled."""
    from tvm.script import tirx as T

    @T.prim_func(s_tir=True)
    def racy(a: T.Buffer((16, 64), "float32"), s: T.Buffer((16,), "float32")):
        for i in T.thread_binding(16, thread="threadIdx.x"):
            for k in T.thread_binding(64, thread="blockIdx.x"):
                with T.sblock("S"):
                    vi, vk = T.axis.remap("SR", [i, k])
                    with T.init():
                        s[vi] = T.float32(0)
                    s[vi] = s[vi] + a[vi, vk]

    with pytest.raises(XpucError, match="LowerCrossThreadReduction"):
        xt.compile(racy, "cpu")
