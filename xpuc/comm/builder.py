"""A small Python API for multi-card programs, building the same IR as ``.mlir``.

::

    from xpuc.comm.builder import Program

    p = Program("mlp", grid=(4,))
    x = p.input("x", (8, 16))
    w1 = p.input("w1", (16, 64), split=[None, 0])   # columns over grid axis 0
    w2 = p.input("w2", (64, 16), split=[0])          # rows over grid axis 0
    p.output(p.matmul(p.relu(p.matmul(x, w1)), w2))
    module = p.module()

``split`` gives, per tensor dimension, the grid axis (or tuple of axes) splitting it,
``None`` for none; it becomes a ``shard.sharding`` plus ``shard.shard``.

Kernels of any frontend are imported into the program and launched on each device's
shards (``xpu.launch``)::

    vadd = p.cuda(open("vector_add.cu").read())          # or p.triton(fn, signature, ...)
    n = p.local_size(x, split=[0])
    (z,) = p.launch(vadd, grid=p.cdiv(n, 256), block=256, args=[x, y, p.empty_like(x), n],
                    split=[0])
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import arith, builtin, func, shard, tensor
from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    FunctionType,
    TensorType,
    UnitAttr,
    f32,
    f64,
    i32,
    i64,
)
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Block, Operation, Region, SSAValue

from xpuc.comm.builder_kernels import KernelImports
from xpuc.comm.sharding import Sharding, ShardingError

_TYPES = {"f32": f32, "f64": f64, "i32": i32, "i64": i64}
_COMBINE = {"sum": arith.AddfOp, "max": arith.MaximumfOp, "min": arith.MinimumfOp,
            "product": arith.MulfOp}  # fmt: skip


class Program(KernelImports):
    def __init__(self, name: str, grid: Sequence[int], grid_name: str = "grid"):
        super().__init__()
        self.name, self.grid, self.grid_name = name, tuple(grid), grid_name
        self.block = Block()
        self.arg_types: list[TensorType] = []
        self.results: list[SSAValue] = []

    def _add(self, op: Operation) -> SSAValue:
        self.block.add_op(op)
        return op.results[0]

    def _sharding(self, split, rank: int) -> Sharding:
        dims: list[tuple[int, ...]] = []
        for s in list(split) + [None] * (rank - len(split)):
            axes = () if s is None else (s,) if isinstance(s, int) else tuple(s)
            for a in axes:
                if not 0 <= a < len(self.grid):
                    raise ShardingError(f"grid axis {a} is out of range for grid {self.grid}")
            dims.append(axes)
        return Sharding(self.grid_name, tuple(dims))

    def shard(self, x: SSAValue, split, *, for_users: bool = False) -> SSAValue:
        """Annotate ``x`` (or, ``for_users``, reshard it for the ops that use the result)."""
        s = self._sharding(split, len(x.type.get_shape()))  # type: ignore[attr-defined]
        sop = s.build()
        self.block.add_op(sop)
        op = shard.ShardOp(x, sop.result, UnitAttr() if for_users else None)
        return self._add(op)

    def input(self, name: str, shape: Sequence[int], dtype: str = "f32", split=None):
        t = TensorType(_TYPES[dtype], tuple(shape))
        arg = self.block.insert_arg(t, len(self.arg_types))
        arg.name_hint = name
        self.arg_types.append(t)
        return self.shard(arg, split) if split is not None else arg

    def _empty(self, shape, like: SSAValue) -> SSAValue:
        t = TensorType(like.type.element_type, tuple(shape))  # type: ignore[attr-defined]
        return self._add(tensor.EmptyOp([], t))

    def _elementwise(self, cls, *xs: SSAValue) -> SSAValue:
        out = self._empty(xs[0].type.get_shape(), xs[0])  # type: ignore[attr-defined]
        return self._add(cls(list(xs), [out], [out.type]))

    def add(self, a, b):
        return self._elementwise(linalg.AddOp, a, b)

    def sub(self, a, b):
        return self._elementwise(linalg.SubOp, a, b)

    def mul(self, a, b):
        return self._elementwise(linalg.MulOp, a, b)

    def maximum(self, a, b):
        return self._elementwise(linalg.MaxOp, a, b)

    def exp(self, a):
        return self._elementwise(linalg.ExpOp, a)

    def full(self, shape, value: float, like: SSAValue) -> SSAValue:
        c = self._add(arith.ConstantOp(FloatAttr(value, like.type.element_type)))  # type: ignore[attr-defined]
        out = self._empty(shape, like)
        return self._add(linalg.FillOp([c], [out], [out.type]))

    def relu(self, a):
        return self.maximum(a, self.full(a.type.get_shape(), 0.0, a))

    def matmul(self, a: SSAValue, b: SSAValue) -> SSAValue:
        (m, k), (k2, n) = a.type.get_shape(), b.type.get_shape()  # type: ignore[attr-defined]
        if k != k2:
            raise ShardingError(f"matmul of {m}x{k} by {k2}x{n}")
        out = self._empty((m, n), a)
        return self._add(linalg.MatmulOp([a, b], [out], [out.type]))

    def transpose(self, a: SSAValue, perm: Sequence[int] = (1, 0)) -> SSAValue:
        shape = a.type.get_shape()  # type: ignore[attr-defined]
        out = self._empty([shape[p] for p in perm], a)
        return self._add(
            linalg.TransposeOp(a, out, DenseArrayBase.from_list(i64, list(perm)), out.type)
        )

    def reduce(self, a: SSAValue, dims: Sequence[int], kind: str = "sum") -> SSAValue:
        shape = a.type.get_shape()  # type: ignore[attr-defined]
        et = a.type.element_type  # type: ignore[attr-defined]
        ident = {"sum": 0.0, "product": 1.0, "max": float("-inf"), "min": float("inf")}[kind]
        init = self.full([s for d, s in enumerate(shape) if d not in dims], ident, a)
        body = Block(arg_types=[et, et])
        comb = _COMBINE[kind](body.args[0], body.args[1])
        body.add_ops([comb, linalg.YieldOp(comb.result)])
        op = linalg.ReduceOp(a, init, DenseArrayBase.from_list(i64, list(dims)), Region(body))
        return self._add(op)

    def all_reduce(self, a: SSAValue, axes: Sequence[int] = (0,)) -> SSAValue:
        """An explicit all-reduce (data parallelism writes these itself)."""
        from xpuc.comm.sharding import axes_attr

        op = shard.AllReduceOp.create(
            operands=[a],
            result_types=[a.type],
            properties={
                "grid": builtin.FlatSymbolRefAttr(self.grid_name),
                "grid_axes": axes_attr(tuple(axes)),
            },
        )
        return self._add(op)

    def output(self, *xs: SSAValue, split=None) -> None:
        for x in xs:
            self.results.append(self.shard(x, split) if split is not None else x)

    def module(self) -> builtin.ModuleOp:
        self.block.add_op(func.ReturnOp(*self.results))
        ft = FunctionType.from_lists(self.arg_types, [r.type for r in self.results])
        f = func.FuncOp(self.name, ft, Region(self.block))
        grid = shard.GridOp.create(
            properties={
                "sym_name": builtin.StringAttr(self.grid_name),
                "shape": DenseArrayBase.from_list(i64, list(self.grid)),
            }
        )
        m = builtin.ModuleOp([grid, *self.gpu_modules, f])
        if self.gpu_modules:
            m.attributes["gpu.container_module"] = UnitAttr()
        m.verify()
        return m
