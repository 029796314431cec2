"""Multi-card programs that launch CUDA, Triton and shared-IR kernels, run on 2 and 4
gloo ranks through xpuc's targets and compared with numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.comm import kernel_programs as kp
from xpuc.comm.plan import partition
from xpuc.compiler.diagnostics import XpucError
from xpuc.runtime.program import ProgramError, run_program


def check(got, refs):
    for g, r in zip(got, refs, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)


def test_dp_vadd_runs_the_kernel_on_each_shard(cluster):
    module, args, refs = kp.dp_vadd(cluster.world_size)
    m = partition(module, None)
    ir = str(m)
    assert "shard.all_gather" not in ir and "shard.all_slice" not in ir  # shards as they come
    assert f"arith.constant {1000} : index" in ir  # xpu.local_dim folded to the shard size
    check(run_program(m, args, cluster), refs)


@pytest.mark.parametrize("split", [True, False], ids=["rows", "whole"])
def test_softmax_kernel_on_rows_or_whole(cluster, split):
    module, args, refs = kp.softmax_program(cluster.world_size, split)
    m = partition(module, None)
    # whole: every device runs the kernel on all rows (the safe default for a kernel)
    assert ("shard.all_gather" in str(m)) is not split
    check(run_program(m, args, cluster), refs)


def test_tp_mlp_with_a_kernel_activation(cluster):
    module, args, refs = kp.tp_mlp_gelu(cluster.world_size)
    m = partition(module, "h100x8")
    ir = str(m)
    assert ir.count("xpu.launch") == 1 and "shard.all_gather" not in ir
    assert ir.count('xpu.p2p_schedule "all_reduce"') == 1  # only the row-parallel matmul's
    check(run_program(m, args, cluster), refs)


def test_dynamic_shared_memory(cluster):
    module, args, refs = kp.row_sums(cluster.world_size)
    m = partition(module, None)
    assert "dynamic_shared(" in str(m) and "shard.all_gather" not in str(m)
    check(run_program(m, args, cluster), refs)


def test_mixed_targets_per_rank(cluster2):
    """A cluster of two kinds of card: rank 0 runs the kernel as JIT-compiled x86 code,
    rank 1 as OpenCL C (PoCL)."""
    from tests.e2e.conftest import _opencl_missing

    missing = _opencl_missing()
    if missing:
        pytest.skip(f"opencl: {missing}")
    module, args, refs = kp.dp_vadd(2)
    check(run_program(partition(module, None), args, cluster2, target=["cpu", "opencl"]), refs)


def test_triton_kernel_in_a_program(cluster):
    pytest.importorskip("triton")
    from tests.comm.triton_kernels import add_kernel

    n = cluster.world_size
    p = kp.Program("tri", grid=(n,))
    x = p.input("x", (n * 300,), split=[0])
    y = p.input("y", (n * 300,), split=[0])
    k = p.triton(add_kernel, {"x": "*fp32", "y": "*fp32", "out": "*fp32", "n": "i32",
                              "BLOCK": "constexpr"}, {"BLOCK": 128}, num_warps=1)  # fmt: skip
    count = p.local_size(x)
    (z,) = p.launch(k, grid=p.cdiv(count, 128), args=[x, y, p.empty_like(x), count])
    p.output(z)
    rng = np.random.default_rng(0)
    a, b = kp.rand(rng, n * 300), kp.rand(rng, n * 300)
    check(run_program(partition(p.module(), None), [a, b], cluster), [a + b])


def test_program_text_with_a_kernel_module(cluster2, tmp_path):
    """The .mlir way in: a gpu.module as `xpuc compile --emit=mlir` prints it."""
    import xpuc

    kernels = xpuc.compile(kp.VADD, "cpu", emit="mlir").mlir
    body = kernels[kernels.index('"gpu.module"') :].rstrip().removesuffix("}")
    text = (Path(__file__).parent / "vadd_program.mlir.in").read_text().format(kernels=body)
    x, y = np.arange(16, dtype=np.float32), np.full(16, 2.0, np.float32)
    check(run_program(partition(text, None), [x, y], cluster2), [x + y])


# -- errors ------------------------------------------------------------------------------


def test_launch_errors_name_the_argument():
    p = kp.Program("bad", grid=(2,))
    x = p.input("x", (8,))
    k = p.cuda(kp.VADD)
    with pytest.raises(XpucError, match=r"vadd takes 4 arguments \(a, b, c, n\), 2 given"):
        p.launch(k, grid=1, block=8, args=[x, x])
    with pytest.raises(XpucError, match=r"argument 3 \('n'\) of vadd takes i32, not tensor"):
        p.launch(k, grid=1, block=8, args=[x, x, x, x])
    i = p.input("i", (8,), dtype="i32")
    with pytest.raises(XpucError, match=r"argument 1 \('b'\) of vadd takes f32 elements, not i32"):
        p.launch(k, grid=1, block=8, args=[x, i, x, 8])
    with pytest.raises(XpucError, match="splits= has 1 entries for 4 arguments"):
        p.launch(k, grid=1, block=8, args=[x, x, x, 8], splits=[[0]])
    with pytest.raises(XpucError, match="needs block="):
        p.launch(k, grid=1, args=[x, x, x, 8])
    with pytest.raises(XpucError, match=r"no .*named 'nope'|a kernel named 'nope'"):
        p.cuda(kp.VADD, "nope")


def test_target_list_must_match_the_cluster(cluster2):
    module, args, _ = kp.dp_vadd(2)
    with pytest.raises(ProgramError, match="names 3 targets for a cluster of 2 ranks"):
        run_program(partition(module, None), args, cluster2, target=["cpu"] * 3)


def test_a_kernel_that_cannot_run_here_is_a_clear_error(cluster2):
    module, args, _ = kp.dp_vadd(2)
    with pytest.raises(ProgramError, match="cannot run as cpu:riscv64 code"):
        run_program(partition(module, None), args, cluster2, target="cpu:riscv64")


EXAMPLE = Path(__file__).parents[2] / "examples" / "multicard" / "tp_mlp_gelu.mlir"


def test_plan_the_kernel_example():
    from tests.comm.test_comm_errors import _xpuc

    r = _xpuc("plan", str(EXAMPLE), "--topology", "h100x8")
    assert r.returncode == 0, r.stderr
    assert "#1 all_reduce of tensor<512x1024xf32> over grid axes [0] (1 group of 8)" in r.stdout
    assert "#2" not in r.stdout  # the kernel runs on the column shards: nothing to gather


def test_plan_reports_a_bad_launch_without_a_traceback(tmp_path):
    from tests.comm.test_comm_errors import _xpuc

    bad = tmp_path / "bad.mlir"
    text = EXAMPLE.read_text().replace("args(%hs, %n32 :", "args(%hs, %rows :", 1)
    bad.write_text(text.replace("xf32>, i32) writes", "xf32>, index) writes"))
    r = _xpuc("plan", str(bad), "--topology", "h100x8")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "argument 1 is index; the kernel takes i32" in r.stderr


def _centre_rows(n_rows, m_cols):
    """B = A - rowsum(A), through an intermediate buffer (two stages)."""
    tvm = pytest.importorskip("tvm")
    from tvm import te

    A = te.placeholder((n_rows, m_cols), name="A")
    k = te.reduce_axis((0, m_cols), name="k")
    S = te.compute((n_rows,), lambda i: te.sum(A[i, k], axis=k), name="S")
    B = te.compute((n_rows, m_cols), lambda i, j: A[i, j] - S[i], name="B")
    return tvm, te.create_prim_func([A, B])


def test_tvm_prim_func_on_row_shards(cluster):
    tvm, _ = _centre_rows(1, 1)
    n = cluster.world_size
    _, f = _centre_rows(tvm.tirx.Var("n", "int32"), tvm.tirx.Var("m", "int32"))
    p = kp.Program("centre", grid=(n,))
    a = p.input("a", (4 * n, 6))
    (b,) = p.tvm(f, [a, p.empty_like(a)], split=[0])
    p.output(p.exp(b))
    m = partition(p.module(), None)
    assert str(m).count("= xpu.launch @") == 2 and "shard.all_gather" not in str(m)
    x = kp.rand(np.random.default_rng(5), 4 * n, 6)
    check(run_program(m, [x], cluster), [np.exp(x - x.sum(1, keepdims=True))])


def test_tvm_static_shapes_must_be_the_shards():
    _, f = _centre_rows(8, 6)
    p = kp.Program("centre", grid=(2,))
    a = p.input("a", (8, 6))
    with pytest.raises(XpucError, match=r"buffer A is \(8, 6\); the shard it gets is \(4, 6\)"):
        p.tvm(f, [a, p.empty_like(a)], split=[0])
    (b,) = p.tvm(f, [a, p.empty_like(a)])  # whole on every device: the shapes match
    assert b.type.get_shape() == (8, 6)


def test_tvm_keeps_a_layout_asked_for_before(cluster2):
    """Arguments already shard(..., for_users=True): the PrimFunc's sizes are the shard's."""
    tvm, _ = _centre_rows(1, 1)
    _, f = _centre_rows(tvm.tirx.Var("n", "int32"), tvm.tirx.Var("m", "int32"))
    p = kp.Program("centre", grid=(2,))
    a = p.input("a", (8, 6))
    rows = p.shard(a, [0], for_users=True)
    (b,) = p.tvm(f, [rows, p.shard(p.empty_like(a), [0], for_users=True)])
    p.output(b)
    x = kp.rand(np.random.default_rng(5), 8, 6)
    check(run_program(partition(p.module(), None), [x], cluster2), [x - x.sum(1, keepdims=True)])


def test_kernels_of_the_same_name_in_one_program(cluster2):
    """Two PrimFuncs (TVM names both main, their stages main_0, main_1) and one CUDA
    kernel imported twice: each launch runs its own module's kernel."""
    tvm, centre = _centre_rows(8, 6)
    from tvm import te

    A = te.placeholder((8, 6), name="A")
    double = te.create_prim_func([A, te.compute((8, 6), lambda i, j: A[i, j] * 2, name="B")])
    p = kp.Program("two", grid=(2,))
    a = p.input("a", (8, 6))
    (c,) = p.tvm(centre, [a, p.empty_like(a)])
    (d,) = p.tvm(double, [c, p.empty_like(a)])
    x, y = p.input("x", (64,)), p.input("y", (64,))
    (s1,) = p.launch(p.cuda(kp.VADD), grid=1, block=64, args=[x, y, p.empty_like(x), 64])
    (s2,) = p.launch(p.cuda(kp.VADD), grid=1, block=64, args=[s1, y, p.empty_like(x), 64])
    p.output(d, s2)
    rng = np.random.default_rng(8)
    an, xn, yn = kp.rand(rng, 8, 6), kp.rand(rng, 64), kp.rand(rng, 64)
    got = run_program(partition(p.module(), None), [an, xn, yn], cluster2)
    check(got, [(an - an.sum(1, keepdims=True)) * 2, xn + 2 * yn])


def test_builder_sizes_and_scalars():
    p = kp.Program("sizes", grid=(2,))
    x = p.input("x", (8,))
    k = p.cuda(kp.VADD)
    with pytest.raises(XpucError, match="dimension 1 is out of range for a tensor of rank 1"):
        p.local_dim(x, 1)
    with pytest.raises(XpucError, match=r"argument 3 \('n'\) of vadd: 8.5 is not an integer"):
        p.launch(k, grid=1, block=8, args=[x, x, p.empty_like(x), 8.5])
    with pytest.raises(XpucError, match="expected a size"):
        p.launch(k, grid="one", block=8, args=[x, x, p.empty_like(x), 8])
    from xdsl.dialects import arith
    from xdsl.dialects.builtin import i32

    cast = arith.IndexCastOp(p.local_size(x, split=[0]), i32)
    p.block.add_op(cast)
    n32 = cast.result  # an i32 value as a grid size: cast to index
    (z,) = p.launch(k, grid=n32, block=np.int64(8), args=[x, x, p.empty_like(x), np.int32(8)])
    p.output(z)
    p.module()  # verifies
