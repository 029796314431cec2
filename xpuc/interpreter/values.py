"""How the interpreter holds IR values: integers, floats and memrefs over numpy memory.

Integers are Python ints; any representative modulo 2**width is accepted on input
(as xDSL's own arith functions do) and results are returned sign-normalized.  Floats
are Python floats holding a value of their IR type (an ``f32`` result is rounded to
float32).  A memref is a :class:`Memref`: a typed window on a flat byte buffer, so a
kernel argument aliases the caller's numpy array and ``memref.view`` /
``xpu.reinterpret`` see the same bytes with another element type.
"""

from __future__ import annotations

import math
import struct

import numpy as np
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    FileLineColLoc,
    Float16Type,
    Float32Type,
    Float64Type,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
)
from xdsl.ir import Attribute, Operation

from xpuc.compiler.diagnostics import XpucError

INDEX_BITS = 64


class InterpretError(XpucError):
    """A kernel could not be interpreted: a fault while running it, or a bad launch."""


class UnsupportedOpError(InterpretError):
    """The kernel uses an operation the interpreter has no implementation for."""


class Fault(Exception):
    """A fault found below the op level (bad address, bad cast); the op that hit it is
    added when it reaches the interpreter loop, which turns it into an InterpretError."""


def describe(op: Operation) -> str:
    """``'memref.load' at k.cu:3:7`` (the location only when the IR carries one)."""
    loc = op.location
    if isinstance(loc, FileLineColLoc):
        return f"'{op.name}' at {loc.filename.data}:{loc.line.data}:{loc.column.data}"
    return f"'{op.name}'"


# -- scalars -----------------------------------------------------------------------


def int_bits(t: Attribute) -> int:
    if isinstance(t, IndexType):
        return INDEX_BITS
    if isinstance(t, IntegerType):
        return t.width.data
    raise Fault(f"expected an integer type, got {t}")


def signed(v: int, bits: int) -> int:
    """The two's-complement value of the low ``bits`` bits of ``v``."""
    v = int(v) & ((1 << bits) - 1)
    return v - (1 << bits) if v >> (bits - 1) else v


def unsigned(v: int, bits: int) -> int:
    return int(v) & ((1 << bits) - 1)


_F32 = struct.Struct("f")


def round_f32(x: float) -> float:
    try:
        return _F32.unpack(_F32.pack(x))[0]
    except OverflowError:  # rounds to infinity
        return math.copysign(math.inf, x)


def round_float(x: float, t: Attribute) -> float:
    """``x`` rounded to the float type ``t`` (as the result of an op of that type)."""
    if isinstance(t, Float32Type):
        return round_f32(x)
    if isinstance(t, Float64Type):
        return float(x)
    if isinstance(t, Float16Type):
        with np.errstate(all="ignore"):
            return float(np.float16(x))
    raise Fault(f"floating-point type {t} is not supported")


def is_float(t: Attribute) -> bool:
    return isinstance(t, Float16Type | Float32Type | Float64Type)


def to_python(value, t: Attribute):
    """A kernel argument or initial value as the interpreter holds a value of type ``t``."""
    if is_float(t):
        return round_float(float(value), t)
    if isinstance(t, IntegerType | IndexType):
        return signed(int(value), int_bits(t))
    raise Fault(f"a scalar of type {t} is not supported")


# -- memory ------------------------------------------------------------------------

_DTYPES = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "index": np.int64,
           "i1": np.bool_, "i8": np.int8, "i16": np.int16, "i32": np.int32,
           "i64": np.int64}  # fmt: skip


def dtype_of(t: Attribute) -> np.dtype:
    """The numpy dtype a memref element of type ``t`` is stored as (integers signed)."""
    dt = _DTYPES.get(str(t))
    if dt is None:
        raise Fault(f"memory of element type {t} is not supported")
    return np.dtype(dt)


def memory_space(t: MemRefType) -> int:
    ms = t.memory_space
    return ms.value.data if isinstance(ms, IntegerAttr) else 0


class Memref:
    """A memref value: ``data`` is the element-typed window of ``buf`` (flat bytes) that
    starts ``offset`` bytes in; indices are row-major over ``shape``.  Accesses are
    checked against the end of the buffer, never against a nominal size."""

    __slots__ = ("buf", "offset", "elem", "dtype", "shape", "strides", "data")

    def __init__(self, buf: np.ndarray, offset: int, elem: Attribute, shape: tuple[int, ...]):
        self.buf = buf
        self.offset = offset
        self.elem = elem
        self.dtype = dtype_of(elem)
        self.shape = shape
        strides, n = [], 1
        for d in reversed(shape):
            strides.append(n)
            n *= d if d > 0 else 1
        self.strides = tuple(reversed(strides))
        size = self.dtype.itemsize
        count = (len(buf) - offset) // size if 0 <= offset <= len(buf) else 0
        self.data = buf[offset : offset + count * size].view(self.dtype)

    @classmethod
    def of_type(cls, buf: np.ndarray, offset: int, t: MemRefType, sizes=()) -> Memref:
        """A view typed as ``t``; ``sizes`` fill its dynamic dimensions in order."""
        it = iter(sizes)
        shape = tuple(next(it, 1) if d == DYNAMIC_INDEX else d for d in t.get_shape())
        return cls(buf, offset, t.element_type, shape)

    @classmethod
    def zeros(cls, t: MemRefType, sizes=()) -> Memref:
        n = 1
        it = iter(sizes)
        for d in t.get_shape():
            n *= next(it, 1) if d == DYNAMIC_INDEX else d
        return cls.of_type(np.zeros(n * dtype_of(t.element_type).itemsize, np.uint8), 0, t, sizes)

    @property
    def address(self) -> int:
        """The address C code would see (0 for a null pointer)."""
        return self.buf.ctypes.data + self.offset if len(self.buf) else 0

    def index(self, indices) -> int:
        if len(indices) == 1:
            lin = indices[0]
        else:
            lin = sum(i * s for i, s in zip(indices, self.strides, strict=True))
        if not 0 <= lin < len(self.data):
            if not len(self.buf):
                raise Fault("access through a null pointer")
            raise Fault(
                f"out-of-bounds access: element {lin} of a buffer of {len(self.data)} "
                f"{self.elem} elements"
            )
        return lin

    def load(self, indices):
        return self.data[self.index(indices)].item()

    def store(self, indices, value) -> None:
        lin = self.index(indices)
        kind = self.dtype.kind
        if kind == "i":
            value = signed(value, self.dtype.itemsize * 8)
        elif kind == "b":
            value = bool(int(value) & 1)
        self.data[lin] = value

    def retyped(self, elem: Attribute, shape: tuple[int, ...], shift: int = 0) -> Memref:
        """The same bytes (from ``shift`` bytes on) seen as ``elem`` elements."""
        return Memref(self.buf, self.offset + shift, elem, shape)


def null_memref(t: MemRefType) -> Memref:
    return Memref.of_type(np.zeros(0, np.uint8), 0, t)


def memref_of_array(a: np.ndarray, t: MemRefType) -> Memref:
    """A kernel argument: the caller's array, aliased (stores go straight into it)."""
    return Memref.of_type(a.reshape(-1).view(np.uint8), 0, t)
