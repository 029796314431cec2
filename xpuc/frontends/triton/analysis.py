"""Triton frontend: what the SIMT lowering (:mod:`.lower`) must know about a kernel before
it emits anything.

- **Lazy tile ops** (:func:`is_lazy`) have no side effect and are recomputed, element by
  element, wherever a consumer needs them (a tile is a function of its multi-index).
- **Loads that must be materialized** (:func:`loads_to_keep`): a tile load is recomputed
  at each of its *sinks* (the non-lazy ops that consume it, directly or through lazy ops).
  When a store or atomic can run between the load and a sink (later in program order, or
  in a loop holding both but not the load) the recomputed load could see the new value,
  so the load is kept in a buffer at its own place in the program.
- **Private or shared buffers** (:meth:`Facts.private`): a materialized tile lives in each
  thread's own storage when every read of it is at an element the reading thread owns
  (through elementwise ops, ``expand_dims``/``reshape``, the accumulator of ``tt.dot``,
  stores, reductions to a scalar, ``scf.yield``); otherwise (``broadcast``, ``trans``,
  the operands of ``tt.dot``, reductions along an axis, ``tt.scan``) it lives in shared
  memory and barriers fence its writes.
- **Shifted loop arguments** (:func:`shift_of`): a tile iteration argument that each
  iteration advances by a scalar (``a_ptrs += BLOCK_K * stride``) is its initial tile
  plus a scalar carried by the loop, so it needs no storage at all.
"""

from __future__ import annotations

from math import prod

from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    UnitAttr,
)
from xdsl.ir import Block, Operation, SSAValue

LAZY_TT = {
    "tt.splat", "tt.broadcast", "tt.expand_dims", "tt.reshape", "tt.trans", "tt.make_range",
    "tt.addptr", "tt.load", "tt.dot", "tt.bitcast", "tt.fp_to_fp", "tt.precise_sqrt",
    "tt.precise_divf", "tt.mulhiui", "tt.clampf", "tt.join", "tt.split", "tt.cat", "tt.gather",
}  # fmt: skip
EFFECTS = {"tt.store", "tt.atomic_rmw", "tt.atomic_cas"}
LOOPS = ("scf.for", "scf.while")
_FLAT_KEEPING = {"tt.expand_dims", "tt.reshape"}  # row-major element order unchanged
_ELEMENTWISE_TT = {"tt.addptr", "tt.load", "tt.bitcast", "tt.fp_to_fp", "tt.precise_sqrt",
                   "tt.precise_divf", "tt.mulhiui", "tt.clampf"}  # fmt: skip


def is_tile(v: SSAValue) -> bool:
    return isinstance(v.type, TensorType)


def count(v: SSAValue) -> int:
    return prod(v.type.get_shape()) if isinstance(v.type, TensorType) else 1


def is_lazy(op: Operation) -> bool:
    """A side-effect-free op producing tiles, recomputed where it is used."""
    if not op.results or not all(is_tile(r) for r in op.results):
        return False
    if op.name in LAZY_TT:
        return True
    return op.name.split(".")[0] in ("arith", "math") and not op.regions


def _elementwise(op: Operation) -> bool:
    return op.name in _ELEMENTWISE_TT or (
        op.name.split(".")[0] in ("arith", "math") and not op.regions)  # fmt: skip


def shift_of(loop: Operation, i: int) -> SSAValue | None | bool:
    """For tile iteration argument ``i`` of ``loop`` (an ``scf.for``): what the body adds
    to it each iteration (a ``tt.splat``'s scalar, or a uniform constant tile), None when
    the body yields it back unchanged, False when it is neither."""
    block = loop.regions[0].blocks[0]
    arg = block.args[i + 1]
    yielded = block.last_op.operands[i]  # pyright: ignore
    if yielded is arg:
        return None
    op = yielded.owner
    if not isinstance(op, Operation) or op.name not in ("tt.addptr", "arith.addi"):
        return False
    a, b = op.operands
    if op.name == "arith.addi" and b is arg:
        a, b = b, a
    splat = b.owner
    if a is not arg or not isinstance(splat, Operation):
        return False
    if splat.name == "tt.splat":
        return splat.operands[0]
    value = splat.properties.get("value") if splat.name == "arith.constant" else None
    if isinstance(value, DenseIntOrFPElementsAttr) and value.is_splat():
        return b  # a uniform constant tile
    return False


def base_arg(v: SSAValue) -> SSAValue | None:
    """The kernel argument a pointer (tile) points into, when it is plain to see."""
    seen = 0
    while seen < 1000:
        seen += 1
        op = v.owner
        if not isinstance(op, Operation):  # a block argument
            parent = v.owner.parent_op() if isinstance(v.owner, Block) else None
            if parent is None or parent.name == "tt.func":
                return v
            if parent.name != "scf.for":
                return None
            v = parent.operands[v.index + 2]  # pyright: ignore  # the loop's initial value
            continue
        if op.name in ("tt.splat", "tt.addptr", "tt.broadcast", "tt.expand_dims",
                       "tt.reshape", "tt.trans"):  # fmt: skip
            v = op.operands[0]
        elif op.name == "scf.for":
            v = op.operands[3 + v.index]  # pyright: ignore
        else:
            return None
    return None


def _flag(a: object) -> bool:
    if isinstance(a, IntegerAttr):
        return a.value.data != 0
    return isinstance(a, UnitAttr) or (isinstance(a, StringAttr) and a.data == "true")


def _uses(v: SSAValue):
    for use in v.uses:
        yield use.operation, use.index


class Facts:
    """Program order, effects and per-value answers for one ``tt.func``."""

    def __init__(self, func: Operation, threads: int):
        self.func = func
        self.threads = threads
        self.order: dict[Operation, int] = {}
        for op in func.walk():
            self.order[op] = len(self.order)
        self.effects = [op for op in self.order if op.name in EFFECTS]
        self._private: dict[SSAValue, bool] = {}

    # -- which loads to keep ----------------------------------------------------------
    def sinks(self, v: SSAValue, seen: set[SSAValue] | None = None) -> list[Operation]:
        """The non-lazy ops that evaluate ``v`` (through lazy ops and loop arguments)."""
        seen = set() if seen is None else seen
        if v in seen:
            return []
        seen.add(v)
        out: list[Operation] = []
        for user, i in _uses(v):
            if is_lazy(user):
                for r in user.results:
                    out += self.sinks(r, seen)
            elif user.name == "scf.for" and i >= 3:  # init: the argument and the result
                out.append(user)
                out += self.sinks(user.regions[0].blocks[0].args[i - 2], seen)
                out += self.sinks(user.results[i - 3], seen)
            else:
                out.append(user)
        return out

    def _top(self, op: Operation) -> Block | None:
        """The kernel-level block holding ``op`` (several with early returns)."""
        while op.parent_op() is not None and op.parent_op() is not self.func:
            op = op.parent_op()  # pyright: ignore
        return op.parent_block()

    def may_precede(self, a: Operation, b: Operation) -> bool:
        """Whether ``a`` can run before ``b``: not when they are in kernel-level blocks
        on exclusive paths (after an early return's branch)."""
        start, goal = self._top(a), self._top(b)
        seen, todo = set(), [start]
        while todo:
            blk = todo.pop()
            if blk is goal:
                return True
            if blk is None or blk in seen:
                continue
            seen.add(blk)
            last = blk.last_op
            todo += list(last.successors) if last is not None else []
        return False

    def _loops(self, op: Operation) -> list[Operation]:
        out, p = [], op.parent_op()
        while p is not None:
            if p.name in LOOPS:
                out.append(p)
            p = p.parent_op()
        return out

    def must_keep(self, load: Operation) -> bool:
        """Whether a store or atomic can run between ``load`` and one of its sinks, or a
        sink is itself a store or atomic into the argument ``load`` reads (which would
        write, element by element, what later elements still have to load).  Volatile
        loads are always kept: one load, where the program has it."""
        if _flag(load.attributes.get("isVolatile")):
            return True
        if not self.effects:
            return False
        at = self.order[load]
        sinks = self.sinks(load.results[0])
        base = base_arg(load.operands[0])
        for s in sinks:
            if s.name in EFFECTS and (base is None or base_arg(s.operands[0]) in (base, None)):
                return True
            for e in self.effects:
                if at < self.order[e] < self.order[s] and self.may_precede(e, s):
                    return True
        around = set(self._loops(load))
        for s in sinks:
            for loop in self._loops(s):
                if loop not in around and any(loop.is_ancestor(e) for e in self.effects):
                    return True
        return False

    # -- private or shared ------------------------------------------------------------
    def private(self, v: SSAValue) -> bool:
        """Whether every evaluation of ``v`` is at an element the evaluating thread owns."""
        if v in self._private:
            return self._private[v]
        self._private[v] = True  # a cycle through loop arguments is not a reason to share
        ok = all(self._private_use(v, user, i) for user, i in _uses(v))
        self._private[v] = ok
        return ok

    def _private_use(self, v: SSAValue, user: Operation, i: int) -> bool:
        name = user.name
        if name in EFFECTS or name in ("scf.yield", "scf.condition"):
            return True
        if name == "tt.reduce":  # the thread owning a result element owns what it folds
            shape = v.type.get_shape()  # pyright: ignore  # when T divides the inner size
            axis = user.properties["axis"].value.data  # pyright: ignore
            return len(shape) == 1 or prod(shape[axis + 1 :]) % self.threads == 0
        if name == "tt.dot":
            return i == 2 and self.private(user.results[0])
        if name == "scf.for":
            if i < 3:
                return True
            arg = user.regions[0].blocks[0].args[i - 2]
            return self.private(arg) and self.private(user.results[i - 3])
        keeps = name in _FLAT_KEEPING or (
            _elementwise(user) and all(count(r) == count(v) for r in user.results))  # fmt: skip
        return keeps and all(self.private(r) for r in user.results if is_tile(r))


def loads_to_keep(func: Operation, facts: Facts) -> set[Operation]:
    """The tile loads :class:`Facts` says must be materialized where they stand."""
    return {
        op for op in facts.order
        if op.name == "tt.load" and is_tile(op.results[0]) and facts.must_keep(op)
    }  # fmt: skip


def body(op: Operation, region: int = 0) -> Block:
    return op.regions[region].blocks[0]
