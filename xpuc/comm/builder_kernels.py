"""Kernels in a multi-card program built with :class:`xpuc.comm.builder.Program`.

A kernel from any frontend (CUDA C, Triton, a shared-IR module such as TVM's or
``xpuc compile --emit=mlir``'s) is imported into the program as its ``gpu.module``
and launched with ``xpu.launch`` on each device's shards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xdsl.dialects import arith, gpu, tensor
from xdsl.dialects.builtin import (
    ArrayAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    f16,
    f32,
    f64,
    i32,
    i64,
)
from xdsl.ir import Attribute, SSAValue

from xpuc.comm.sharding import is_request, sharding_of
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


_ELEMENT = {"float32": f32, "float64": f64, "float16": f16, "int32": i32, "int64": i64}
_DTYPES = {"f32": "float32", "f64": "float64", "f16": "float16", "i32": "int32", "i64": "int64"}


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

    def kernels(self, module: ModuleOp) -> dict[str, Kernel]:
        """Import every ``gpu.module`` of a shared-IR module (a frontend's output, or
        ``xpuc compile --emit=mlir``'s); its kernels by name."""
        from xpuc.passes.memory_effects import written_args

        out: dict[str, Kernel] = {}
        for m in [m for m in module.ops if isinstance(m, gpu.ModuleOp)]:
            taken = {g.sym_name.data for g in self.gpu_modules}
            sym, n = m.sym_name.data, 0
            while sym in taken:
                n += 1
                sym = f"{m.sym_name.data}_{n}"
            for f in m.body.block.ops:
                if not isinstance(f, gpu.FuncOp) or f.kernel is None:
                    continue
                params = list(f.function_type.inputs.data)
                names = f.attributes.get("xpu.arg_names")
                pnames = [a.data for a in names.data] if isinstance(names, ArrayAttr) else []
                if len(pnames) != len(params):
                    pnames = [f"arg{i}" for i in range(len(params))]
                ref = SymbolRefAttr(sym, [f.sym_name.data])
                out[_source_name(f)] = Kernel(ref, params, pnames, written_args(module, f))
            copy = m.clone()
            copy.sym_name = StringAttr(sym)
            self.gpu_modules.append(copy)
        return out

    def kernel(self, module: ModuleOp, name: str | None = None) -> Kernel:
        """The kernel ``name`` (or the only one) of a shared-IR module."""
        found = [
            (_source_name(f), f.sym_name.data)
            for m in module.ops
            if isinstance(m, gpu.ModuleOp)
            for f in m.body.block.ops
            if isinstance(f, gpu.FuncOp) and f.kernel is not None
        ]
        have = ", ".join(n for n, _ in found) or "none"
        if name is not None:
            found = [(n, sym) for n, sym in found if name in (n, sym)]
        if len(found) != 1:
            what = f"a kernel named '{name}'" if name else "exactly one kernel"
            raise XpucError(f"the module must hold {what} (it has: {have})")
        return self.kernels(module)[found[0][0]]

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

    def _const(self, value, t: Attribute) -> SSAValue:
        if hasattr(value, "item") and not isinstance(value, SSAValue):  # numpy scalars
            value = value.item()
        if isinstance(t, IntegerType | IndexType):
            if isinstance(value, bool) or not float(value).is_integer():
                raise XpucError(f"{value!r} is not an integer ({t})")
            attr = IntegerAttr(int(value), t)
        else:
            attr = FloatAttr(float(value), t)  # type: ignore[assignment]
        op = arith.ConstantOp(attr)
        self.block.add_op(op)
        return op.result

    def index(self, v) -> SSAValue:
        """``v`` as an ``index`` value: a number, an index value, or an integer value
        (cast)."""
        if not isinstance(v, SSAValue):
            if not isinstance(v, int | float) and not hasattr(v, "item"):
                raise XpucError(f"expected a size (an int or an index value), not {v!r}")
            return self._const(v, IndexType())
        if isinstance(v.type, IndexType):
            return v
        if isinstance(v.type, IntegerType):
            op = arith.IndexCastOp(v, IndexType())
            self.block.add_op(op)
            return op.result
        raise XpucError(f"expected a size (an int or an index value), not a {v.type} value")

    def _as_launched(self, x: SSAValue, split) -> SSAValue:
        """``x`` laid out as ``launch`` lays out an argument given ``split``."""
        if split is None and is_request(x.owner):
            return x  # already asked for a layout
        rank = len(x.type.get_shape())  # type: ignore[attr-defined]
        return self.shard(x, split if split is not None else [None] * rank, for_users=True)  # type: ignore[attr-defined]

    def local_dim(self, x: SSAValue, dim: int, split=None) -> SSAValue:
        """Dimension ``dim`` of ``x``'s shard on each device as a kernel launched with
        the same ``split`` sees it (without one: whole, unless ``x`` is a
        ``shard(..., for_users=True)``)."""
        rank = len(x.type.get_shape())  # type: ignore[attr-defined]
        if not 0 <= dim < rank:
            raise XpucError(f"dimension {dim} is out of range for a tensor of rank {rank}")
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

    def empty(self, shape: Sequence[int], dtype: str = "f32") -> SSAValue:
        """A new tensor for a kernel to write (``tensor.empty``)."""
        op = tensor.EmptyOp([], TensorType(_ELEMENT[_DTYPES.get(dtype, dtype)], tuple(shape)))
        self.block.add_op(op)
        return op.tensor

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
        if isinstance(a, int | float) or hasattr(a, "item"):
            try:
                return self._const(a, p)
            except XpucError as e:
                raise XpucError(f"{where}: {e}") from None
        raise XpucError(f"{where} takes {p}, not {type(a).__name__}")

    def launch(self, k: Kernel, grid, args: Sequence, block=None, split=None, splits=None,
               shared: int | SSAValue | None = None) -> tuple:  # fmt: skip
        """Launch ``k`` on every device's shards; returns the tensors it writes.

        ``grid`` and ``block``: an int or index value, or a tuple of up to three;
        ``shared``: bytes of dynamic shared memory (an int or index value).
        ``args``: one per kernel parameter: tensors for pointers, numbers or values for
        scalars (an index value is cast to an integer parameter).  ``split`` lays out
        every tensor argument, ``splits`` each (one entry per argument, ``None`` to
        leave it); otherwise a tensor goes to the kernel as a ``shard(...,
        for_users=True)`` that produced it asks, or whole (replicated)."""
        if len(args) != len(k.params):
            raise XpucError(f"{k.name} takes {len(k.params)} arguments ({', '.join(k.names)}), "
                            f"{len(args)} given")  # fmt: skip
        per = list(splits) if splits is not None else [split] * len(args)
        if len(per) != len(args):
            raise XpucError(f"splits= has {len(per)} entries for {len(args)} arguments")
        vals = [self._arg(k, i, a, s) for i, (a, s) in enumerate(zip(args, per, strict=True))]
        block = block if block is not None else k.block
        if block is None:
            raise XpucError(f"launching {k.name} needs block= (threads per block)")
        dyn = self.index(shared) if shared is not None else None
        op = LaunchOp(k.ref, self._dims(grid, "grid"), self._dims(block, "block"), vals, k.writes,
                      dyn)  # fmt: skip
        self.block.add_op(op)
        return tuple(op.res)

    # -- TVM -----------------------------------------------------------------------------

    def tvm(self, obj: Any, args: Sequence, split=None, splits=None, *, name: str | None = None,
            tile: tuple[int, ...] = (), block_size: int = 256) -> tuple:  # fmt: skip
        """Run a TVM PrimFunc (or an IRModule's one, or the one called ``name``) on every
        device's shards: one launch per stage, intermediates per device.  ``args`` as
        for the PrimFunc (a tensor per parameter buffer, then its scalars, as numbers);
        ``split``/``splits`` as for :meth:`launch`.  The buffers' shapes must match the
        shards: symbolic sizes (``tirx.Var``) take the shard's, static ones must equal
        it.  Returns the parameter buffers the PrimFunc writes, in order."""
        from xpuc.frontends.tvm import prim_funcs
        from xpuc.frontends.tvm.lower import lower_prim_func
        from xpuc.passes.map_parallel_loops import launch

        funcs = [f for f in prim_funcs(obj) if name in (None, f[0])]
        if len(funcs) != 1:
            raise XpucError(f"expected one PrimFunc{f' named {name}' if name else ''}, "
                            f"found {len(funcs)}")  # fmt: skip
        fname, func = funcs[0]
        module, stages, specs, sym, order, names = lower_prim_func(
            func, fname, tile=tuple(tile), block_size=block_size
        )
        if len(args) != len(order):
            raise XpucError(f"{fname} takes {len(order)} arguments, {len(args)} given")
        per = list(splits) if splits is not None else [split] * len(args)
        arrays = [(a, s) for a, s, k in zip(args, per, order, strict=True) if k == "buffer"]
        values = [a for a, k in zip(args, order, strict=True) if k != "buffer"]
        sizes: dict[str, int] = {}
        buffers: list[tuple[SSAValue, Any]] = []
        it = iter(arrays)
        for spec in specs:
            if not spec.param:
                shape = tuple(sizes.get(d, d) for d in spec.shape)  # type: ignore[misc]
                t = TensorType(_ELEMENT[spec.dtype], shape)  # type: ignore[arg-type]
                empty = tensor.EmptyOp([], t)
                self.block.add_op(empty)
                buffers.append((empty.tensor, None))
                continue
            a, sp = next(it)
            local = self._local_shape(a, sp)  # as the launch will lay it out
            if len(spec.shape) != len(local) or any(
                not isinstance(d, str) and d != n for d, n in zip(spec.shape, local, strict=False)
            ):
                raise XpucError(f"{fname}: buffer {spec.name} is {spec.shape}; the shard it "
                                f"gets is {local} (give the PrimFunc the shard's shape, or "
                                "symbolic sizes)")  # fmt: skip
            for d, n in zip(spec.shape, local, strict=True):
                if isinstance(d, str) and sizes.setdefault(d, n) != n:
                    raise XpucError(f"{fname}: {d} is {n} in {spec.name}, {sizes[d]} elsewhere")
            buffers.append((a, sp))
        kernels = self.kernels(module)
        scalars = [sizes[n] for n in sym] + values
        known = {**sizes, **dict(zip(names, values, strict=False))}
        written: set[int] = set()
        for st in stages:
            grid, block = st.grid, st.block
            if st.threads is not None:
                extents = [int(known.get(d, d)) for d in st.threads]  # type: ignore[call-overload]
                blocks, threads = launch(extents, st.tile, st.block_size)
                grid, block = (blocks, 1, 1), (threads, 1, 1)
            k = kernels[st.kernel]
            res = self.launch(k, grid, [b for b, _ in buffers] + scalars, block=block,
                              splits=[sp for _, sp in buffers] + [None] * len(scalars))  # fmt: skip
            for i, r in zip(k.writes, res, strict=True):
                buffers[i] = (r, buffers[i][1])
                written.add(i)
        params = [i for i, spec in enumerate(specs) if spec.param]
        return tuple(buffers[i][0] for i in params if i in written)

    def _local_shape(self, x: SSAValue, split) -> tuple[int, ...]:
        shape = tuple(x.type.get_shape())  # type: ignore[attr-defined]
        if split is None and is_request(x.owner):
            s = sharding_of(x)  # a layout asked for already
        elif split is None:
            return shape  # whole
        else:
            s = self._sharding(split, len(shape))  # type: ignore[attr-defined]
        return s.local_shape(shape, self.grid)  # type: ignore[union-attr]
