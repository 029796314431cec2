"""Triton frontend: a kernel body of several blocks (what early ``return`` leaves in TTIR:
``cf.cond_br`` to a block ending in ``tt.return``, ``cf.br`` to where paths meet).

The blocks are emitted once each, in a topological order, each under an ``scf.if`` on
its *reached* flag (a slot: set by the branches into it; the entry block runs
unconditionally).  Branch conditions are Triton scalars, so every flag is uniform and
barriers inside a block are safe (:meth:`~.tiles.Tiles.if_` turns such a branch into a
loop run once or not at all).  What a block uses from another travels through slots:
its arguments, set by the branch that reaches it, and the scalars defined elsewhere that
it needs (directly, or to recompute a tile defined elsewhere); a shifted loop result
(:class:`~.tiles.Shifted`) carries its scalar the same way.  Loops through ``cf`` and
tiles passed as block arguments are located errors.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr, IntegerType
from xdsl.ir import Block, Operation, Region, SSAValue

from xpuc.frontends.triton.analysis import is_tile
from xpuc.frontends.triton.control import _carry, _same_base, _slot_type, _uncarry
from xpuc.frontends.triton.tiles import Shifted

_BOOL = IntegerType(1)


def _order(low, region: Region) -> list[Block]:
    """The blocks in a topological order (reverse post-order from the entry)."""
    done: list[Block] = []
    state: dict[Block, int] = {}

    def visit(b: Block) -> None:
        state[b] = 1
        last = b.last_op
        for s in last.successors if last is not None else ():
            if state.get(s) == 1:
                raise low.error(last, f"'{last.name}': a loop through branches is not "
                                      "supported (triton uses scf.for/scf.while)")  # fmt: skip
            if s not in state:
                visit(s)
        state[b] = 2
        done.append(b)

    visit(region.blocks[0])
    return done[::-1]


def _needs(v: SSAValue, home: dict, seen: set) -> None:
    """Add to ``seen`` what evaluating ``v`` reads: itself, and for a tile the values its
    definition reads (a tile is recomputed where it is used)."""
    if v in seen:
        return
    seen.add(v)
    if not is_tile(v):
        return
    owner = v.owner
    ops = [owner] if isinstance(owner, Operation) else []
    if isinstance(owner, Block) and owner.parent_op() is not None and (
        owner.parent_op().name == "scf.for"):  # fmt: skip
        ops = [owner.parent_op()]
    for op in ops:
        for w in op.operands:
            _needs(w, home, seen)


def lower_cfg(low, region: Region) -> None:
    blocks = _order(low, region)
    home: dict[SSAValue, Block] = {}
    for b in blocks:  # (the kernel's arguments are defined everywhere)
        home.update((a, b) for a in (b.args if b is not blocks[0] else ()))
        for op in b.ops:
            home.update((r, b) for r in op.results)
    wants: dict[Block, list[SSAValue]] = {}
    for b in blocks:
        seen: set[SSAValue] = set()
        for op in b.ops:
            for inner in op.walk():
                for v in inner.operands:
                    _needs(v, home, seen)
        wants[b] = [v for v in seen if v in home and home[v] is not b]
    exported = {v for vs in wants.values() for v in vs}
    slots: dict[SSAValue, tuple] = {}  # value -> (slot, what it was where defined)
    reached = {b: low.slot(_BOOL) for b in blocks[1:]}
    args = {a: low.slot(_slot_type(low, a)) for b in blocks[1:] for a in b.args}
    false = low.emit(arith.ConstantOp(IntegerAttr(0, _BOOL))).results[0]
    for s in reached.values():
        low.put_slot(s, false)

    def block(b: Block) -> list[SSAValue]:
        for a in b.args if b is not blocks[0] else ():
            if is_tile(a):
                raise low.error(b.first_op or low.func, "a tile passed between blocks is "
                                                        "not supported yet")  # fmt: skip
            got = low.get_slot(args[a], _slot_type(low, a))
            low.values[a] = _uncarry(low, low.first_arg[a], got)
        for v in wants[b]:
            if v not in slots:  # a tile recomputed here, or in a buffer
                continue
            slot, like = slots[v]
            if is_tile(v):
                m = low.tilemap[v]
                low.tilemap[v] = Shifted(m.init, low.get_slot(slot, like.type))
            else:
                low.values[v] = _uncarry(low, like, low.get_slot(slot, _slot_type(low, v)))
        last = low.lower_block(b)
        for v in [*b.args, *(r for op in b.ops for r in op.results)]:
            if v in exported:
                export(v)
        if last is not None:
            branch(last)
        return []

    def export(v: SSAValue) -> None:
        if is_tile(v):
            m = low.tilemap.get(v)
            if isinstance(m, Shifted) and m.delta is not None:
                slots[v] = (low.slot(m.delta.type), m.delta)
                low.put_slot(slots[v][0], m.delta)
            return
        got = low.values[v]
        slots[v] = (low.slot(_slot_type(low, v)), got)
        low.put_slot(slots[v][0], _carry(low, v.owner, got))

    def enter(op: Operation, dest: Block, values) -> list[SSAValue]:
        for a, v in zip(dest.args, values, strict=True):
            if is_tile(v):
                raise low.error(op, f"'{op.name}' passing a tile is not supported yet")
            low.first_arg.setdefault(a, low.values[v])
            _same_base(low, op, low.values[v], low.first_arg[a])
            low.put_slot(args[a], _carry(low, op, low.values[v]))
        low.put_slot(reached[dest], low.emit(arith.ConstantOp(IntegerAttr(1, _BOOL))).results[0])
        return []

    def branch(op: Operation) -> None:
        if op.name == "cf.br":
            enter(op, op.successors[0], op.operands)
        elif op.name == "cf.cond_br":
            then, other = op.successors
            cond = low.scalar(op, low.values[op.cond])  # pyright: ignore
            low.if_(cond, lambda: enter(op, then, op.then_arguments),  # pyright: ignore
                    lambda: enter(op, other, op.else_arguments))  # pyright: ignore  # fmt: skip

    # where tile stores went since a barrier, along each path (so a barrier in a block
    # another path skips does not count, and exclusive paths do not fence each other)
    unfenced: dict[Block, list] = {}
    preds: dict[Block, list[Block]] = {b: [] for b in blocks}
    for b in blocks:
        for s in b.last_op.successors if b.last_op is not None else ():
            preds[s].append(b)

    def run(b: Block) -> list[SSAValue]:
        low.unfenced = [x for p in preds[b] for x in unfenced.get(p, [])] if preds[b] else (
            low.unfenced)  # fmt: skip
        block(b)
        unfenced[b] = list(low.unfenced)
        return []

    run(blocks[0])
    for b in blocks[1:]:
        low.if_(low.get_slot(reached[b], _BOOL), lambda b=b: run(b))
    low.unfenced = [x for v in unfenced.values() for x in v]
