"""Triton frontend: tiles as functions of their element index, for the SIMT lowering.

A program instance is a block of ``T`` threads.  An ``N``-element tile is distributed
cyclically over its row-major element order: thread ``t`` owns elements ``t``, ``t + T``,
..., the element in *slot* ``s`` being ``e = s*T + t``.  Code that needs a tile runs in an
**element loop** (:meth:`Tiles.each`) over the elements the thread owns, and asks for the
tile's value at an index (:meth:`Tiles.at`):

- lazy ops (:func:`~.analysis.is_lazy`) are recomputed from their operands at the index
  their semantics gives: ``broadcast`` pins broadcast dimensions to 0, ``expand_dims``
  and ``reshape`` keep the row-major position, ``trans`` permutes, ``make_range`` is the
  index itself, ``tt.dot`` at ``(m, n)`` is the accumulator there plus a loop over ``k``;
- materialized tiles (:class:`Buffered`) are read from a buffer: the thread's own slots
  (a ``memref.alloca`` of ``ceil(N/T)`` elements) or shared memory (``N`` elements);
- shifted loop arguments (:class:`Shifted`) are their initial tile plus a scalar.

Values computed at an index are remembered for the rest of the scope (an element loop, or
a loop nested in one), so each is emitted once per element.  An index is a row-major
position, a tuple of per-dimension indices, or both (:class:`Ix`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod

from xdsl.dialects import arith, gpu, memref, scf
from xdsl.dialects.builtin import (
    AnyFloat,
    BFloat16Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

INDEX = IndexType()


@dataclass(frozen=True)
class Ptr:
    """A pointer (tile element): a kernel argument plus an element offset (or none)."""

    base: SSAValue
    offset: SSAValue | None


Value = SSAValue | Ptr


@dataclass(frozen=True)
class Ix:
    """An element of a tile: its row-major position, its per-dimension indices, or both."""

    flat: SSAValue | None = None
    dims: tuple[SSAValue, ...] | None = None

    def key(self) -> tuple:
        return ("f", self.flat) if self.flat is not None else ("d", self.dims)


@dataclass(frozen=True)
class Buffered:
    """A materialized tile: private slots or a shared buffer (pointer tiles: offsets)."""

    buf: SSAValue
    private: bool
    shape: tuple[int, ...]
    elem: Attribute  # the tile's element type (i1 and pointers are stored widened)
    base: SSAValue | None = None  # pointer tiles: the kernel argument


@dataclass(frozen=True)
class Shifted:
    """A loop argument that is its initial tile plus a scalar carried by the loop."""

    init: SSAValue
    delta: SSAValue | None


def raw_type(t: Attribute) -> Attribute:
    """A tile's element type (a scalar's own type), as Triton has it."""
    return t.get_element_type() if isinstance(t, TensorType) else t


def low_type(t: Attribute) -> Attribute:
    """The type a scalar of Triton type ``t`` has in the lowered code (bf16: f32)."""
    return f32 if isinstance(t, BFloat16Type) else t


def elem_type(t: Attribute) -> Attribute:
    """The lowered type of one element of ``t`` (a tile or a scalar)."""
    return low_type(raw_type(t))


def shape_of(v: SSAValue) -> tuple[int, ...]:
    return tuple(v.type.get_shape()) if isinstance(v.type, TensorType) else ()


def zero_of(t: Attribute) -> Attribute:
    return FloatAttr(0.0, t) if isinstance(t, AnyFloat) else IntegerAttr(0, t)  # pyright: ignore


class BaseMismatch(Exception):
    """A pointer tile stored where another argument's pointers live (made a located
    error by the op that carries it)."""


class Tiles:
    """Mixin of the lowering (:class:`~.lower.Lowering`): element loops, buffers and the
    evaluation of tiles at an index.  ``lower_at`` (the per-op rules) is the lowering's."""

    threads: int
    tid: SSAValue
    ops: list[Operation]
    prologue: list[Operation]
    globals: list[Operation]
    tilemap: dict[SSAValue, Buffered | Shifted]

    def emit(self, op: Operation) -> Operation:
        self.ops.append(op)
        return op

    def cidx(self, n: int) -> SSAValue:
        """The index constant ``n``, one per scope (so equal indices are equal values)."""
        key = ("const", n)
        if (got := self.recall(key)) is None:
            got = self.emit(arith.ConstantOp(IntegerAttr(n, INDEX))).results[0]
            self.scopes[-1][key] = got
        return got  # pyright: ignore

    def nested(self, fn: Callable[[], object]) -> tuple[list[Operation], object]:
        outer, self.ops = self.ops, []
        got = fn()
        inner, self.ops = self.ops, outer
        return inner, got

    def barrier(self) -> None:
        if not (self.ops and isinstance(self.ops[-1], gpu.BarrierOp)):  # one is enough
            self.emit(gpu.BarrierOp())

    def if_(self, cond: SSAValue, then: Callable[[], list[SSAValue]],
            other: Callable[[], list[SSAValue]] | None = None,
            types: list[Attribute] | None = None) -> list[SSAValue]:  # fmt: skip
        """``scf.if`` whose branches are emitted by ``then``/``other`` (yielded values).

        A branch holding a barrier (``cond`` is then uniform: a Triton scalar) becomes a
        loop running once or not at all, ``scf.for %i = 0 to (cond ? 1 : 0)``: targets
        split a block's threads at barriers in loops, not in branches."""
        self.scopes.append({})
        a, got = self.nested(then)
        self.scopes.pop()
        a.append(scf.YieldOp(*got))  # pyright: ignore
        b = None
        if other is not None:
            self.scopes.append({})
            b, alt = self.nested(other)
            self.scopes.pop()
            b.append(scf.YieldOp(*alt))  # pyright: ignore
        if not types and any(isinstance(o, gpu.BarrierOp) for x in (a, b or [])
                             for op in x for o in op.walk()):  # fmt: skip
            self.branch_barriers = True
            one, zero = self.cidx(1), self.cidx(0)
            for ops, taken in ((a, (one, zero)), (b, (zero, one))):
                if ops is not None:
                    trips = self.emit(arith.SelectOp(cond, *taken)).results[0]
                    body = Block([*ops[:-1], scf.YieldOp()], arg_types=[INDEX])
                    self.emit(scf.ForOp(zero, trips, one, [], body))
            return []
        return list(self.emit(scf.IfOp(cond, types or [], a, b)).results)

    def for_(self, lb: SSAValue, ub: SSAValue, step: SSAValue, inits: list[SSAValue],
             fn: Callable[[SSAValue, list], list[SSAValue]]) -> list[SSAValue]:  # fmt: skip
        """``scf.for`` whose body ``fn(iv, args)`` returns the yielded values."""
        block = Block(arg_types=[lb.type, *[v.type for v in inits]])
        self.scopes.append({})
        inner, got = self.nested(lambda: fn(block.args[0], list(block.args[1:])))
        self.scopes.pop()
        block.add_ops([*inner, scf.YieldOp(*got)])  # pyright: ignore
        return list(self.emit(scf.ForOp(lb, ub, step, inits, block)).results)

    # -- element loops ------------------------------------------------------------------
    def each(self, n: int, fn: Callable[[Ix, SSAValue], None]) -> None:
        """Run ``fn(index, slot)`` for each element of an ``n``-element tile this thread
        owns (nothing for a thread that owns none)."""
        t = self.threads
        slots = -(-n // t)

        def element(s: SSAValue) -> list[SSAValue]:
            if slots == 1:
                e = self.tid
            else:
                base = self.emit(arith.MuliOp(s, self.cidx(t))).results[0]
                e = self.emit(arith.AddiOp(base, self.tid)).results[0]
            saved = self.cur
            self.cur = (n, e, s)
            if n % t:
                lt = self.emit(arith.CmpiOp(e, self.cidx(n), "ult")).results[0]
                self.if_(lt, lambda: [fn(Ix(e), s), []][1])
            else:
                self.scopes.append({})
                fn(Ix(e), s)
                self.scopes.pop()
            self.cur = saved
            return []

        if slots == 1:
            element(self.cidx(0))
        else:
            self.for_(self.cidx(0), self.cidx(slots), self.cidx(1), [], lambda s, _: element(s))

    # -- indices --------------------------------------------------------------------------
    def dims(self, ix: Ix, shape: tuple[int, ...]) -> tuple[SSAValue, ...]:
        if ix.dims is not None:
            return ix.dims
        assert ix.flat is not None
        key = ("dims", ix.flat, shape)
        if (got := self.recall(key)) is not None:
            return got  # pyright: ignore
        out, stride = [], prod(shape)
        own = ix.flat is self.cur[1]  # e = s*T + tid: split the index over s and tid
        for d in shape:
            stride //= d
            if d == 1:
                out.append(self.cidx(0))
            elif own:
                out.append(self._digit(stride, d, prod(shape)))
            else:
                v = ix.flat
                if stride > 1:
                    v = self.emit(arith.DivUIOp(v, self.cidx(stride))).results[0]
                if d * stride < prod(shape):
                    v = self.emit(arith.RemUIOp(v, self.cidx(d))).results[0]
                out.append(v)
        self.scopes[-1][key] = tuple(out)
        self.scopes[-1][("flat", tuple(out), shape)] = ix.flat
        return tuple(out)

    def _digit(self, stride: int, size: int, total: int) -> SSAValue:
        """``(e // stride) % size`` for the element loop's ``e = s*T + tid`` (``tid < T``),
        computed from ``s`` and ``tid`` apart where ``T`` and ``stride`` divide one
        another: cheaper, and on the cpu target affine in the thread (so vectorizable)."""
        _, e, s = self.cur
        t, big = self.threads, size * stride < total  # big: the % is needed for e

        def div(v: SSAValue, n: int) -> SSAValue:
            return v if n == 1 else self.emit(arith.DivUIOp(v, self.cidx(n))).results[0]

        def rem(v: SSAValue, n: int) -> SSAValue:
            return self.emit(arith.RemUIOp(v, self.cidx(n))).results[0]

        if stride % t == 0:  # e // stride = s // (stride / T)
            v = div(s, stride // t)
            return rem(v, size) if big else v
        if t % stride == 0:  # e // stride = s * (T / stride) + tid // stride
            hi = t // stride
            low = div(self.tid, stride)
            if hi % size == 0:  # the s part is a multiple of size
                return rem(low, size) if hi > size else low
            v = self.emit(arith.AddiOp(self.emit(arith.MuliOp(s, self.cidx(hi))), low))
            return rem(v.results[0], size) if big else v.results[0]
        v = div(e, stride)
        return rem(v, size) if big else v

    def flat(self, ix: Ix, shape: tuple[int, ...]) -> SSAValue:
        if ix.flat is not None:
            return ix.flat
        assert ix.dims is not None
        key = ("flat", ix.dims, shape)
        if (got := self.recall(key)) is not None:
            return got  # pyright: ignore
        self.scopes[-1][key] = got = self._linear(ix.dims, shape)
        self.scopes[-1][("dims", got, shape)] = ix.dims
        return got

    def _linear(self, dims: tuple[SSAValue, ...], shape: tuple[int, ...]) -> SSAValue:
        acc = None
        for d, i in zip(shape, dims, strict=True):
            if acc is None:
                acc = i
                continue
            acc = self.emit(arith.MuliOp(acc, self.cidx(d))).results[0]
            acc = self.emit(arith.AddiOp(acc, i)).results[0]
        return acc if acc is not None else self.cidx(0)

    # -- memo -----------------------------------------------------------------------------
    def recall(self, key) -> object | None:
        for scope in reversed(self.scopes):
            if key in scope:
                return scope[key]
        return None

    def at(self, v: SSAValue, ix: Ix) -> Value:
        """The value of tile ``v`` at element ``ix`` (a scalar ``v`` is itself)."""
        if not isinstance(v.type, TensorType):
            return self.values[v]  # pyright: ignore
        key = (v, ix.key())
        if (got := self.recall(key)) is not None:
            return got  # pyright: ignore
        if v in self.tilemap:
            got = self.at_mapped(v, self.tilemap[v], ix)
        else:
            owner = v.owner
            assert isinstance(owner, Operation)
            got = self.lower_at(owner, v, ix)  # pyright: ignore
        self.scopes[-1][key] = got
        return got

    def at_mapped(self, v: SSAValue, m: Buffered | Shifted, ix: Ix) -> Value:
        if isinstance(m, Shifted):
            got = self.at(m.init, ix)
            if m.delta is None:
                return got
            if isinstance(got, Ptr):
                return self.add_offset(got, m.delta)
            return self.emit(arith.AddiOp(got, m.delta)).results[0]
        raw = self.emit(memref.LoadOp.get(m.buf, [self.slot_of(m, ix)])).results[0]
        if m.base is not None:
            return Ptr(m.base, raw)
        if m.elem != raw.type:
            return self.emit(arith.TruncIOp(raw, m.elem)).results[0]
        return raw

    def slot_of(self, m: Buffered, ix: Ix) -> SSAValue:
        if not m.private:
            return self.flat(ix, m.shape)
        n, e, s = self.cur
        if ix.flat is e and n == prod(m.shape):
            return s
        # another element this thread owns (the analysis says so: a reduction along an
        # axis whose inner size T divides): its slot
        return self.emit(arith.DivUIOp(self.flat(ix, m.shape), self.cidx(self.threads))).results[0]

    def add_offset(self, p: Ptr, off: SSAValue) -> Ptr:
        if p.offset is None:
            return Ptr(p.base, off)
        a, b = p.offset, off
        if a.type != b.type:  # i32 + i64: widen
            a, b = (self.emit(arith.ExtSIOp(x, i64)).results[0] if x.type != i64 else x
                    for x in (a, b))  # fmt: skip
        return Ptr(p.base, self.emit(arith.AddiOp(a, b)).results[0])

    # the lowering's state, and its per-op rules (``lower_at``, in :mod:`.tile_rules`)
    values: dict[SSAValue, Value]
    scopes: list[dict]
    cur: tuple[int, SSAValue, SSAValue]
