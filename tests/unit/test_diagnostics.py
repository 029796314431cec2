"""Bad input gives file:line:col, a caret, exit code 1, and never a traceback."""

import subprocess
import sys

import pytest

import xpuc

CASES = {
    "missing semicolon": (
        "__global__ void k(float *a) {\n    int i = threadIdx.x\n    a[i] = 1.0f;\n}\n",
        "2:24: error: expected ';' before 'a'",
    ),
    "goto (unsupported construct)": (
        "__global__ void k(float *a) {\nagain:\n    goto again;\n}\n",
        "2:1: error: labels and 'goto' are not supported",
    ),
    "case outside switch": (
        "__global__ void k(int *a) {\n  case 1: a[0] = 1;\n}\n",
        "2:3: error: 'case' label not within a switch statement",
    ),
    "undeclared identifier": (
        "__global__ void k(float *a) {\n  a[0] = b;\n}\n",
        "2:10: error: use of undeclared identifier 'b'",
    ),
    "undeclared function": (
        "__global__ void k(float *a) {\n  a[0] = foo(1);\n}\n",
        "2:10: error: call to undeclared function 'foo'",
    ),
    "bad member of threadIdx": (
        "__global__ void k(float *a) {\n  a[threadIdx.w] = 1;\n}\n",
        "2:15: error: 'threadIdx' has no member 'w'",
    ),
    "unterminated function": (
        "__global__ void k(float *a) {\n  a[0] = 1;\n",
        "error: unexpected end of file",
    ),
    "missing include": (
        '#include "nothere.h"\n__global__ void k(float *a) {}\n',
        "1:1: error: Include file 'nothere.h' not found",
    ),
    "kernel returning a value": (
        "__global__ int k(float *a) { return 1; }\n",
        "1:12: error: __global__ function 'k' must have a void return type",
    ),
    "break outside a loop": (
        "__global__ void k(float *a) {\n  break;\n}\n",
        "2:3: error: 'break' statement not in loop statement",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_reports_location_and_exits_1(tmp_path, name):
    src, expected = CASES[name]
    f = tmp_path / "bad.cu"
    f.write_text(src)
    proc = subprocess.run(
        [sys.executable, "-m", "xpuc.compiler.cli", "compile", str(f), "--target", "cpu"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert expected in proc.stderr, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith(str(f)), first
    if "^" in proc.stderr:  # the caret sits under the reported column
        lines = proc.stderr.splitlines()
        col = int(first.split(":")[2])
        assert lines[2].index("^") - 2 == col - 1


def test_library_raises_typed_error_with_location():
    with pytest.raises(xpuc.CompileError) as info:
        xpuc.compile("__global__ void k(float *a) {\n  a[0] = b;\n}\n", "cpu", filename="x.cu")
    assert info.value.loc is not None
    assert (info.value.loc.file, info.value.loc.line, info.value.loc.col) == ("x.cu", 2, 10)


def test_error_in_included_file_points_into_it(tmp_path):
    (tmp_path / "helper.cuh").write_text("__device__ float h(float x) {\n  return y;\n}\n")
    main = tmp_path / "main.cu"
    main.write_text('#include "helper.cuh"\n__global__ void k(float *a) { a[0] = h(a[0]); }\n')
    with pytest.raises(xpuc.CompileError) as info:
        xpuc.compile_file(main, "cpu")
    assert info.value.loc.file.endswith("helper.cuh")
    assert info.value.loc.line == 2


def test_missing_libdevice_is_a_clear_error(monkeypatch):
    # expf has an NVVM instruction (ex2.approx) to fall back on; erff has none
    monkeypatch.setattr("xpuc.targets.nvptx.find_libdevice", lambda: None)
    with pytest.raises(xpuc.XpucError, match="erff needs libdevice .*, which was not found"):
        xpuc.compile(
            "__global__ void k(float *a) { a[0] = erff(a[1]); }", "nvptx:sm_90", emit="asm"
        )


def test_target_errors_are_clear(tmp_path):
    f = tmp_path / "k.cu"
    f.write_text("__global__ void k(float *a) { a[0] = expf(a[1]); }\n")
    proc = subprocess.run(
        [sys.executable, "-m", "xpuc.compiler.cli", "compile", str(f), "--target", "tpu"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1 and "unknown target 'tpu'" in proc.stderr
