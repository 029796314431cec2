"""``arith`` on top of xDSL's ``ArithFunctions``: what it lacks, and fixes where it is wrong
for kernels (float results not rounded to ``f32``, ``0.0 / 0.0`` raising, shifts by the
full width asserting).  xDSL's add/sub/mul/and/or/xor, ``cmpi``, ``cmpf``, ``select``
and ``index_cast`` are used as they are.
"""

from __future__ import annotations

import math
import struct

from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, IntegerAttr
from xdsl.interpreter import Interpreter, InterpreterFunctions, PythonValues, impl, register_impls

from xpuc.dialects.arith_ext import IndexCastUIOp, RemFOp
from xpuc.interpreter.values import Fault, int_bits, is_float, round_float, signed, unsigned


def _res_bits(op) -> int:
    return int_bits(op.result.type)


def _fdiv(a: float, b: float) -> float:
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def fmod(a: float, b: float) -> float:
    """C ``fmod``: NaN for an infinite dividend or a zero divisor."""
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or b == 0.0:
        return math.nan
    return a if math.isinf(b) else math.fmod(a, b)


def float_to_int(x: float, bits: int, is_signed: bool) -> int:
    """``fptosi``/``fptoui``: truncation; NaN and out-of-range give the x86 "integer
    indefinite" (the sign bit alone), as the compiled cpu code does."""
    if math.isnan(x) or math.isinf(x):
        return signed(1 << (bits - 1), bits)
    v = int(x)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if is_signed else (0, (1 << bits) - 1)
    if not lo <= v <= hi:
        return signed(1 << (bits - 1), bits)
    return signed(v, bits)


_FLOAT_FMT = {16: "e", 32: "f", 64: "d"}
_UINT_FMT = {16: "H", 32: "I", 64: "Q"}


def _bitcast(value, src, dst):
    """Reinterpret the bits of a scalar (int <-> float of the same width)."""
    if is_float(src):
        bits = src.bitwidth
        raw = struct.unpack(_UINT_FMT[bits], struct.pack(_FLOAT_FMT[bits], value))[0]
    else:
        bits = int_bits(src)
        raw = unsigned(value, bits)
    if is_float(dst):
        return struct.unpack(_FLOAT_FMT[bits], struct.pack(_UINT_FMT[bits], raw))[0]
    return signed(raw, int_bits(dst))


def _shift_amount(op, args) -> tuple[int, int, int]:
    """Operand, shift amount (unsigned) and width; an amount of the width or more is
    clamped to the width, as PTX does (LLVM leaves it undefined)."""
    bits = _res_bits(op)
    return args[0], min(unsigned(args[1], bits), bits), bits


@register_impls
class ArithFunctions(InterpreterFunctions):
    """Registered over ``xdsl.interpreters.arith.ArithFunctions`` with ``override=True``."""

    @impl(arith.ConstantOp)
    def run_constant(self, interp: Interpreter, op: arith.ConstantOp, args: PythonValues):
        v = op.value
        if isinstance(v, FloatAttr):
            return (round_float(v.value.data, op.result.type),)
        if isinstance(v, IntegerAttr):
            return (signed(v.value.data, _res_bits(op)),)
        raise Fault(f"constants of {v} are not supported")

    # -- integers ------------------------------------------------------------------

    @impl(arith.DivSIOp)
    def run_divsi(self, interp: Interpreter, op: arith.DivSIOp, args: PythonValues):
        return _divide(op, args, True, _c_quotient)

    @impl(arith.RemSIOp)
    def run_remsi(self, interp: Interpreter, op: arith.RemSIOp, args: PythonValues):
        return _divide(op, args, True, _c_remainder, "remainder")

    @impl(arith.DivUIOp)
    def run_divui(self, interp: Interpreter, op: arith.DivUIOp, args: PythonValues):
        return _divide(op, args, False, lambda a, b: a // b)

    @impl(arith.RemUIOp)
    def run_remui(self, interp: Interpreter, op: arith.RemUIOp, args: PythonValues):
        return _divide(op, args, False, lambda a, b: a % b, "remainder")

    @impl(arith.CeilDivUIOp)
    def run_ceildivui(self, interp: Interpreter, op: arith.CeilDivUIOp, args: PythonValues):
        return _divide(op, args, False, lambda a, b: -(-a // b))

    @impl(arith.CeilDivSIOp)
    def run_ceildivsi(self, interp: Interpreter, op: arith.CeilDivSIOp, args: PythonValues):
        return _divide(op, args, True, lambda a, b: -(-a // b))

    @impl(arith.MinSIOp)
    def run_minsi(self, interp: Interpreter, op: arith.MinSIOp, args: PythonValues):
        bits = _res_bits(op)
        return (min(signed(args[0], bits), signed(args[1], bits)),)

    @impl(arith.MaxSIOp)
    def run_maxsi(self, interp: Interpreter, op: arith.MaxSIOp, args: PythonValues):
        bits = _res_bits(op)
        return (max(signed(args[0], bits), signed(args[1], bits)),)

    @impl(arith.MinUIOp)
    def run_minui(self, interp: Interpreter, op: arith.MinUIOp, args: PythonValues):
        bits = _res_bits(op)
        return (signed(min(unsigned(args[0], bits), unsigned(args[1], bits)), bits),)

    @impl(arith.MaxUIOp)
    def run_maxui(self, interp: Interpreter, op: arith.MaxUIOp, args: PythonValues):
        bits = _res_bits(op)
        return (signed(max(unsigned(args[0], bits), unsigned(args[1], bits)), bits),)

    @impl(arith.ShLIOp)
    def run_shli(self, interp: Interpreter, op: arith.ShLIOp, args: PythonValues):
        a, n, bits = _shift_amount(op, args)
        return (signed(a << n, bits),)

    @impl(arith.ShRUIOp)
    def run_shrui(self, interp: Interpreter, op: arith.ShRUIOp, args: PythonValues):
        a, n, bits = _shift_amount(op, args)
        return (signed(unsigned(a, bits) >> n, bits),)

    @impl(arith.ShRSIOp)
    def run_shrsi(self, interp: Interpreter, op: arith.ShRSIOp, args: PythonValues):
        a, n, bits = _shift_amount(op, args)
        return (signed(a, bits) >> n,)

    @impl(arith.ExtSIOp)
    def run_extsi(self, interp: Interpreter, op: arith.ExtSIOp, args: PythonValues):
        return (signed(args[0], int_bits(op.input.type)),)

    @impl(arith.ExtUIOp)
    def run_extui(self, interp: Interpreter, op: arith.ExtUIOp, args: PythonValues):
        return (signed(unsigned(args[0], int_bits(op.input.type)), _res_bits(op)),)

    @impl(arith.TruncIOp)
    def run_trunci(self, interp: Interpreter, op: arith.TruncIOp, args: PythonValues):
        return (signed(args[0], _res_bits(op)),)

    @impl(IndexCastUIOp)
    def run_index_castui(self, interp: Interpreter, op: IndexCastUIOp, args: PythonValues):
        return (signed(unsigned(args[0], int_bits(op.input.type)), _res_bits(op)),)

    # -- floats --------------------------------------------------------------------

    @impl(arith.AddfOp)
    def run_addf(self, interp: Interpreter, op: arith.AddfOp, args: PythonValues):
        return (round_float(args[0] + args[1], op.result.type),)

    @impl(arith.SubfOp)
    def run_subf(self, interp: Interpreter, op: arith.SubfOp, args: PythonValues):
        return (round_float(args[0] - args[1], op.result.type),)

    @impl(arith.MulfOp)
    def run_mulf(self, interp: Interpreter, op: arith.MulfOp, args: PythonValues):
        return (round_float(args[0] * args[1], op.result.type),)

    @impl(arith.DivfOp)
    def run_divf(self, interp: Interpreter, op: arith.DivfOp, args: PythonValues):
        return (round_float(_fdiv(args[0], args[1]), op.result.type),)

    @impl(RemFOp)
    def run_remf(self, interp: Interpreter, op: RemFOp, args: PythonValues):
        return (round_float(fmod(args[0], args[1]), op.result.type),)

    @impl(arith.NegfOp)
    def run_negf(self, interp: Interpreter, op: arith.NegfOp, args: PythonValues):
        return (-args[0],)

    @impl(arith.MinnumfOp)
    def run_minnumf(self, interp: Interpreter, op: arith.MinnumfOp, args: PythonValues):
        a, b = args
        return (b if math.isnan(a) else a if math.isnan(b) else min(a, b),)

    @impl(arith.MaxnumfOp)
    def run_maxnumf(self, interp: Interpreter, op: arith.MaxnumfOp, args: PythonValues):
        a, b = args
        return (b if math.isnan(a) else a if math.isnan(b) else max(a, b),)

    @impl(arith.SIToFPOp)
    def run_sitofp(self, interp: Interpreter, op: arith.SIToFPOp, args: PythonValues):
        v = signed(args[0], int_bits(op.input.type))
        return (round_float(v, op.result.type),)

    @impl(arith.UIToFPOp)
    def run_uitofp(self, interp: Interpreter, op: arith.UIToFPOp, args: PythonValues):
        v = unsigned(args[0], int_bits(op.input.type))
        return (round_float(v, op.result.type),)

    @impl(arith.FPToSIOp)
    def run_fptosi(self, interp: Interpreter, op: arith.FPToSIOp, args: PythonValues):
        return (float_to_int(args[0], _res_bits(op), True),)

    @impl(arith.FPToUIOp)
    def run_fptoui(self, interp: Interpreter, op: arith.FPToUIOp, args: PythonValues):
        return (float_to_int(args[0], _res_bits(op), False),)

    @impl(arith.ExtFOp)
    def run_extf(self, interp: Interpreter, op: arith.ExtFOp, args: PythonValues):
        return (float(args[0]),)

    @impl(arith.TruncFOp)
    def run_truncf(self, interp: Interpreter, op: arith.TruncFOp, args: PythonValues):
        return (round_float(args[0], op.result.type),)

    @impl(arith.BitcastOp)
    def run_bitcast(self, interp: Interpreter, op: arith.BitcastOp, args: PythonValues):
        return (_bitcast(args[0], op.input.type, op.result.type),)


def _divide(op, args: PythonValues, is_signed: bool, fn, what: str = "division") -> tuple:
    """An integer division-like op: operands read signed or unsigned at the result's
    width, a fault on a zero divisor, the result wrapped to the width."""
    bits = _res_bits(op)
    read = signed if is_signed else unsigned
    a, b = read(args[0], bits), read(args[1], bits)
    if b == 0:
        raise Fault(f"integer {what} by zero")
    return (signed(fn(a, b), bits),)


def _c_quotient(a: int, b: int) -> int:
    """C's quotient: rounded toward zero."""
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def _c_remainder(a: int, b: int) -> int:
    """C's remainder: it takes the dividend's sign."""
    r = abs(a) % abs(b)
    return -r if a < 0 else r
