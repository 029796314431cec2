"""What the TVM end-to-end tests share: tvm itself (or a skip), the targets they run on,
and running a PrimFunc there (skipping opencl, with the reason, without a device)."""

from __future__ import annotations

import pytest

tvm = pytest.importorskip("tvm", reason="the TVM frontend needs apache-tvm installed")

from xpuc.frontends import tvm as xt  # noqa: E402

TARGETS = pytest.mark.parametrize("target", ["cpu", "opencl"])


def skip_without(target: str) -> None:
    if target == "opencl":
        import xpuc.runtime.opencl as rt

        if rt.missing_reason():
            pytest.skip(f"opencl: {rt.missing_reason()}")


def run(func, target: str, *arrays, **options) -> None:
    """Compile ``func`` for ``target`` (``options``: ``xt.compile``'s) and run it on
    ``arrays``."""
    skip_without(target)
    xt.load(xt.compile(func, target, **options))(*arrays)
