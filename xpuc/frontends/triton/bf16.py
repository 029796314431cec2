"""Triton frontend: bfloat16 without a bf16 type in the targets.

A ``bf16`` value is an ``f32`` in the lowered code, rounded to bf16's precision after
every op that yields a bf16 (round to nearest, ties to even: what a bf16 operation
computes); bf16 memory holds the 16-bit patterns (``memref<?xi16>``; the launch takes
them as ``uint16`` arrays), widened on load and rounded on store.  Rounding keeps NaN a
NaN and overflows to infinity, as the hardware conversion does.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr, i16, i32
from xdsl.ir import SSAValue


def _c(low, n: int) -> SSAValue:
    return low.emit(arith.ConstantOp(IntegerAttr(n, i32))).results[0]


def _rounded_bits(low, x: SSAValue) -> SSAValue:
    """The f32 ``x``'s bits rounded to bf16 (the low 16 bits zero)."""
    bits = low.emit(arith.BitcastOp(x, i32)).results[0]
    odd = low.emit(arith.AndIOp(low.emit(arith.ShRUIOp(bits, _c(low, 16))), _c(low, 1)))
    bias = low.emit(arith.AddiOp(odd, _c(low, 0x7FFF))).results[0]
    up = low.emit(arith.AddiOp(bits, bias)).results[0]
    return low.emit(arith.AndIOp(up, _c(low, -0x10000))).results[0]


def round_bf16(low, x: SSAValue) -> SSAValue:
    """``x`` (f32) rounded to the nearest bf16, as an f32."""
    return low.emit(arith.BitcastOp(_rounded_bits(low, x), x.type)).results[0]


def to_bits(low, x: SSAValue) -> SSAValue:
    """The bf16 bit pattern (i16) of ``x`` (f32), rounded."""
    top = low.emit(arith.ShRUIOp(_rounded_bits(low, x), _c(low, 16))).results[0]
    return low.emit(arith.TruncIOp(top, i16)).results[0]


def from_bits(low, bits: SSAValue, t) -> SSAValue:
    """The f32 ``t`` whose upper half is the bf16 pattern ``bits`` (i16)."""
    wide = low.emit(arith.ExtUIOp(bits, i32)).results[0]
    shifted = low.emit(arith.ShLIOp(wide, _c(low, 16))).results[0]
    return low.emit(arith.BitcastOp(shifted, t)).results[0]
