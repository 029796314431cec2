"""Targets the end-to-end kernel tests run on.

``target``: the cpu target, then the opencl target (OpenCL C on PoCL).  A test module
that runs its kernels on every target says ``pytestmark = usefixtures("target")`` and
compiles for ``TARGET``, a module constant the fixture sets per test.  ``run_both``
loads a kernel source compiled for the cpu target, on the SIMT-level interpreter, and
compiled for opencl (tests using it run once per runner).  OpenCL tests skip, with the
reason, where pyopencl or an OpenCL device is missing.
"""

from functools import cache
from pathlib import Path

import pytest

import xpuc
import xpuc.interpreter

TARGETS = ["cpu", "opencl"]

# Kernels that cannot run on the opencl target, each with why (STYLE.md rule 7).
# Keys: "file::test" or "file::test[param]" (one parameter of a parametrized test).
OPENCL_XFAIL: dict[str, str] = {}


def _opencl_missing() -> str | None:
    try:
        from xpuc.runtime.opencl import find_device, missing_reason
    except ImportError as e:  # pragma: no cover - pyopencl is imported lazily
        return str(e)
    return None if find_device() is not None else missing_reason()


def require(request: pytest.FixtureRequest, target: str) -> None:
    """Skip when the target cannot run here; mark expected failures of the table."""
    if target != "opencl":
        return
    missing = _opencl_missing()
    if missing:
        pytest.skip(f"opencl: {missing}")
    node = request.node
    here = f"{Path(str(node.fspath)).name}::{getattr(node, 'originalname', node.name)}"
    params = node.callspec.id.split("-") if hasattr(node, "callspec") else []
    for key, reason in OPENCL_XFAIL.items():
        name, _, param = key.partition("[")
        if name == here and (not param or param.rstrip("]") in params):
            request.applymarker(pytest.mark.xfail(reason=f"opencl: {reason}", strict=True))


@pytest.fixture(params=TARGETS)
def target(request, monkeypatch) -> str:
    require(request, request.param)
    if hasattr(request.module, "TARGET"):
        monkeypatch.setattr(request.module, "TARGET", request.param)
    return request.param


@cache
def compiled(src: str, target: str = "cpu") -> xpuc.Artifact:
    return xpuc.compile(src, target)


RUNNERS = {
    "interp": lambda src: xpuc.interpreter.load(compiled(src)),
    "cpu": lambda src: xpuc.load(compiled(src)),
    "opencl": lambda src: xpuc.load(compiled(src, "opencl")),
}


@pytest.fixture(params=list(RUNNERS))
def run_both(request):
    require(request, request.param)
    return RUNNERS[request.param]
