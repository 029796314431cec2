"""Kernel argument values every runtime takes the same way: scalars by signature code.

A scalar parameter (``i32``, ``u8``, ``f16``, ...) takes a Python or numpy number of
the right kind that the type can hold; anything else is an XpucError naming the
argument, not a silent truncation or a bare TypeError.
"""

from __future__ import annotations

import ctypes
import math
import numbers
import operator

import numpy as np

from xpuc.compiler.diagnostics import XpucError

CTYPES = {
    "i1": ctypes.c_bool, "i8": ctypes.c_int8, "u8": ctypes.c_uint8, "i16": ctypes.c_int16,
    "u16": ctypes.c_uint16, "i32": ctypes.c_int32, "u32": ctypes.c_uint32,
    "i64": ctypes.c_int64, "u64": ctypes.c_uint64, "f32": ctypes.c_float,
    "f64": ctypes.c_double, "f16": ctypes.c_uint16,
}  # fmt: skip
"""The C type a scalar is passed as (``f16`` as its bits)."""
DTYPES = {"i1": np.bool_, "i8": np.int8, "u8": np.uint8, "i16": np.int16, "u16": np.uint16,
          "i32": np.int32, "u32": np.uint32, "i64": np.int64, "u64": np.uint64,
          "f16": np.float16, "f32": np.float32, "f64": np.float64}  # fmt: skip


def scalar(what: str, a, code: str) -> ctypes._SimpleCData:
    """``a`` as the ``code`` scalar; an XpucError for a value of the wrong kind (a str, a
    float for an integer) or one the type cannot hold (300 for an i8, 1e39 for an f32)."""
    if isinstance(a, np.ndarray):
        if a.ndim > 0:
            raise XpucError(f"{what} is a scalar ({code}), not an array")
        a = a[()]
    a = a.item() if isinstance(a, np.generic) else a
    if code[0] in "iu":
        if isinstance(a, float | complex) or not hasattr(a, "__index__"):
            word = "a bool" if code == "i1" else "an integer"
            raise XpucError(f"{what} must be {word} ({code}), not {a!r}")
        v, bits = operator.index(a), 1 if code == "i1" else ctypes.sizeof(CTYPES[code]) * 8
        lo, hi = (-(1 << bits - 1), (1 << bits - 1) - 1) if code[0] == "i" and bits > 1 else (
            0, (1 << bits) - 1)  # fmt: skip
        if not lo <= v <= hi:
            raise XpucError(f"{what} ({code}) must be in [{lo}, {hi}], not {v}")
        return CTYPES[code](v)
    if not isinstance(a, numbers.Real):
        raise XpucError(f"{what} must be a number ({code}), not {a!r}")
    try:
        v = float(a)  # an int beyond any float: OverflowError
        with np.errstate(over="ignore"):
            x = DTYPES[code](v)
        if np.isinf(x) and not math.isinf(v):
            raise OverflowError
    except OverflowError:
        raise XpucError(f"{what} ({code}) is out of range: {a!r}") from None
    return CTYPES[code](int(x.view(np.uint16)) if code == "f16" else float(x))
