"""The f32 math library from NVVM's approximate intrinsics, for when libdevice is absent.

These are the instructions CUDA's fast-math functions (``__sinf``, ``__expf``,
``__powf``, ``-use_fast_math``) compile to: ``sin/cos/ex2/lg2/tanh.approx.f32``, with
the identities ``e^x = 2^(x log2 e)``, ``ln x = log2 x · ln 2``, ``x^y = 2^(y log2 x)``.
Their error is that of the fast-math functions (``sin.approx`` loses accuracy far from
``[-π, π]``, ``pow`` of a negative base is NaN).  Double precision and the functions
without an instruction (``erf``, ``atan``, ``cbrt``, ...) need libdevice: a
``TargetError`` names the function.
"""

from __future__ import annotations

import math

import llvmlite.ir as ir

from xpuc.compiler.diagnostics import TargetError

F32 = ir.FloatType()
LOG2E = math.log2(math.e)
LN2 = math.log(2.0)
LOG10_2 = math.log10(2.0)


def _nvvm(t, name: str, x: ir.Value) -> ir.Value:
    return t.call_decl(f"llvm.nvvm.{name}", F32, [F32], [x])


def _c(v: float) -> ir.Constant:
    return ir.Constant(F32, v)


def _exp(t, x: ir.Value, scale: float = 1.0) -> ir.Value:
    """``e^(scale·x)`` as ``ex2.approx(x · scale · log2 e)``."""
    return _nvvm(t, "ex2.approx.f32", t.b.fmul(x, _c(scale * LOG2E)))


def _tanh(t, x: ir.Value, sm: int) -> ir.Value:
    if sm >= 80:  # tanh.approx.f32 needs sm_75 and PTX 7.0; nvptx:sm_75 emits PTX 6.3
        return _nvvm(t, "tanh.approx.f32", x)
    # 1 - 2 / (e^2x + 1): -1 and 1 where e^2x under- or overflows
    return t.b.fsub(_c(1.0), t.b.fdiv(_c(2.0), t.b.fadd(_exp(t, x, 2.0), _c(1.0))))


def _sinh_cosh(t, x: ir.Value, sign: float) -> ir.Value:
    e = _exp(t, x)
    return t.b.fmul(t.b.fadd(e, t.b.fmul(_c(sign), t.b.fdiv(_c(1.0), e))), _c(0.5))


_LOG_SCALE = {"log": LN2, "log2": 1.0, "log10": LOG10_2}


def nvvm_math(t, name: str, args: list[ir.Value], sm: int) -> ir.Value:
    """``name`` (the C library's, for ``double``: ``sin``, ``pow``) of ``args`` through
    NVVM intrinsics.  Raises TargetError for double precision and functions that have
    no instruction."""
    if args[0].type != F32:
        raise TargetError(
            f"{name} on {args[0].type} needs libdevice (NVIDIA's CUDA math library), which was "
            "not found; without it only float sin, cos, tan, exp, exp2, log, log2, log10, pow, "
            "tanh, sinh and cosh compile (to NVVM's approximate instructions)"
        )
    b, x = t.b, args[0]
    if name in ("sin", "cos"):
        return _nvvm(t, f"{name}.approx.f", x)
    if name == "tan":
        return b.fdiv(_nvvm(t, "sin.approx.f", x), _nvvm(t, "cos.approx.f", x))
    if name == "exp":
        return _exp(t, x)
    if name == "exp2":
        return _nvvm(t, "ex2.approx.f32", x)
    if name in _LOG_SCALE:
        lg = _nvvm(t, "lg2.approx.f", x)
        return lg if name == "log2" else b.fmul(lg, _c(_LOG_SCALE[name]))
    if name == "pow":
        return _nvvm(t, "ex2.approx.f32", b.fmul(args[1], _nvvm(t, "lg2.approx.f", x)))
    if name == "tanh":
        return _tanh(t, x, sm)
    if name in ("sinh", "cosh"):
        return _sinh_cosh(t, x, -1.0 if name == "sinh" else 1.0)
    raise TargetError(
        f"{name}f needs libdevice (NVIDIA's CUDA math library), which was not found (looked "
        "at $XPUC_LIBDEVICE, $CUDA_HOME/nvvm/libdevice, beside ptxas and in the triton wheel); "
        "NVVM has no instruction for it"
    )
