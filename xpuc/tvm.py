"""``xpuc.tvm``: the TVM frontend's API under a short name (issue 7, first slice).

    import xpuc.tvm
    prog = xpuc.tvm.load(xpuc.tvm.compile(te.create_prim_func([A, B]), target="cpu"))
    prog(a, b)

See :mod:`xpuc.frontends.tvm` and ``docs/tvm.md``.
"""

from xpuc.frontends.tvm import TirError, TVMKernel, compile, load, prim_funcs

__all__ = ["TVMKernel", "TirError", "compile", "load", "prim_funcs"]
