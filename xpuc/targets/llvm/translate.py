"""Translate lowered shared IR (func/gpu.func, arith, math, memref, cf) to LLVM IR.

This is xpuc's ``mlir-translate --mlir-to-llvmir``: one walk over functions whose
structured control flow has already been lowered to ``cf`` branches.  A memref is
passed and held as a bare pointer (MLIR's "bare pointer" calling convention): every
memref xpuc creates has unit stride and zero offset, so the pointer is all a kernel
needs, and a kernel's ABI is exactly its CUDA signature.

What differs per target (thread ids, barriers, the math library, address spaces,
kernel attributes) comes from a ``LLVMHooks`` object that the target supplies.
xDSL's own ``xdsl.backend.llvm`` only translates the ``llvm`` dialect and xDSL 0.74
has no arith/memref/math-to-llvm conversions, hence this translator.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import llvmlite.ir as ir
from xdsl.dialects import arith, builtin, cf, func, gpu, math, memref
from xdsl.dialects.builtin import (
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from xpuc.compiler.diagnostics import TargetError
from xpuc.dialects.arith_ext import IndexCastUIOp, RemFOp
from xpuc.dialects.gpu_ext import PrintfOp
from xpuc.dialects.xpu import FenceOp
from xpuc.targets.llvm.memory import MEMORY_HANDLERS, MemoryHooks, printf

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)

_INT_BIN: dict[type, str] = {
    arith.AddiOp: "add", arith.SubiOp: "sub", arith.MuliOp: "mul", arith.DivSIOp: "sdiv",
    arith.DivUIOp: "udiv", arith.RemSIOp: "srem", arith.RemUIOp: "urem", arith.AndIOp: "and_",
    arith.OrIOp: "or_", arith.XOrIOp: "xor", arith.ShLIOp: "shl", arith.ShRSIOp: "ashr",
    arith.ShRUIOp: "lshr",
}  # fmt: skip
_FLOAT_BIN: dict[type, str] = {
    arith.AddfOp: "fadd", arith.SubfOp: "fsub", arith.MulfOp: "fmul", arith.DivfOp: "fdiv",
    RemFOp: "frem",
}  # fmt: skip
_CASTS: dict[type, str] = {
    arith.ExtSIOp: "sext", arith.ExtUIOp: "zext", arith.TruncIOp: "trunc",
    arith.SIToFPOp: "sitofp", arith.UIToFPOp: "uitofp", arith.FPToSIOp: "fptosi",
    arith.FPToUIOp: "fptoui", arith.ExtFOp: "fpext", arith.TruncFOp: "fptrunc",
    arith.BitcastOp: "bitcast",
}  # fmt: skip
_ICMP = {
    "eq": ("==", True), "ne": ("!=", True), "slt": ("<", True), "sle": ("<=", True),
    "sgt": (">", True), "sge": (">=", True), "ult": ("<", False), "ule": ("<=", False),
    "ugt": (">", False), "uge": (">=", False),
}  # fmt: skip
_FCMP_NAMES = ["false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord",
               "ueq", "ugt", "uge", "ult", "ule", "une", "uno", "true"]  # fmt: skip
_ICMP_NAMES = ["eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge"]
_FCMP_SYM = {"eq": "==", "gt": ">", "ge": ">=", "lt": "<", "le": "<=", "ne": "!="}

# math op -> LLVM intrinsic base name (suffixed with .f32/.f64)
MATH_INTRINSICS: dict[type, str] = {
    math.SqrtOp: "llvm.sqrt", math.ExpOp: "llvm.exp", math.Exp2Op: "llvm.exp2",
    math.LogOp: "llvm.log", math.Log2Op: "llvm.log2", math.Log10Op: "llvm.log10",
    math.SinOp: "llvm.sin", math.CosOp: "llvm.cos", math.TanOp: "llvm.tan",
    math.AbsFOp: "llvm.fabs", math.FloorOp: "llvm.floor", math.CeilOp: "llvm.ceil",
    math.RoundOp: "llvm.round", math.TruncOp: "llvm.trunc", math.RoundEvenOp: "llvm.roundeven",
    math.PowFOp: "llvm.pow", math.FmaOp: "llvm.fma", math.CopySignOp: "llvm.copysign",
    math.TanhOp: "llvm.tanh", math.SinhOp: "llvm.sinh", math.CoshOp: "llvm.cosh",
    math.AsinOp: "llvm.asin", math.AcosOp: "llvm.acos", math.AtanOp: "llvm.atan",
    math.Atan2Op: "llvm.atan2",
    arith.MinnumfOp: "llvm.minnum", arith.MaxnumfOp: "llvm.maxnum",
    arith.MinimumfOp: "llvm.minimum", arith.MaximumfOp: "llvm.maximum",
}  # fmt: skip
# math ops with no LLVM intrinsic: C library names (float variant gets an "f").
MATH_LIBCALLS: dict[type, str] = {
    math.ErfOp: "erf", math.ExpM1Op: "expm1", math.Log1pOp: "log1p", math.CbrtOp: "cbrt",
    math.AsinhOp: "asinh", math.AcoshOp: "acosh", math.AtanhOp: "atanh",
}  # fmt: skip


class LLVMHooks(MemoryHooks):
    """What a target decides in the translation.  The defaults suit a host CPU."""

    def pointer_type(self, memory_space: Attribute) -> ir.PointerType:
        return ir.PointerType()

    def int_binary(self, t: Translator, name: str, lhs: ir.Value, rhs: ir.Value) -> ir.Value:
        return getattr(t.b, name)(lhs, rhs)  # name: an IRBuilder method (add, sdiv, ...)

    def math(self, t: Translator, op: Operation, args: list[ir.Value]) -> ir.Value:
        ty = args[0].type
        suffix = "f32" if ty == ir.FloatType() else "f64"
        if type(op) in MATH_INTRINSICS:
            name = f"{MATH_INTRINSICS[type(op)]}.{suffix}"
            return t.call_decl(name, ty, [ty] * len(args), args)
        if isinstance(op, math.RsqrtOp):
            one = ir.Constant(ty, 1.0)
            sqrt = t.call_decl(f"llvm.sqrt.{suffix}", ty, [ty], args)
            return t.b.fdiv(one, sqrt)
        if type(op) in MATH_LIBCALLS:
            base = MATH_LIBCALLS[type(op)]
            name = base + ("f" if suffix == "f32" else "")
            return t.call_decl(name, ty, [ty] * len(args), args)
        raise TargetError(f"{op.name} is not supported by this target")

    def special(self, t: Translator, op: Operation) -> list[ir.Value] | None:
        """Target ops (gpu ids, barriers, xpu ops).  None: not handled."""
        if isinstance(op, PrintfOp):
            return printf(t, op)
        if isinstance(op, FenceOp):
            t.b.fence("seq_cst")
            return []
        return None

    def function(self, t: Translator, fn: ir.Function, op: Operation) -> None:
        """Attributes, calling convention and linkage of a translated function."""


class Translator:
    def marker(self, kind: str, n) -> ir.MDValue:
        """A placeholder node for parallel-loop metadata (see parallel_loop_metadata)."""
        return self.module.add_metadata(
            [ir.MetaDataString(self.module, f"xpuc.{kind}.{n.value.data}")]
        )

    def __init__(self, hooks: LLVMHooks, triple: str, data_layout: str = ""):
        self.hooks = hooks
        self.module = ir.Module(name="xpuc")
        self.module.triple = triple
        if data_layout:
            self.module.data_layout = data_layout
        self.vals: dict[SSAValue, ir.Value] = {}
        self.blocks: dict[Block, ir.Block] = {}
        self.b: ir.IRBuilder = ir.IRBuilder()
        self.fn: ir.Function | None = None

    # ---- types
    def type(self, t: Attribute) -> ir.Type:
        if isinstance(t, IndexType):
            return I64
        if isinstance(t, IntegerType):
            return ir.IntType(t.width.data)
        if isinstance(t, builtin.Float32Type):
            return ir.FloatType()
        if isinstance(t, builtin.Float64Type):
            return ir.DoubleType()
        if isinstance(t, builtin.Float16Type):
            return ir.HalfType()
        if isinstance(t, MemRefType):
            return self.hooks.pointer_type(t.memory_space)
        raise TargetError(f"type {t} has no LLVM equivalent here")

    def call_decl(self, name: str, ret: ir.Type, params: list[ir.Type], args) -> ir.Value:
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ret, params), name=name)
        return self.b.call(fn, args)

    # ---- functions
    def translate(self, module: builtin.ModuleOp) -> ir.Module:
        funcs: list[Operation] = []
        for op in module.walk():
            if isinstance(op, func.FuncOp | gpu.FuncOp):
                funcs.append(op)
            elif isinstance(op, memref.GlobalOp):
                self.global_var(op)
        for op in funcs:
            self.declare(op)
        for op in funcs:
            if op.body.blocks:
                self.define(op)
        return self.module

    def global_var(self, op: memref.GlobalOp) -> None:
        """A ``memref.global``: an array in the address space of its memory space."""
        mt = op.type
        n = 1
        for d in mt.get_shape():
            n *= d
        elem = self.type(mt.element_type)
        aty = ir.ArrayType(elem, n)
        space = self.hooks.pointer_type(mt.memory_space).addrspace
        g = ir.GlobalVariable(self.module, aty, op.sym_name.data, addrspace=space)
        init = op.initial_value
        if isinstance(init, builtin.DenseIntOrFPElementsAttr):
            vals = init.get_values()
            g.initializer = ir.Constant(aty, [ir.Constant(elem, v) for v in vals])
        elif space == 3:
            g.initializer = ir.Constant(aty, ir.Undefined)
        else:
            g.initializer = ir.Constant(aty, None)
        if op.sym_visibility is not None and op.sym_visibility.data == "private":
            g.linkage = "internal"
        if op.constant is not None:
            g.global_constant = True
        g.align = op.alignment.value.data if op.alignment is not None else 16

    def declare(self, op: func.FuncOp | gpu.FuncOp) -> None:
        ft = op.function_type
        rets = [self.type(r) for r in ft.outputs]
        ret = rets[0] if len(rets) == 1 else ir.LiteralStructType(rets) if rets else ir.VoidType()
        fnty = ir.FunctionType(ret, [self.type(i) for i in ft.inputs])
        fn = ir.Function(self.module, fnty, name=op.sym_name.data)
        if "xpu.noalias" in op.attributes:  # __restrict__ pointer parameters
            for k in op.attributes["xpu.noalias"].data:
                fn.args[k.value.data].add_attribute("noalias")
        self.hooks.function(self, fn, op)

    def define(self, op: func.FuncOp | gpu.FuncOp) -> None:
        fn = self.module.get_global(op.sym_name.data)
        self.fn = fn
        self.vals, self.blocks = {}, {}
        for i, blk in enumerate(op.body.blocks):
            self.blocks[blk] = fn.append_basic_block(f"bb{i}")
        for a, la in zip(op.body.blocks[0].args, fn.args, strict=True):
            self.vals[a] = la
        for blk in list(op.body.blocks)[1:]:
            self.b.position_at_end(self.blocks[blk])
            for a in blk.args:
                self.vals[a] = self.b.phi(self.type(a.type))
        for blk in op.body.blocks:
            self.b.position_at_end(self.blocks[blk])
            for o in blk.ops:
                self.op(o)

    def v(self, s: SSAValue) -> ir.Value:
        return self.vals[s]

    def branch_args(self, target: Block, args, src: ir.Block) -> None:
        for a, v in zip(target.args, args, strict=True):
            self.vals[a].add_incoming(self.v(v), src)

    # ---- ops
    def op(self, op: Operation) -> None:
        handler = _HANDLERS.get(type(op))
        if handler is not None:
            result = handler(self, op)
        else:
            result = self.hooks.special(self, op)
            if result is None:
                raise TargetError(f"cannot translate '{op.name}' to LLVM IR for this target")
        if isinstance(result, ir.Value):
            result = [result]
        for r, lv in zip(op.results, result or [], strict=False):
            self.vals[r] = lv

    def address(self, ref: SSAValue, indices) -> ir.Value:
        mt = ref.type
        assert isinstance(mt, MemRefType)
        elem = self.type(mt.element_type)
        base = self.v(ref)
        if not indices:
            return base
        shape = mt.get_shape()
        lin: ir.Value | None = None
        for k, idx in enumerate(indices):
            iv = self.v(idx)
            if lin is None:
                lin = iv
            else:
                if shape[k] < 0:
                    raise TargetError("only the outermost memref dimension may be dynamic")
                lin = self.b.add(self.b.mul(lin, ir.Constant(I64, shape[k])), iv)
        return self.b.gep(base, [lin], inbounds=True, source_etype=elem)


def _constant(t: Translator, op: arith.ConstantOp) -> ir.Value:
    val = op.value
    if isinstance(val, IntegerAttr | FloatAttr):
        return ir.Constant(t.type(op.result.type), val.value.data)
    raise TargetError(f"unsupported constant {val}")


def _int_bin(t: Translator, op) -> ir.Value:
    return t.hooks.int_binary(t, _INT_BIN[type(op)], t.v(op.lhs), t.v(op.rhs))


def _float_bin(t: Translator, op) -> ir.Value:
    return getattr(t.b, _FLOAT_BIN[type(op)])(t.v(op.lhs), t.v(op.rhs))


def _cast(t: Translator, op) -> ir.Value:
    return getattr(t.b, _CASTS[type(op)])(t.v(op.input), t.type(op.result.type))


def _index_cast(t: Translator, op) -> ir.Value:
    src, dst = t.v(op.input), t.type(op.result.type)
    if src.type.width == dst.width:
        return src
    if src.type.width > dst.width:
        return t.b.trunc(src, dst)
    return t.b.zext(src, dst) if isinstance(op, IndexCastUIOp) else t.b.sext(src, dst)


def _cmpi(t: Translator, op: arith.CmpiOp) -> ir.Value:
    sym, signed = _ICMP[_ICMP_NAMES[op.predicate.value.data]]
    fn = t.b.icmp_signed if signed else t.b.icmp_unsigned
    return fn(sym, t.v(op.lhs), t.v(op.rhs))


def _cmpf(t: Translator, op: arith.CmpfOp) -> ir.Value:
    name = _FCMP_NAMES[op.predicate.value.data]
    if name in ("false", "true"):
        return ir.Constant(I1, int(name == "true"))
    if name in ("ord", "uno"):
        return (
            t.b.fcmp_unordered("uno", t.v(op.lhs), t.v(op.rhs))
            if name == "uno"
            else (t.b.fcmp_ordered("ord", t.v(op.lhs), t.v(op.rhs)))
        )
    fn = t.b.fcmp_ordered if name[0] == "o" else t.b.fcmp_unordered
    return fn(_FCMP_SYM[name[1:]], t.v(op.lhs), t.v(op.rhs))


# integer min/max op -> (comparison that picks lhs, signed)
_MINMAX_INT = {
    arith.MinSIOp: ("<", True), arith.MaxSIOp: (">", True),
    arith.MinUIOp: ("<", False), arith.MaxUIOp: (">", False),
}  # fmt: skip


def _minmax_int(t: Translator, op) -> ir.Value:
    a, b = t.v(op.lhs), t.v(op.rhs)
    sym, signed = _MINMAX_INT[type(op)]
    c = (t.b.icmp_signed if signed else t.b.icmp_unsigned)(sym, a, b)
    return t.b.select(c, a, b)


def _math(t: Translator, op) -> ir.Value:
    return t.hooks.math(t, op, [t.v(o) for o in op.operands])


def _bitcount(t: Translator, op) -> ir.Value:
    x = t.v(op.operand)
    w = x.type.width
    if isinstance(op, math.CtPopOp):
        return t.call_decl(f"llvm.ctpop.i{w}", x.type, [x.type], [x])
    name = "ctlz" if isinstance(op, math.CountLeadingZerosOp) else "cttz"
    false = ir.Constant(I1, 0)  # defined for zero: the bit width
    return t.call_decl(f"llvm.{name}.i{w}", x.type, [x.type, I1], [x, false])


def _absi(t: Translator, op) -> ir.Value:
    a = t.v(op.operands[0])
    return t.call_decl(f"llvm.abs.i{a.type.width}", a.type, [a.type, I1], [a, ir.Constant(I1, 0)])


def _negf(t: Translator, op) -> ir.Value:
    return t.b.fneg(t.v(op.operand))


def _select(t: Translator, op: arith.SelectOp) -> ir.Value:
    return t.b.select(t.v(op.cond), t.v(op.lhs), t.v(op.rhs))


def _br(t: Translator, op: cf.BranchOp) -> None:
    t.branch_args(op.successor, op.arguments, t.b.block)
    br = t.b.branch(t.blocks[op.successor])
    if "xpu.parallel_loop" in op.attributes:
        br.set_metadata("llvm.loop", t.marker("loop", op.attributes["xpu.parallel_loop"]))


_MARKER = re.compile(r'^(!\d+) = !\{ *!"xpuc\.(loop|group)\.(\d+)" *\}$', re.M)


def parallel_loop_metadata(text: str) -> str:
    """Turn the translator's markers into LLVM's parallel-loop metadata: each group a
    distinct access group, each loop ``distinct !{self, !{"llvm.loop.parallel_accesses",
    group}}`` (llvmlite's builder cannot write distinct or self-referencing nodes)."""
    found = {(kind, n): name for name, kind, n in _MARKER.findall(text)}
    if not found:
        return text
    numbers = [int(m) for m in re.findall(r"^!(\d+) = ", text, re.M)]
    fresh = max(numbers, default=0) + 1
    extra = []

    def define(m: re.Match) -> str:
        nonlocal fresh
        name, kind, n = m.group(1), m.group(2), m.group(3)
        if kind == "group":
            return f"{name} = distinct !{{}}"
        group = found.get(("group", n))
        if group is None:  # a loop without accesses
            return f"{name} = distinct !{{{name}}}"
        extra.append(f'!{fresh} = !{{!"llvm.loop.parallel_accesses", {group}}}')
        fresh += 1
        return f"{name} = distinct !{{{name}, !{fresh - 1}}}"

    return _MARKER.sub(define, text) + "\n" + "\n".join(extra) + "\n"


def _cond_br(t: Translator, op: cf.ConditionalBranchOp) -> None:
    t.branch_args(op.then_block, op.then_arguments, t.b.block)
    t.branch_args(op.else_block, op.else_arguments, t.b.block)
    t.b.cbranch(t.v(op.cond), t.blocks[op.then_block], t.blocks[op.else_block])


def _return(t: Translator, op) -> None:
    if len(op.operands) > 1:  # several results travel as one struct
        vals = [t.v(v) for v in op.operands]
        agg: ir.Value = ir.Constant(ir.LiteralStructType([v.type for v in vals]), ir.Undefined)
        for k, v in enumerate(vals):
            agg = t.b.insert_value(agg, v, k)
        t.b.ret(agg)
    elif op.operands:
        t.b.ret(t.v(op.operands[0]))
    else:
        t.b.ret_void()


def _call(t: Translator, op: func.CallOp) -> ir.Value | list[ir.Value]:
    fn = t.module.get_global(op.callee.root_reference.data)
    r = t.b.call(fn, [t.v(a) for a in op.arguments])
    if len(op.results) > 1:
        return [t.b.extract_value(r, k) for k in range(len(op.results))]
    return r


_HANDLERS: dict[type, Callable[[Translator, Operation], object]] = {
    **MEMORY_HANDLERS,
    arith.ConstantOp: _constant,
    **{k: _int_bin for k in _INT_BIN},
    **{k: _float_bin for k in _FLOAT_BIN},
    **{k: _cast for k in _CASTS},
    arith.IndexCastOp: _index_cast,
    IndexCastUIOp: _index_cast,
    arith.CmpiOp: _cmpi,
    arith.CmpfOp: _cmpf,
    arith.SelectOp: _select,
    arith.NegfOp: _negf,
    **{k: _minmax_int for k in _MINMAX_INT},
    math.AbsIOp: _absi,
    math.CtPopOp: _bitcount,
    math.CountLeadingZerosOp: _bitcount,
    math.CountTrailingZerosOp: _bitcount,
    **{k: _math for k in MATH_INTRINSICS},
    **{k: _math for k in MATH_LIBCALLS},
    math.RsqrtOp: _math,
    cf.BranchOp: _br,
    cf.ConditionalBranchOp: _cond_br,
    func.ReturnOp: _return,
    gpu.ReturnOp: _return,
    func.CallOp: _call,
}  # fmt: skip
