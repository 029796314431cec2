"""TVM frontend: extern stages (``te.extern``): ``call_packed`` and ``call_extern``.

A ``te.extern`` stage is one opaque call over whole buffers, e.g.
``T.call_packed("tvm.contrib.cblas.matmul", A, B, C, transa, transb)``, which TVM
resolves at run time in a host library.  A kernel on a GPU or a vendor chip has no such
library to call, so xpuc replaces the call by a computation over the same buffers and
lowers that like any other stage (the default mapping onto threads included):

- **Definitions.**  A definition takes the call's arguments, each array argument as a
  ``te.placeholder`` of its buffer's shape and dtype, an element of an array (``P[0]``)
  as that placeholder's element, constants as Python numbers, and returns
  ``{placeholder: te.Tensor}``: what to write into which array argument.
- **Known library functions** (:data:`LIBRARY`): the BLAS ``matmul`` and
  ``batch_matmul`` of ``tvm.contrib.{cblas,cublas,mkl,rocblas}`` (``transa``/``transb``).
- **Anything else** (``call_extern("myfunc", ...)``, another packed function) needs a
  definition from the caller: ``xpuc.tvm.compile(f, target, externs={"myfunc": fn})``;
  without one it is a :class:`~.exprs.TirError` naming the function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xpuc.frontends.tvm import tir
from xpuc.frontends.tvm.exprs import TirError

Definition = Callable[..., dict]


def _matmul(a, b, c, transa=0, transb=0) -> dict:
    from tvm import te

    k = a.shape[0] if transa else a.shape[1]
    r = te.reduce_axis((0, k), name="k")

    def at(x, t, i, j):  # int8 x int8 -> int32, f16 -> f32: in the output's type
        v = x[j, i] if t else x[i, j]
        return v.astype(c.dtype) if x.dtype != c.dtype else v

    out = te.compute(c.shape, lambda i, j: te.sum(at(a, transa, i, r) * at(b, transb, r, j),
                                                  axis=r), name="matmul")  # fmt: skip
    return {c: out}


def _batch_matmul(a, b, c, transa=0, transb=0, *_) -> dict:
    from tvm import te

    k = a.shape[1] if transa else a.shape[2]
    r = te.reduce_axis((0, k), name="k")

    def at(x, t, n, i, j):
        n = n if int(x.shape[0]) > 1 else 0  # a batch of one is broadcast
        v = x[n, j, i] if t else x[n, i, j]
        return v.astype(c.dtype) if x.dtype != c.dtype else v

    out = te.compute(c.shape, lambda n, i, j: te.sum(
        at(a, transa, n, i, r) * at(b, transb, n, r, j), axis=r), name="batch_matmul")  # fmt: skip
    return {c: out}


LIBRARY: dict[str, Definition] = {
    f"tvm.contrib.{lib}.{fn}": d
    for lib in ("cblas", "cublas", "mkl", "rocblas")
    for fn, d in (("matmul", _matmul), ("batch_matmul", _batch_matmul),
                  ("batch_matmul_iterative", _batch_matmul))
}  # fmt: skip


def extern_call(stmt):
    """The ``call_packed``/``call_extern`` a root statement consists of, else None."""
    while type(stmt).__name__ == "SBlockRealize":
        stmt = stmt.block.body
    if type(stmt).__name__ != "Evaluate":
        return None
    return stmt.value if tir.callee(stmt.value) in ("call_packed", "tvm_call_packed",
                                                    "call_extern") else None  # fmt: skip


def expand(call, buffers: list, externs: dict[str, Definition] | None):
    """The PrimFunc computing ``call``, and its buffers' counterparts among ``buffers``."""
    from tvm import te

    name = str(call.args[0].value)
    fn = (externs or {}).get(name) or LIBRARY.get(name)
    if fn is None:
        kind = tir.callee(call)
        raise TirError(f"{kind} '{name}': xpuc has no definition of it; pass one as "
                       f"externs={{'{name}': fn}} (see xpuc.frontends.tvm.externs)")  # fmt: skip
    holders: list[tuple[Any, Any]] = []  # (real buffer, placeholder)

    def holder(buf):
        for b, p in holders:
            if b.same_as(buf):
                return p
        shape = [tir.static(d, f"shape of {buf.name} in an extern call") for d in buf.shape]
        p = te.placeholder(shape, str(buf.dtype), name=str(buf.name))
        holders.append((buf, p))
        return p

    def find(var):
        for b in buffers:
            if b.same_as(var):
                return b
        raise TirError(f"extern call '{name}': argument {var} is no buffer of the PrimFunc")

    def arg(e):
        kind = type(e).__name__
        if kind in ("IntImm", "FloatImm"):
            return e.value
        if tir.callee(e) == "tvm_stack_make_array":  # a DLTensor: its data pointer first
            return arg(e.args[0])
        if tir.callee(e) == "buffer_data":  # A.data (0.27: a call on the buffer)
            return holder(find(e.args[0]))
        if kind == "Var":
            return holder(find(e))
        if kind in ("BufferLoad", "TensorLoad"):
            return holder(tir.source(e))[tuple(e.indices)]
        raise TirError(f"extern call '{name}': argument {e} ({kind}) is not supported yet")

    args = [arg(a) for a in call.args[1:]]
    try:
        outs = fn(*args)
    except TirError:
        raise
    except Exception as e:  # noqa: BLE001 - the definition is the caller's code
        raise TirError(f"the definition of extern '{name}' failed: {e}") from e
    if not isinstance(outs, dict) or not outs:
        raise TirError(f"the definition of extern '{name}' must return "
                       "{placeholder argument: te.Tensor}")  # fmt: skip
    written = []
    for p, t in outs.items():
        real = next((b for b, q in holders if q.same_as(p)), None)
        if real is None:
            raise TirError(f"extern '{name}' writes {p}, not one of its array arguments")
        got = ([int(d) for d in t.shape], str(t.dtype))
        want = ([int(d) for d in p.shape], str(p.dtype))
        if got != want:
            raise TirError(f"extern '{name}' writes {p.op.name} (shape {want[0]}, {want[1]}) "
                           f"with a tensor of shape {got[0]}, {got[1]}")  # fmt: skip
        written.append((real, t))
    inputs = [(b, p) for b, p in holders if not any(b.same_as(w) for w, _ in written)]
    try:
        func = te.create_prim_func([*(p for _, p in inputs), *(t for _, t in written)])
    except Exception as e:  # noqa: BLE001 - TVM's C++ errors
        why = next((x.strip() for x in str(e).splitlines() if "Check failed" in x), "")
        msg = (f"the definition of extern '{name}' cannot be built (it may read an argument "
               f"it writes: not supported yet) {why}")  # fmt: skip
        raise TirError(msg.strip()) from None
    reals = [*(b for b, _ in inputs), *(b for b, _ in written)]
    return func, list(zip(func.params, reals, strict=True))  # 0.27: params are the buffers
