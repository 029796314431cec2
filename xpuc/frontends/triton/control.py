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

from xpuc.frontends.triton.analysis import count, is_tile, shift_of
from xpuc.frontends.triton.tiles import Buffered, Ptr, Shifted, elem_type


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
    for n, group in by_count.items():
        low.fill(group, n, reads_itself)


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
        low.fill([(m, lambda ix, v=v: low.at(v, ix))], count(v))
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
        return out

    results = iter(low.for_(lb, ub, step, carried, body))
    for i, p in enumerate(plan):
        r = op.results[i]
        if p == "scalar":
            low.values[r] = _uncarry(low, low.values[inits[i]], next(results))
        elif isinstance(p, Buffered):
            low.tilemap[r] = p
        else:
            low.tilemap[r] = Shifted(inits[i], next(results) if p[1] is not None else None)


def lower_if(low, op: Operation) -> None:
    cond = low.scalar(op, low.values[op.operands[0]])
    bufs = {r: _buffer(low, op, r, low.facts.private(r)) for r in op.results if is_tile(r)}
    scalars = [r for r in op.results if not is_tile(r)]
    kinds: list = [None] * len(scalars)  # a pointer result's first branch value

    def branch(region) -> list[SSAValue]:
        block = region.blocks[0]
        yield_op = low.lower_block(block)
        assert yield_op is not None
        out, fills = [], []
        for r, y in zip(op.results, yield_op.operands, strict=True):
            if r in bufs:
                fills.append((bufs[r], y))
                continue
            got = low.values[y]
            j = len(out)
            if kinds[j] is None:
                kinds[j] = got
            _same_base(low, op, got, kinds[j])
            out.append(_carry(low, op, got))
        _fill_yields(low, fills, reads_itself=False)
        return out

    has_else = bool(op.regions[1].blocks)
    then_ops, then_vals = low.nested(lambda: _scoped(low, lambda: branch(op.regions[0])))
    else_ops, else_vals = (low.nested(lambda: _scoped(low, lambda: branch(op.regions[1])))
                           if has_else else (None, []))  # fmt: skip
    types = [v.type for v in then_vals]
    other = [*else_ops, scf.YieldOp(*else_vals)] if has_else else None
    new = low.emit(scf.IfOp(cond, types, [*then_ops, scf.YieldOp(*then_vals)], other))
    for r, got, like in zip(scalars, new.results, kinds, strict=True):
        low.values[r] = _uncarry(low, like, got)
    low.tilemap.update(bufs)


def _scoped(low, fn):
    low.scopes.append({})
    try:
        return fn()
    finally:
        low.scopes.pop()


def lower_while(low, op: Operation) -> None:
    if any(is_tile(v) for v in [*op.operands, *op.results]):
        raise low.error(op, "'scf.while' carrying tiles is not supported yet")
    inits = [low.values[v] for v in op.operands]
    carried = [_carry(low, op, v) for v in inits]
    before, after = op.regions[0].blocks[0], op.regions[1].blocks[0]
    b_block = Block(arg_types=[v.type for v in carried])
    for a, new, like in zip(before.args, b_block.args, inits, strict=True):
        low.values[a] = _uncarry(low, like, new)

    def lower_before() -> list:
        cond = low.lower_block(before)
        assert cond is not None
        vals = [low.values[v] for v in cond.operands[1:]]
        return [low.scalar(op, low.values[cond.operands[0]]), vals]

    ops, (c, vals) = low.nested(lambda: _scoped(low, lower_before))
    b_block.add_ops([*ops, scf.ConditionOp(c, *[_carry(low, op, v) for v in vals])])
    a_block = Block(arg_types=[_carry_type(v) for v in vals])
    for a, new, like in zip(after.args, a_block.args, vals, strict=True):
        low.values[a] = _uncarry(low, like, new)

    def lower_after() -> list:
        y = low.lower_block(after)
        assert y is not None
        got = [low.values[v] for v in y.operands]
        for g, like in zip(got, inits, strict=True):
            _same_base(low, op, g, like)
        return [_carry(low, op, g) for g in got]

    ops, out = low.nested(lambda: _scoped(low, lower_after))
    a_block.add_ops([*ops, scf.YieldOp(*out)])
    new = low.emit(scf.WhileOp(carried, [v.type for v in a_block.args], [b_block], [a_block]))
    for r, got, like in zip(op.results, new.results, vals, strict=True):
        low.values[r] = _uncarry(low, like, got)


def _carry_type(v):
    return i64 if isinstance(v, Ptr) else v.type
