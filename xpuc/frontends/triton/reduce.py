"""Triton frontend: ``tt.reduce`` over a 1-D tile (axis 0) for the SIMT lowering.

A reduction is done in two steps.  Each thread folds the elements it owns into a partial
(the loop ``scf.for %e = thread_id.x to BLOCK step T`` with the partial as iteration
argument, started at the combine's identity, so a thread owning no element contributes the
identity).  The partials then meet in a shared buffer (``memref.global`` of ``T`` elements
in memory space 3): every thread stores its partial, and ``log2(T)`` tree steps (threads
``t < s`` combine ``buf[t]`` and ``buf[t + s]``, each step followed by ``gpu.barrier``)
leave the result in ``buf[0]``, which every thread reads; a last barrier lets the buffer be
reused.  The barriers are outside any divergent ``scf.if``.  The combine region must be one
op with a known identity (sum, max, min, product, and/or/xor).
"""

from __future__ import annotations

from xdsl.dialects import arith, gpu, memref, scf
from xdsl.dialects.builtin import (
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    StringAttr,
    TensorType,
    UnitAttr,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue

_INF = float("inf")
# combine op -> identity: a number, or "min"/"max"/"ones" for the integer type's extremes
_IDENTITY: dict[str, object] = {
    "arith.addf": 0.0, "arith.addi": 0, "arith.mulf": 1.0, "arith.muli": 1,
    "arith.maxnumf": -_INF, "arith.maximumf": -_INF, "arith.minnumf": _INF,
    "arith.minimumf": _INF, "arith.maxsi": "min", "arith.minsi": "max", "arith.maxui": 0,
    "arith.minui": "ones", "arith.ori": 0, "arith.xori": 0, "arith.andi": "ones",
}  # fmt: skip


def combine_op(op: Operation) -> Operation | None:
    """The one combine op of a supported ``tt.reduce`` (None if the region is another)."""
    block = op.regions[0].blocks[0] if op.regions and op.regions[0].blocks else None
    if block is None or len(block.args) != 2:
        return None
    ops = list(block.ops)
    if len(ops) != 2 or ops[0].name not in _IDENTITY or ops[1].name != "tt.reduce.return":
        return None
    first, ret = ops
    if set(first.operands) != set(block.args) or list(ret.operands) != list(first.results):
        return None
    return first


def check_reduce(op: Operation) -> str | None:
    """Why ``op`` (a ``tt.reduce``) cannot be lowered, or None."""
    if len(op.operands) != 1 or len(op.results) != 1:
        return "'tt.reduce' of several tiles is not supported yet"
    t = op.operands[0].type
    if not isinstance(t, TensorType) or len(t.get_shape()) != 1:
        return f"'tt.reduce' over a {t} tile is not supported yet (only 1-D tiles, axis 0)"
    if combine_op(op) is None:
        return ("'tt.reduce' with this combine region is not supported yet (one op of: "
                "sum, max, min, product, and, or, xor)")  # fmt: skip
    return None


def identity(name: str, t: Attribute) -> Attribute:
    value = _IDENTITY[name]
    if isinstance(t, IntegerType):
        w = t.width.data
        value = {"min": -(1 << (w - 1)), "max": (1 << (w - 1)) - 1, "ones": -1}.get(value, value)  # pyright: ignore
        return IntegerAttr(int(value), t)  # pyright: ignore
    return FloatAttr(float(value), t)  # pyright: ignore


def combine(low, red: Operation, a: SSAValue, b: SSAValue) -> SSAValue:
    """Emit the reduction's combine op on ``a`` and ``b``."""
    inner = combine_op(red)
    assert inner is not None
    new = type(inner).create(operands=[a, b], result_types=[a.type],
                             properties=dict(inner.properties),
                             attributes=dict(inner.attributes))  # fmt: skip
    return low.emit(new).results[0]


def block_combine(low, red: Operation, partial: SSAValue) -> SSAValue:
    """Combine the threads' partials through shared memory; every thread gets the result."""
    t = partial.type
    name = f"__triton_reduce_{len(low.globals)}"
    buf_t = MemRefType(t, [low.threads], memory_space=IntegerAttr(3, i64))
    low.globals.append(
        memref.GlobalOp.get(
            StringAttr(name), buf_t, UnitAttr(), StringAttr("private"), None, alignment=16
        )
    )
    buf = low.emit(memref.GetGlobalOp(name, buf_t)).results[0]
    low.emit(memref.StoreOp.get(partial, buf, [low.tid]))
    low.emit(gpu.BarrierOp())
    s = low.threads // 2
    while s >= 1:
        off = low.emit(arith.ConstantOp(IntegerAttr(s, IndexType()))).results[0]
        cond = low.emit(arith.CmpiOp(low.tid, off, "ult")).results[0]
        outer, low.ops = low.ops, []
        other = low.emit(arith.AddiOp(low.tid, off)).results[0]
        a = low.emit(memref.LoadOp.get(buf, [low.tid])).results[0]
        b = low.emit(memref.LoadOp.get(buf, [other])).results[0]
        low.emit(memref.StoreOp.get(combine(low, red, a, b), buf, [low.tid]))
        low.emit(scf.YieldOp())
        then, low.ops = low.ops, outer
        low.emit(scf.IfOp(cond, [], then))
        low.emit(gpu.BarrierOp())
        s //= 2
    zero = low.emit(arith.ConstantOp(IntegerAttr(0, IndexType()))).results[0]
    result = low.emit(memref.LoadOp.get(buf, [zero])).results[0]
    low.emit(gpu.BarrierOp())
    return result
