"""Bad multi-card programs, topologies and runs: clear, typed errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.comm import programs
from xpuc.comm.builder import Program
from xpuc.comm.plan import partition
from xpuc.comm.sharding import ShardingError
from xpuc.runtime.program import ProgramError, run_program

GRID = "shard.grid @g(shape = {n})\n"


def two_devices(body: str) -> str:
    return GRID.format(n=2) + body


def test_uneven_split():
    p = Program("f", grid=(3,))
    x = p.input("x", (8, 4), split=[0])
    p.output(p.exp(x))
    with pytest.raises(ShardingError, match=r"argument %x of @f: dimension 0 of size 8 does "
                       r"not split evenly over grid axes \[0\] \(3 parts\)"):  # fmt: skip
        partition(p.module())


def test_unknown_op():
    text = two_devices("""
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %a, %a : tensor<4xf32>
  func.return %0 : tensor<4xf32>
}""")
    with pytest.raises(ShardingError, match="arith.addf .*: the multi-card passes do not know"):
        partition(text)


def test_two_grids():
    text = two_devices("""
shard.grid @h(shape = 4)
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  func.return %a : tensor<4xf32>
}""")
    with pytest.raises(ShardingError, match="declares one shard.grid; this one has 2"):
        partition(text)


def test_partial_sum_into_nonzero_init():
    text = two_devices("""
func.func @f(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>) -> tensor<4x4xf32> {
  %s = shard.sharding @g split_axes = [[], [0]] : !shard.sharding
  %as = shard.shard %a to %s : tensor<4x8xf32>
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %i = linalg.fill ins(%one : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %c = linalg.matmul ins(%as, %b : tensor<4x8xf32>, tensor<8x4xf32>) outs(%i : tensor<4x4xf32>) -> tensor<4x4xf32>
  func.return %c : tensor<4x4xf32>
}""")  # noqa: E501
    with pytest.raises(ShardingError, match="needs an init that is empty or filled with the sum"):
        partition(text)


def test_no_topology():
    module, _, _ = programs.tp_mlp(2)
    from xpuc.passes.comm.comm_select_algorithms import CommSelectAlgorithms

    m = partition(module)
    with pytest.raises(ShardingError, match="no topology: give comm-select-algorithms"):
        CommSelectAlgorithms().apply(None, m)  # type: ignore[arg-type]


def test_grid_larger_than_topology():
    module, _, _ = programs.tp_mlp(16, h=64)
    with pytest.raises(ShardingError, match="the grid has 16 devices; topology h100x8 has 8"):
        partition(module, "h100x8")


def test_run_mismatches(cluster2):
    module, args, _ = programs.tp_mlp(2)
    m = partition(module)
    with pytest.raises(ProgramError, match="takes 3 inputs, not 2"):
        run_program(m, args[:2], cluster2)
    with pytest.raises(ProgramError, match=r"input 0 has shape \(8, 15\); @mlp takes \(8, 16\)"):
        run_program(m, [args[0][:, :15], *args[1:]], cluster2)
    m4 = partition(programs.tp_mlp(4)[0])
    with pytest.raises(ProgramError, match="grid has 4 devices; the cluster has 2"):
        run_program(m4, programs.tp_mlp(4)[1], cluster2)
    with pytest.raises(ProgramError, match="is not partitioned"):
        run_program(programs.tp_mlp(2)[0], args, cluster2)


def _xpuc(*args, tool="xpuc"):
    code = f"import sys; from xpuc.compiler.{'cli' if tool == 'xpuc' else 'opt'} import main; sys.exit(main())"  # noqa: E501
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_plan_cli(tmp_path):
    src = tmp_path / "mlp.mlir"
    module, _, _ = programs.tp_mlp(4)
    src.write_text(str(module))
    r = _xpuc("plan", str(src), "--topology", "h100x8", "-o", str(tmp_path / "out.mlir"))
    assert r.returncode == 0, r.stderr
    assert "#1 all_reduce of tensor<8x16xf32> over grid axes [0] (1 group of 4)" in r.stdout
    assert "chosen:" in r.stdout and "then:" in r.stdout and "planned in" in r.stdout
    assert 'xpu.algorithm = "' in (tmp_path / "out.mlir").read_text()


def test_plan_cli_errors(tmp_path):
    src = tmp_path / "bad.mlir"
    src.write_text("shard.grid @g(shape = 2)\nfunc.func @f( {\n")
    r = _xpuc("plan", str(src), "--topology", "h100x8")
    assert r.returncode == 1 and f"{src}:2:" in r.stderr and "Traceback" not in r.stderr
    good = tmp_path / "mlp.mlir"
    good.write_text(str(programs.tp_mlp(2)[0]))
    r = _xpuc("plan", str(good), "--topology", "no-such-topology")
    assert r.returncode == 1 and "no-such-topology" in r.stderr and "Traceback" not in r.stderr


def test_opt_error(tmp_path):
    p = Program("f", grid=(3,))
    p.output(p.exp(p.input("x", (8,), split=[0])))
    src = tmp_path / "uneven.mlir"
    src.write_text(str(p.module()))
    r = _xpuc(str(src), "-p", "shard-partition", tool="opt")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "xpuc-opt: error:" in r.stderr and "does not split evenly" in r.stderr


def test_replicas_must_agree(cluster2):
    """A 'replicated' result that differs between ranks is an error, not rank 0's."""
    text = two_devices("""
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> attributes {xpu.grid = @g, xpu.arg_shardings = [#shard<axisarray[[0]]>], xpu.arg_types = [tensor<8xf32>], xpu.res_shardings = [#shard<axisarray[]>], xpu.res_types = [tensor<4xf32>]} {
  func.return %a : tensor<4xf32>
}""")  # noqa: E501
    with pytest.raises(ProgramError, match="ranks 0 and 1 disagree on a replicated result"):
        run_program(text, [np.arange(8, dtype=np.float32)], cluster2)
