"""``shard-partition``: a sharded program becomes the program each device runs (SPMD).

After ``sharding-propagation`` every tensor has a sharding.  This pass rewrites each
function to work on local shards: arguments and results get their local types; each
op computes on its operands' shards, after resharding them (``shard.all_gather``,
``shard.all_slice``, ``shard.all_to_all``) where its producer left them laid out
differently; a matmul over a split contraction dimension, or a reduction over a
split dimension, gives partial results that a ``shard.all_reduce`` sums.

The function keeps what the runtime needs to split inputs and assemble outputs:
``xpu.grid``, ``xpu.arg_shardings`` and ``xpu.res_shardings`` (one
``split_axes`` list per argument and result) and the global types
(``xpu.arg_types``, ``xpu.res_types``).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, builtin, func, shard, tensor
from xdsl.dialects.builtin import (
    ArrayAttr,
    FlatSymbolRefAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    TensorType,
)
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.shard import ReductionKind
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.transforms.dead_code_elimination import region_dce

from xpuc.comm import rules
from xpuc.comm.reshard import Emitter
from xpuc.comm.sharding import (
    Sharding,
    ShardingError,
    describe,
    functions,
    grids,
    local_type,
    sharding_of,
)
from xpuc.dialects.xpu_launch import LaunchOp, LocalDimOp
from xpuc.passes.comm.sharding_propagation import ShardingPropagation, check_supported

_IDENTITY = {
    ReductionKind.SUM: 0.0,
    ReductionKind.PRODUCT: 1.0,
    ReductionKind.MAX: float("-inf"),
    ReductionKind.MIN: float("inf"),
}


def _root(v: SSAValue) -> SSAValue:
    while isinstance(v.owner, shard.ShardOp):
        v = v.owner.src
    return v


def _split_attr(s: Sharding) -> Operation:
    return s.build().split_axes


class _Partitioner:
    def __init__(self, f: func.FuncOp, grid: str, grid_shape: tuple[int, ...]):
        self.f = f
        self.em = Emitter(grid, grid_shape)
        self.grid = grid
        self.local: dict[SSAValue, SSAValue] = {}
        self.cur: dict[SSAValue, Sharding] = {}
        self.gtype: dict[SSAValue, TensorType] = {}

    def sharding(self, v: SSAValue) -> Sharding:
        s = sharding_of(v)
        if s is None:  # only values the propagation pass did not see
            s = Sharding.replicated(self.grid, len(v.type.get_shape()))  # type: ignore[attr-defined]
        return s

    def get(self, v: SSAValue, want: Sharding) -> SSAValue:
        return self.em.reshard(self.local[v], self.gtype[v], self.cur[v], want)

    def init(self, v: SSAValue, want: Sharding, partial: ReductionKind | None) -> SSAValue:
        """An init (``outs``) operand, sharded ``want``; a fresh ``tensor.empty`` when
        it was one.  With partial results, only an init holding the reduction's
        identity can be given to every device."""
        root = _root(v)
        if isinstance(root.owner, tensor.EmptyOp):
            t = self.em.local(root.type, want)  # type: ignore[arg-type]
            return self.em.add(tensor.EmptyOp([], t)).results[0]
        if partial is not None:
            owner = root.owner
            ok = isinstance(owner, linalg.FillOp) and _is_const(owner.inputs[0], partial)
            if not ok:
                raise ShardingError(
                    f"{describe(v.owner)}: accumulating into an init over a split "
                    "contraction or reduction dimension needs an init that is empty or "
                    f"filled with the {partial.value} identity"
                )
        return self.get(v, want)

    def run(self) -> None:
        body = self.f.body.block
        old = list(body.ops)
        arg_sh: list[Sharding | None] = []
        arg_types = [a.type for a in body.args]
        for a in list(body.args):
            if not isinstance(a.type, TensorType):
                arg_sh.append(None)
                continue
            s = self.sharding(a)
            arg_sh.append(s)
            where = f"argument %{a.name_hint or a.index} of @{self.f.sym_name.data}: "
            t = local_type(a.type, s, self.em.grid_shape, where)
            new = Rewriter.replace_value_with_new_type(a, t)
            self.gtype[new], self.cur[new], self.local[new] = a.type, s, new
        ft = self.f.function_type
        self.f.function_type = builtin.FunctionType.from_lists(
            [a.type for a in body.args], list(ft.outputs.data)
        )
        for op in old:
            check_supported(op)
            self.em.ops = []
            try:
                self.visit(op)
            except ShardingError as e:
                raise ShardingError(f"{describe(op)}: {e}") from None
            if self.em.ops:
                Rewriter.insert_op(self.em.ops, InsertPoint.before(op))
        for op in reversed(old):
            if op.parent is not None and not op.results or all(not r.uses for r in op.results):
                if not isinstance(op, func.ReturnOp):
                    op.detach()
                    op.erase()
        self.f.attributes["xpu.grid"] = FlatSymbolRefAttr(self.grid)
        self.f.attributes["xpu.arg_shardings"] = ArrayAttr(
            [_split_attr(s or Sharding(self.grid, ())) for s in arg_sh]
        )
        self.f.attributes["xpu.arg_types"] = ArrayAttr(arg_types)

    def visit(self, op: Operation) -> None:
        if isinstance(op, shard.ShardingOp):
            return
        if isinstance(op, shard.ShardOp):
            s = self.sharding(op.result)
            self.gtype[op.result], self.cur[op.result] = op.result.type, s  # type: ignore[assignment]
            self.local[op.result] = self.get(op.src, s)
            return
        if isinstance(op, func.ReturnOp):
            vals = [self.local.get(v, v) for v in op.arguments]
            res = [self.cur.get(v) for v in op.arguments]
            gt = [self.gtype.get(v, v.type) for v in op.arguments]
            new = func.ReturnOp(*vals)
            Rewriter.replace_op(op, new)
            ft = self.f.function_type
            self.f.function_type = builtin.FunctionType.from_lists(
                list(ft.inputs.data), [v.type for v in vals]
            )
            self.f.attributes["xpu.res_shardings"] = ArrayAttr(
                [_split_attr(s or Sharding(self.grid, ())) for s in res]
            )
            self.f.attributes["xpu.res_types"] = ArrayAttr(gt)
            return
        if isinstance(op, LaunchOp):
            return self._launch(op)
        if isinstance(op, LocalDimOp):
            v, d = op.source, op.dim.value.data
            s = self.cur.get(v) or self.sharding(v)
            size = self.em.local(self.gtype.get(v, v.type), s).get_shape()[d]  # type: ignore[arg-type]
            const = self.em.add(arith.ConstantOp(IntegerAttr(size, IndexType())))
            op.result.replace_all_uses_with(const.results[0])
            return
        kind = rules.kind_of(op)
        if kind is None:
            return  # scalars: kept as they are
        r = op.results[0]
        want = self.sharding(r)
        self.gtype[r], self.cur[r] = r.type, want  # type: ignore[assignment]
        self.local[r] = getattr(self, f"_{kind}")(op, want)

    def _launch(self, op: LaunchOp) -> None:
        """The kernel runs on each device's shards, laid out as it asks."""
        layouts = rules.launch_layouts(op, self.grid)
        args = [
            v if s is None else self.init(v, s, None) for v, s in zip(op.args, layouts, strict=True)
        ]
        new = self.em.add(
            LaunchOp(op.kernel, op.grid(), op.block(), args, list(op.written()), op.shared)
        )
        for r, nr, i in zip(op.res, new.res, op.written(), strict=True):
            self.gtype[r], self.cur[r], self.local[r] = r.type, layouts[i], nr  # type: ignore[assignment]

    def _clone(self, op: Operation, operands: list[SSAValue], result: TensorType) -> SSAValue:
        new = type(op).create(
            operands=operands,
            result_types=[result],
            properties=dict(op.properties),
            attributes=dict(op.attributes),
            regions=[r.clone() for r in op.regions],
        )
        return self.em.add(new).results[0]

    def _finish(self, x: SSAValue, r: SSAValue, partial, kind, natural, want) -> SSAValue:
        if partial:
            x = self.em.all_reduce(x, partial, kind)
        return self.em.reshard(x, r.type, natural, want)  # type: ignore[arg-type]

    def _empty(self, op: tensor.EmptyOp, want: Sharding) -> SSAValue:
        return self.em.add(tensor.EmptyOp([], self.em.local(op.tensor.type, want))).results[0]

    def _elementwise(self, op: Operation, want: Sharding) -> SSAValue:
        n = len(op.inputs)  # type: ignore[attr-defined]
        ins = [self.get(v, want) for v in op.operands[:n]]
        outs = [self.init(v, want, None) for v in op.operands[n:]]
        return self._clone(op, ins + outs, self.em.local(op.results[0].type, want))

    def _fill(self, op: linalg.FillOp, want: Sharding) -> SSAValue:
        out = self.init(op.outputs[0], want, None)
        return self._clone(op, [op.inputs[0], out], out.type)  # type: ignore[arg-type]

    def _matmul(self, op: linalg.MatmulOp, want: Sharding) -> SSAValue:
        a, b, c = op.operands[:3]
        sa, sb, k, natural = rules.matmul_plan(self.cur[a], self.cur[b])
        kind = ReductionKind.SUM
        x = self._clone(
            op,
            [self.get(a, sa), self.get(b, sb), self.init(c, natural, kind if k else None)],
            self.em.local(op.results[0].type, natural),
        )
        return self._finish(x, op.results[0], k, kind, natural, want)

    def _transpose(self, op: linalg.TransposeOp, want: Sharding) -> SSAValue:
        perm = op.permutation.get_values()
        split: list[tuple[int, ...]] = [()] * len(perm)
        for d, p in enumerate(perm):
            split[p] = want.split[d]
        x = self.get(op.inputs[0], Sharding(self.grid, tuple(split)))
        out = self.init(op.outputs[0], want, None)
        return self._clone(op, [x, out], out.type)  # type: ignore[arg-type]

    def _broadcast(self, op: linalg.BroadcastOp, want: Sharding) -> SSAValue:
        dims = rules.broadcast_dims(op)
        src = Sharding(self.grid, tuple(a for d, a in enumerate(want.split) if d not in dims))
        x = self.get(op.operands[0], src)
        out = self.init(op.operands[1], want, None)
        return self._clone(op, [x, out], out.type)  # type: ignore[arg-type]

    def _reduce(self, op: linalg.ReduceOp, want: Sharding) -> SSAValue:
        x0, init = op.operands[0], op.operands[1]
        s = self.cur[x0]
        dims = rules.reduce_dims(op)
        partial = tuple(a for d in dims for a in s.split[d])
        kind = rules.reduction_of(op) if partial else ReductionKind.SUM
        natural = Sharding(self.grid, tuple(a for d, a in enumerate(s.split) if d not in dims))
        out = self.init(init, natural, kind if partial else None)
        x = self._clone(op, [self.local[x0], out], out.type)  # type: ignore[arg-type]
        return self._finish(x, op.results[0], partial, kind, natural, want)


def _is_const(v: SSAValue, kind: ReductionKind) -> bool:
    owner = v.owner
    if not isinstance(owner, arith.ConstantOp) or kind not in _IDENTITY:
        return False
    val = owner.value
    return isinstance(val, FloatAttr | IntegerAttr) and float(val.value.data) == _IDENTITY[kind]


@dataclass(frozen=True)
class ShardPartition(ModulePass):
    name = "shard-partition"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        ShardingPropagation().apply(ctx, op)  # idempotent; makes the pass usable alone
        (grid, grid_shape), *_ = grids(op).items()
        for f in functions(op):
            _Partitioner(f, grid, grid_shape).run()
            region_dce(f.body)
