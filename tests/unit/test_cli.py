"""The command line is a thin shell over the library: compile, run, targets, xpuc-opt."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def xpuc(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "xpuc.compiler.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)  # fmt: skip


def test_run_writes_outputs_equal_to_numpy(tmp_path):
    x = np.linspace(0, 1, 1000, dtype=np.float32)
    np.save(tmp_path / "x_in.npy", x)
    proc = xpuc("run", ROOT / "examples/saxpy.cu", "--kernel", "saxpy", "--target", "cpu",
                "--grid", "4", "--block", "256", "1000", "2.0", tmp_path / "x_in.npy",
                "ones:1000", "--out", tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    y = np.load(tmp_path / "y.npy")
    np.testing.assert_allclose(y, 2 * x + 1, rtol=1e-6)


def test_run_generated_inputs_are_seeded(tmp_path):
    args = ["run", ROOT / "examples/vector_add.cu", "-k", "vector_add", "--grid", "2,1,1",
            "--block", "64", "rand:100", "rand:100", "zeros:100", "100", "--seed", "7"]  # fmt: skip
    assert xpuc(*args, "--out", tmp_path / "a").returncode == 0
    assert xpuc(*args, "--out", tmp_path / "b").returncode == 0
    a, b, c = (np.load(tmp_path / "a" / f"{n}.npy") for n in "abc")
    np.testing.assert_array_equal(c, a + b)
    np.testing.assert_array_equal(c, np.load(tmp_path / "b" / "c.npy"))


def test_run_bad_arguments(tmp_path):
    proc = xpuc("run", ROOT / "examples/saxpy.cu", "-k", "saxpy", "--grid", "1", "--block", "1",
                "1000", "x", "rand:3", "rand:3")  # fmt: skip
    assert proc.returncode == 1 and "needs a number" in proc.stderr
    proc = xpuc("run", ROOT / "examples/saxpy.cu", "-k", "nope", "--grid", "1", "--block", "1")
    assert proc.returncode == 1 and "no kernel named 'nope'" in proc.stderr


@pytest.mark.parametrize("emit,marker", [("mlir", "gpu.func"), ("llvm", "define void @saxpy"),
                                         ("asm", "saxpy")])  # fmt: skip
def test_compile_emits(emit, marker):
    proc = xpuc("compile", ROOT / "examples/saxpy.cu", "--emit", emit)
    assert proc.returncode == 0 and marker in proc.stdout


def test_compile_object_and_options(tmp_path):
    out = tmp_path / "k.o"
    proc = xpuc("compile", ROOT / "examples/saxpy.cu", "-o", out, "-O0", "--timing")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:4] == b"\x7fELF"
    assert "pass canonicalize" not in proc.stderr  # -O0 runs no shared-IR optimization
    assert "convert-simt-to-loops" in proc.stderr and "total" in proc.stderr


def test_print_ir_after():
    proc = xpuc("compile", ROOT / "examples/saxpy.cu", "--emit", "llvm",
                "--print-ir-after", "convert-simt-to-loops")  # fmt: skip
    assert proc.returncode == 0
    assert "IR Dump After convert-simt-to-loops" in proc.stderr
    assert "scf.for" in proc.stderr and "IR Dump After cse" not in proc.stderr


def test_targets_lists_families_and_what_runs_here():
    proc = xpuc("targets")
    assert proc.returncode == 0
    assert "nvptx:sm_90" in proc.stdout and "cpu" in proc.stdout and "run" in proc.stdout


def test_targets_lists_cross_cpus_as_compile_only():
    out = xpuc("targets").stdout
    lines = {ln.split()[0]: ln for ln in out.splitlines()[1:] if ln.strip()}
    assert "compile + run" in lines["cpu"]
    for cross in ("cpu:aarch64", "cpu:riscv64v", "cpu:x86_64-v4"):
        assert " compile " in lines[cross] and "run" not in lines[cross]
    # the chips table: a tag, its target, what it can do here
    assert lines["nvidia/h100"].split()[1] == "nvptx:sm_90"
    assert lines["huawei/kunpeng-920"].split()[1] == "cpu:kunpeng920"
    assert lines["amd/mi300x"].split()[1] == "amdgpu:gfx942"


def test_unknown_cpu_variant_lists_the_known_ones():
    proc = xpuc("compile", ROOT / "examples/saxpy.cu", "--target", "cpu:nosuch", "--emit", "asm")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "unknown cpu variant 'nosuch' (known: (host), x86_64," in proc.stderr
    assert "aarch64" in proc.stderr and "loongarch64" in proc.stderr


def test_library_and_cli_agree(tmp_path):
    import xpuc as lib

    art = lib.compile_file(ROOT / "examples/vector_add.cu", "nvptx:sm_90", emit="asm")
    proc = xpuc("compile", ROOT / "examples/vector_add.cu", "--target", "nvptx:sm_90",
                "-o", tmp_path / "v.ptx")  # fmt: skip
    assert proc.returncode == 0
    assert (tmp_path / "v.ptx").read_text() == art.asm


def test_artifact_save_and_read(tmp_path):
    import xpuc as lib

    art = lib.compile_file(ROOT / "examples/vector_add.cu", "cpu")
    art.save(tmp_path / "a.json")
    again = lib.Artifact.read(tmp_path / "a.json")
    assert again.kernels == art.kernels and again.llvm_ir == art.llvm_ir
    a = np.ones(10, np.float32)
    c = np.zeros(10, np.float32)
    lib.load(again).vector_add[1, 16](a, a, c, 10)
    assert (c == 2).all()


def test_xpuc_opt_round_trip_and_errors(tmp_path):
    f = tmp_path / "x.mlir"
    f.write_text("func.func @f(%a: i32) -> i32 {\n  %b = arith.addi %a, %a : i32\n"
                 "  func.return %b : i32\n}\n")  # fmt: skip
    run = [sys.executable, "-m", "xpuc.compiler.opt"]
    proc = subprocess.run([*run, str(f), "-p", "canonicalize"], capture_output=True, text=True)
    assert proc.returncode == 0 and "arith.addi" in proc.stdout
    proc = subprocess.run([*run, str(f), "-p", "no-such-pass"], capture_output=True, text=True)
    assert proc.returncode == 1 and "unknown pass 'no-such-pass'" in proc.stderr
    f.write_text("func.func @f() {\n  %x = arith.bogus 1 : i32\n}\n")
    proc = subprocess.run([*run, str(f)], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"{f}:2:")


def test_run_template_instance_with_dynamic_shared_memory(tmp_path):
    src = tmp_path / "t.cu"
    src.write_text(
        "template <int SCALE, typename T>\n"
        "__global__ void scaled(T *x) {\n"
        "  extern __shared__ T buf[];\n"
        "  buf[threadIdx.x] = x[threadIdx.x];\n"
        "  __syncthreads();\n"
        "  x[threadIdx.x] = SCALE * buf[blockDim.x - 1 - threadIdx.x];\n"
        "}\n"
    )
    proc = xpuc("run", src, "--kernel", "scaled<3,double>", "--grid", "1", "--block", "8",
                "--shared", "64", "arange:8", "--out", tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), 3 * np.arange(8.0)[::-1])
    proc = xpuc("compile", src, "--kernel", "scaled<2, float>", "--emit", "mlir")
    assert proc.returncode == 0 and '"gpu.func"' in proc.stdout and "scaled__2_float" in proc.stdout
    proc = xpuc("compile", src, "--instantiate", "scaled<x>", "--emit", "mlir")
    assert proc.returncode == 1 and "cannot read template argument 'x'" in proc.stderr
