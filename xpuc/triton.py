"""``xpuc.triton``: the Triton frontend's API under a short name.

    import xpuc.triton
    art = xpuc.triton.compile(add_kernel, signature={"x_ptr": "*fp32", ..., "BLOCK": "constexpr"},
                              constexprs={"BLOCK": 1024}, target="cpu")
    xpuc.triton.TritonKernel.load(art)[(grid,)](x, y, out, n)

(``xpuc.compile(add_kernel, target, signature=..., constexprs=...)`` is the same.)  See
:mod:`xpuc.frontends.triton` and ``docs/triton.md``.
"""

from xpuc.frontends.triton import (
    TritonImportError,
    TritonKernel,
    compile,
    import_kernel,
    load_kernel,
    lower_kernel,
)

__all__ = ["TritonImportError", "TritonKernel", "compile", "import_kernel", "load_kernel",
           "lower_kernel"]  # fmt: skip
