"""TVM frontend: TensorIR ``PrimFunc``\\ s onto every xpuc target.

    import tvm
    from tvm import te
    A = te.placeholder((n,), name="A"); B = te.compute((n,), lambda i: A[i] * 2, name="B")
    prog = xpuc.tvm.compile(te.create_prim_func([A, B]), target="cpu")
    prog(a, b)                               # numpy arrays, one per parameter buffer

The PrimFunc's TIR is walked through TVM's Python API (``tvm.tirx``, apache-tvm
``>=0.27,<0.28``; see :mod:`.lower` for what is taken and how it maps onto threads).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xpuc.compiler.diagnostics import XpucError
from xpuc.frontends.tvm.exprs import TirError
from xpuc.frontends.tvm.lower import BufferSpec, Stage, lower_prim_func
from xpuc.passes.map_parallel_loops import launch

SUPPORTED = (0, 27)


def require_tvm():
    try:
        import tvm
    except ImportError:
        raise XpucError("the TVM frontend needs apache-tvm: pip install 'xpuc[tvm]'") from None
    version = tuple(int(x) for x in tvm.__version__.split(".")[:2])
    if version != SUPPORTED:
        raise XpucError(f"apache-tvm {tvm.__version__} is installed; xpuc's TVM frontend takes "
                        "0.27.x (TIR's Python API changes between releases)")  # fmt: skip
    return tvm


def prim_funcs(obj: Any) -> list[tuple[str, Any]]:
    """(name, PrimFunc) pairs of a PrimFunc or an IRModule."""
    tvm = require_tvm()
    if isinstance(obj, tvm.tirx.PrimFunc):
        name = obj.attrs["global_symbol"] if obj.attrs and "global_symbol" in obj.attrs else "main"
        return [(str(name), obj)]
    if isinstance(obj, tvm.IRModule):
        return [(gv.name_hint, f) for gv, f in obj.functions.items()
                if isinstance(f, tvm.tirx.PrimFunc)]  # fmt: skip
    raise XpucError(f"expected a tvm PrimFunc or IRModule, got {type(obj).__name__}")


class TVMKernel:
    """A compiled PrimFunc: call it with one numpy array per parameter buffer; the
    stages run in order, intermediates allocated here."""

    def __init__(self, module: Any, stages: list[Stage], specs: list[BufferSpec],
                 sym: list[str] | None = None, order: list[str] | None = None,
                 names: list[str] | None = None):  # fmt: skip
        self.module = module
        self.stages = stages
        self.specs = specs
        self.sym = list(sym or [])
        self.order = list(order or ["buffer"] * sum(s.param for s in specs))
        self.names = list(names or [])  # the scalar parameters, in order

    def __call__(self, *args: Any) -> None:
        if len(args) != len(self.order):
            params = [s for s in self.specs if s.param]
            raise XpucError(f"expected {len(self.order)} arguments ({len(params)} arrays: "
                            f"{', '.join(s.name for s in params)}), got {len(args)}")  # fmt: skip
        arrays = [a for a, k in zip(args, self.order, strict=True) if k == "buffer"]
        values = [a for a, k in zip(args, self.order, strict=True) if k != "buffer"]
        params = [s for s in self.specs if s.param]
        sizes: dict[str, int] = {}
        for a, s in zip(arrays, params, strict=True):
            if not isinstance(a, np.ndarray):
                raise XpucError(f"buffer {s.name}: expected a numpy array, got {type(a).__name__}")
            shape = a.shape if any(isinstance(d, str) for d in s.shape) else (a.size,)
            want = s.shape if len(shape) > 1 or len(s.shape) == 1 else (int(np.prod(s.shape)),)
            if len(shape) != len(want):
                raise XpucError(f"buffer {s.name}: expected shape {s.shape}, got {a.shape}")
            for d, n in zip(want, shape, strict=True):
                if isinstance(d, str) and sizes.setdefault(d, n) != n:
                    raise XpucError(f"buffer {s.name}: {d} is {n} here, {sizes[d]} elsewhere")
                if not isinstance(d, str) and d != n:
                    raise XpucError(f"buffer {s.name}: expected shape {s.shape}, got {a.shape}")
        it = iter(arrays)
        buffers = [next(it) if s.param else
                   np.zeros(tuple(sizes.get(d, d) for d in s.shape), np.dtype(s.dtype))
                   for s in self.specs]  # fmt: skip
        scalars = [sizes[n] for n in self.sym] + values
        for st in self.stages:
            grid, block = st.grid, st.block
            if st.threads is not None:  # the default mapping: one thread per iteration
                known = {**sizes, **dict(zip(self.names, values, strict=False))}
                extents = [int(known.get(d, d)) for d in st.threads]  # pyright: ignore
                blocks, threads = launch(extents, st.tile, st.block_size)
                grid, block = (blocks, 1, 1), (threads, 1, 1)
            getattr(self.module, st.kernel)[grid, block](*buffers, *scalars)


def compile(  # noqa: A001
    obj: Any,
    target: str = "cpu",
    name: str | None = None,
    *,
    tile: tuple[int, ...] = (),
    block_size: int = 256,
    externs: dict[str, Any] | None = None,
    **options: Any,
):
    """Compile a PrimFunc (or an IRModule's one PrimFunc, or the one called ``name``) for
    ``target``; returns the :class:`~xpuc.compiler.artifact.Artifact` and, as
    ``.tvm``, the stages and buffers :func:`load` needs.

    ``tile`` and ``block_size`` are the options of ``map-parallel-loops``, which maps
    each unscheduled stage's parallel loops onto threads: flattened onto blocks of
    ``block_size`` threads, or, given ``tile``, its innermost loops cut into tiles of that
    shape, one block per tile.  ``externs`` defines functions that ``te.extern`` stages
    call (``call_extern``/``call_packed``; see :mod:`.externs`)."""
    from xpuc.compiler.driver import compile as compile_module

    funcs = prim_funcs(obj)
    if name is not None:
        funcs = [f for f in funcs if f[0] == name]
    if len(funcs) != 1:
        raise XpucError(f"expected one PrimFunc{f' named {name}' if name else ''}, "
                        f"found {len(funcs)}")  # fmt: skip
    fname, func = funcs[0]
    module, stages, specs, sym, order, names = lower_prim_func(
        func, fname, tile=tuple(tile), block_size=block_size, externs=externs
    )
    art = compile_module(module, target, filename=f"{fname}.tir", language="mlir", **options)
    art.tvm = (stages, specs, sym, order, names)  # pyright: ignore
    return art


def load(art) -> TVMKernel:
    import xpuc

    stages, specs, sym, order, names = art.tvm
    return TVMKernel(xpuc.load(art), stages, specs, sym, order, names)


__all__ = ["TVMKernel", "TirError", "compile", "load", "prim_funcs", "require_tvm"]
