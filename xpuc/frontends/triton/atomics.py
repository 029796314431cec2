"""Triton frontend: atomics in the SIMT lowering.

- **On a scalar pointer** (``tl.atomic_cas(lock, 0, 1)``): thread 0 does the atomic; its
  old value goes to every thread through one shared word, between barriers (a masked-off
  atomic reads as 0).
- **On a pointer tile**: each element's atomic in an element loop
  (``memref.atomic_rmw``, ``xpu.atomic_cas``); the old values, when used, are a
  materialized tile.

A memory order other than ``relaxed`` puts ``xpu.fence device`` before and after.
"""

from __future__ import annotations

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Operation, SSAValue

from xpuc.dialects.xpu import FenceOp
from xpuc.frontends.triton.analysis import count, is_tile
from xpuc.frontends.triton.reduce import shared_buffer
from xpuc.frontends.triton.tiles import Ix, elem_type, zero_of


def lower_atomic(self, op: Operation) -> None:
    """``tt.atomic_rmw`` / ``tt.atomic_cas``: see the module docstring."""
    ptr = op.operands[0]
    fenced = op.attributes.get("sem", StringAttr("relaxed")).data != "relaxed"  # pyright: ignore
    if not is_tile(ptr):  # thread 0 does it; every thread gets the old value
        t = op.results[0].type
        buf = shared_buffer(self, t, 1)
        args = [self.values[v] for v in op.operands]

        def once() -> None:
            def go() -> list[SSAValue]:
                if fenced:
                    self.emit(FenceOp("device"))
                old = self.rmw(op, args[0], args[1:3] if op.name == "tt.atomic_cas"
                               else args[1])  # fmt: skip
                if fenced:
                    self.emit(FenceOp("device"))
                self.emit(memref.StoreOp.get(old, buf, [self.cidx(0)]))
                return []

            def off() -> list[SSAValue]:  # masked off: the old value reads as 0
                zero = self.emit(arith.ConstantOp(zero_of(t)))
                self.emit(memref.StoreOp.get(zero.results[0], buf, [self.cidx(0)]))
                return []

            if op.name == "tt.atomic_rmw" and len(args) > 2:
                self.if_(self.scalar(op, args[2]), go, off)
            else:
                go()

        self.on_thread0(once)
        self.barrier()
        old = self.emit(memref.LoadOp.get(buf, [self.cidx(0)]))
        self.values[op.results[0]] = old.results[0]
        self.barrier()
        return
    v = op.results[0]
    used = bool(v.uses)
    m = self.new_buffer(v, self.facts.private(v)) if used else None
    if fenced:
        self.emit(FenceOp("device"))
    if m is not None and not m.private:
        self.barrier()

    def body(ix: Ix, s: SSAValue) -> None:
        args = [self.at(x, ix) for x in op.operands]

        def go() -> list[SSAValue]:
            cas = op.name == "tt.atomic_cas"
            return [self.rmw(op, args[0], args[1:3] if cas else args[1])]

        if op.name == "tt.atomic_rmw" and len(args) > 2:
            t = elem_type(v.type)
            zero = lambda: [self.emit(arith.ConstantOp(zero_of(t))).results[0]]  # noqa: E731
            old = self.if_(self.scalar(op, args[2]), go, zero, [t])[0]
        else:
            old = go()[0]
        if m is not None:
            self.put(m, ix, s, old)

    self.each(count(v), body)
    if fenced:
        self.emit(FenceOp("device"))
    if m is not None:
        if not m.private:
            self.barrier()
        self.tilemap[v] = m
