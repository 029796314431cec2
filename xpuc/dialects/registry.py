"""Lazy registry of the dialects the shared IR is made of."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.context import Context
from xdsl.ir import Dialect


def _arith() -> Dialect:
    from xdsl.dialects.arith import Arith

    from xpuc.dialects.arith_ext import ARITH_EXTRA_OPS

    return Dialect("arith", [*Arith.operations, *ARITH_EXTRA_OPS], list(Arith.attributes))


def _gpu() -> Dialect:
    from xdsl.dialects.gpu import GPU

    from xpuc.dialects.gpu_ext import GPU_EXTRA_OPS

    return Dialect("gpu", [*GPU.operations, *GPU_EXTRA_OPS], list(GPU.attributes))


def _shard() -> Dialect:
    from xdsl.dialects.shard import Shard

    from xpuc.dialects.shard_ext import SHARD_EXTRA_OPS

    return Dialect("shard", [*Shard.operations, *SHARD_EXTRA_OPS], list(Shard.attributes))


def _xdsl(module: str, attr: str) -> Callable[[], Dialect]:
    def load() -> Dialect:
        import importlib

        return getattr(importlib.import_module(f"xdsl.dialects.{module}"), attr)

    return load


def _xpu() -> Dialect:
    from xpuc.dialects.xpu import XPU

    return XPU


def get_all_dialects() -> dict[str, Callable[[], Dialect]]:
    """Dialect name -> loader.  Every key equals the loaded dialect's name (tested)."""
    return {
        "builtin": _xdsl("builtin", "Builtin"),
        "arith": _arith,
        "math": _xdsl("math", "Math"),
        "scf": _xdsl("scf", "Scf"),
        "cf": _xdsl("cf", "Cf"),
        "memref": _xdsl("memref", "MemRef"),
        "func": _xdsl("func", "Func"),
        "gpu": _gpu,
        "llvm": _xdsl("llvm", "LLVM"),
        "shard": _shard,
        "linalg": _xdsl("linalg", "Linalg"),
        "tensor": _xdsl("tensor", "Tensor"),
        "xpu": _xpu,
    }


def make_context() -> Context:
    """A context that knows every dialect of the shared IR (loaded on first use)."""
    ctx = Context()
    for name, loader in get_all_dialects().items():
        ctx.register_dialect(name, loader)
    return ctx
