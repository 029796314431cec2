"""``math`` over xDSL's ``MathFunctions`` (which has only exp, sqrt and log, unrounded).

Float functions are computed in double precision with numpy (infinities and NaNs
instead of Python's ``OverflowError``/``ValueError``; the launch runs each thread under
``np.errstate(all="ignore")``) and rounded to the result type, so an ``f32`` result is
the correctly rounded value or within an ulp of it.  The compiled code uses its own
float32 routines, so the two agree to a few ulps, not bit for bit.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable

import numpy as np
from xdsl.dialects import math
from xdsl.interpreter import Interpreter, InterpreterFunctions, PythonValues, impl, register_impls

from xpuc.interpreter.values import int_bits, round_float, signed, unsigned


def _round_half_away(x: float) -> float:
    if not pymath.isfinite(x):
        return x
    a = abs(x)
    r = pymath.floor(a)
    if a - r >= 0.5:
        r += 1
    return pymath.copysign(r, x)


def _rsqrt(x: float) -> float:
    return float(np.float64(1.0) / np.sqrt(np.float64(x)))


_UNARY: dict[type, Callable] = {
    math.AbsFOp: abs, math.CeilOp: np.ceil, math.FloorOp: np.floor, math.TruncOp: np.trunc,
    math.RoundOp: _round_half_away, math.RoundEvenOp: np.rint, math.SqrtOp: np.sqrt,
    math.RsqrtOp: _rsqrt, math.CbrtOp: np.cbrt, math.ExpOp: np.exp, math.Exp2Op: np.exp2,
    math.ExpM1Op: np.expm1, math.LogOp: np.log, math.Log2Op: np.log2,
    math.Log10Op: np.log10, math.Log1pOp: np.log1p, math.SinOp: np.sin, math.CosOp: np.cos,
    math.TanOp: np.tan, math.AsinOp: np.arcsin, math.AcosOp: np.arccos,
    math.AtanOp: np.arctan, math.SinhOp: np.sinh, math.CoshOp: np.cosh,
    math.TanhOp: np.tanh, math.AsinhOp: np.arcsinh, math.AcoshOp: np.arccosh,
    math.AtanhOp: np.arctanh, math.ErfOp: pymath.erf,
}  # fmt: skip

_BINARY: dict[type, Callable] = {
    math.PowFOp: np.power, math.Atan2Op: np.arctan2, math.CopySignOp: pymath.copysign,
}  # fmt: skip


def _unary(fn: Callable):
    def run(self, interp: Interpreter, op, args: PythonValues) -> PythonValues:
        return (round_float(float(fn(args[0])), op.result.type),)

    return run


def _binary(fn: Callable):
    def run(self, interp: Interpreter, op, args: PythonValues) -> PythonValues:
        return (round_float(float(fn(args[0], args[1])), op.result.type),)

    return run


class MathFunctions(InterpreterFunctions):
    """Registered over ``xdsl.interpreters.math.MathFunctions`` with ``override=True``;
    the plain one-argument and two-argument functions come from the tables above."""

    @impl(math.FmaOp)
    def run_fma(self, interp: Interpreter, op: math.FmaOp, args: PythonValues):
        a, b, c = args  # exact product for f32 operands; one rounding short of a real fma
        return (round_float(a * b + c, op.result.type),)

    @impl(math.FPowIOp)
    def run_fpowi(self, interp: Interpreter, op: math.FPowIOp, args: PythonValues):
        x, n = args[0], signed(args[1], int_bits(op.rhs.type))
        return (round_float(float(np.power(np.float64(x), float(n))), op.result.type),)

    @impl(math.AbsIOp)
    def run_absi(self, interp: Interpreter, op: math.AbsIOp, args: PythonValues):
        bits = int_bits(op.result.type)
        return (signed(abs(signed(args[0], bits)), bits),)

    @impl(math.CountLeadingZerosOp)
    def run_ctlz(self, interp: Interpreter, op: math.CountLeadingZerosOp, args: PythonValues):
        bits = int_bits(op.result.type)
        return (bits - unsigned(args[0], bits).bit_length(),)

    @impl(math.CountTrailingZerosOp)
    def run_cttz(self, interp: Interpreter, op: math.CountTrailingZerosOp, args: PythonValues):
        bits = int_bits(op.result.type)
        u = unsigned(args[0], bits)
        return (bits if u == 0 else (u & -u).bit_length() - 1,)

    @impl(math.CtPopOp)
    def run_ctpop(self, interp: Interpreter, op: math.CtPopOp, args: PythonValues):
        return (unsigned(args[0], int_bits(op.result.type)).bit_count(),)

    @impl(math.IPowIOp)
    def run_ipowi(self, interp: Interpreter, op: math.IPowIOp, args: PythonValues):
        bits = int_bits(op.result.type)
        x, n = signed(args[0], bits), signed(args[1], bits)
        if n < 0:  # MLIR: 1 for x == 1, +-1 for x == -1, 0 otherwise (x == 0 divides)
            return (1 if x == 1 else (-1) ** (-n) if x == -1 else 0,)
        return (signed(pow(x, n, 1 << bits), bits),)


for _op, _fn in _UNARY.items():
    setattr(MathFunctions, f"run_{_op.name.split('.')[1]}", impl(_op)(_unary(_fn)))
for _op, _fn in _BINARY.items():
    setattr(MathFunctions, f"run_{_op.name.split('.')[1]}", impl(_op)(_binary(_fn)))
MathFunctions = register_impls(MathFunctions)
