"""The rest of CUDA's math library and load intrinsics, built from ``math``/``arith`` ops.

Functions with a one-op equivalent are tables in ``builtins.py``; these need a few
ops each: ``hypotf``, ``fdimf``, ``exp10f``, ``rintf``, ``__saturatef``, the
classification functions (``isnan``, ``isinf``, ``isfinite``, ``signbit``),
``sincosf`` (results through pointers), the IEEE-rounded ``__f*_rn`` arithmetic and
``__ldg``-style loads (a plain load: caching hints do not change the result).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xdsl.dialects import arith, math

from xpuc.dialects.gpu_ext import PrintfOp
from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.intrinsics import INTRINSICS, intrinsic
from xpuc.frontends.cuda.values import Val

if TYPE_CHECKING:
    from xpuc.frontends.cuda.lower import FunctionLowering


def _float_args(fl: FunctionLowering, node, name: str, args: list, n: int) -> list[Val]:
    """The first ``n`` arguments as float (names ending in f) or double."""
    fl.check_args(node, name, args, max(n, len(args)) if name.startswith("sincos") else n)
    t = ct.FLOAT if name.endswith("f") else ct.DOUBLE
    return [fl.convert(fl.scalar(a), t, node) for a in args[:n]]


def _classified(fl: FunctionLowering, node, name: str, args: list) -> Val:
    """isnan & co. are type-generic: a float stays float, anything else becomes double."""
    fl.check_args(node, name, args, 1)
    v = fl.scalar(args[0])
    return fl.convert(v, v.t if v.t.is_float else ct.DOUBLE, node)


def _emit(fl: FunctionLowering, op) -> object:
    return fl.emit(op).results[0]


@intrinsic("hypotf", "hypot")
def _hypot(fl, node, name, args) -> Val:
    """max * sqrt(1 + (min/max)^2): no overflow or underflow in the squares."""
    x, y = _float_args(fl, node, name, args, 2)
    ax, ay = _emit(fl, math.AbsFOp(x.v)), _emit(fl, math.AbsFOp(y.v))
    hi, lo = _emit(fl, arith.MaxnumfOp(ax, ay)), _emit(fl, arith.MinnumfOp(ax, ay))
    zero, one = fl.const_float(0.0, x.t).v, fl.const_float(1.0, x.t).v
    is0 = _emit(fl, arith.CmpfOp(hi, zero, "oeq"))
    r = _emit(fl, arith.DivfOp(lo, _emit(fl, arith.SelectOp(is0, one, hi))))
    root = _emit(fl, math.SqrtOp(_emit(fl, arith.AddfOp(one, _emit(fl, arith.MulfOp(r, r))))))
    return Val(_emit(fl, arith.MulfOp(hi, root)), x.t)


@intrinsic("fdimf", "fdim")
def _fdim(fl, node, name, args) -> Val:
    x, y = _float_args(fl, node, name, args, 2)
    d = _emit(fl, arith.SubfOp(x.v, y.v))
    return Val(_emit(fl, arith.MaxnumfOp(d, fl.const_float(0.0, x.t).v)), x.t)


@intrinsic("exp10f", "exp10")
def _exp10(fl, node, name, args) -> Val:
    (x,) = _float_args(fl, node, name, args, 1)
    return Val(_emit(fl, math.PowFOp(fl.const_float(10.0, x.t).v, x.v)), x.t)


@intrinsic("rintf", "rint", "nearbyintf", "nearbyint")
def _rint(fl, node, name, args) -> Val:
    (x,) = _float_args(fl, node, name, args, 1)
    return Val(_emit(fl, math.RoundEvenOp(x.v)), x.t)


@intrinsic("lrintf", "lrint", "llrintf", "llrint", "lroundf", "lround", "llroundf", "llround")
def _to_long(fl, node, name, args) -> Val:
    """Round to an integer (``long``): to even for rint, away from zero for round."""
    (x,) = _float_args(fl, node, name, args, 1)
    op = math.RoundEvenOp if "rint" in name else math.RoundOp
    return fl.convert(Val(_emit(fl, op(x.v)), x.t), ct.LONG, node)


@intrinsic("__saturatef")
def _saturate(fl, node, name, args) -> Val:
    (x,) = _float_args(fl, node, name, args, 1)
    lo = _emit(fl, arith.MaxnumfOp(x.v, fl.const_float(0.0, x.t).v))
    return Val(_emit(fl, arith.MinnumfOp(lo, fl.const_float(1.0, x.t).v)), x.t)


@intrinsic("isnan", "isinf", "isfinite", "signbit", "__isnanf", "__isinff", "__finitef")
def _classify(fl, node, name, args) -> Val:
    base = {"__isnanf": "isnan", "__isinff": "isinf", "__finitef": "isfinite"}.get(name, name)
    x = _classified(fl, node, name, args)
    if base == "isnan":
        r = _emit(fl, arith.CmpfOp(x.v, x.v, "uno"))
    elif base == "signbit":
        it = ct.INT if x.t.bits == 32 else ct.LONG
        bits = _emit(fl, arith.BitcastOp(x.v, it.ir()))
        r = _emit(fl, arith.CmpiOp(bits, fl.const_int(0, it).v, "slt"))
    else:
        inf = fl.const_float(float("inf"), x.t).v
        a = _emit(fl, math.AbsFOp(x.v))
        r = _emit(fl, arith.CmpfOp(a, inf, "oeq" if base == "isinf" else "olt"))
    return fl.convert(Val(r, ct.BOOL), ct.INT, node)


@intrinsic("sincosf", "sincos", "__sincosf")
def _sincos(fl, node, name, args) -> Val:
    fl.check_args(node, name, args, 3)
    (x,) = _float_args(fl, node, name, args, 1)
    for arg, op in ((args[1], math.SinOp), (args[2], math.CosOp)):
        fl.store(fl.pointer_arg(arg), Val(_emit(fl, op(x.v)), x.t), arg)
    return fl.void()


_RN = {"__fadd_rn": arith.AddfOp, "__fsub_rn": arith.SubfOp, "__fmul_rn": arith.MulfOp,
       "__fdiv_rn": arith.DivfOp, "__dadd_rn": arith.AddfOp, "__dsub_rn": arith.SubfOp,
       "__dmul_rn": arith.MulfOp, "__ddiv_rn": arith.DivfOp}  # fmt: skip


def _rounded(fl, node, name, args) -> Val:
    t = ct.FLOAT if name.startswith("__f") else ct.DOUBLE
    fl.check_args(node, name, args, 2)
    a, b = (fl.arg_as(x, t) for x in args)
    return Val(_emit(fl, _RN[name](a.v, b.v)), t)


for _n in _RN:
    INTRINSICS[_n] = _rounded


@intrinsic("__frcp_rn", "__drcp_rn", "__fsqrt_rn", "__dsqrt_rn", "__fmaf_rn", "__fma_rn")
def _rn_unary(fl, node, name, args) -> Val:
    t = ct.FLOAT if name.startswith("__f") else ct.DOUBLE
    if "fma" in name:
        fl.check_args(node, name, args, 3)
        a, b, c = (fl.arg_as(x, t) for x in args)
        return Val(_emit(fl, math.FmaOp(a.v, b.v, c.v)), t)
    fl.check_args(node, name, args, 1)
    x = fl.arg_as(args[0], t)
    if "sqrt" in name:
        return Val(_emit(fl, math.SqrtOp(x.v)), t)
    return Val(_emit(fl, arith.DivfOp(fl.const_float(1.0, t).v, x.v)), t)


@intrinsic("__ldg", "__ldca", "__ldcg", "__ldcs", "__ldlu", "__ldcv")
def _ldg(fl, node, name, args) -> Val:
    fl.check_args(node, name, args, 1)
    return fl.load(fl.pointer_arg(args[0]))


__all__ = ["INTRINSICS"]


@intrinsic("__builtin_inff", "__builtin_inf", "__builtin_huge_valf", "__builtin_huge_val")
def _inf(fl, node, name, args) -> Val:
    fl.check_args(node, name, args, 0)
    return fl.const_float(float("inf"), ct.FLOAT if name.endswith("f") else ct.DOUBLE)


@intrinsic("__builtin_nanf", "__builtin_nan")
def _nan(fl, node, name, args) -> Val:
    fl.check_args(node, name, args, 1)
    return fl.const_float(float("nan"), ct.FLOAT if name.endswith("f") else ct.DOUBLE)


@intrinsic("__xpuc_assert")
def _assert(fl, node, name, args) -> Val:
    """``assert(e)``: when ``e`` is false, print the failure as CUDA's device assert does."""
    cond, text, file, line = args
    ok = fl.truth(fl.scalar(cond), cond)
    words = [str(t)[1:-1] for t in text.children] + [str(t)[1:-1] for t in file.children]
    where = f"{words[-1]}:{fl.env.const_eval(line)}".replace("%", "%%")
    expr = words[0].replace("%", "%%")
    message = f"{where}: block [%d,%d,%d], thread [%d,%d,%d] Assertion `{expr}` failed.\n"
    one = fl.const_int(1, ct.BOOL).v
    failed = fl.emit(arith.XOrIOp(ok.v, one)).results[0]

    def report() -> None:
        ids = [fl.convert(fl.id_value(v, d), ct.INT, node).v
               for v in ("blockIdx", "threadIdx") for d in "xyz"]  # fmt: skip
        fl.emit(PrintfOp(message, ids))

    fl.then(failed, report)
    return fl.void()


_BITCASTS = {
    "__double_as_longlong": (ct.DOUBLE, ct.LONG), "__longlong_as_double": (ct.LONG, ct.DOUBLE),
    "__double_as_ulonglong": (ct.DOUBLE, ct.ULONG), "__ulonglong_as_double": (ct.ULONG, ct.DOUBLE),
    "__half_as_short": (ct.HALF, ct.SHORT), "__short_as_half": (ct.SHORT, ct.HALF),
    "__half_as_ushort": (ct.HALF, ct.USHORT), "__ushort_as_half": (ct.USHORT, ct.HALF),
}  # fmt: skip


def _bitcast(fl, node, name, args) -> Val:
    fl.check_args(node, name, args, 1)
    fr, to = _BITCASTS[name]
    v = fl.arg_as(args[0], fr)
    return Val(_emit(fl, arith.BitcastOp(v.v, to.ir())), to)


for _n in _BITCASTS:
    INTRINSICS[_n] = _bitcast


_REDUCE = {"__reduce_add_sync": arith.AddiOp, "__reduce_min_sync": None,
           "__reduce_max_sync": None, "__reduce_and_sync": arith.AndIOp,
           "__reduce_or_sync": arith.OrIOp, "__reduce_xor_sync": arith.XOrIOp}  # fmt: skip


def _warp_reduce(fl, node, name, args) -> Val:
    """``__reduce_*_sync`` (sm_80): a butterfly of xor shuffles over the warp."""
    fl.check_args(node, name, args, 2)
    mask = fl.arg_as(args[0], ct.UINT)
    v = fl.scalar(args[1])
    t = ct.UINT if v.t == ct.UINT else ct.INT
    v = fl.convert(v, t, node)
    width = fl.const_int(32, ct.INT)
    for k in (16, 8, 4, 2, 1):
        other = fl.shuffle("xor", v, fl.const_int(k, ct.INT), width, mask)
        cls = _REDUCE[name]
        if cls is None:
            low = "min" in name
            cls = (arith.MinSIOp if low else arith.MaxSIOp) if t.signed else (
                arith.MinUIOp if low else arith.MaxUIOp)  # fmt: skip
        v = Val(_emit(fl, cls(v.v, other.v)), t)
    return v


for _n in _REDUCE:
    INTRINSICS[_n] = _warp_reduce


@intrinsic("this_grid", "this_multi_grid", "grid_group")
def _grid(fl, node, name, args) -> Val:
    raise fl.error(node, "grid-wide cooperative groups (this_grid) are not supported")
