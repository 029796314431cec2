r"""Triton frontend: storage for the SIMT lowering (a mixin of :class:`~.lower.Lowering`).

- **Slots**: one-element ``memref.alloca``\ s at the kernel's entry, which carry the
  scalars of loops, branches and blocks (a target's thread loops cannot split a loop
  that carries values at a barrier; LLVM's mem2reg puts them back in registers).
- **Buffers** of materialized tiles (:class:`~.tiles.Buffered`): a thread's own slots
  (``ceil(N/T)`` elements) or shared memory (``N`` elements in memory space 3), filled
  in element loops (:meth:`Storage.fill`).
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import (
    IntegerAttr,
    IntegerType,
    MemRefType,
    StringAttr,
    UnitAttr,
    i8,
    i64,
)
from xdsl.ir import Attribute, SSAValue

from xpuc.frontends.triton.tiles import BaseMismatch, Buffered, Ix, Ptr, Value, elem_type, shape_of


class Storage:
    """Slots and tile buffers; the element loops and barriers are :class:`~.tiles.Tiles`'."""

    # -- values carried through memory ----------------------------------------------------
    def slot(self, t: Attribute) -> SSAValue:
        """A one-element ``memref.alloca`` at the kernel's entry (``i1`` as a byte)."""
        op = memref.AllocaOp.get(i8 if t == IntegerType(1) else t, shape=[1])
        self.prologue.append(op)
        return op.results[0]

    def put_slot(self, slot: SSAValue, v: SSAValue) -> None:
        if v.type == IntegerType(1):
            v = self.emit(arith.ExtUIOp(v, i8)).results[0]
        self.emit(memref.StoreOp.get(v, slot, [self.cidx(0)]))

    def get_slot(self, slot: SSAValue, t: Attribute) -> SSAValue:
        v = self.emit(memref.LoadOp.get(slot, [self.cidx(0)])).results[0]
        return self.emit(arith.TruncIOp(v, t)).results[0] if v.type != t else v

    def slot_for(self, lb: SSAValue, ub: SSAValue, step: SSAValue, inits: list[SSAValue],
                 fn: Callable[[SSAValue, list], list[SSAValue]]) -> list[SSAValue]:  # fmt: skip
        """Like :meth:`for_`, the carried values in slots rather than ``iter_args`` (the
        loop may hold barriers, and a target's thread loops cannot split a loop that
        carries values; LLVM puts the slots back in registers)."""
        slots = [self.slot(v.type) for v in inits]
        for s, v in zip(slots, inits, strict=True):
            self.put_slot(s, v)

        def body(iv: SSAValue, _: list) -> list[SSAValue]:
            out = fn(iv, [self.get_slot(s, v.type) for s, v in zip(slots, inits, strict=True)])
            for s, v in zip(slots, out, strict=True):
                self.put_slot(s, v)
            return []

        self.for_(lb, ub, step, [], body)
        return [self.get_slot(s, v.type) for s, v in zip(slots, inits, strict=True)]

    # -- buffers --------------------------------------------------------------------------
    def new_buffer(self, v: SSAValue, private: bool, base: SSAValue | None = None,
                   elem: Attribute | None = None) -> Buffered:  # fmt: skip
        """Storage for tile ``v`` (its elements as ``elem``, when given)."""
        shape = shape_of(v)
        elem = elem or elem_type(v.type)
        stored = i64 if base is not None else (i8 if elem == IntegerType(1) else elem)
        n = prod(shape)
        if private:
            op = memref.AllocaOp.get(stored, shape=[-(-n // self.threads)])
            self.prologue.append(op)
            return Buffered(op.results[0], True, shape, elem, base)
        t = MemRefType(stored, [n], memory_space=IntegerAttr(3, i64))
        name = f"__triton_tile_{len(self.globals)}"
        glob = memref.GlobalOp.get(StringAttr(name), t, UnitAttr(), StringAttr("private"), None,
                                   alignment=16)  # fmt: skip
        self.globals.append(glob)
        get = memref.GetGlobalOp(name, t)
        self.prologue.append(get)
        return Buffered(get.results[0], False, shape, elem, base)

    def put(self, m: Buffered, ix: Ix, slot: SSAValue, value: Value) -> None:
        """Store ``value`` as the element ``ix`` (owned here, in ``slot``) of ``m``."""
        if isinstance(value, Ptr):
            if value.base is not m.base:
                raise BaseMismatch("pointers into different arguments")
            off = value.offset if value.offset is not None else None
            if off is None:
                off = self.emit(arith.ConstantOp(IntegerAttr(0, i64))).results[0]
            elif off.type != i64:
                off = self.emit(arith.ExtSIOp(off, i64)).results[0]
            value = off
        elif value.type == IntegerType(1):
            value = self.emit(arith.ExtUIOp(value, i8)).results[0]
        where = slot if m.private else self.flat(ix, m.shape)
        self.emit(memref.StoreOp.get(value, m.buf, [where]))

    def fill(self, groups: list[tuple[int, list[tuple[Buffered, Callable[[Ix], Value]]]]],
             reads_itself: bool = False) -> None:  # fmt: skip
        """Materialize: each buffer's elements owned here get ``fn(index)``; a group is the
        buffers of one element count, filled in one element loop.  With ``reads_itself``
        (loop yields, whose new values may read the buffers being replaced) and a shared
        buffer anywhere, every new value is first computed into private slots, then
        copied between barriers, so no thread reads an element already replaced.  (Private
        buffers are read only by their owner at its own elements, so those are replaced
        in place, each element's new values computed before any is stored.)"""
        merged: dict[int, list] = {}
        for n, items in groups:
            merged.setdefault(n, []).extend(items)
        groups = list(merged.items())
        shared = any(not m.private for _, items in groups for m, _ in items)
        if not (shared and reads_itself):
            if shared:
                self.barrier()
            for n, items in groups:

                def body(ix: Ix, s: SSAValue, items=items) -> None:
                    vals = [fn(ix) for _, fn in items]
                    for (m, _), v in zip(items, vals, strict=True):
                        self.put(m, ix, s, v)

                self.each(n, body)
            if shared:
                self.barrier()
            return
        temps = [(n, [(m, self.temp_like(m)) for m, _ in items]) for n, items in groups]
        for (n, items), (_, pairs) in zip(groups, temps, strict=True):

            def compute(ix: Ix, s: SSAValue, items=items, pairs=pairs) -> None:
                vals = [fn(ix) for _, fn in items]
                for (_, tmp), v in zip(pairs, vals, strict=True):
                    self.put(tmp, ix, s, v)

            self.each(n, compute)
        self.barrier()
        for n, pairs in temps:

            def copy(ix: Ix, s: SSAValue, pairs=pairs) -> None:
                for m, tmp in pairs:
                    self.put(m, ix, s, self.at_mapped(m.buf, tmp, ix))

            self.each(n, copy)
        self.barrier()

    def temp_like(self, m: Buffered) -> Buffered:
        op = memref.AllocaOp.get(m.buf.type.element_type, shape=[-(-prod(m.shape) // self.threads)])  # pyright: ignore
        self.prologue.append(op)
        return Buffered(op.results[0], True, m.shape, m.elem, m.base)
