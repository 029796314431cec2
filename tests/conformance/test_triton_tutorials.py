"""Triton tutorials conformance, one test per kernel and target (see triton_tutorials.py).

cpu and opencl: the kernel, launched as its tutorial launches it, matches the numpy
reference (opencl skips, with the reason, without an OpenCL device).  nvptx (sm_90): the
kernel is a PTX entry and ptxas accepts it.  Skipped, with the reason, without triton or
without the tutorials beside the repository.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from triton_tutorials import KERNELS, missing_reason, run_kernel  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:TRITON_DEFAULT_FP_FUSION")

TARGETS = [
    pytest.param("cpu", id="cpu"),
    pytest.param("opencl", id="opencl"),
    pytest.param("nvptx:sm_90", id="nvptx-sm90", marks=pytest.mark.ptxas),
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", list(KERNELS))
def test_tutorial_kernel(name: str, target: str) -> None:
    reason = missing_reason(target)
    if reason:
        pytest.skip(reason)
    ok, message = run_kernel(name, target)
    assert ok, f"{name} on {target}: {message}"
