"""Calls in the device language: built-ins, the math library, device functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lark import Tree
from xdsl.dialects import arith, func, gpu, math
from xdsl.ir import SSAValue

from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.builtins import MATH_BINARY, MATH_TERNARY, MATH_UNARY
from xpuc.frontends.cuda.values import Val

if TYPE_CHECKING:
    from xpuc.frontends.cuda.lower import FunctionLowering


class CallLowering:
    """Mixin of FunctionLowering: ``f(args)`` expressions."""

    def expr_call(self: FunctionLowering, node: Tree) -> Val:
        callee, *args = node.children
        args = [a for a in args if a is not None]
        if not (isinstance(callee, Tree) and callee.data == "name"):
            raise self.error(node, "only direct calls of named functions are supported")
        name = str(callee.children[0])
        if name == "__syncthreads":
            self.check_args(node, name, args, 0)
            self.emit(gpu.BarrierOp())
            return Val(self.const_int(0, ct.INT).v, ct.VOID)
        if name in self.functions:
            return self.call_device(node, name, args)
        if name in MATH_UNARY or name in MATH_BINARY or name in MATH_TERNARY:
            return self.call_math(node, name, args)
        if name in ("min", "max", "umin", "umax", "llmin", "llmax"):
            self.check_args(node, name, args, 2)
            a, b = self.rvalue(args[0]), self.rvalue(args[1])
            t = ct.common_type(a.t, b.t)
            a, b = self.convert(a, t, node), self.convert(b, t, node)
            if t.is_float:
                cls = arith.MinnumfOp if name.endswith("min") else arith.MaxnumfOp
            elif name.endswith("min"):
                cls = arith.MinSIOp if t.signed else arith.MinUIOp
            else:
                cls = arith.MaxSIOp if t.signed else arith.MaxUIOp
            return Val(self.emit(cls(a.v, b.v)).results[0], t)
        if name in ("abs", "labs", "llabs"):
            self.check_args(node, name, args, 1)
            a = self.rvalue(args[0])
            if a.t.is_float:
                return self.call_math(node, "fabs", args)
            a = self.convert(a, ct.promote(a.t), node)
            return Val(self.emit(math.AbsIOp(a.v)).results[0], a.t)
        raise self.error(callee, f"call to undeclared function '{name}'")

    def check_args(self: FunctionLowering, node: Tree, name: str, args: list, n: int) -> None:
        if len(args) != n:
            raise self.error(node, f"'{name}' takes {n} argument(s), {len(args)} given")

    def call_math(self: FunctionLowering, node: Tree, name: str, args: list) -> Val:
        table, n = (
            (MATH_UNARY, 1) if name in MATH_UNARY
            else (MATH_BINARY, 2) if name in MATH_BINARY
            else (MATH_TERNARY, 3)
        )  # fmt: skip
        self.check_args(node, name, args, n)
        cls, bits = table[name]
        vals = [self.rvalue(a) for a in args]
        if bits == 32:
            t = ct.FLOAT
        else:
            t = ct.DOUBLE if any(v.t == ct.DOUBLE or v.t.is_int for v in vals) else ct.FLOAT
        vals = [self.convert(v, t, node) for v in vals]
        return Val(self.emit(cls(*[v.v for v in vals])).results[0], t)

    def call_device(self: FunctionLowering, node: Tree, name: str, args: list) -> Val:
        sig = self.functions[name]
        if sig.kernel:
            raise self.error(node, f"'{name}' is a __global__ kernel and cannot be called here")
        self.check_args(node, name, args, len(sig.params))
        operands: list[SSAValue] = []
        for a, pt in zip(args, sig.params, strict=True):
            v = self.convert(self.rvalue(a), pt, a)
            operands += [v.v, v.off] if pt.is_ptr else [v.v]
        results = [] if sig.ret.kind == "void" else [sig.ret.ir()]
        op = self.emit(func.CallOp(name, operands, results))
        if not results:
            return Val(self.const_int(0, ct.INT).v, ct.VOID)
        return Val(op.results[0], sig.ret)
