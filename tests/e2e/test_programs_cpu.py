"""Complete CUDA programs in the style people write them (host code, launches, templates,
cooperative groups, functors, warp-synchronous code): each kernel the host launches is
run on each target (cpu, opencl) by ``programs/check_<name>.py`` against numpy, and the
file passes ptxas."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import xpuc

PROGRAMS = sorted(Path(__file__).with_name("programs").glob("*.cu"))


@pytest.mark.parametrize("cu", PROGRAMS, ids=lambda p: p.stem)
def test_program_on_cpu(cu, target):
    check = cu.with_name(f"check_{cu.stem}.py")
    env = {**os.environ, "XPUC_TEST_TARGET": target}
    proc = subprocess.run([sys.executable, str(check), str(cu)], capture_output=True, text=True,
                          env=env)  # fmt: skip
    assert proc.returncode == 0 and "ALL PASS" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.ptxas
@pytest.mark.parametrize("cu", PROGRAMS, ids=lambda p: p.stem)
def test_program_accepted_by_ptxas(cu):
    art = xpuc.compile_file(cu, "nvptx:sm_90", emit="bin")
    assert art.kernels and art.stages["bin"][:4] == b"\x7fELF"
