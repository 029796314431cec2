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


def lower_atomic(low, op: Operation) -> None:
    """``tt.atomic_rmw`` / ``tt.atomic_cas``: see the module docstring."""
    ptr = op.operands[0]
    fenced = op.attributes.get("sem", StringAttr("relaxed")).data != "relaxed"  # pyright: ignore
    if not is_tile(ptr):  # thread 0 does it; every thread gets the old value
        t = op.results[0].type
        buf = shared_buffer(low, t, 1)
        args = [low.values[v] for v in op.operands]

        def once() -> None:
            def go() -> list[SSAValue]:
                if fenced:
                    low.emit(FenceOp("device"))
                old = low.rmw(op, args[0], args[1:3] if op.name == "tt.atomic_cas"
                               else args[1])  # fmt: skip
                if fenced:
                    low.emit(FenceOp("device"))
                low.emit(memref.StoreOp.get(old, buf, [low.cidx(0)]))
                return []

            def off() -> list[SSAValue]:  # masked off: the old value reads as 0
                zero = low.emit(arith.ConstantOp(zero_of(t)))
                low.emit(memref.StoreOp.get(zero.results[0], buf, [low.cidx(0)]))
                return []

            if op.name == "tt.atomic_rmw" and len(args) > 2:
                low.if_(low.scalar(op, args[2]), go, off)
            else:
                go()

        low.on_thread0(once)
        low.barrier()
        old = low.emit(memref.LoadOp.get(buf, [low.cidx(0)]))
        low.values[op.results[0]] = old.results[0]
        low.barrier()
        return
    v = op.results[0]
    used = bool(v.uses)
    m = low.new_buffer(v, low.facts.private(v)) if used else None
    if fenced:
        low.emit(FenceOp("device"))
    if m is not None and not m.private:
        low.barrier()

    def body(ix: Ix, s: SSAValue) -> None:
        args = [low.at(x, ix) for x in op.operands]

        def go() -> list[SSAValue]:
            cas = op.name == "tt.atomic_cas"
            return [low.rmw(op, args[0], args[1:3] if cas else args[1])]

        if op.name == "tt.atomic_rmw" and len(args) > 2:
            t = elem_type(v.type)
            zero = lambda: [low.emit(arith.ConstantOp(zero_of(t))).results[0]]  # noqa: E731
            old = low.if_(low.scalar(op, args[2]), go, zero, [t])[0]
        else:
            old = go()[0]
        if m is not None:
            low.put(m, ix, s, old)

    low.each(count(v), body)
    if fenced:
        low.emit(FenceOp("device"))
    if m is not None:
        if not m.private:
            low.barrier()
        low.tilemap[v] = m
