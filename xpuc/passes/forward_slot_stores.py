"""``forward-slot-stores``: read local variables from the value last stored to them.

Frontends keep every local variable in a one-element stack slot
(``memref.alloca() : memref<1xT>``), as clang does at ``-O0``.  This pass replaces a
``memref.load`` of such a slot by the value of the ``memref.store`` that certainly
precedes it in structured control flow: the nearest store found walking back through
the load's block and then through the blocks that enclose it, provided that

- no operation between that store and the load can store to the slot (an ``scf.if``
  or loop in between that contains a store to it stops the search), and
- no loop enclosing the load but not the store stores to the slot (the value would
  come from the previous iteration).

A slot qualifies when every use is a ``memref.load`` or ``memref.store`` *through* it
(its address never escapes).  Slots left without loads lose their stores and
disappear.  Kernel parameters, ``const`` locals, ids computed once and loop counters
become SSA values, which later passes need: uniformity and thread-id arithmetic are
visible, and LLVM's vectorizer sees unit-stride addresses after the thread loops are
built around them.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, memref, scf
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass

_LOOPS = (scf.ForOp, scf.WhileOp)


def _slot_ok(alloca: memref.AllocaOp) -> bool:
    t = alloca.memref.type
    if not isinstance(t, builtin.MemRefType) or t.get_shape() != (1,):
        return False
    for use in alloca.memref.uses:
        op = use.operation
        if isinstance(op, memref.LoadOp) and use.index == 0:
            continue
        if isinstance(op, memref.StoreOp) and use.index == 1:
            continue
        return False
    return True


def _stores_to(op: Operation, slot: SSAValue) -> bool:
    return any(isinstance(o, memref.StoreOp) and o.memref is slot for o in op.walk())


def _reaching_store(load: memref.LoadOp, slot: SSAValue) -> SSAValue | None:
    """The value the load certainly reads, or None."""
    op: Operation = load
    while True:
        block = op.parent_block()
        if block is None:
            return None
        prev = op.prev_op
        while prev is not None:
            if isinstance(prev, memref.StoreOp) and prev.memref is slot:
                return prev.value
            if _stores_to(prev, slot):
                return None  # stored on some path only
            prev = prev.prev_op
        parent = block.parent_op()
        if parent is None or isinstance(parent, builtin.ModuleOp):
            return None
        if isinstance(parent, _LOOPS) and _stores_to(parent, slot):
            return None  # the previous iteration's value
        if not isinstance(parent, (scf.IfOp, *_LOOPS)):
            return None  # a function, or a region whose execution is not known here
        op = parent


def forward_in(body: Block | Operation) -> None:
    root = body if isinstance(body, Operation) else body.parent_op()
    assert root is not None
    slots = [o for o in root.walk() if isinstance(o, memref.AllocaOp) and _slot_ok(o)]
    for alloca in slots:
        slot = alloca.memref
        for use in list(slot.uses):
            load = use.operation
            if not isinstance(load, memref.LoadOp):
                continue
            value = _reaching_store(load, slot)
            if value is not None:
                load.res.replace_all_uses_with(value)
                load.detach()
                load.erase()
        if not any(isinstance(u.operation, memref.LoadOp) for u in slot.uses):
            for use in list(slot.uses):
                use.operation.detach()
                use.operation.erase()
            alloca.detach()
            alloca.erase()


@dataclass(frozen=True)
class ForwardSlotStores(ModulePass):
    name = "forward-slot-stores"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        forward_in(op)
