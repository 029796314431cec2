"""Memory: ``memref`` ops over :class:`Memref` values, atomics, and shared memory.

This replaces xDSL's ``MemRefFunctions``, whose ``ShapedArray`` copies data into its
own byte array (a kernel must write the caller's numpy arrays) and has no views,
casts or atomics.  Where memory lives: an ``alloca`` belongs to the thread that ran
it; ``memref.get_global`` of a memory-space-3 (``__shared__``) global and
``gpu.dynamic_shared_memory`` give the current block's buffer; any other global is
the module's one buffer.  Atomics hold the module's atomic lock for the whole
read-modify-write and return the old value.
"""

from __future__ import annotations

import math

from xdsl.dialects import memref
from xdsl.dialects.builtin import IndexType, IntegerType
from xdsl.interpreter import InterpreterFunctions, PythonValues, impl, register_impls

from xpuc.dialects.gpu_ext import DynamicSharedMemoryOp
from xpuc.dialects.xpu import AtomicCASOp, ReinterpretOp
from xpuc.interpreter.state import SHARED_SPACE, ThreadInterpreter
from xpuc.interpreter.values import (
    Fault,
    Memref,
    int_bits,
    memory_space,
    round_float,
    signed,
    unsigned,
)


def _minmax_f(pick, nan_wins: bool):
    def f(old: float, v: float) -> float:
        if math.isnan(old) or math.isnan(v):
            if nan_wins:
                return math.nan
            return v if math.isnan(old) else old
        return pick(old, v)

    return f


def _int(fn):
    """An integer combine in the element's width: fn(a, b, bits)."""
    return lambda old, v, bits: signed(fn(old, v, bits), bits)


# upstream arith::AtomicRMWKind -> how the new value is made from (old, operand)
_FLOAT_RMW = {0: lambda a, b: a + b, 2: lambda a, b: b, 9: lambda a, b: a * b,
              3: _minmax_f(max, True), 6: _minmax_f(min, True),
              13: _minmax_f(max, False), 14: _minmax_f(min, False)}  # fmt: skip
_INT_RMW = {
    1: _int(lambda a, b, n: a + b), 2: _int(lambda a, b, n: b), 10: _int(lambda a, b, n: a * b),
    4: _int(lambda a, b, n: max(signed(a, n), signed(b, n))),
    5: _int(lambda a, b, n: max(unsigned(a, n), unsigned(b, n))),
    7: _int(lambda a, b, n: min(signed(a, n), signed(b, n))),
    8: _int(lambda a, b, n: min(unsigned(a, n), unsigned(b, n))),
    11: _int(lambda a, b, n: a | b), 12: _int(lambda a, b, n: a & b),
    15: _int(lambda a, b, n: a ^ b),
}  # fmt: skip


@register_impls
class MemoryFunctions(InterpreterFunctions):
    """Registered over ``xdsl.interpreters.memref.MemRefFunctions`` (override=True)."""

    @impl(memref.AllocaOp)
    def run_alloca(self, interp: ThreadInterpreter, op: memref.AllocaOp, args: PythonValues):
        return (Memref.zeros(op.memref.type, args),)

    @impl(memref.AllocOp)
    def run_alloc(self, interp: ThreadInterpreter, op: memref.AllocOp, args: PythonValues):
        return (Memref.zeros(op.memref.type, args),)

    @impl(memref.DeallocOp)
    def run_dealloc(self, interp: ThreadInterpreter, op: memref.DeallocOp, args: PythonValues):
        return ()

    @impl(memref.LoadOp)
    def run_load(self, interp: ThreadInterpreter, op: memref.LoadOp, args: PythonValues):
        mem, *indices = args
        return (mem.load(indices),)

    @impl(memref.StoreOp)
    def run_store(self, interp: ThreadInterpreter, op: memref.StoreOp, args: PythonValues):
        value, mem, *indices = args
        mem.store(indices, value)
        return ()

    @impl(memref.GetGlobalOp)
    def run_get_global(self, interp: ThreadInterpreter, op: memref.GetGlobalOp, args: PythonValues):
        assert interp.thread is not None
        block = interp.thread.block
        name = op.name_.string_value()
        if memory_space(op.memref.type) == SHARED_SPACE:
            found = block.shared.get(name)
        else:
            found = block.module.globals.get(name)
        if found is None:
            raise Fault(f"no memref.global named @{name}")
        return (found,)

    @impl(DynamicSharedMemoryOp)
    def run_dynamic_shared(
        self, interp: ThreadInterpreter, op: DynamicSharedMemoryOp, args: PythonValues
    ):
        assert interp.thread is not None
        return (Memref.of_type(interp.thread.block.dynamic_shared, 0, op.result.type),)

    # -- views and casts: the same bytes, another type ----------------------------

    @impl(memref.ViewOp)
    def run_view(self, interp: ThreadInterpreter, op: memref.ViewOp, args: PythonValues):
        src, shift, *sizes = args
        return (Memref.of_type(src.buf, src.offset + shift, op.result.type, sizes),)

    @impl(memref.CastOp)
    def run_cast(self, interp: ThreadInterpreter, op: memref.CastOp, args: PythonValues):
        return (Memref.of_type(args[0].buf, args[0].offset, op.dest.type),)

    @impl(memref.MemorySpaceCastOp)
    def run_space_cast(
        self, interp: ThreadInterpreter, op: memref.MemorySpaceCastOp, args: PythonValues
    ):
        return (Memref.of_type(args[0].buf, args[0].offset, op.dest.type),)

    @impl(ReinterpretOp)
    def run_reinterpret(self, interp: ThreadInterpreter, op: ReinterpretOp, args: PythonValues):
        return (Memref.of_type(args[0].buf, args[0].offset, op.result.type),)

    @impl(memref.ExtractAlignedPointerAsIndexOp)
    def run_pointer(
        self,
        interp: ThreadInterpreter,
        op: memref.ExtractAlignedPointerAsIndexOp,
        args: PythonValues,
    ):
        return (args[0].address,)

    @impl(memref.DimOp)
    def run_dim(self, interp: ThreadInterpreter, op: memref.DimOp, args: PythonValues):
        mem, k = args
        shape = op.source.type.get_shape()
        if shape[k] >= 0:
            return (shape[k],)
        inner = math.prod(d for d in mem.shape[k + 1 :])
        return (len(mem.data) // max(inner, 1),)

    # -- atomics -------------------------------------------------------------------

    @impl(memref.AtomicRMWOp)
    def run_atomic_rmw(self, interp: ThreadInterpreter, op: memref.AtomicRMWOp, args: PythonValues):
        assert interp.thread is not None
        value, mem, *indices = args
        kind = op.kind.value.data
        t = op.result.type
        is_int = isinstance(t, IntegerType | IndexType)
        combine = (_INT_RMW if is_int else _FLOAT_RMW).get(kind)
        if combine is None:
            raise Fault(f"atomic kind {kind} is not supported on {t}")
        with interp.thread.block.module.atomic_lock:
            old = mem.load(indices)
            if is_int:
                new = combine(old, value, int_bits(t))
            else:
                new = round_float(combine(old, value), t)
            mem.store(indices, new)
        return (old,)

    @impl(AtomicCASOp)
    def run_atomic_cas(self, interp: ThreadInterpreter, op: AtomicCASOp, args: PythonValues):
        assert interp.thread is not None
        mem, *indices, compare, value = args
        bits = int_bits(op.result.type)
        with interp.thread.block.module.atomic_lock:
            old = mem.load(indices)
            if unsigned(old, bits) == unsigned(compare, bits):
                mem.store(indices, value)
        return (old,)
