"""What the Triton end-to-end tests share: triton itself (or a skip), the tutorials'
folder, and a skip for targets that cannot run here."""

from __future__ import annotations

from pathlib import Path

import pytest

triton = pytest.importorskip("triton", reason="the Triton frontend needs triton installed")
tl = pytest.importorskip("triton.language")

TUTORIALS = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "triton-tutorials"
)
needs_tutorials = pytest.mark.skipif(
    not TUTORIALS.is_dir(), reason=f"conformance data absent: {TUTORIALS.resolve()}"
)
IGNORE_FP_FUSION = pytest.mark.filterwarnings("ignore:TRITON_DEFAULT_FP_FUSION")


def skip_unless_runs(target: str) -> None:
    if target == "opencl":
        import xpuc.runtime.opencl as rt

        if rt.missing_reason():
            pytest.skip(f"opencl: {rt.missing_reason()}")
