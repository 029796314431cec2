"""Kernels in a multi-card program built with :class:`xpuc.comm.builder.Program`.

A kernel from any frontend (CUDA C, Triton, a shared-IR module such as TVM's or
``xpuc compile --emit=mlir``'s) is imported into the program as its ``gpu.module``
and launched with ``xpu.launch`` on each device's shards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xdsl.dialects import arith, gpu, shard, tensor
from xdsl.dialects.builtin import (
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    StringAttr,
    SymbolRefAttr,
    TensorType,
)
from xdsl.ir import Attribute, SSAValue

from xpuc.compiler.diagnostics import XpucError
from xpuc.dialects.xpu_launch import LaunchOp, LocalDimOp


@dataclass
class Kernel:
    """An imported kernel: how to refer to it and what it takes."""

    ref: SymbolRefAttr
    params: list[Attribute]
    names: list[str]
    writes: list[int]
    """The pointer parameters it may write through (``passes/memory_effects.py``)."""
    block: tuple[int, ...] | None = None
    """Threads per block fixed by the frontend (Triton: ``num_warps * 32``)."""

    @property
    def name(self) -> str:
        return self.ref.nested_references.data[-1].data


def _source_name(f: gpu.FuncOp) -> str:
    src = f.attributes.get("xpu.source_name")
    return src.data if isinstance(src, StringAttr) else f.sym_name.data


class KernelImports:
    """The kernel half of ``Program``: imports and launches."""

    block: Any
    grid: tuple[int, ...]

    def __init__(self) -> None:
        self.gpu_modules: list[gpu.ModuleOp] = []

    # -- imports -----------------------------------------------------------------------

    def kernel(self, module: ModuleOp, name: str | None = None) -> Kernel:
        """The kernel ``name`` (or the only one) of a shared-IR module."""
        from xpuc.passes.memory_effects import written_args

        found = [
            (m, f)
            for m in module.ops
            if isinstance(m, gpu.ModuleOp)
            for f in m.body.block.ops
            if isinstance(f, gpu.FuncOp) and f.kernel is not None
        ]
        if name is not None:
            found = [(m, f) for m, f in found if name in (f.sym_name.data, _source_name(f))]
        if len(found) != 1:
            have = ", ".join(_source_name(f) for _, f in found) or "none"
            what = f"a kernel named '{name}'" if name else "exactly one kernel"
            raise XpucError(f"the module must hold {what} (it has: {have})")
        m, f = found[0]
        writes = written_args(module, f)
        taken = {g.sym_name.data for g in self.gpu_modules}
        base, n = m.sym_name.data, 0
        sym = base
        while sym in taken:
            n += 1
            sym = f"{base}_{n}"
        copy = m.clone()
        copy.sym_name = StringAttr(sym)
        self.gpu_modules.append(copy)
        names = f.attributes.get("xpu.arg_names")
        params = list(f.function_type.inputs.data)
        pnames = [a.data for a in names.data] if names is not None else []  # type: ignore[attr-defined]
        if len(pnames) != len(params):
            pnames = [f"arg{i}" for i in range(len(params))]
        ref = SymbolRefAttr(sym, [f.sym_name.data])
        return Kernel(ref, params, pnames, writes)

    def cuda(self, source: str, name: str | None = None, *, filename: str = "<kernel>.cu",
             include_dirs: Sequence[str] = (), defines: dict[str, str] | None = None,
             ) -> Kernel:  # fmt: skip
        """A ``__global__`` kernel of CUDA C source text."""
        from xpuc.frontends.cuda import parse_cuda

        module = parse_cuda(source, filename, list(include_dirs), dict(defines or {}), [])
        return self.kernel(module, name)

    def triton(self, fn: Any, signature: dict[str, str], constexprs: dict | None = None,
               num_warps: int = 4) -> Kernel:  # fmt: skip
        """A ``@triton.jit`` kernel; it runs ``num_warps * 32`` threads a program."""
        from xpuc.frontends.triton.launch import lower_kernel

        module, _ = lower_kernel(fn, signature, constexprs, num_warps)
        k = self.kernel(module)
        k.block = (num_warps * 32,)
        return k

    # -- sizes -------------------------------------------------------------------------

    def _const(self, value: int | float, t: Attribute) -> SSAValue:
        attr = FloatAttr(value, t) if not isinstance(t, IntegerType | IndexType) else None
        op = arith.ConstantOp(attr or IntegerAttr(int(value), t))  # type: ignore[arg-type]
        self.block.add_op(op)
        return op.result

    def index(self, v: int | SSAValue) -> SSAValue:
        return v if isinstance(v, SSAValue) else self._const(v, IndexType())

    def _as_launched(self, x: SSAValue, split) -> SSAValue:
        """``x`` laid out as ``launch`` lays out an argument given ``split``."""
        owner = x.owner
        if split is None and isinstance(owner, shard.ShardOp) and owner.annotate_for_users:
            return x  # already asked for a layout
        rank = len(x.type.get_shape())  # type: ignore[attr-defined]
        return self.shard(x, split if split is not None else [None] * rank, for_users=True)  # type: ignore[attr-defined]

    def local_dim(self, x: SSAValue, dim: int, split=None) -> SSAValue:
        """Dimension ``dim`` of ``x``'s shard on each device as a kernel launched with
        the same ``split`` sees it (without one: whole, unless ``x`` is a
        ``shard(..., for_users=True)``)."""
        op = LocalDimOp(self._as_launched(x, split), dim)
        self.block.add_op(op)
        return op.result

    def local_size(self, x: SSAValue, split=None) -> SSAValue:
        """The number of elements of ``x``'s shard, as :meth:`local_dim` sees it."""
        x = self._as_launched(x, split)
        dims = [self.local_dim(x, d) for d in range(len(x.type.get_shape()))]  # type: ignore[attr-defined]
        n = dims[0]
        for d in dims[1:]:
            op = arith.MuliOp(n, d)
            self.block.add_op(op)
            n = op.result
        return n

    def cdiv(self, a: int | SSAValue, b: int | SSAValue) -> SSAValue:
        op = arith.CeilDivUIOp(self.index(a), self.index(b))
        self.block.add_op(op)
        return op.result

    def empty_like(self, x: SSAValue) -> SSAValue:
        op = tensor.EmptyOp([], x.type)
        self.block.add_op(op)
        return op.tensor

    # -- launches ----------------------------------------------------------------------

    def _dims(self, dims, what: str) -> list[SSAValue]:
        dims = list(dims) if isinstance(dims, tuple | list) else [dims]
        if not 1 <= len(dims) <= 3:
            raise XpucError(f"a launch's {what} has 1 to 3 dimensions, not {len(dims)}")
        return [self.index(d) for d in dims + [1] * (3 - len(dims))]

    def _arg(self, k: Kernel, i: int, a, split) -> SSAValue:
        p = k.params[i]
        where = f"argument {i} ('{k.names[i]}') of {k.name}"
        if isinstance(p, MemRefType):
            if not isinstance(a, SSAValue) or not isinstance(a.type, TensorType):
                raise XpucError(f"{where} is a pointer: give a tensor")
            if a.type.element_type != p.element_type:
                raise XpucError(
                    f"{where} takes {p.element_type} elements, not {a.type.element_type}"
                )
            if split is not None:
                a = self.shard(a, split, for_users=True)  # type: ignore[attr-defined]
            return a
        if isinstance(a, SSAValue):
            if isinstance(a.type, IndexType) and isinstance(p, IntegerType):
                op = arith.IndexCastOp(a, p)
                self.block.add_op(op)
                return op.result
            if a.type != p:
                raise XpucError(f"{where} takes {p}, not {a.type}")
            return a
        if isinstance(a, int | float):
            return self._const(a, p)
        raise XpucError(f"{where} takes {p}, not {type(a).__name__}")

    def launch(self, k: Kernel, grid, args: Sequence, block=None, split=None, splits=None,
               ) -> tuple:  # fmt: skip
        """Launch ``k`` on every device's shards; returns the tensors it writes.

        ``grid`` and ``block``: an int or index value, or a tuple of up to three.
        ``args``: one per kernel parameter: tensors for pointers, numbers or values for
        scalars (an index value is cast to an integer parameter).  ``split`` lays out
        every tensor argument, ``splits`` each (one entry per argument, ``None`` to
        leave it); otherwise a tensor goes to the kernel as a ``shard(...,
        for_users=True)`` that produced it asks, or whole (replicated)."""
        if len(args) != len(k.params):
            raise XpucError(f"{k.name} takes {len(k.params)} arguments ({', '.join(k.names)}), "
                            f"{len(args)} given")  # fmt: skip
        per = split if isinstance(split, list) and any(isinstance(s, list) for s in split) else None
        vals = [self._arg(k, i, a, per[i] if per else split) for i, a in enumerate(args)]
        block = block if block is not None else k.block
        if block is None:
            raise XpucError(f"launching {k.name} needs block= (threads per block)")
        op = LaunchOp(k.ref, self._dims(grid, "grid"), self._dims(block, "block"), vals, k.writes)
        self.block.add_op(op)
        return tuple(op.res)
