"""Triton frontend, step 1 (import): a ``@triton.jit`` kernel -> xDSL module of ``tt`` ops.

Triton's own front end (``triton`` >=3.4,<3.10, an optional dependency) produces TTIR on
any machine, without a GPU; :mod:`.ttir` parses it into the ``tt`` import dialect
(:mod:`xpuc.dialects.tt`) keeping each op's Python source location.  Step 2, for
elementwise kernels only (:mod:`.lower`), lowers it to the SIMT-level shared IR, and
:func:`compile` / :class:`TritonKernel` compile and launch it like any xpuc kernel.

    fn = load_kernel("01-vector-add.py", "add_kernel")
    module, info = import_kernel(fn, {"x_ptr": "*fp32", ..., "BLOCK_SIZE": "constexpr"},
                                 {"BLOCK_SIZE": 1024})
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from xdsl.dialects.builtin import ModuleOp

from xpuc.frontends.triton.launch import TritonKernel, compile, lower_kernel
from xpuc.frontends.triton.source import (
    SUPPORTED_TEXT,
    KernelSignature,
    TritonImportError,
    check_version,
    load_kernel,
    require_triton,
    ttir_text,
)
from xpuc.frontends.triton.ttir import op_location, parse_ttir, source_location

__all__ = [
    "SUPPORTED_TEXT",
    "ImportedKernel",
    "TritonKernel",
    "KernelSignature",
    "TritonImportError",
    "check_version",
    "compile",
    "import_kernel",
    "load_kernel",
    "lower_kernel",
    "op_location",
    "parse_ttir",
    "require_triton",
    "source_location",
]


@dataclass(frozen=True)
class ImportedKernel:
    """What :func:`import_kernel` knows besides the module."""

    signature: KernelSignature
    ttir: str
    num_warps: int

    def location(self, op: Any):
        """``op``'s file:line:col in the kernel's Python source (or None)."""
        return op_location(op, self.signature.file)


def import_kernel(
    fn: Any, signature: dict[str, str], constexprs: dict[str, Any] | None = None, num_warps: int = 4
) -> tuple[ModuleOp, ImportedKernel]:
    """TTIR of a ``@triton.jit`` function, as a verified xDSL module, and its signature.

    ``signature`` maps every parameter to a triton type code (``*fp32``, ``i32``,
    ``constexpr``); ``constexprs`` gives the constexpr parameters' values.
    """
    constexprs = dict(constexprs or {})
    if not isinstance(signature, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in signature.items()
    ):
        raise TritonImportError("signature must map parameter names to type codes (str -> str)")
    if not isinstance(num_warps, int) or num_warps < 1 or num_warps & (num_warps - 1):
        raise TritonImportError(f"num_warps must be a power of two, got {num_warps!r}")
    text = ttir_text(fn, signature, constexprs, num_warps)
    file = inspect.getsourcefile(fn.fn) or "<unknown>"
    _, line = inspect.getsourcelines(fn.fn)
    sig = KernelSignature(
        name=fn.__name__,
        params=tuple((n, signature[n]) for n in fn.arg_names),
        constexprs=tuple((n, constexprs[n]) for n in fn.arg_names if n in constexprs),
        file=file,
        line=line,
    )
    return parse_ttir(text, file), ImportedKernel(sig, text, num_warps)
