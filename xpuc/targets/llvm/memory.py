"""Memory in the LLVM translation: stack slots, loads and stores, atomics, globals,
views and casts of memrefs (bare pointers), and C ``printf``.

Each handler takes the ``Translator`` and one op, as those in ``translate.py`` do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import llvmlite.ir as ir
from xdsl.dialects import arith, memref

from xpuc.compiler.diagnostics import TargetError
from xpuc.dialects.gpu_ext import PrintfOp
from xpuc.dialects.xpu import AtomicCASOp, ReinterpretOp

if TYPE_CHECKING:
    from xpuc.targets.llvm.translate import Translator

I8, I32, I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)

# upstream arith::AtomicRMWKind -> LLVM atomicrmw operation
_RMW_KINDS = {0: "fadd", 1: "add", 2: "xchg", 3: "fmax", 4: "max", 5: "umax", 6: "fmin",
              7: "min", 8: "umin", 11: "or", 12: "and", 13: "fmax", 14: "fmin",
              15: "xor"}  # fmt: skip


class MemoryHooks:
    """The memory part of ``LLVMHooks`` (its base): what a target decides about stack
    slots and atomics.  The defaults suit a host CPU."""

    def alloca(self, t: Translator, elem: ir.Type, size, align: int | None = None) -> ir.Value:
        """A stack slot at the builder's position, as the opaque pointer memrefs are.
        A target whose stack has an address space of its own (amdgpu: 5) casts it."""
        slot = t.b.alloca(elem, size=size)
        slot.align = align
        slot.type = ir.PointerType()  # opaque, as every memref (views reinterpret it)
        return slot

    def atomic(self, t: Translator, op, instr: ir.Instruction) -> None:
        """Adjust a translated atomicrmw/cmpxchg (sync scope, metadata); default: none."""


def _alloca(t: Translator, op: memref.AllocaOp) -> ir.Value:
    mt = op.memref.type
    elem = t.type(mt.element_type)
    n = 1
    for d in mt.get_shape():
        n *= max(d, 1)
    if op.dynamic_sizes:
        # per-thread storage sized by the block: stays where its size is known
        count: ir.Value = ir.Constant(I64, n)
        for d in op.dynamic_sizes:
            count = t.b.mul(count, t.v(d))
        return t.hooks.alloca(t, elem, count, align=16)
    # allocas go to the entry block so LLVM's mem2reg promotes them
    entry = t.fn.entry_basic_block
    saved = t.b.block
    if entry.instructions:
        t.b.position_before(entry.instructions[0])
    else:
        t.b.position_at_start(entry)
    slot = t.hooks.alloca(t, elem, n if mt.get_shape() else None)
    t.b.position_at_end(saved)
    return slot


def _atomic_rmw(t: Translator, op: memref.AtomicRMWOp) -> ir.Value:
    kind = _RMW_KINDS[op.kind.value.data]
    rmw = t.b.atomic_rmw(kind, t.address(op.memref, op.indices), t.v(op.value), "monotonic")
    t.hooks.atomic(t, op, rmw)
    return rmw


def _atomic_cas(t: Translator, op) -> ir.Value:
    pair = t.b.cmpxchg(t.address(op.memref, op.indices), t.v(op.compare), t.v(op.value),
                       "monotonic", "monotonic")  # fmt: skip
    t.hooks.atomic(t, op, pair)
    return t.b.extract_value(pair, 0)


def _same_pointer(t: Translator, op) -> ir.Value:
    """memref.cast / memref.view: bare pointers carry no shape (view adds its byte shift)."""
    src = t.v(op.operands[0])
    if isinstance(op, memref.ViewOp):
        src = t.b.gep(src, [t.v(op.byte_shift)], source_etype=I8)
    return src


def _space_cast(t: Translator, op: memref.MemorySpaceCastOp) -> ir.Value:
    src = t.v(op.source)
    want = t.type(op.dest.type)
    return src if src.type == want else t.b.addrspacecast(src, want)


def _dim(t: Translator, op: memref.DimOp) -> ir.Value:
    shape = op.source.type.get_shape()
    idx = op.index.owner
    k = idx.value.value.data if isinstance(idx, arith.ConstantOp) else 0
    if shape[k] >= 0:
        return ir.Constant(I64, shape[k])
    raise TargetError("memref.dim of a dynamic size: bare pointers carry no sizes")


def string_constant(t: Translator, text: str, addrspace: int = 0) -> ir.GlobalVariable:
    data = bytearray(text.encode()) + b"\0"
    name = f"__xpuc_str{len([g for g in t.module.globals if g.startswith('__xpuc_str')])}"
    g = ir.GlobalVariable(t.module, ir.ArrayType(I8, len(data)), name, addrspace=addrspace)
    g.initializer = ir.Constant(ir.ArrayType(I8, len(data)), data)
    g.global_constant = True
    g.linkage = "internal"
    return g


def printf(t: Translator, op: PrintfOp) -> list:
    """The C library's printf (cpu targets)."""
    fmt = as_opaque(t, string_constant(t, op.format.data))
    fn = t.module.globals.get("printf")
    if fn is None:
        fn = ir.Function(t.module, ir.FunctionType(I32, [ir.PointerType()], var_arg=True), "printf")
    t.b.call(fn, [fmt, *[t.v(a) for a in op.args]])
    return []


def _get_global(t: Translator, op: memref.GetGlobalOp) -> ir.Value:
    g = t.module.get_global(op.name_.string_value())
    return as_opaque(t, g)


def as_opaque(t: Translator, g: ir.GlobalVariable) -> ir.Value:
    """The address of a global array's first element (llvmlite types globals as ``[N x T]*``)."""
    zero = ir.Constant(I32, 0)
    v = t.b.gep(g, [zero, zero], inbounds=True, source_etype=g.value_type)
    v.type = ir.PointerType(addrspace=g.type.addrspace)  # an opaque pointer, as memrefs are
    return v


_BYTE = ir.IntType(8)


def _load(t: Translator, op: memref.LoadOp) -> ir.Value:
    elem = t.type(op.memref.type.element_type)
    boolean = elem == ir.IntType(1)  # a bool is a byte in memory (loads of many vectorize)
    v = t.b.load(t.address(op.memref, op.indices), typ=_BYTE if boolean else elem)
    _group(t, op, v)
    return t.b.trunc(v, elem) if boolean else v


def _store(t: Translator, op: memref.StoreOp) -> None:
    v = t.v(op.value)
    if v.type == ir.IntType(1):
        v = t.b.zext(v, _BYTE)
    _group(t, op, t.b.store(v, t.address(op.memref, op.indices)))


def _group(t: Translator, op, instr) -> None:
    """An access of a parallel (thread) loop joins the loop's access group."""
    if "xpu.access_group" in op.attributes:
        instr.set_metadata(
            "llvm.access.group", t.marker("group", op.attributes["xpu.access_group"])
        )


def _pointer_as_index(t: Translator, op: memref.ExtractAlignedPointerAsIndexOp) -> ir.Value:
    return t.b.ptrtoint(t.v(op.source), I64)


MEMORY_HANDLERS = {
    memref.ExtractAlignedPointerAsIndexOp: _pointer_as_index,
    memref.AllocaOp: _alloca,
    memref.AtomicRMWOp: _atomic_rmw,
    memref.GetGlobalOp: _get_global,
    AtomicCASOp: _atomic_cas,
    memref.CastOp: _same_pointer,
    memref.ViewOp: _same_pointer,
    ReinterpretOp: _same_pointer,
    memref.MemorySpaceCastOp: _space_cast,
    memref.DimOp: _dim,
    memref.LoadOp: _load,
    memref.StoreOp: _store,
}
