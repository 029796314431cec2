"""``xpuc conformance``: the reference suite compiles, is accepted by the real tool, and
runs correctly wherever the target runs here."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from xpuc import conformance
from xpuc.conformance.suite import CASES
from xpuc.targets.registry import get_target

# The targets the issue names; each needs the tool that checks its binaries.
VALIDATED = ["nvptx:sm_80", "nvptx:sm_90", "amdgpu:gfx90a", "amdgpu:gfx942", "spirv",
             "cpu:aarch64", "cpu:riscv64", "cpu:loongarch64"]  # fmt: skip


def _run(target: str, **kw) -> tuple[list[conformance.Result], str]:
    buf = io.StringIO()
    results = conformance.run(target, write=buf.write, **kw)
    return results, buf.getvalue()


@pytest.mark.parametrize("target", VALIDATED)
def test_suite_compiles_and_the_real_tool_accepts_it(target):
    results, table = _run(target)
    if all(r.steps.get("validate") == "-" for r in results):
        pytest.skip(f"{target}: no tool validates its binaries here")
    n = len(CASES)
    assert table.strip().splitlines()[-1] == f"conformance {target}: {n}/{n} passed", table
    assert all(r.steps["validate"].startswith("ok (") for r in results), table


@pytest.mark.parametrize("target", ["cpu", "opencl"])
def test_suite_runs_and_matches_numpy(target):
    if not get_target(target).can_run():
        pytest.skip(f"{target} cannot run here: {get_target(target).capabilities()}")
    results, table = _run(target)
    assert all(r.steps.get("run") == "ok" for r in results), table
    n = len(CASES)
    assert table.strip().splitlines()[-1] == f"conformance {target}: {n}/{n} passed"


def test_the_cli_prints_the_table_and_exits_0():
    cmd = ["conformance", "--target", "cpu", "--case", "reduction"]
    proc = subprocess.run([sys.executable, "-m", "xpuc.compiler.cli", *cmd],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("xpuc conformance: cpu (") and "compile + run" in lines[0]
    assert lines[-1] == "conformance cpu: 2/2 passed"


def test_a_wrong_answer_fails_its_case_and_the_command(monkeypatch):
    case = next(c for c in CASES if c.kernel == "axpb_i32")
    wrong = replace(case, expect=lambda a: {2: a[0] * 3 + a[1]})  # off by one
    monkeypatch.setattr(conformance, "CASES", [wrong, *CASES[:2]])
    results, table = _run("cpu")
    assert not results[0].passed and results[1].passed
    assert "argument 2: 1000 of 1000 elements differ; first at [0]" in table
    assert table.strip().splitlines()[-1] == "conformance cpu: 2/3 passed"


def test_a_compile_failure_fails_its_case(monkeypatch, tmp_path):
    bad = tmp_path / "bad.cu"
    bad.write_text("__global__ void k(int *x) { x[0] = undeclared; }\n")
    case = replace(CASES[0], file=str(bad))
    monkeypatch.setattr(conformance, "CASES", [case])
    results, table = _run("cpu")
    assert results[0].steps["compile"] == "FAIL"
    assert "bad.cu:1:" in table and "undeclared" in table
    assert table.strip().endswith("conformance cpu: 0/1 passed")


def test_a_rejected_binary_fails_validation(monkeypatch):
    t = get_target("cpu:aarch64")
    monkeypatch.setattr(
        type(t),
        "validate",
        lambda self, art: (_ for _ in ()).throw(
            conformance.XpucError("readelf: the object is for 'X86-64', not AArch64")
        ),
    )
    results, table = _run("cpu:aarch64", select="elementwise f32")
    assert results[0].steps["validate"] == "FAIL" and "not AArch64" in table


def test_compiling_alone_passes_nothing(monkeypatch):
    from xpuc.compiler.diagnostics import ToolNotFoundError

    t = get_target("cpu:aarch64")

    def no_tool(self, art):
        raise ToolNotFoundError("readelf was not found")

    monkeypatch.setattr(type(t), "validate", no_tool)
    results, table = _run("cpu:aarch64", select="elementwise f")
    assert [r.steps["validate"] for r in results] == ["-"] * 3
    assert "3 case(s) compiled but not checked" in table
    assert table.strip().splitlines()[-1] == "conformance cpu:aarch64: 0/3 passed"


def test_every_case_has_a_reference_that_can_fail():
    """Each expectation must depend on the inputs: a zeroed output would not pass."""
    rng = np.random.default_rng(0)
    for case in CASES:
        args = case.make(rng)
        for i, want in case.expect(args).items():
            zero = np.zeros_like(np.asarray(args[i]))
            assert not np.array_equal(zero.reshape(-1)[: want.size], want.reshape(-1)), case.name
