"""TVM frontend: TIR expressions -> shared-IR scalar ops (``arith``, ``math``).

Values keep their TIR dtype (``int32`` index arithmetic stays ``i32``).  Integer
``Div``/``Mod`` are TIR's truncating ones, ``FloorDiv``/``FloorMod`` round toward minus
infinity; ``Select`` evaluates both sides, ``if_then_else`` only the one it picks.
"""

from __future__ import annotations

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import (
    AnyFloat,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    f16,
    f32,
    f64,
    i1,
    i8,
    i16,
    i32,
    i64,
)
from xdsl.ir import Attribute, SSAValue

from xpuc.compiler.diagnostics import XpucError
from xpuc.dialects.arith_ext import RemFOp

TYPES: dict[str, Attribute] = {
    "float16": f16, "float32": f32, "float64": f64, "bool": i1, "int8": i8, "int16": i16,
    "int32": i32, "int64": i64, "uint8": i8, "uint16": i16, "uint32": i32, "uint64": i64,
}  # fmt: skip
_MATH = {
    "exp": math.ExpOp, "exp2": math.Exp2Op, "log": math.LogOp, "log2": math.Log2Op,
    "log10": math.Log10Op, "sqrt": math.SqrtOp, "rsqrt": math.RsqrtOp, "sin": math.SinOp,
    "cos": math.CosOp, "tan": math.TanOp, "tanh": math.TanhOp, "fabs": math.AbsFOp,
    "floor": math.FloorOp, "ceil": math.CeilOp, "round": math.RoundEvenOp,
    "nearbyint": math.RoundEvenOp, "trunc": math.TruncOp, "erf": math.ErfOp,
    "atan": math.AtanOp, "asin": math.AsinOp, "acos": math.AcosOp, "pow": math.PowFOp,
    "atan2": math.Atan2Op, "sinh": math.SinhOp, "cosh": math.CoshOp,
}  # fmt: skip


class TirError(XpucError):
    """A TIR construct the TVM frontend does not take."""


def dtype_of(node) -> str:
    t = getattr(node, "ty", None)
    return str(t) if t is not None else str(node.dtype)


def ir_type(dtype: str) -> Attribute:
    if dtype not in TYPES:
        raise TirError(f"TIR dtype '{dtype}' is not supported yet")
    return TYPES[dtype]


class Exprs:
    """Mixin of :class:`~.lower.TirLowering`: ``expr(node)`` -> an SSA value."""

    def const(self, value, t: Attribute) -> SSAValue:
        attr = FloatAttr(float(value), t) if isinstance(t, AnyFloat) else IntegerAttr(int(value), t)
        return self.emit(arith.ConstantOp(attr)).results[0]  # pyright: ignore

    def cast(self, v: SSAValue, dtype: str) -> SSAValue:
        t, s = ir_type(dtype), v.type
        if s == t:
            return v
        emit = self.emit  # pyright: ignore
        unsigned = dtype.startswith("uint")
        if isinstance(t, IntegerType) and t.width.data == 1:  # x != 0
            zero = self.const(0, s)
            cmp = (
                arith.CmpfOp(v, zero, "une")
                if isinstance(s, AnyFloat)
                else arith.CmpiOp(v, zero, "ne")
            )
            return emit(cmp).results[0]
        if isinstance(s, AnyFloat) and isinstance(t, AnyFloat):
            cls = arith.ExtFOp if t.bitwidth > s.bitwidth else arith.TruncFOp
            return emit(cls(v, t)).results[0]
        if isinstance(s, AnyFloat):
            return emit((arith.FPToUIOp if unsigned else arith.FPToSIOp)(v, t)).results[0]
        src_unsigned = s.width.data == 1  # pyright: ignore  # bool is 0/1
        if isinstance(t, AnyFloat):
            return emit((arith.UIToFPOp if src_unsigned else arith.SIToFPOp)(v, t)).results[0]
        if t.width.data > s.width.data:  # pyright: ignore
            return emit((arith.ExtUIOp if src_unsigned else arith.ExtSIOp)(v, t)).results[0]
        return emit(arith.TruncIOp(v, t)).results[0]

    def expr(self, e) -> SSAValue:  # noqa: C901 - one case per TIR node
        kind = type(e).__name__
        emit = self.emit  # pyright: ignore
        if kind in ("IntImm", "FloatImm"):
            return self.const(e.value, ir_type(dtype_of(e)))
        if kind == "Var":
            return self.lookup(e)  # pyright: ignore
        if kind in ("BufferLoad", "TensorLoad"):
            return self.load(e)  # pyright: ignore
        if kind == "Cast":
            return self.cast(self.expr(e.value), dtype_of(e))
        if kind == "Not":
            v = self.expr(e.a)
            return emit(arith.XOrIOp(v, self.const(1, i1))).results[0]
        if kind == "Select":
            c, a, b = self.expr(e.condition), self.expr(e.true_value), self.expr(e.false_value)
            return emit(arith.SelectOp(c, a, b)).results[0]
        if kind == "Let":
            self.bind(e.var, self.expr(e.value))  # pyright: ignore
            return self.expr(e.body)
        if kind == "Call":
            return self.call(e)
        if hasattr(e, "a") and hasattr(e, "b"):
            return self.binary(kind, self.expr(e.a), self.expr(e.b), dtype_of(e.a))
        raise TirError(f"TIR expression {kind} is not supported yet: {e}")

    def binary(self, kind: str, a: SSAValue, b: SSAValue, dtype: str) -> SSAValue:
        emit = self.emit  # pyright: ignore
        fl = isinstance(a.type, AnyFloat)
        uns = dtype.startswith("uint") or dtype == "bool"
        table = {
            "Add": (arith.AddfOp, arith.AddiOp), "Sub": (arith.SubfOp, arith.SubiOp),
            "Mul": (arith.MulfOp, arith.MuliOp),
            "Div": (arith.DivfOp, arith.DivUIOp if uns else arith.DivSIOp),
            "Mod": (RemFOp, arith.RemUIOp if uns else arith.RemSIOp),
            "Min": (arith.MinnumfOp, arith.MinUIOp if uns else arith.MinSIOp),
            "Max": (arith.MaxnumfOp, arith.MaxUIOp if uns else arith.MaxSIOp),
            "And": (None, arith.AndIOp), "Or": (None, arith.OrIOp),
            "BitwiseAnd": (None, arith.AndIOp), "BitwiseOr": (None, arith.OrIOp),
            "BitwiseXor": (None, arith.XOrIOp), "LShift": (None, arith.ShLIOp),
            "RShift": (None, arith.ShRUIOp if uns else arith.ShRSIOp),
        }  # fmt: skip
        if kind in table and table[kind][0 if fl else 1] is not None:
            return emit(table[kind][0 if fl else 1](a, b)).results[0]
        cmps = {"EQ": ("oeq", "eq"), "NE": ("une", "ne"), "LT": ("olt", "ult" if uns else "slt"),
                "LE": ("ole", "ule" if uns else "sle"), "GT": ("ogt", "ugt" if uns else "sgt"),
                "GE": ("oge", "uge" if uns else "sge")}  # fmt: skip
        if kind in cmps:
            cls = arith.CmpfOp if fl else arith.CmpiOp
            return emit(cls(a, b, cmps[kind][0 if fl else 1])).results[0]
        if kind in ("FloorDiv", "FloorMod"):
            if fl:
                q = emit(math.FloorOp(emit(arith.DivfOp(a, b)))).results[0]
                if kind == "FloorDiv":
                    return q
                return emit(arith.SubfOp(a, emit(arith.MulfOp(q, b)))).results[0]
            if uns:
                cls = arith.DivUIOp if kind == "FloorDiv" else arith.RemUIOp
                return emit(cls(a, b)).results[0]
            return self.floor_int(kind, a, b)
        raise TirError(f"TIR expression {kind} is not supported yet")

    def floor_int(self, kind: str, a: SSAValue, b: SSAValue) -> SSAValue:
        """Signed floor division or modulo: the truncating result, one off where the
        remainder and the divisor differ in sign."""
        emit = self.emit  # pyright: ignore
        r = emit(arith.RemSIOp(a, b)).results[0]
        zero = self.const(0, a.type)
        nonzero = emit(arith.CmpiOp(r, zero, "ne")).results[0]
        r_neg = emit(arith.CmpiOp(r, zero, "slt")).results[0]
        b_neg = emit(arith.CmpiOp(b, zero, "slt")).results[0]
        fix = emit(arith.AndIOp(nonzero, emit(arith.CmpiOp(r_neg, b_neg, "ne")))).results[0]
        if kind == "FloorMod":
            return emit(arith.SelectOp(fix, emit(arith.AddiOp(r, b)), r)).results[0]
        q = emit(arith.DivSIOp(a, b)).results[0]
        lower = emit(arith.SubiOp(q, self.const(1, a.type))).results[0]
        return emit(arith.SelectOp(fix, lower, q)).results[0]

    def call(self, e) -> SSAValue:
        name = str(e.op.name).split(".")[-1]
        emit = self.emit  # pyright: ignore
        if name == "if_then_else":
            c = self.expr(e.args[0])
            t = ir_type(dtype_of(e))
            return self.if_value(c, lambda: self.expr(e.args[1]), lambda: self.expr(e.args[2]), t)  # pyright: ignore
        args = [self.expr(a) for a in e.args]
        if name in _MATH and all(isinstance(a.type, AnyFloat) for a in args):
            return emit(_MATH[name].create(operands=args, result_types=[args[0].type])).results[0]
        if name == "fabs" or (name == "abs" and isinstance(args[0].type, AnyFloat)):
            return emit(math.AbsFOp(args[0])).results[0]
        if name == "abs":
            return emit(math.AbsIOp(args[0])).results[0]
        if name == "sigmoid":
            one = self.const(1.0, args[0].type)
            neg = emit(arith.NegfOp(args[0])).results[0]
            denom = emit(arith.AddfOp(one, emit(math.ExpOp(neg)))).results[0]
            return emit(arith.DivfOp(one, denom)).results[0]
        raise TirError(f"TIR call '{e.op.name}' is not supported yet")
