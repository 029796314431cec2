"""CUDA built-in functions the device language knows without a header."""

from __future__ import annotations

from xdsl.dialects import arith, math

from xpuc.dialects.arith_ext import RemFOp

# name -> (math op class, float bits or 0 for "same as argument")
MATH_UNARY: dict[str, tuple[type, int]] = {}
for _op, _names in {
    math.SqrtOp: ("sqrt",),
    math.RsqrtOp: ("rsqrt",),
    math.ExpOp: ("exp", "__exp"),
    math.Exp2Op: ("exp2",),
    math.LogOp: ("log", "__log"),
    math.Log2Op: ("log2", "__log2"),
    math.Log10Op: ("log10", "__log10"),
    math.SinOp: ("sin", "__sin"),
    math.CosOp: ("cos", "__cos"),
    math.TanOp: ("tan", "__tan"),
    math.TanhOp: ("tanh",),
    math.AbsFOp: ("fabs",),
    math.FloorOp: ("floor",),
    math.CeilOp: ("ceil",),
    math.RoundOp: ("round",),
    math.TruncOp: ("trunc",),
    math.ErfOp: ("erf",),
    math.AtanOp: ("atan",),
    math.AsinOp: ("asin",),
    math.AcosOp: ("acos",),
    math.SinhOp: ("sinh",),
    math.CoshOp: ("cosh",),
    math.ExpM1Op: ("expm1",),
    math.Log1pOp: ("log1p",),
    math.CbrtOp: ("cbrt",),
    math.AsinhOp: ("asinh",),
    math.AcoshOp: ("acosh",),
    math.AtanhOp: ("atanh",),
}.items():
    for _n in _names:
        MATH_UNARY[_n + "f"] = (_op, 32)
        if not _n.startswith("__"):
            MATH_UNARY[_n] = (_op, 0)

MATH_BINARY: dict[str, tuple[type, int]] = {
    "powf": (math.PowFOp, 32), "pow": (math.PowFOp, 0), "__powf": (math.PowFOp, 32),
    "atan2f": (math.Atan2Op, 32), "atan2": (math.Atan2Op, 0),
    "copysignf": (math.CopySignOp, 32), "copysign": (math.CopySignOp, 0),
    "fminf": (arith.MinnumfOp, 32), "fmin": (arith.MinnumfOp, 0),
    "fmaxf": (arith.MaxnumfOp, 32), "fmax": (arith.MaxnumfOp, 0),
    "__fdividef": (arith.DivfOp, 32),
    "fmodf": (RemFOp, 32), "fmod": (RemFOp, 0),
}  # fmt: skip

MATH_TERNARY: dict[str, tuple[type, int]] = {"fmaf": (math.FmaOp, 32), "fma": (math.FmaOp, 0)}

# Built-in variables: name -> the gpu op that reads one dimension of it.
ID_VARS = ("threadIdx", "blockIdx", "blockDim", "gridDim")
