"""xpuc: a cross-architecture compiler for accelerator kernels.

The library API is the whole product; the command-line tools are thin wrappers.

    art = xpuc.compile(source_text_or_path, target="cpu")
    mod = xpuc.load(art)
    mod.vector_add[grid, block](a, b, c, n)
"""

from xpuc.compiler.diagnostics import CompileError, XpucError
from xpuc.compiler.driver import Artifact, compile, compile_file
from xpuc.runtime import load

__all__ = ["Artifact", "CompileError", "XpucError", "compile", "compile_file", "load"]
__version__ = "0.1.0"
