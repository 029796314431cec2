"""Compile a ``@triton.jit`` kernel with xpuc and launch it the way Triton does.

    art = compile(add_kernel, signature, {"BLOCK_SIZE": 1024}, target="cpu", num_warps=4)
    k = TritonKernel.load(art, num_warps=4)
    k[(triton.cdiv(n, 1024),)](x, y, out, n)          # or k[lambda meta: ...](...)

The import (:func:`~xpuc.frontends.triton.import_kernel`) and the lowering (:mod:`.lower`)
give the shared IR; the compile driver takes the module from there, through the same
stages as any frontend's output.
"""

from __future__ import annotations

from typing import Any

from xpuc.compiler.artifact import Artifact
from xpuc.compiler.diagnostics import XpucError
from xpuc.compiler.fat import FatArtifact


def lower_kernel(fn: Any, signature: dict[str, str], constexprs: dict[str, Any] | None = None,
                 num_warps: int = 4):  # fmt: skip
    """The shared-IR module of a ``@triton.jit`` kernel, and the import's information."""
    from xpuc.frontends.triton import import_kernel
    from xpuc.frontends.triton.lower import lower_module

    module, info = import_kernel(fn, signature, constexprs, num_warps)
    return lower_module(module, info.signature, num_warps), info


def compile(  # noqa: A001 - as xpuc.compile
    fn: Any,
    signature: dict[str, str],
    constexprs: dict[str, Any] | None = None,
    target: str | list[str] = "cpu",
    num_warps: int = 4,
    **options: Any,
) -> Artifact | FatArtifact:
    """Compile a ``@triton.jit`` kernel for ``target``; ``options`` go to ``xpuc.compile``
    (``emit``, ``opt_level``, ``pipeline``)."""
    from xpuc.compiler.driver import compile as compile_source

    module, info = lower_kernel(fn, signature, constexprs, num_warps)
    filename = f"{info.signature.file}.{info.signature.name}.mlir"
    return compile_source(module, target, filename=filename, language="mlir", **options)


class TritonKernel:
    """A loaded kernel launched as ``k[grid](*args)``: ``grid`` programs (an int, a tuple
    of up to three, or a function of the constexpr dict), ``num_warps * 32`` threads each.
    Constexpr keyword arguments (``BLOCK_SIZE=1024``) are accepted when they match the
    values it was compiled with."""

    def __init__(self, kernel: Any, num_warps: int = 4, constexprs: dict[str, Any] | None = None):
        self.kernel = kernel
        self.num_warps = num_warps
        self.constexprs = dict(constexprs or {})

    @classmethod
    def load(cls, art: Artifact | FatArtifact, num_warps: int = 4,
             constexprs: dict[str, Any] | None = None) -> TritonKernel:  # fmt: skip
        import xpuc

        mod = xpuc.load(art)
        picked = art.pick() if isinstance(art, FatArtifact) else art
        if len(picked.kernels) != 1:
            raise XpucError(f"expected one kernel, the artifact has {len(picked.kernels)}")
        return cls(getattr(mod, picked.kernels[0].name), num_warps, constexprs)

    def __getitem__(self, grid: Any):
        if callable(grid):
            grid = grid(dict(self.constexprs))
        if isinstance(grid, tuple | list):
            grid = tuple(int(g) for g in grid) if len(grid) > 1 else int(grid[0])
        launch = self.kernel[grid, self.num_warps * 32]

        def run(*args: Any, **kwargs: Any) -> None:
            for k, v in kwargs.items():
                if k not in self.constexprs:
                    raise XpucError(f"unexpected keyword argument '{k}' (not a constexpr)")
                if self.constexprs[k] != v:
                    raise XpucError(f"{k}={v!r}, but the kernel was compiled with "
                                    f"{k}={self.constexprs[k]!r}")  # fmt: skip
            launch(*args)

        return run
