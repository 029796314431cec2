"""CUDA built-in functions: synchronisation, atomics, warp intrinsics, integer
intrinsics, vector constructors, half conversions and cooperative groups.

Each maps onto upstream ops where they exist (``gpu.barrier``, ``memref.atomic_rmw``,
``math.ctpop``/``ctlz``/``cttz``) and onto the ``xpu`` dialect otherwise
(``xpu.shuffle``, ``xpu.vote``, ``xpu.active_mask``, ``xpu.atomic_cas``).
``__syncthreads_count/and/or`` are a shared counter between barriers, so every target
that has barriers and atomics has them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lark import Tree
from xdsl.dialects import arith, gpu, math, memref, scf
from xdsl.dialects.builtin import IntegerAttr, IntegerType, i64
from xdsl.ir import Block, Region, SSAValue

from xpuc.dialects.gpu_ext import PrintfOp
from xpuc.dialects.xpu import (
    AtomicCASOp,
    FenceOp,
    LaneMaskOp,
    ShuffleOp,
    VoteOp,
    WarpSyncOp,
)
from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.decls import CG_BLOCK, cg_tile
from xpuc.frontends.cuda.values import LValue, Val

if TYPE_CHECKING:
    from xpuc.frontends.cuda.lower import FunctionLowering

Handler = Callable[["FunctionLowering", Tree, str, list], Val]
INTRINSICS: dict[str, Handler] = {}

# upstream arith::AtomicRMWKind numbering
_RMW = {"addf": 0, "addi": 1, "assign": 2, "maxs": 4, "maxu": 5, "mins": 7, "minu": 8,
        "ori": 11, "andi": 12, "xori": 15, "maxnumf": 13, "minnumf": 14}  # fmt: skip


def _rmw(kind: str, value: SSAValue, place: LValue) -> memref.AtomicRMWOp:
    return memref.AtomicRMWOp.build(
        operands=[value, place.mem, place.idx],
        result_types=[value.type],
        properties={"kind": IntegerAttr(_RMW[kind], i64)},
    )


def intrinsic(*names: str):
    def register(fn: Handler) -> Handler:
        for n in names:
            INTRINSICS[n] = fn
        return fn

    return register


class IntrinsicLowering:
    """Mixin of FunctionLowering: helpers the intrinsics share."""

    def void(self: FunctionLowering) -> Val:
        return Val(self.const_int(0, ct.INT).v, ct.VOID)

    def arg_as(self: FunctionLowering, node: Tree, t: ct.CType) -> Val:
        return self.convert(self.scalar(node), t, node)

    def pointer_arg(self: FunctionLowering, node: Tree) -> LValue:
        p = self.scalar(node)
        if not p.t.is_ptr:
            raise self.error(node, f"expected a pointer, got '{p.t}'")
        return self.element(p, 0)

    def linear_tid_is_zero(self: FunctionLowering) -> SSAValue:
        zero = self.const_int(0, ct.UINT).v
        conds = [self.emit(arith.CmpiOp(self.id_value("threadIdx", d).v, zero, "eq")).results[0]
                 for d in "xyz"]  # fmt: skip
        c = self.emit(arith.AndIOp(conds[0], conds[1])).results[0]
        return self.emit(arith.AndIOp(c, conds[2])).results[0]

    def block_threads(self: FunctionLowering) -> SSAValue:
        x, y, z = (self.id_value("blockDim", d).v for d in "xyz")
        return self.emit(arith.MuliOp(self.emit(arith.MuliOp(x, y)).results[0], z)).results[0]

    def then(self: FunctionLowering, cond: SSAValue, fn) -> None:
        blk = Block()
        saved, self.block = self.block, blk
        fn()
        self.emit(scf.YieldOp())
        self.block = saved
        self.emit(scf.IfOp(cond, [], Region(blk)))

    def shuffle(
        self: FunctionLowering, mode: str, val: Val, off: Val, width: Val, mask: Val
    ) -> Val:
        if not val.t.is_arith:
            raise self.error_here(f"cannot shuffle a value of type '{val.t}'")
        t = ct.promote(val.t) if val.t.is_int else val.t
        v = self.convert(val, t, None)
        op = self.emit(ShuffleOp(mode, v.v, off.v, width.v, mask.v))
        return Val(op.results[0], t)

    def builtin_template_call(self: FunctionLowering, node, name: str, targs, args) -> Val:
        if name == "tiled_partition":
            if len(targs) != 1 or not isinstance(targs[0], int):
                raise self.error(node, "tiled_partition takes one integer template argument")
            if targs[0] not in (1, 2, 4, 8, 16, 32):
                raise self.error(node, "tiled_partition size must be a power of two up to 32")
            return Val(None, cg_tile(targs[0]))
        raise self.error(node, f"unknown function template '{name}'")

    def method_call(self: FunctionLowering, node: Tree, callee: Tree, args: list) -> Val:
        g = self.rvalue(callee.children[0])
        m = str(callee.children[-1])
        if g.t.kind != "cg":
            raise self.error(callee.children[-1], f"'{g.t}' has no member function '{m}'")
        if m == "sync":
            if g.t == CG_BLOCK:
                return _sync(self, node, m, [])
            self.emit(WarpSyncOp(self.const_int(-1, ct.UINT).v))
            return self.void()
        if g.t == CG_BLOCK:
            if m == "thread_rank":
                return Val(self.linear_tid(), ct.UINT)
            if m in ("size", "num_threads"):
                return Val(self.block_threads(), ct.UINT)
            if m in ("group_index", "thread_index", "group_dim", "dim_threads"):
                var = {"group_index": "blockIdx", "thread_index": "threadIdx"}.get(m, "blockDim")
                return self.expr_name(Tree("name", [var]))
            raise self.error(callee.children[-1], f"thread_block has no member function '{m}'")
        n = g.t.count
        nv = self.const_int(n, ct.UINT).v
        if m == "thread_rank":
            return Val(self.emit(arith.RemUIOp(self.linear_tid(), nv)).results[0], ct.UINT)
        if m in ("size", "num_threads"):
            return Val(nv, ct.UINT)
        if m == "meta_group_rank":
            return Val(self.emit(arith.DivUIOp(self.linear_tid(), nv)).results[0], ct.UINT)
        if m == "meta_group_size":
            total = self.emit(arith.AddiOp(self.block_threads(), self.const_int(n - 1, ct.UINT).v))
            return Val(self.emit(arith.DivUIOp(total, nv)).results[0], ct.UINT)
        full = self.const_int(-1, ct.UINT)
        width = self.const_int(n, ct.INT)
        if m in ("shfl", "shfl_up", "shfl_down", "shfl_xor"):
            self.check_args(node, m, args, 2)
            mode = {"shfl": "idx", "shfl_up": "up", "shfl_down": "down", "shfl_xor": "xor"}[m]
            return self.shuffle(mode, self.scalar(args[0]), self.arg_as(args[1], ct.INT),
                                width, full)  # fmt: skip
        if m in ("any", "all", "ballot"):
            self.check_args(node, m, args, 1)
            pred = self.truth(self.scalar(args[0]), args[0])
            return self.tile_vote(m, pred.v, n)
        raise self.error(callee.children[-1], f"thread_block_tile has no member function '{m}'")

    def tile_vote(self: FunctionLowering, mode: str, pred: SSAValue, n: int) -> Val:
        """A vote over the ``n`` lanes of this thread's tile, from a whole-warp ballot."""
        full = self.const_int(-1, ct.UINT).v
        votes = self.emit(VoteOp("ballot", pred, full)).results[0]
        lane = self.emit(arith.RemUIOp(self.linear_tid(), self.const_int(32, ct.UINT).v))
        base = self.emit(
            arith.SubiOp(lane, self.emit(arith.RemUIOp(lane, self.const_int(n, ct.UINT).v)))
        )
        ones = self.const_int((1 << n) - 1, ct.UINT).v
        mine = self.emit(arith.AndIOp(self.emit(arith.ShRUIOp(votes, base)), ones)).results[0]
        if mode == "ballot":
            return Val(mine, ct.UINT)
        if mode == "any":
            ne = self.emit(arith.CmpiOp(mine, self.const_int(0, ct.UINT).v, "ne")).results[0]
            return Val(ne, ct.BOOL)
        active = self.emit(LaneMaskOp()).results[0]
        live = self.emit(arith.AndIOp(self.emit(arith.ShRUIOp(active, base)), ones)).results[0]
        return Val(self.emit(arith.CmpiOp(mine, live, "eq")).results[0], ct.BOOL)

    def linear_tid(self: FunctionLowering) -> SSAValue:
        x, y, z = (self.id_value("threadIdx", d).v for d in "xyz")
        bx, by = (self.id_value("blockDim", d).v for d in "xy")
        r = self.emit(arith.AddiOp(self.emit(arith.MuliOp(z, by)).results[0], y)).results[0]
        return self.emit(arith.AddiOp(self.emit(arith.MuliOp(r, bx)).results[0], x)).results[0]


# ---- synchronisation
@intrinsic("__syncthreads", "sync", "__barrier_sync")
def _sync(fl: FunctionLowering, node, name, args) -> Val:
    for a in args:
        v = fl.rvalue(a)
        if v.t.kind != "cg":
            raise fl.error(a, f"'{name}' expects a thread group")
    fl.emit(gpu.BarrierOp())
    return fl.void()


@intrinsic("__syncthreads_count", "__syncthreads_and", "__syncthreads_or")
def _sync_count(fl: FunctionLowering, node, name, args) -> Val:
    fl.check_args(node, name, args, 1)
    pred = fl.truth(fl.scalar(args[0]), args[0])
    cnt = fl.unit.shared_place(fl, f"__sync_count{len(fl.unit.global_ops)}", ct.INT, False, node)
    fl.emit(gpu.BarrierOp())
    fl.then(fl.linear_tid_is_zero(), lambda: fl.store(cnt, fl.const_int(0, ct.INT), node))
    fl.emit(gpu.BarrierOp())
    one = fl.const_int(1, ct.INT).v

    def add() -> None:
        fl.emit(_rmw("addi", one, cnt))

    fl.then(pred.v, add)
    fl.emit(gpu.BarrierOp())
    n = fl.load(cnt)
    fl.emit(gpu.BarrierOp())
    if name == "__syncthreads_count":
        return n
    if name == "__syncthreads_or":
        ne = fl.emit(arith.CmpiOp(n.v, fl.const_int(0, ct.INT).v, "ne")).results[0]
        return fl.convert(Val(ne, ct.BOOL), ct.INT, node)
    all_t = fl.convert(Val(fl.block_threads(), ct.UINT), ct.INT, node)
    eq = fl.emit(arith.CmpiOp(n.v, all_t.v, "eq")).results[0]
    return fl.convert(Val(eq, ct.BOOL), ct.INT, node)


@intrinsic("__syncwarp")
def _syncwarp(fl: FunctionLowering, node, name, args) -> Val:
    if len(args) > 1:
        raise fl.error(node, f"'{name}' takes 0 or 1 arguments, {len(args)} given")
    mask = fl.arg_as(args[0], ct.UINT) if args else fl.const_int(-1, ct.UINT)
    fl.emit(WarpSyncOp(mask.v))
    return fl.void()


@intrinsic("__threadfence", "__threadfence_block", "__threadfence_system")
def _fence(fl: FunctionLowering, node, name, args) -> Val:
    fl.check_args(node, name, args, 0)
    scope = {"__threadfence": "device", "__threadfence_block": "block"}.get(name, "system")
    fl.emit(FenceOp(scope))
    return fl.void()


@intrinsic("this_thread_block")
def _this_block(fl: FunctionLowering, node, name, args) -> Val:
    return Val(None, CG_BLOCK)


@intrinsic("printf")
def _printf(fl: FunctionLowering, node, name, args) -> Val:
    if not args or not (isinstance(args[0], Tree) and args[0].data == "string_lit"):
        raise fl.error(node, "printf needs a string literal format")
    fmt = "".join(
        str(t)[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        for t in args[0].children
    )
    vals = []
    for a in args[1:]:
        v = fl.scalar(a)
        if v.t.is_ptr:
            raise fl.error(a, "printf of pointers is not supported")
        # C's default argument promotions for variadic calls
        v = fl.convert(v, ct.DOUBLE if v.t.is_float else ct.promote(v.t), a)
        vals.append(v.v)
    fl.emit(PrintfOp(fmt, vals))
    return fl.const_int(0, ct.INT)


# ---- atomics
@intrinsic("atomicAdd", "atomicSub", "atomicExch", "atomicMin", "atomicMax", "atomicAnd",
           "atomicOr", "atomicXor", "atomicAdd_block", "atomicAdd_system")  # fmt: skip
def _atomic(fl: FunctionLowering, node, name, args) -> Val:
    fl.check_args(node, name, args, 2)
    place = fl.pointer_arg(args[0])
    t = place.t
    if not (t.is_int and t.bits in (32, 64) or t.is_float and t.bits in (32, 64)):
        raise fl.error(args[0], f"'{name}' is not defined for '{t}'")
    val = fl.arg_as(args[1], t)
    op = name.split("_")[0][6:].lower()
    if t.is_float:
        kinds = {"add": "addf", "sub": "addf", "exch": "assign", "min": "minnumf",
                 "max": "maxnumf"}  # fmt: skip
    else:
        s = t.signed
        kinds = {"add": "addi", "sub": "addi", "exch": "assign", "and": "andi", "or": "ori",
                 "xor": "xori", "min": "mins" if s else "minu",
                 "max": "maxs" if s else "maxu"}  # fmt: skip
    if op not in kinds:
        raise fl.error(node, f"'{name}' is not defined for '{t}'")
    v = val.v
    if op == "sub":
        neg = arith.NegfOp(v) if t.is_float else arith.SubiOp(fl.const_int(0, t).v, v)
        v = fl.emit(neg).results[0]
    r = fl.emit(_rmw(kinds[op], v, place))
    return Val(r.results[0], t)


@intrinsic("atomicCAS")
def _cas(fl: FunctionLowering, node, name, args) -> Val:
    fl.check_args(node, name, args, 3)
    place = fl.pointer_arg(args[0])
    if not (place.t.is_int and place.t.bits in (32, 64)):
        raise fl.error(args[0], f"'{name}' is not defined for '{place.t}'")
    cmp, val = fl.arg_as(args[1], place.t), fl.arg_as(args[2], place.t)
    return Val(fl.emit(AtomicCASOp(place.mem, place.idx, cmp.v, val.v)).results[0], place.t)


@intrinsic("atomicInc", "atomicDec")
def _incdec(fl: FunctionLowering, node, name, args) -> Val:
    """((old >= val) ? 0 : old + 1) and its decrement, as a compare-and-swap loop."""
    fl.check_args(node, name, args, 2)
    place = fl.pointer_arg(args[0])
    if place.t != ct.UINT:
        raise fl.error(args[0], f"'{name}' is defined for 'unsigned int *' only")
    lim = fl.arg_as(args[1], ct.UINT).v
    before, after = Block(), Block()
    saved, fl.block = fl.block, before
    old = fl.emit(memref.LoadOp.get(place.mem, place.idx)).results[0]
    one, zero = fl.const_int(1, ct.UINT).v, fl.const_int(0, ct.UINT).v
    if name == "atomicInc":
        wrap = fl.emit(arith.CmpiOp(old, lim, "uge")).results[0]
        new = fl.emit(arith.SelectOp(wrap, zero, fl.emit(arith.AddiOp(old, one)))).results[0]
    else:
        z = fl.emit(arith.CmpiOp(old, zero, "eq")).results[0]
        big = fl.emit(arith.CmpiOp(old, lim, "ugt")).results[0]
        wrap = fl.emit(arith.OrIOp(z, big)).results[0]
        new = fl.emit(arith.SelectOp(wrap, lim, fl.emit(arith.SubiOp(old, one)))).results[0]
    prev = fl.emit(AtomicCASOp(place.mem, place.idx, old, new)).results[0]
    again = fl.emit(arith.CmpiOp(prev, old, "ne")).results[0]
    fl.emit(scf.ConditionOp(again, prev))
    after.insert_arg(ct.UINT.ir(), 0)
    fl.block = after
    fl.emit(scf.YieldOp())
    fl.block = saved
    w = fl.emit(scf.WhileOp([], [ct.UINT.ir()], Region(before), Region(after)))
    return Val(w.results[0], ct.UINT)


# ---- warp intrinsics
@intrinsic("__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync")
def _shfl(fl: FunctionLowering, node, name, args) -> Val:
    if len(args) not in (3, 4):
        raise fl.error(node, f"'{name}' takes 3 or 4 arguments, {len(args)} given")
    mode = {"__shfl_sync": "idx", "__shfl_up_sync": "up", "__shfl_down_sync": "down",
            "__shfl_xor_sync": "xor"}[name]  # fmt: skip
    mask = fl.arg_as(args[0], ct.UINT)
    width = fl.arg_as(args[3], ct.INT) if len(args) == 4 else fl.const_int(32, ct.INT)
    return fl.shuffle(mode, fl.scalar(args[1]), fl.arg_as(args[2], ct.INT), width, mask)


@intrinsic("__ballot_sync", "__any_sync", "__all_sync")
def _vote(fl: FunctionLowering, node, name, args) -> Val:
    fl.check_args(node, name, args, 2)
    mask = fl.arg_as(args[0], ct.UINT)
    pred = fl.truth(fl.scalar(args[1]), args[1])
    mode = name[2:].split("_")[0]
    r = fl.emit(VoteOp(mode, pred.v, mask.v)).results[0]
    if mode == "ballot":
        return Val(r, ct.UINT)
    return fl.convert(Val(r, ct.BOOL), ct.INT, node)


@intrinsic("__activemask")
def _activemask(fl: FunctionLowering, node, name, args) -> Val:
    fl.check_args(node, name, args, 0)
    return Val(fl.emit(LaneMaskOp()).results[0], ct.UINT)


# ---- integer intrinsics
@intrinsic("__popc", "__popcll", "__clz", "__clzll", "__ffs", "__ffsll")
def _bits(fl: FunctionLowering, node, name, args) -> Val:
    fl.check_args(node, name, args, 1)
    t = ct.ULONG if name.endswith("ll") else ct.UINT
    x = fl.arg_as(args[0], t).v
    base = name.removesuffix("ll")
    if base == "__popc":
        r = fl.emit(math.CtPopOp(x)).results[0]
    elif base == "__clz":
        r = fl.emit(math.CountLeadingZerosOp(x)).results[0]
    else:
        tz = fl.emit(math.CountTrailingZerosOp(x)).results[0]
        plus = fl.emit(arith.AddiOp(tz, fl.const_int(1, t).v)).results[0]
        is0 = fl.emit(arith.CmpiOp(x, fl.const_int(0, t).v, "eq")).results[0]
        r = fl.emit(arith.SelectOp(is0, fl.const_int(0, t).v, plus)).results[0]
    return fl.convert(Val(r, t), ct.INT, node)


@intrinsic("__brev", "__brevll")
def _brev(fl: FunctionLowering, node, name, args) -> Val:
    fl.check_args(node, name, args, 1)
    t = ct.ULONG if name.endswith("ll") else ct.UINT
    x = fl.arg_as(args[0], t).v
    masks = [0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F,
             0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0x00000000FFFFFFFF]  # fmt: skip
    for k, m in enumerate(masks[: 5 if t.bits == 32 else 6]):
        sh, mk = fl.const_int(1 << k, t).v, fl.const_int(m, t).v
        lo = fl.emit(arith.ShLIOp(fl.emit(arith.AndIOp(x, mk)), sh)).results[0]
        hi = fl.emit(arith.AndIOp(fl.emit(arith.ShRUIOp(x, sh)), mk)).results[0]
        x = fl.emit(arith.OrIOp(lo, hi)).results[0]
    return Val(x, t)


@intrinsic("__mulhi", "__umulhi", "__mul64hi", "__umul64hi", "__mul24", "__umul24")
def _mul(fl: FunctionLowering, node, name, args) -> Val:
    fl.check_args(node, name, args, 2)
    signed = not name.startswith("__u")
    wide = "64" in name
    t = (ct.LONG if signed else ct.ULONG) if wide else (ct.INT if signed else ct.UINT)
    a, b = fl.arg_as(args[0], t).v, fl.arg_as(args[1], t).v
    if name.endswith("24"):
        sh = fl.const_int(8, t).v
        shr = arith.ShRSIOp if signed else arith.ShRUIOp
        a, b = (fl.emit(shr(fl.emit(arith.ShLIOp(v, sh)), sh)).results[0] for v in (a, b))
        return Val(fl.emit(arith.MuliOp(a, b)).results[0], t)
    w = IntegerType(t.bits * 2)
    ext = arith.ExtSIOp if signed else arith.ExtUIOp
    p = fl.emit(arith.MuliOp(fl.emit(ext(a, w)), fl.emit(ext(b, w)))).results[0]
    c = fl.emit(arith.ConstantOp(IntegerAttr(t.bits, w))).results[0]
    hi = fl.emit(arith.ShRUIOp(p, c)).results[0]
    return Val(fl.emit(arith.TruncIOp(hi, t.ir())).results[0], t)


# ---- vectors and half precision
def _make_vector(fl: FunctionLowering, node, name, args) -> Val:
    t = ct.vector_type(name[5:])
    assert t is not None
    fl.check_args(node, name, args, len(t.fields))
    return Val(None, t, parts=[fl.arg_as(a, f) for a, (_, f) in zip(args, t.fields, strict=True)])


for _v in ("char", "uchar", "short", "ushort", "int", "uint", "long", "ulong", "longlong",
           "ulonglong", "float", "double"):  # fmt: skip
    for _n in "1234":
        INTRINSICS[f"make_{_v}{_n}"] = _make_vector


@intrinsic("__float2half", "__float2half_rn", "__half2float", "__int2float_rn", "__float2int_rz",
           "__double2float_rn", "__float2int_rn", "__int_as_float", "__float_as_int",
           "__uint_as_float", "__float_as_uint")  # fmt: skip
def _convert(fl: FunctionLowering, node, name, args) -> Val:
    fl.check_args(node, name, args, 1)
    v = fl.scalar(args[0])
    if "_as_" in name:
        to = ct.FLOAT if name.endswith("float") else ct.UINT if "uint" in name else ct.INT
        fr = ct.FLOAT if to != ct.FLOAT else (ct.UINT if "uint" in name else ct.INT)
        v = fl.convert(v, fr, node)
        return Val(fl.emit(arith.BitcastOp(v.v, to.ir())).results[0], to)
    to = {"half": ct.HALF, "float": ct.FLOAT, "int": ct.INT}[name[2:].split("2")[1].split("_")[0]]
    if name == "__float2int_rn":
        v = Val(fl.emit(math.RoundEvenOp(fl.convert(v, ct.FLOAT, node).v)).results[0], ct.FLOAT)
    return fl.convert(v, to, node)


__all__ = ["INTRINSICS", "IntrinsicLowering"]
