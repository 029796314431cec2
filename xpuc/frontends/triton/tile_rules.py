"""Triton frontend: the value of a lazy tile op at one element (the per-op rules of
:meth:`~.tiles.Tiles.at`), ``tt.dot`` and the staging of its operands."""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import AnyFloat, IntegerType
from xdsl.ir import Attribute, Operation, SSAValue

from xpuc.frontends.triton.analysis import count
from xpuc.frontends.triton.tiles import INDEX, Ix, Value, elem_type, shape_of

STAGE_BYTES = 32 * 1024  # the most shared memory one tt.dot's staged operands take


def _bytes(t: Attribute) -> int:
    return (t.bitwidth if isinstance(t, AnyFloat) else t.width.data) // 8  # pyright: ignore


class TileRules:
    """Mixin of the lowering: what a lazy op is at one element."""

    def stage(self, dot: Operation) -> None:
        """Compute ``dot``'s operands once, widened to the accumulator's type, into shared
        memory, where it stands: each element is read by a whole row or column of the
        result (``tt.dot`` at ``(m, n)`` reads ``a[m, :]`` and ``b[:, n]``), so computing
        them there would repeat their loads, arithmetic and conversions ``N`` (or ``M``)
        times.  Only this dot reads the buffers (its uses come after it, in its region).
        All the kernel's staged operands share :data:`STAGE_BYTES` (the static shared
        memory of a GPU block is small): an operand is staged widened while that fits,
        else in its own type, else not at all (recomputed where the dot reads it)."""
        t = elem_type(dot.operands[2].type)
        todo, staged = [], []
        uniform = ("tt.splat", "arith.constant")
        for v in dot.operands[:2]:
            own = elem_type(v.type)
            left = STAGE_BYTES - self.staged_bytes  # pyright: ignore
            if isinstance(v.owner, Operation) and v.owner.name in uniform:
                staged.append(None)
                continue
            elem = t if count(v) * _bytes(t) <= left else own
            if count(v) * _bytes(elem) > left:
                staged.append(None)
                continue
            self.staged_bytes += count(v) * _bytes(elem)
            m = self.new_buffer(v, False, elem=elem)
            staged.append(m)
            todo.append(
                (count(v), [(m, lambda ix, v=v, e=m.elem: self.widen(dot, self.at(v, ix), e))])
            )
        if todo:
            self.fill(todo)
        self.dot_operands[dot] = staged

    # -- tiles at an index ----------------------------------------------------------------
    def lower_at(self, op: Operation, v: SSAValue, ix: Ix) -> Value:
        name = op.name
        shape = shape_of(v)
        if name == "tt.make_range":
            start = op.attributes["start"].value.data  # pyright: ignore
            i = self.dims(ix, shape)[0]
            if start:
                i = self.emit(arith.AddiOp(i, self.cidx(start))).results[0]
            return self.emit(arith.IndexCastOp(i, elem_type(v.type))).results[0]
        if name == "tt.splat":
            return self.values[op.operands[0]]
        if name == "tt.broadcast":
            src = shape_of(op.operands[0])
            d = self.dims(ix, shape)
            pinned = [self.cidx(0) if s == 1 and r != 1 else i
                      for s, r, i in zip(src, shape, d, strict=True)]  # fmt: skip
            return self.at(op.operands[0], Ix(None, tuple(pinned)))
        if name == "tt.expand_dims":
            axis = op.attributes["axis"].value.data  # pyright: ignore
            d = None if ix.dims is None else ix.dims[:axis] + ix.dims[axis + 1 :]
            return self.at(op.operands[0], Ix(ix.flat, d))
        if name == "tt.reshape":
            return self.at(op.operands[0], Ix(self.flat(ix, shape)))
        if name == "tt.trans":
            order = op.attributes["order"].get_values()  # pyright: ignore
            d = self.dims(ix, shape)
            src = [None] * len(d)
            for i, o in enumerate(order):
                src[o] = d[i]
            return self.at(op.operands[0], Ix(None, tuple(src)))  # pyright: ignore
        if name in ("tt.join", "tt.split", "tt.cat", "tt.gather"):
            return self.shuffle_at(op, v, ix)
        if name == "tt.load":
            p, *rest = (self.at(x, ix) for x in op.operands)
            mask, other = (rest + [None, None])[:2]
            return self.load_from(op, p, mask, other, elem_type(v.type))
        if name == "tt.dot":
            return self.dot_at(op, ix)
        if name == "arith.constant":
            return self.constant(op)
        got = self.scalar_op(op, [self.at(x, ix) for x in op.operands])
        return got[list(op.results).index(v)]

    def shuffle_at(self, op: Operation, v: SSAValue, ix: Ix) -> Value:
        """``tt.join``/``tt.split``/``tt.cat``/``tt.gather``: index maps between tiles."""
        d = self.dims(ix, shape_of(v))
        name = op.name
        if name == "tt.split":  # the last dimension (of 2) pinned
            which = self.cidx(list(op.results).index(v))
            return self.at(op.operands[0], Ix(None, (*d, which)))
        if name == "tt.gather":
            axis = op.attributes["axis"].value.data  # pyright: ignore
            k = self.scalar(op, self.at(op.operands[1], ix))
            k = self.emit(arith.IndexCastOp(k, INDEX)).results[0]
            return self.at(op.operands[0], Ix(None, (*d[:axis], k, *d[axis + 1 :])))
        t = elem_type(v.type)
        if name == "tt.join":  # both halves are valid at d[:-1]: a select
            a, b = (self.scalar(op, self.at(x, Ix(None, d[:-1]))) for x in op.operands)
            first = self.emit(arith.CmpiOp(d[-1], self.cidx(0), "eq")).results[0]
            return self.emit(arith.SelectOp(first, a, b)).results[0]
        n0 = shape_of(op.operands[0])[0]  # tt.cat along the first dimension
        inside = self.emit(arith.CmpiOp(d[0], self.cidx(n0), "ult")).results[0]
        rest = self.emit(arith.SubiOp(d[0], self.cidx(n0))).results[0]
        a, b = op.operands
        return self.if_(inside, lambda: [self.scalar(op, self.at(a, Ix(None, d)))],
                        lambda: [self.scalar(op, self.at(b, Ix(None, (rest, *d[1:]))))],
                        [t])[0]  # fmt: skip

    def widen(self, op: Operation, v: Value, t: Attribute) -> SSAValue:
        """``v`` in the accumulator type ``t`` of ``op`` (a ``tt.dot``)."""
        x = self.scalar(op, v)
        if x.type == t:
            return x
        if isinstance(t, AnyFloat) and isinstance(x.type, AnyFloat):
            return self.emit(arith.ExtFOp(x, t)).results[0]
        if isinstance(t, IntegerType) and isinstance(x.type, IntegerType):
            return self.emit(arith.ExtSIOp(x, t)).results[0]
        raise self.error(op, f"'tt.dot' of {x.type} into {t} is not supported yet")

    def dot_at(self, op: Operation, ix: Ix) -> SSAValue:
        """``c[.., m, n] + sum_k a[.., m, k] * b[.., k, n]`` in ``c``'s element type, ``a``
        and ``b`` read where :meth:`stage` put them."""
        a, b, c = op.operands
        d = self.dims(ix, shape_of(op.results[0]))
        t = elem_type(c.type)
        acc = self.scalar(op, self.at(c, ix))
        staged = self.dot_operands.get(op, [None, None])

        def operand(i: int, where: Ix) -> SSAValue:
            m = staged[i]
            got = self.at(op.operands[i], where) if m is None else self.at_mapped(a, m, where)
            return self.widen(op, got, t)

        def step(k: SSAValue, args: list[SSAValue]) -> list[SSAValue]:
            x = operand(0, Ix(None, (*d[:-1], k)))
            y = operand(1, Ix(None, (*d[:-2], k, d[-1])))
            if isinstance(t, AnyFloat):
                return [self.emit(arith.AddfOp(args[0], self.emit(arith.MulfOp(x, y)))).results[0]]
            return [self.emit(arith.AddiOp(args[0], self.emit(arith.MuliOp(x, y)))).results[0]]

        k = shape_of(a)[-1]
        return self.for_(self.cidx(0), self.cidx(k), self.cidx(1), [acc], step)[0]

    # -- the kernel ------------------------------------------------------------------------
