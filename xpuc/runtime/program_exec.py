"""One rank's execution of a partitioned program (see :mod:`xpuc.runtime.program`)."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import torch
from xdsl.dialects import func, shard, tensor
from xdsl.dialects.builtin import TensorType
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Operation, SSAValue

from xpuc.comm import rules
from xpuc.dialects.shard_ext import AllGatherOp, AllSliceOp, AllToAllOp, ReduceScatterOp
from xpuc.dialects.xpu_comm import P2PScheduleOp
from xpuc.dialects.xpu_launch import LaunchOp
from xpuc.runtime.program import ProgramError, group_of

_ELEMENTWISE = {
    linalg.AddOp: lambda a, b: a + b,
    linalg.SubOp: lambda a, b: a - b,
    linalg.MulOp: lambda a, b: a * b,
    linalg.MaxOp: torch.maximum,
    linalg.MinOp: torch.minimum,
    linalg.ExpOp: torch.exp,
    linalg.LogOp: torch.log,
    linalg.SqrtOp: torch.sqrt,
    linalg.CopyOp: lambda a: a.clone(),
    linalg.SelectOp: torch.where,
}
_DTYPES = {
    "f16": torch.float16,
    "bf16": torch.bfloat16,
    "f32": torch.float32,
    "f64": torch.float64,
    "i32": torch.int32,
    "i64": torch.int64,
    "i8": torch.int8,
}
_KINDS = {
    shard.AllReduceOp: "all_reduce",
    AllGatherOp: "all_gather",
    ReduceScatterOp: "reduce_scatter",
    AllToAllOp: "all_to_all",
}
_REDUCE = {"sum": torch.sum, "product": torch.prod, "max": torch.amax, "min": torch.amin}


def dtype_of(t: TensorType) -> torch.dtype:
    name = str(t.element_type)
    if name not in _DTYPES:
        raise ProgramError(f"element type {name} is not supported by the multi-card runtime")
    return _DTYPES[name]


class Interpreter:
    def __init__(self, ctx, grid_shape: tuple[int, ...], kernels=None):
        self.ctx = ctx
        self.shape = grid_shape
        self.kernels = kernels
        self.env: dict[SSAValue, object] = {}
        self.scalars = _scalar_interpreter()

    def val(self, v: SSAValue):
        x = self.env[v]
        if isinstance(x, Future):
            x = x.result()
            self.env[v] = x
        return x

    def run(self, f: func.FuncOp, inputs: list[np.ndarray]) -> list[np.ndarray]:
        for a, x in zip(f.body.block.args, inputs, strict=True):
            self.env[a] = torch.from_numpy(np.ascontiguousarray(x))
        for op in f.body.block.ops:
            if isinstance(op, func.ReturnOp):
                return [self.val(v).numpy() for v in op.arguments]  # type: ignore[union-attr]
            self.step(op)
        raise ProgramError("function without return")

    def step(self, op: Operation) -> None:
        if isinstance(op, shard.GridOp | shard.ShardingOp):
            return
        if isinstance(op, LaunchOp):
            for r, x in zip(op.res, self.launch(op), strict=True):
                self.env[r] = x
            return
        if op.dialect_name() == "arith" and not isinstance(op.results[0].type, TensorType):
            args = tuple(self.val(v) for v in op.operands)
            self.env[op.results[0]] = self.scalars.run_op(op, args)[0]
            return
        if isinstance(op, P2PScheduleOp | shard.AllReduceOp | AllGatherOp | ReduceScatterOp
                      | AllToAllOp):  # fmt: skip
            fut = self.ctx.comm.start(self.collective, op, self.val(op.operands[0]))
            self.env[op.results[0]] = fut if "xpu.async" in op.attributes else fut.result()
            return
        self.env[op.results[0]] = self.compute(op)

    def compute(self, op: Operation):
        kind = rules.kind_of(op)
        args = [self.val(v) for v in op.operands]
        if isinstance(op, tensor.EmptyOp):
            t = op.tensor.type
            return torch.zeros(tuple(t.get_shape()), dtype=dtype_of(t))  # type: ignore[arg-type]
        if kind == "elementwise":
            n = len(op.inputs)  # type: ignore[attr-defined]
            return _ELEMENTWISE[type(op)](*args[:n]).to(args[n].dtype)  # type: ignore[misc]
        if kind == "fill":
            return torch.full_like(args[1], args[0])
        if kind == "matmul":
            return args[2] + args[0] @ args[1]
        if kind == "transpose":
            return args[0].permute(*op.permutation.get_values()).contiguous()  # type: ignore[attr-defined]
        if kind == "broadcast":
            x, out = args
            for d in sorted(rules.broadcast_dims(op)):  # type: ignore[arg-type]
                x = x.unsqueeze(d)
            return x.expand(out.shape).contiguous()
        if kind == "reduce":
            x, init = args
            red = rules.reduction_of(op).value  # type: ignore[arg-type]
            part = _REDUCE[red](x, dim=rules.reduce_dims(op))  # type: ignore[arg-type]
            return _combine(red, init, part)
        if isinstance(op, AllSliceOp):
            return self.all_slice(op, args[0])
        if isinstance(op, tensor.ExtractSliceOp):
            idx = tuple(
                slice(o, o + s * st, st)
                for o, s, st in zip(
                    op.static_offsets.get_values(),
                    op.static_sizes.get_values(),
                    op.static_strides.get_values(),
                    strict=True,
                )  # fmt: skip
            )
            return args[0][idx].contiguous()
        if isinstance(op, tensor.CollapseShapeOp | tensor.ExpandShapeOp):
            return args[0].reshape(tuple(op.results[0].type.get_shape()))  # type: ignore[attr-defined]
        if isinstance(op, tensor.ConcatOp):
            return torch.cat(args, dim=op.dim.value.data)
        raise ProgramError(f"the multi-card runtime cannot run {op.name}")

    def launch(self, op: LaunchOp) -> list[torch.Tensor]:
        """A kernel on this rank's shards: written tensors are copies, returned."""
        if self.kernels is None:
            raise ProgramError(f"{op.kernel}: the program was run without its kernels")
        k = self.kernels.get((op.kernel.root_reference.data, op.symbol()))
        if k is None:
            raise ProgramError(f"{op.kernel}: no such kernel among the program's gpu.modules")
        written = op.written()
        info = getattr(k, "info", None)
        readonly = set(info.readonly_args if info is not None else ())
        tensors: dict[int, torch.Tensor] = {}
        args: list = []
        for i, v in enumerate(op.args):
            x = self.val(v)
            if isinstance(x, torch.Tensor):
                copy = i in written or i not in readonly
                x = x.clone() if copy else x.contiguous()
                tensors[i] = x
                x = x.numpy().reshape(-1)
            args.append(x)
        grid = tuple(int(self.val(g)) for g in op.grid())
        block = tuple(int(self.val(b)) for b in op.block())
        shared = int(self.val(op.shared)) if op.shared is not None else 0
        k[grid, block, shared](*args)
        return [tensors[i] for i in written]

    def group(self, op) -> list[int]:
        return group_of(self.ctx.rank, self.shape, op.grid_axes.get_values())

    def all_slice(self, op: AllSliceOp, x: torch.Tensor):
        g = self.group(op)
        d, n, i = op.slice_axis.value.data, len(g), g.index(self.ctx.rank)
        size = x.shape[d] // n
        return x.narrow(d, i * size, size).contiguous()

    def collective(self, op, x: torch.Tensor):
        """Runs on the comm thread."""
        from xpuc.runtime.collectives import run_native, run_schedule

        g = self.group(op)
        n = len(g)
        red = op.reduction.data.value if hasattr(op, "reduction") else "sum"
        if isinstance(op, P2PScheduleOp):
            sched = op.schedule()
            kind = sched.kind
            axes = [a.value.data for a in (op.axis, op.concat_axis) if a is not None]

            def run(t):
                return run_schedule(sched, t, g, reduction=red)
        else:
            kind = _KINDS[type(op)]
            axes = [getattr(op, a).value.data for a in getattr(op, "AXES", ())]

            def run(t):
                return run_native(kind, t, g, reduction=red)

        axis, concat = (axes + [0, 0])[:2]
        if kind == "all_reduce":
            return run(x)
        if kind == "all_gather":
            res = run(x)  # (n, *x.shape)
            return torch.cat(list(res.unbind(0)), dim=axis)
        if kind == "reduce_scatter":
            blocks = torch.stack(x.chunk(n, dim=axis)).contiguous()
            return run(blocks).reshape(blocks.shape[1:]).contiguous()
        blocks = torch.stack(x.chunk(n, dim=axis)).contiguous()
        res = run(blocks).reshape(blocks.shape)
        return torch.cat(list(res.unbind(0)), dim=concat).contiguous()


def _scalar_interpreter():
    """xDSL's interpreter for the scalar ``arith`` of a program (launch sizes)."""
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.interpreter import Interpreter as XdslInterpreter
    from xdsl.interpreters.arith import ArithFunctions as XdslArith

    from xpuc.interpreter.arith import ArithFunctions

    interp = XdslInterpreter(ModuleOp([]), index_bitwidth=64)
    interp.register_implementations(XdslArith())
    interp.register_implementations(ArithFunctions(), override=True)
    return interp


def _combine(red: str, a, b):
    if red == "sum":
        return a + b
    if red == "product":
        return a * b
    return torch.maximum(a, b) if red == "max" else torch.minimum(a, b)
