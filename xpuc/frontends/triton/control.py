"""Triton frontend: ``scf.for``, ``scf.if`` and ``scf.while`` in the SIMT lowering.

Their conditions and bounds are scalars, uniform over the program, so every thread takes
the same path and barriers inside them are safe.  What they carry:

- a scalar stays a scalar (a pointer: its offset, the argument it points into fixed);
- a tile ``scf.for`` argument advanced by a scalar each iteration (``ptrs += BLOCK_K``)
  is its initial tile plus a carried scalar (:class:`~.tiles.Shifted`); one yielded back
  unchanged is its initial tile;
- any other tile (an accumulator, an ``scf.if`` result) is materialized
  (:class:`~.tiles.Buffered`): filled from its initial value before the loop, and from
  the yielded value at the end of each iteration or branch.
"""

from __future__ import annotations

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import IntegerAttr, i64
from xdsl.ir import Block, Operation, SSAValue

from xpuc.dialects import tt
from xpuc.frontends.triton.analysis import count, is_tile, shift_of
from xpuc.frontends.triton.tiles import Buffered, Ptr, Shifted, elem_type, low_type


def _carry(low, op: Operation, v) -> SSAValue:
    """The SSA value a loop or branch carries for the scalar (or pointer) ``v``."""
    if not isinstance(v, Ptr):
        return v
    if v.offset is None:
        return low.emit(arith.ConstantOp(IntegerAttr(0, i64))).results[0]
    if v.offset.type != i64:
        return low.emit(arith.ExtSIOp(v.offset, i64)).results[0]
    return v.offset


def _uncarry(low, like, got: SSAValue):
    return Ptr(like.base, got) if isinstance(like, Ptr) else got


def _same_base(low, op: Operation, a, b) -> None:
    if isinstance(a, Ptr) != isinstance(b, Ptr) or (isinstance(a, Ptr) and a.base is not b.base):
        raise low.error(op, f"'{op.name}' carrying pointers into different arguments is not "
                            "supported yet")  # fmt: skip


def _fill_yields(low, items: list[tuple[Buffered, SSAValue]], reads_itself: bool) -> None:
    """Materialize yielded tiles into their buffers, grouped by element count."""
    by_count: dict[int, list] = {}
    for m, v in items:
        by_count.setdefault(count(v), []).append((m, lambda ix, v=v: low.at(v, ix)))
    low.fill(list(by_count.items()), reads_itself)


def _buffer(low, op: Operation, v: SSAValue, private: bool) -> Buffered:
    base = low.ptr_base(v) if str(v.type).find("!tt.ptr") >= 0 else None
    return low.new_buffer(v, private, base)


def lower_for(low, op: Operation) -> None:
    block = op.regions[0].blocks[0]
    lb, ub, step = (low.scalar(op, low.values[v]) for v in op.operands[:3])
    inits = list(op.operands[3:])
    plan: list = []  # per argument: "scalar", Buffered, or ("shift", step scalar | None)
    carried: list[SSAValue] = []
    for i, v in enumerate(inits):
        if not is_tile(v):
            plan.append("scalar")
            carried.append(_carry(low, op, low.values[v]))
            continue
        s = shift_of(op, i)
        if s is not False:
            plan.append(("shift", s))
            if s is not None:
                zero = arith.ConstantOp(IntegerAttr(0, elem_type(s.type)))  # pyright: ignore
                carried.append(low.emit(zero).results[0])
            continue
        arg, res = block.args[i + 1], op.results[i]
        m = _buffer(low, op, v, low.facts.private(arg) and low.facts.private(res))
        low.fill([(count(v), [(m, lambda ix, v=v: low.at(v, ix))])])
        plan.append(m)

    def body(iv: SSAValue, args: list[SSAValue]) -> list[SSAValue]:
        low.values[block.args[0]] = iv
        it = iter(args)
        for i, p in enumerate(plan):
            a = block.args[i + 1]
            if p == "scalar":
                low.values[a] = _uncarry(low, low.values[inits[i]], next(it))
            elif isinstance(p, Buffered):
                low.tilemap[a] = p
            else:
                low.tilemap[a] = Shifted(inits[i], next(it) if p[1] is not None else None)
        yield_op = low.lower_block(block)
        assert yield_op is not None
        out, fills = [], []
        for i, p in enumerate(plan):
            y = yield_op.operands[i]
            if p == "scalar":
                got = low.values[y]
                _same_base(low, op, got, low.values[inits[i]])
                out.append(_carry(low, op, got))
            elif isinstance(p, Buffered):
                fills.append((p, y))
            elif p[1] is not None:
                delta = low.tilemap[block.args[i + 1]].delta
                s = p[1]
                step_v = low.constant(s.owner) if is_tile(s) else low.scalar(op, low.values[s])
                out.append(low.emit(arith.AddiOp(delta, step_v)).results[0])
        _fill_yields(low, fills, reads_itself=True)
        if _stores_twice(op):
            low.barrier()  # this iteration's later store before the next one's earlier
        return out

    results = iter(low.slot_for(lb, ub, step, carried, body))
    for i, p in enumerate(plan):
        r = op.results[i]
        if p == "scalar":
            low.values[r] = _uncarry(low, low.values[inits[i]], next(results))
        elif isinstance(p, Buffered):
            low.tilemap[r] = p
        else:
            low.tilemap[r] = Shifted(inits[i], next(results) if p[1] is not None else None)


def _slot_type(low, v: SSAValue):
    return i64 if isinstance(v.type, tt.PointerType) else low_type(v.type)


def _stores_twice(loop: Operation) -> bool:
    """Whether ``loop``'s body stores tiles, so the next iteration's stores must wait for
    this one's (another thread's store of the next iteration may go where this one's
    did: the later store wins, as in program order)."""
    return any(o.name == "tt.store" and is_tile(o.operands[0]) for o in loop.walk())


def lower_if(low, op: Operation) -> None:
    """Scalar results go through slots (the branches may hold barriers)."""
    cond = low.scalar(op, low.values[op.operands[0]])
    bufs = {r: _buffer(low, op, r, low.facts.private(r)) for r in op.results if is_tile(r)}
    scalars = [r for r in op.results if not is_tile(r)]
    slots = [low.slot(_slot_type(low, r)) for r in scalars]
    kinds: list = [None] * len(scalars)  # each result's first branch value (its pointer base)

    def branch(region) -> list[SSAValue]:
        block = region.blocks[0]
        yield_op = low.lower_block(block)
        assert yield_op is not None
        fills, j = [], 0
        for r, y in zip(op.results, yield_op.operands, strict=True):
            if r in bufs:
                fills.append((bufs[r], y))
                continue
            got = low.values[y]
            if kinds[j] is None:
                kinds[j] = got
            _same_base(low, op, got, kinds[j])
            low.put_slot(slots[j], _carry(low, op, got))
            j += 1
        _fill_yields(low, fills, reads_itself=False)
        return []

    other = (lambda: branch(op.regions[1])) if op.regions[1].blocks else None
    low.if_(cond, lambda: branch(op.regions[0]), other)
    for r, s, like in zip(scalars, slots, kinds, strict=True):
        low.values[r] = _uncarry(low, like, low.get_slot(s, _slot_type(low, r)))
    low.tilemap.update(bufs)


def lower_while(low, op: Operation) -> None:
    """``scf.while``: scalars in slots (its body may hold barriers), tiles in buffers (one
    set for the ``before`` region's arguments, one for the ``after`` region's, which are
    also the results)."""
    inits = list(op.operands)
    before, after = op.regions[0].blocks[0], op.regions[1].blocks[0]
    if any(is_tile(a) and isinstance(a.type.element_type, tt.PointerType)  # pyright: ignore
           for a in [*before.args, *after.args]):  # fmt: skip
        raise low.error(op, "'scf.while' carrying a pointer tile is not supported yet")
    bbuf = {a: _buffer(low, op, a, low.facts.private(a)) for a in before.args if is_tile(a)}
    abuf = {a: _buffer(low, op, a, low.facts.private(a) and low.facts.private(r))
            for a, r in zip(after.args, op.results, strict=True) if is_tile(a)}  # fmt: skip
    slots = {a: low.slot(_slot_type(low, a)) for a in before.args if a not in bbuf}
    fwd = {a: low.slot(_slot_type(low, a)) for a in after.args if a not in abuf}
    firsts: dict = {}
    for a, v in zip(before.args, inits, strict=True):
        if a in slots:
            low.put_slot(slots[a], _carry(low, op, low.values[v]))
    _fill_yields(low, [(bbuf[a], v) for a, v in zip(before.args, inits, strict=True)
                       if a in bbuf], reads_itself=False)  # fmt: skip

    def bind(args, buffers, where, likes) -> None:
        for a in args:
            if a in buffers:
                low.tilemap[a] = buffers[a]
            else:
                low.values[a] = _uncarry(low, likes[a], low.get_slot(where[a], _slot_type(low, a)))

    def store(args, values, buffers, where, likes=None) -> None:
        for a, v in zip(args, values, strict=True):
            if a in buffers:
                continue
            if likes is None:
                firsts[a] = low.values[v]
            else:
                _same_base(low, op, low.values[v], likes[a])
            low.put_slot(where[a], _carry(low, op, low.values[v]))
        _fill_yields(low, [(buffers[a], v) for a, v in zip(args, values, strict=True)
                           if a in buffers], reads_itself=False)  # fmt: skip

    start = {a: low.values[v] for a, v in zip(before.args, inits, strict=True) if a in slots}

    def lower_before() -> list[SSAValue]:
        bind(before.args, bbuf, slots, start)
        cond = low.lower_block(before)
        assert cond is not None
        store(after.args, cond.operands[1:], abuf, fwd)
        return [low.scalar(op, low.values[cond.operands[0]])]

    def lower_after() -> list[SSAValue]:
        bind(after.args, abuf, fwd, firsts)
        y = low.lower_block(after)
        assert y is not None
        store(before.args, y.operands, bbuf, slots, start)
        if _stores_twice(op):
            low.barrier()
        return []

    ops, (c,) = low.nested(lambda: _scoped(low, lower_before))
    b_block = Block([*ops, scf.ConditionOp(c)])
    ops, _ = low.nested(lambda: _scoped(low, lower_after))
    a_block = Block([*ops, scf.YieldOp()])
    low.emit(scf.WhileOp([], [], [b_block], [a_block]))
    for a, r in zip(after.args, op.results, strict=True):
        if a in abuf:
            low.tilemap[r] = abuf[a]
        else:
            low.values[r] = _uncarry(low, firsts[a], low.get_slot(fwd[a], _slot_type(low, r)))


def _scoped(low, fn):
    low.scopes.append({})
    try:
        return fn()
    finally:
        low.scopes.pop()
