"""``arith`` and ``math`` ops as C expressions: the tables of the C renderer.

Every operand is an atom (a variable or a literal, see ``c_render.py``), so each
handler returns one expression without precedence worries.  Integers are unsigned in
C; an op whose meaning depends on the sign casts its operands to the signed type of
the same width, and narrow types compute in ``uint`` (C would promote them to ``int``,
whose overflow is undefined).
"""

from __future__ import annotations

import math as pymath

import numpy as np
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import IndexType, IntegerAttr, IntegerType, MemRefType
from xdsl.ir import Attribute, Operation

from xpuc.compiler.diagnostics import TargetError
from xpuc.dialects.arith_ext import IndexCastUIOp, RemFOp

UNSIGNED = {1: "bool", 8: "uchar", 16: "ushort", 32: "uint", 64: "ulong"}
SIGNED = {1: "bool", 8: "char", 16: "short", 32: "int", 64: "long"}
_SUFFIX = {32: "u", 64: "ul"}

# op -> (C operator, whether the operands are read as signed)
INT_BINARY: dict[type, tuple[str, bool]] = {
    arith.AddiOp: ("+", False), arith.SubiOp: ("-", False), arith.MuliOp: ("*", False),
    arith.AndIOp: ("&", False), arith.OrIOp: ("|", False), arith.XOrIOp: ("^", False),
    arith.ShLIOp: ("<<", False), arith.ShRUIOp: (">>", False), arith.DivUIOp: ("/", False),
    arith.RemUIOp: ("%", False), arith.DivSIOp: ("/", True), arith.RemSIOp: ("%", True),
    arith.ShRSIOp: (">>", True),
}  # fmt: skip
_SHIFTS = (arith.ShLIOp, arith.ShRUIOp, arith.ShRSIOp)
FLOAT_BINARY = {arith.AddfOp: "+", arith.SubfOp: "-", arith.MulfOp: "*", arith.DivfOp: "/"}
# arith.cmpi predicate -> (C operator, signed)
ICMP = [("==", False), ("!=", False), ("<", True), ("<=", True), (">", True), (">=", True),
        ("<", False), ("<=", False), (">", False), (">=", False)]  # fmt: skip
# arith.cmpf predicate -> C over a and b (C's comparisons are ordered, but != is not)
FCMP = ["0", "{a} == {b}", "{a} > {b}", "{a} >= {b}", "{a} < {b}", "{a} <= {b}",
        "({a} < {b} || {a} > {b})", "!(isnan({a}) || isnan({b}))", "!({a} < {b} || {a} > {b})",
        "!({a} <= {b})", "!({a} < {b})", "!({a} >= {b})", "!({a} > {b})", "{a} != {b}",
        "(isnan({a}) || isnan({b}))", "1"]  # fmt: skip
MINMAX = {arith.MinSIOp: ("<", True), arith.MaxSIOp: (">", True),
          arith.MinUIOp: ("<", False), arith.MaxUIOp: (">", False)}  # fmt: skip
# math op -> the C99 (and OpenCL C) function of the same meaning
MATH_FUNCTIONS: dict[type, str] = {
    math.SqrtOp: "sqrt", math.ExpOp: "exp", math.Exp2Op: "exp2", math.LogOp: "log",
    math.Log2Op: "log2", math.Log10Op: "log10", math.SinOp: "sin", math.CosOp: "cos",
    math.TanOp: "tan", math.AbsFOp: "fabs", math.FloorOp: "floor", math.CeilOp: "ceil",
    math.RoundOp: "round", math.TruncOp: "trunc", math.RoundEvenOp: "rint", math.PowFOp: "pow",
    math.FmaOp: "fma", math.CopySignOp: "copysign", math.TanhOp: "tanh", math.SinhOp: "sinh",
    math.CoshOp: "cosh", math.AsinOp: "asin", math.AcosOp: "acos", math.AtanOp: "atan",
    math.Atan2Op: "atan2", math.ErfOp: "erf", math.ExpM1Op: "expm1", math.Log1pOp: "log1p",
    math.CbrtOp: "cbrt", math.AsinhOp: "asinh", math.AcoshOp: "acosh", math.AtanhOp: "atanh",
    arith.MinnumfOp: "fmin", arith.MaxnumfOp: "fmax", RemFOp: "fmod",
}  # fmt: skip
_SIGNED_CASTS = (arith.ExtSIOp, arith.IndexCastOp, arith.SIToFPOp, arith.FPToSIOp)
CASTS = (*_SIGNED_CASTS, arith.ExtUIOp, arith.TruncIOp, IndexCastUIOp, arith.UIToFPOp,
         arith.FPToUIOp, arith.ExtFOp, arith.TruncFOp)  # fmt: skip


def width(t: Attribute) -> int:
    if isinstance(t, IndexType):
        return 64
    if isinstance(t, IntegerType):
        return t.width.data
    if isinstance(t, MemRefType):
        return 64  # a pointer
    return t.bitwidth  # type: ignore[attr-defined]


def is_bool(t: Attribute) -> bool:
    return isinstance(t, IntegerType) and t.width.data == 1


def literal(value: int | float, t: Attribute) -> str:
    """A C literal of IR type ``t``: unsigned integers, exact floats."""
    if isinstance(t, IntegerType | IndexType):
        w = width(t)
        u = int(value) % (1 << w)
        if w == 1:
            return "true" if u else "false"
        text = str(u) if u < 1 << 31 else hex(u)
        return text + _SUFFIX[w] if w in _SUFFIX else f"({UNSIGNED[w]}){text}"
    v = float(value)
    single = width(t) < 64
    if pymath.isnan(v) or pymath.isinf(v):
        text = "NAN" if pymath.isnan(v) else ("-INFINITY" if v < 0 else "INFINITY")
        return text if single else f"(double){text}"
    if not single:
        return repr(v)
    text = str(np.float32(v))  # the shortest text that reads back as the same float
    if float(np.float32(text)) != v:
        text = v.hex()
    return text + ("" if any(c in text for c in ".ep") else ".0") + "f"


class ArithMixin:
    """Handlers of the C renderer for ``arith`` and ``math`` ops."""

    def arith_handlers(self) -> dict:
        def unary(fn: str):
            return lambda op: f"{fn}({self.val(op.operands[0])})"

        return {
            **{k: self._int_binary for k in INT_BINARY},
            **{k: self._float_binary for k in FLOAT_BINARY},
            **{k: self._math for k in MATH_FUNCTIONS},
            **{k: self._minmax for k in MINMAX},
            **{k: self._cast for k in CASTS},
            arith.ConstantOp: lambda op: None, arith.CmpiOp: self._cmpi,
            arith.CmpfOp: self._cmpf, arith.SelectOp: self._select,
            arith.NegfOp: lambda op: f"-{self.val(op.operands[0])}",
            arith.BitcastOp: self._bitcast, math.AbsIOp: self._absi,
            math.CtPopOp: unary("popcount"), math.CountLeadingZerosOp: unary("clz"),
            math.CountTrailingZerosOp: self._ctz, math.RsqrtOp: self._rsqrt,
        }  # fmt: skip

    def cast(self, v, to: str) -> str:
        return f"({to}){self.val(v)}"

    def _int_binary(self, op: Operation) -> str:
        sym, signed = INT_BINARY[type(op)]
        w = width(op.results[0].type)
        a, b = (self.val(x) for x in op.operands)
        if w == 1 and isinstance(op, arith.ShRSIOp):  # the sign bit, shifted in
            return a
        if w == 1:  # bool: & | ^ as they are, the rest modulo 2
            return f"{a} {sym} {b}" if sym in "&|^" else f"(({a} {sym} {b}) & 1) != 0"
        if isinstance(op, _SHIFTS):  # C masks (or leaves undefined) what PTX clamps
            return self._shift(op, sym, signed, w, b)
        if signed:
            a, b = (self.cast(x, SIGNED[w]) for x in op.operands)
        elif w < 32:
            a, b = (self.cast(x, "uint") for x in op.operands)
        return f"({UNSIGNED[w]})({a} {sym} {b})" if signed or w < 32 else f"{a} {sym} {b}"

    def _shift(self, op: Operation, sym: str, signed: bool, w: int, b: str) -> str:
        """A shift by the width or more as PTX (and xpuc's interpreter) has it: 0 for
        ``shl``/``shrui``, the sign for ``shrsi``; the amount is unsigned."""
        t, top = op.results[0].type, literal(w - 1, op.results[0].type)
        amount = op.operands[1].owner
        known = amount.value.value.data % (1 << w) if isinstance(amount, arith.ConstantOp) \
            and isinstance(amount.value, IntegerAttr) else None  # fmt: skip
        if signed:
            a = self.cast(op.operands[0], SIGNED[w])
            n = f"({b} < {top} ? {b} : {top})" if known is None else min(known, w - 1)
            return f"({UNSIGNED[w]})({a} >> {n})"
        a = self.val(op.operands[0]) if w >= 32 else self.cast(op.operands[0], "uint")
        shifted = f"{a} {sym} {b}" if w >= 32 else f"({UNSIGNED[w]})({a} {sym} {b})"
        if known is not None:
            return literal(0, t) if known >= w else shifted
        return f"{b} > {top} ? {literal(0, t)} : {shifted}"

    def _float_binary(self, op: Operation) -> str:
        return f"{self.val(op.operands[0])} {FLOAT_BINARY[type(op)]} {self.val(op.operands[1])}"

    def _math(self, op: Operation) -> str:
        return f"{MATH_FUNCTIONS[type(op)]}({', '.join(self.val(o) for o in op.operands)})"

    def _rsqrt(self, op: Operation) -> str:  # as the LLVM translation: 1 / sqrt(x)
        return f"{literal(1, op.results[0].type)} / sqrt({self.val(op.operands[0])})"

    def _cmpi(self, op: arith.CmpiOp) -> str:
        sym, signed = ICMP[op.predicate.value.data]
        if signed:
            s = self.ctype(op.lhs.type, signed=True)
            return f"{self.cast(op.lhs, s)} {sym} {self.cast(op.rhs, s)}"
        return f"{self.val(op.lhs)} {sym} {self.val(op.rhs)}"

    def _cmpf(self, op: arith.CmpfOp) -> str:
        return FCMP[op.predicate.value.data].format(a=self.val(op.lhs), b=self.val(op.rhs))

    def _select(self, op: arith.SelectOp) -> str:
        return f"{self.val(op.cond)} ? {self.val(op.lhs)} : {self.val(op.rhs)}"

    def _minmax(self, op: Operation) -> str:
        sym, signed = MINMAX[type(op)]
        a, b = self.val(op.operands[0]), self.val(op.operands[1])
        if signed:
            s = self.ctype(op.operands[0].type, signed=True)
            return f"({s}){a} {sym} ({s}){b} ? {a} : {b}"
        return f"{a} {sym} {b} ? {a} : {b}"

    def _absi(self, op: Operation) -> str:
        a, s = self.val(op.operands[0]), self.ctype(op.operands[0].type, signed=True)
        return f"({s}){a} < 0 ? -{a} : {a}"

    def _ctz(self, op: Operation) -> str:
        """Trailing zeros: the ones below the lowest set bit, counted (OpenCL 1.2 has no
        ``ctz``); the bit width for zero, as ``math.cttz`` defines it."""
        x, t = self.val(op.operands[0]), op.results[0].type
        below = f"({x} & ({literal(0, t)} - {x})) - {literal(1, t)}"
        return f"{x} == 0 ? {literal(width(t), t)} : popcount({below})"

    def _cast(self, op: Operation) -> str:
        src, dst = op.operands[0], op.results[0].type
        to = self.ctype(dst)
        if isinstance(op, arith.TruncIOp) and width(dst) == 1:
            return f"({self.val(src)} & 1) != 0"
        if not isinstance(op, _SIGNED_CASTS):
            return self.cast(src, to)
        if isinstance(op, arith.IndexCastOp) and width(src.type) >= width(dst):
            return self.cast(src, to)  # a truncation: the sign does not matter
        if isinstance(op, arith.FPToSIOp):
            return f"({to}){self.cast(src, self.ctype(dst, signed=True))}"
        if is_bool(src.type):  # true is -1
            return f"{self.val(src)} ? ({to})-1 : ({to})0"
        return f"({to}){self.cast(src, self.ctype(src.type, signed=True))}"

    def _bitcast(self, op: Operation) -> str:
        raise TargetError("arith.bitcast needs the target's reinterpreting cast")
