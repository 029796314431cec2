"""Triton frontend: ``tt.reduce`` and ``tt.scan`` for the SIMT lowering.

The combine region (any ops the lowering supports, over one or several tiles: ``tl.sum``,
``tl.max``, ``tl.argmax``, a user's ``@triton.jit`` combine function) is inlined at each
combining step (:func:`combine`); no identity element is needed.

- **A 1-D tile to scalars** (:func:`reduce_scalar`): each thread folds the elements it
  owns into a partial; the first ``P = min(N, T)`` threads hold one.  The partials meet in
  shared buffers (one per operand, ``T`` elements in memory space 3): ``log2`` tree steps
  (threads ``t < s`` with ``t + s < P`` combine ``buf[t]`` with ``buf[t + s]``, each step
  followed by ``gpu.barrier``) leave the result in ``buf[0]``, which every thread reads; a
  last barrier lets the buffer be reused.  The barriers are outside any divergent branch.
- **Along an axis of an N-D tile** (:func:`reduce_axis`): each element of the result is
  owned by one thread, which folds the operand's elements along the axis; the result is
  materialized (private or shared, see :mod:`.analysis`).
- **Scan** (:func:`scan`): the lines along the axis are distributed over the threads;
  each thread scans its lines in order (``reverse`` from the end) into a shared buffer.
"""

from __future__ import annotations

from math import prod

from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import IntegerAttr, MemRefType, StringAttr, UnitAttr, i64
from xdsl.ir import Operation, SSAValue

from xpuc.frontends.triton.tiles import Buffered, Ix, elem_type, shape_of, zero_of


def combine(low, red: Operation, lhs: list[SSAValue], rhs: list[SSAValue]) -> list[SSAValue]:
    """Inline ``red``'s combine region on ``lhs`` and ``rhs``; its yielded values."""
    block = red.regions[0].blocks[0]
    env: dict[SSAValue, SSAValue] = dict(zip(block.args, [*lhs, *rhs], strict=True))
    for op in block.ops:
        if op.name in ("tt.reduce.return", "tt.scan.return"):
            return [env[v] for v in op.operands]
        got = low.scalar_op(op, [env.get(v, None) or low.values[v] for v in op.operands])
        env.update(zip(op.results, got, strict=True))
    raise AssertionError("combine region without a terminator")


def shared_buffer(low, t, n: int) -> SSAValue:
    mt = MemRefType(t, [n], memory_space=IntegerAttr(3, i64))
    name = f"__triton_reduce_{len(low.globals)}"
    low.globals.append(memref.GlobalOp.get(StringAttr(name), mt, UnitAttr(),
                                           StringAttr("private"), None, alignment=16))  # fmt: skip
    get = memref.GetGlobalOp(name, mt)
    low.prologue.append(get)
    return get.results[0]


def reduce_scalar(low, red: Operation) -> list[SSAValue]:
    """Reduce 1-D tiles to scalars; every thread gets the results."""
    srcs = list(red.operands)
    n = prod(shape_of(srcs[0]))
    t = low.threads
    types = [elem_type(s.type) for s in srcs]
    slots = -(-n // t)

    def first() -> list[SSAValue]:
        low.cur = (n, low.tid, low.cidx(0))
        return [low.scalar(red, low.at(s, Ix(low.tid))) for s in srcs]

    saved = low.cur
    if n >= t:
        low.scopes.append({})
        part = first()
        low.scopes.pop()
    else:
        lt = low.emit(arith.CmpiOp(low.tid, low.cidx(n), "ult")).results[0]
        zeros = lambda: [low.emit(arith.ConstantOp(zero_of(x))).results[0] for x in types]  # noqa: E731
        part = low.if_(lt, first, zeros, types)
    if slots > 1:

        def fold(s: SSAValue, acc: list[SSAValue]) -> list[SSAValue]:
            e = low.emit(arith.AddiOp(low.emit(arith.MuliOp(s, low.cidx(t))), low.tid)).results[0]
            low.cur = (n, e, s)

            def more() -> list[SSAValue]:
                return combine(low, red, acc, [low.scalar(red, low.at(x, Ix(e))) for x in srcs])

            if n % t:
                lt = low.emit(arith.CmpiOp(e, low.cidx(n), "ult")).results[0]
                return low.if_(lt, more, lambda: acc, types)
            return more()

        part = low.for_(low.cidx(1), low.cidx(slots), low.cidx(1), part, fold)
    low.cur = saved
    p = min(n, t)
    bufs = [shared_buffer(low, x, t) for x in types]
    if n >= t:
        for b, v in zip(bufs, part, strict=True):
            low.emit(memref.StoreOp.get(v, b, [low.tid]))
    else:
        lt = low.emit(arith.CmpiOp(low.tid, low.cidx(n), "ult")).results[0]
        low.if_(lt, lambda: [low.emit(memref.StoreOp.get(v, b, [low.tid]))
                             for b, v in zip(bufs, part, strict=True)] and [])  # fmt: skip
    low.barrier()
    s = 1 << max(p - 1, 0).bit_length() >> 1
    while s >= 1:
        cond = low.emit(arith.CmpiOp(low.tid, low.cidx(s), "ult")).results[0]
        if s * 2 > p:  # not every t < s has a partner
            other = low.emit(arith.AddiOp(low.tid, low.cidx(s))).results[0]
            inside = low.emit(arith.CmpiOp(other, low.cidx(p), "ult")).results[0]
            cond = low.emit(arith.AndIOp(cond, inside)).results[0]

        def step(s=s) -> list[SSAValue]:
            other = low.emit(arith.AddiOp(low.tid, low.cidx(s))).results[0]
            a = [low.emit(memref.LoadOp.get(b, [low.tid])).results[0] for b in bufs]
            b = [low.emit(memref.LoadOp.get(b, [other])).results[0] for b in bufs]
            for buf, v in zip(bufs, combine(low, red, a, b), strict=True):
                low.emit(memref.StoreOp.get(v, buf, [low.tid]))
            return []

        low.if_(cond, step)
        low.barrier()
        s //= 2
    out = [low.emit(memref.LoadOp.get(b, [low.cidx(0)])).results[0] for b in bufs]
    low.barrier()
    return out


def _with_axis(low, dims: tuple[SSAValue, ...], axis: int, k: SSAValue) -> Ix:
    return Ix(None, (*dims[:axis], k, *dims[axis:]))


def reduce_axis(low, red: Operation) -> None:
    """Materialize the results of a reduction along one axis of N-D tiles."""
    axis = red.properties["axis"].value.data  # pyright: ignore
    srcs = list(red.operands)
    length = shape_of(srcs[0])[axis]
    bufs = [low.new_buffer(r, low.facts.private(r)) for r in red.results]
    for r, b in zip(red.results, bufs, strict=True):
        low.tilemap[r] = b
    rshape = shape_of(red.results[0])
    cache: dict[Ix, list[SSAValue]] = {}

    def folded(ix: Ix) -> list[SSAValue]:
        if ix not in cache:
            dims = low.dims(ix, rshape)

            def at(k: SSAValue, dims=dims) -> list[SSAValue]:
                return [low.scalar(red, low.at(s, _with_axis(low, dims, axis, k))) for s in srcs]

            def step(k: SSAValue, acc: list[SSAValue]) -> list[SSAValue]:
                return combine(low, red, acc, at(k))

            init = at(low.cidx(0))
            cache[ix] = low.for_(low.cidx(1), low.cidx(length), low.cidx(1), init, step)
        return cache[ix]

    items = [(b, lambda ix, i=i: folded(ix)[i]) for i, b in enumerate(bufs)]
    low.fill([(prod(rshape), items)])


def scan(low, op: Operation) -> None:
    """Materialize ``tt.scan`` results in shared buffers, one thread per line."""
    axis = op.properties["axis"].value.data  # pyright: ignore
    reverse = op.properties.get("reverse")
    backwards = reverse is not None and bool(reverse.value.data)  # pyright: ignore
    srcs = list(op.operands)
    shape = shape_of(srcs[0])
    length = shape[axis]
    bufs: list[Buffered] = [low.new_buffer(r, False) for r in op.results]
    lines = (*shape[:axis], *shape[axis + 1 :])
    last = low.cidx(length - 1)

    def line(ix: Ix, _s: SSAValue) -> None:
        dims = low.dims(ix, lines) if lines else ()

        def pos(k: SSAValue) -> Ix:
            if backwards:
                k = low.emit(arith.SubiOp(last, k)).results[0]
            return _with_axis(low, dims, axis, k)

        def put(k: SSAValue, vals: list[SSAValue]) -> None:
            for b, v in zip(bufs, vals, strict=True):
                low.put(b, pos(k), k, v)

        first = [low.scalar(op, low.at(s, pos(low.cidx(0)))) for s in srcs]
        put(low.cidx(0), first)

        def step(k: SSAValue, acc: list[SSAValue]) -> list[SSAValue]:
            new = combine(low, op, acc, [low.scalar(op, low.at(s, pos(k))) for s in srcs])
            put(k, new)
            return new

        low.for_(low.cidx(1), low.cidx(length), low.cidx(1), first, step)

    low.barrier()
    low.each(prod(lines) if lines else 1, line)
    low.barrier()
    for r, b in zip(op.results, bufs, strict=True):
        low.tilemap[r] = b
