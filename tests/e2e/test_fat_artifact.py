"""Fat artifacts: one compile for several targets, one file, the right binary loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xpuc
from xpuc.compiler.fat import FatArtifact

ROOT = Path(__file__).resolve().parents[2]
SAXPY = """
__global__ void saxpy(float a, const float *x, float *y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
"""
TARGETS = "nvptx:sm_90,cpu:aarch64,cpu"


def _check_runs(mod) -> None:
    x = np.arange(300, dtype=np.float32)
    y = np.ones(300, np.float32)
    mod.saxpy[2, 256](np.float32(2.0), x, y, 300)
    np.testing.assert_array_equal(y, 2 * np.arange(300, dtype=np.float32) + 1)


def test_compile_for_several_targets_and_load_the_one_that_runs(tmp_path):
    fat = xpuc.compile(SAXPY, TARGETS)
    assert isinstance(fat, FatArtifact)
    assert fat.targets == ["nvptx:sm_90", "cpu:aarch64", "cpu"]
    assert "saxpy" in str(fat["nvptx:sm_90"].stages["asm"])  # PTX at least
    assert isinstance(fat["cpu:aarch64"].stages["bin"], bytes)
    path = tmp_path / "saxpy.xpuc"
    fat.save(path)
    back = FatArtifact.read(path)
    assert back.targets == fat.targets
    assert back["cpu:aarch64"].stages["bin"] == fat["cpu:aarch64"].stages["bin"]
    assert back["cpu"].kernels[0].arg_types == ["f32", "*f32", "*f32", "i32"]
    mod = xpuc.load(path)  # no GPU here: the host cpu entry is picked
    assert mod.artifact.target == "cpu"
    _check_runs(mod)


def test_tags_and_lists_name_the_targets():
    fat = xpuc.compile(SAXPY, ["nvidia/a100", "cpu"])
    assert fat.targets == ["nvptx:sm_80", "cpu"]
    with pytest.raises(xpuc.XpucError, match="target cpu is named twice"):
        xpuc.compile(SAXPY, "cpu,cpu")


def test_the_cli_writes_a_fat_file(tmp_path):
    out = tmp_path / "k.xpuc"
    cmd = [sys.executable, "-m", "xpuc.compiler.cli", "compile", str(ROOT / "examples/saxpy.cu"),
           "--target", "nvptx:sm_80,cpu:riscv64,cpu"]  # fmt: skip
    proc = subprocess.run([*cmd, "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["format"] == "xpuc-fat" and doc["version"] == 1
    assert [e["target"] for e in doc["entries"]] == ["nvptx:sm_80", "cpu:riscv64", "cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True)  # no -o: an error
    assert proc.returncode == 1 and "give -o FILE" in proc.stderr


def test_nothing_runnable_is_a_clear_error():
    fat = xpuc.compile(SAXPY, "cpu:aarch64,cpu:riscv64")
    with pytest.raises(xpuc.XpucError, match="none of this fat artifact's targets runs here"):
        xpuc.load(fat)


def test_the_runtime_reads_any_valid_json_and_skips_unknown_targets(tmp_path):
    fat = xpuc.compile(SAXPY, "cpu:aarch64,cpu")
    doc = json.loads(fat.to_json())
    doc["entries"].insert(0, {**doc["entries"][0], "target": "nvptx:sm_999"})
    path = tmp_path / "k.xpuc"
    path.write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")))  # compact
    mod = xpuc.load(path)
    assert mod.artifact.target == "cpu"
    _check_runs(mod)
    single = tmp_path / "one.json"
    fat["cpu"].save(single)
    assert xpuc.load(single).artifact.target == "cpu"


def test_a_fat_file_needs_something_to_hold():
    fat = xpuc.compile(SAXPY, "cpu,cpu:aarch64", emit="mlir")
    with pytest.raises(xpuc.XpucError, match="keeps nothing a fat artifact holds"):
        fat.to_json()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"bad.xpuc:1:1: not an xpuc artifact"),
        ("[1, 2]", r"bad.xpuc: not an xpuc artifact"),
        ("{not json", r"bad.xpuc:1:2: not an xpuc artifact"),
        (
            '{"format": "xpuc-fat", "version": 1, "entries": [{"target": "cpu", "stages": {},'
            ' "kernels": [{"name": "k", "arg_types": 5}]}]}',
            "kernel field 'arg_types' must be list",
        ),
        (
            '{"format": "xpuc-fat", "version": 1, "entries": [{"target": "cpu", "stages": {},'
            ' "kernels": [{"name": "k", "arg_types": [], "max_threads_per_block": "big"}]}]}',
            "kernel field 'max_threads_per_block' must be int",
        ),
        ('{"format": "xpuc-fat", "version": 9, "entries": []}', "version 9 is not supported"),
        ('{"format": "xpuc-fat", "version": 1, "entries": [{"target": "cpu"}]}', "malformed"),
    ],
)
def test_bad_fat_files_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.xpuc"
    path.write_text(text)
    with pytest.raises(xpuc.XpucError, match=message):
        xpuc.load(path)
