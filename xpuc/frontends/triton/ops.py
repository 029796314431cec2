"""Triton frontend: one op of a kernel on scalars (the values of its operands at one tile
element, or the kernel's scalars), for the SIMT lowering.

``arith``/``math`` ops are rebuilt as the shared IR's own classes (the import's
tensor-capable ``arith.cmpi`` and casts become the upstream scalar ops); the ``tt`` ops
with an upstream equivalent become it (``tt.precise_sqrt`` -> ``math.sqrt``,
``tt.clampf`` -> ``arith.maxnumf`` + ``arith.minnumf``, ``tt.fp_to_fp`` -> ``arith.extf``
/ ``arith.truncf``, ``tt.bitcast`` -> ``arith.bitcast``, ``tt.mulhiui`` -> a widened
product), and pointers stay a base argument plus an offset (:class:`~.tiles.Ptr`).
"""

from __future__ import annotations

from xdsl.dialects import arith, gpu, memref
from xdsl.dialects.builtin import (
    AnyFloat,
    BFloat16Type,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    i32,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue

from xpuc.dialects import tt
from xpuc.dialects.arith_ext import IndexCastUIOp
from xpuc.frontends.triton.bf16 import from_bits, round_bf16, to_bits
from xpuc.frontends.triton.tiles import (
    INDEX,
    Ptr,
    Value,
    elem_type,
    low_type,
    raw_type,
    zero_of,
)

_DIMS = {"x": gpu.DimensionEnum.X, "y": gpu.DimensionEnum.Y, "z": gpu.DimensionEnum.Z}
RENAMED = {"tt.precise_sqrt": "math.sqrt", "tt.precise_divf": "arith.divf"}
# triton's atomic_rmw kinds -> upstream arith::AtomicRMWKind (integer, float)
RMW = {"add": (1, None), "fadd": (None, 0), "exch": (2, 2), "max": (4, 13), "min": (7, 14),
       "umax": (5, None), "umin": (8, None), "or": (11, None), "and": (12, None),
       "xor": (15, None)}  # fmt: skip


class ScalarOps:
    """Mixin of the lowering: ``scalar_op`` and the helpers it shares with it."""

    ctx: object

    def scalar(self, op: Operation, v: Value) -> SSAValue:
        if isinstance(v, Ptr):
            raise self.error(op, f"'{op.name}' on pointers is not supported yet")  # pyright: ignore
        return v

    def index(self, p: Ptr) -> SSAValue:
        if p.offset is None:
            return self.cidx(0)  # pyright: ignore
        return self.emit(arith.IndexCastOp(p.offset, INDEX)).results[0]  # pyright: ignore

    def constant(self, op: Operation) -> SSAValue:
        known = self.constants  # pyright: ignore  # a splat tile's value costs O(N) to read
        if op not in known:
            known[op] = self.constant_value(op)
        return self.emit(arith.ConstantOp(known[op])).results[0]  # pyright: ignore

    def constant_value(self, op: Operation) -> Attribute:
        value = op.properties.get("value")
        if value is None:
            value = op.attributes.get("value")
        if isinstance(value, DenseIntOrFPElementsAttr):
            t = value.get_element_type()
            values = value.get_values()
            first = values[0]
            if any(v != first and not (v != v and first != first) for v in values):  # NaN
                raise self.error(op, "a non-uniform constant tile is not supported yet")  # pyright: ignore
            value = FloatAttr(first, t) if isinstance(t, AnyFloat) else IntegerAttr(first, t)  # pyright: ignore
        if isinstance(value, FloatAttr) and low_type(value.type) != value.type:
            value = FloatAttr(value.value.data, low_type(value.type))
        return value  # pyright: ignore

    def load_from(self, op: Operation, p: Value, mask: Value | None, other: Value | None,
                  t: Attribute) -> SSAValue:  # fmt: skip
        """``*p`` (where ``mask``; ``other``, or zero, elsewhere)."""
        if not isinstance(p, Ptr):
            raise self.error(op, "'tt.load' of this pointer kind is not supported yet")  # pyright: ignore

        def read() -> list[SSAValue]:
            got = self.emit(memref.LoadOp.get(p.base, [self.index(p)])).results[0]  # pyright: ignore
            return [from_bits(self, got, t) if got.type != t else got]  # bf16 bits

        if mask is None:
            return read()[0]
        if other is None:
            other = self.emit(arith.ConstantOp(zero_of(t))).results[0]  # pyright: ignore
        alt = self.scalar(op, other)
        return self.if_(self.scalar(op, mask), read, lambda: [alt], [t])[0]  # pyright: ignore

    def store_to(self, op: Operation, p: Value, value: Value, mask: Value | None) -> None:
        if not isinstance(p, Ptr):
            raise self.error(op, "'tt.store' to this pointer kind is not supported yet")  # pyright: ignore
        v = self.scalar(op, value)
        if p.base.type.element_type != v.type:  # pyright: ignore  # bf16 bits
            v = to_bits(self, v)

        def write() -> list[SSAValue]:
            self.emit(memref.StoreOp.get(v, p.base, [self.index(p)]))  # pyright: ignore
            return []

        if mask is None:
            write()
        else:
            self.if_(self.scalar(op, mask), write)  # pyright: ignore

    def rmw(self, op: Operation, p: Value, value: Value) -> SSAValue:
        """One ``tt.atomic_rmw`` / ``tt.atomic_cas`` on ``p``; the old value."""
        assert isinstance(p, Ptr)
        t = elem_type(op.results[0].type)
        if t != raw_type(op.results[0].type):
            raise self.error(op, f"'{op.name}' on bf16 is not supported yet")  # pyright: ignore
        where = [self.index(p)]
        if op.name == "tt.atomic_cas":
            from xpuc.dialects.xpu import AtomicCASOp

            if not isinstance(t, IntegerType) or t.width.data not in (32, 64):
                raise self.error(op, f"'tt.atomic_cas' on {t} is not supported yet")  # pyright: ignore
            cmp, new = (self.scalar(op, v) for v in value)  # pyright: ignore
            return self.emit(AtomicCASOp(p.base, where, cmp, new)).results[0]  # pyright: ignore
        kind = op.attributes["atomic_rmw_op"].data  # pyright: ignore
        ints, floats = RMW.get(kind, (None, None))
        code = floats if isinstance(t, AnyFloat) else ints
        width = t.bitwidth if isinstance(t, AnyFloat) else t.width.data  # pyright: ignore
        if code is None or width not in (32, 64):
            raise self.error(op, f"'tt.atomic_rmw' {kind} on {t} is not supported yet")  # pyright: ignore
        v = self.scalar(op, value)
        new = memref.AtomicRMWOp.build(operands=[v, p.base, where], result_types=[t],
                                       properties={"kind": IntegerAttr(code, i64)})  # fmt: skip
        return self.emit(new).results[0]  # pyright: ignore

    def max_min(self, op: Operation, a: SSAValue, b: SSAValue, which: str, nan: bool) -> SSAValue:
        """``fmax``/``fmin`` (a NaN operand ignored), or with ``nan`` a NaN operand's NaN
        (``arith.maximumf``, built from ``maxnumf`` so that every target prints it)."""
        cls = arith.MaxnumfOp if which == "max" else arith.MinnumfOp
        got = self.emit(cls(a, b)).results[0]  # pyright: ignore
        if not nan:
            return got
        uno = self.emit(arith.CmpfOp(a, b, "uno")).results[0]  # pyright: ignore
        either = self.emit(arith.AddfOp(a, b)).results[0]  # pyright: ignore  # NaN if one is
        return self.emit(arith.SelectOp(uno, either, got)).results[0]  # pyright: ignore

    def scalar_op(self, op: Operation, args: list[Value]) -> list[Value]:
        """``op`` applied to ``args`` (pure ops: no memory access); bf16 results
        rounded (:mod:`.bf16`)."""
        got = self._scalar_op(op, args)
        return [round_bf16(self, g) if isinstance(raw_type(r.type), BFloat16Type)
                and not isinstance(g, Ptr) else g
                for g, r in zip(got, op.results, strict=True)]  # fmt: skip

    def _scalar_op(self, op: Operation, args: list[Value]) -> list[Value]:
        name = op.name
        emit = self.emit  # pyright: ignore
        types = [elem_type(r.type) for r in op.results]
        if isinstance(op, tt.GetProgramIdOp | tt.GetNumProgramsOp):
            cls = gpu.BlockIdOp if isinstance(op, tt.GetProgramIdOp) else gpu.GridDimOp
            dim = gpu.DimensionAttr(_DIMS[op.attributes["axis"].data])  # pyright: ignore
            return [emit(IndexCastUIOp(emit(cls(dim)).results[0], i32)).results[0]]
        if name == "tt.addptr":
            p, off = args
            if not isinstance(p, Ptr):
                raise self.error(op, "'tt.addptr' on this pointer kind is not supported yet")  # pyright: ignore
            return [self.add_offset(p, self.scalar(op, off))]  # pyright: ignore
        if name == "arith.select" and any(isinstance(a, Ptr) for a in args[1:]):
            c, a, b = args
            if not (isinstance(a, Ptr) and isinstance(b, Ptr) and a.base is b.base):
                raise self.error(op, "'arith.select' of pointers into different arguments "
                                     "is not supported yet")  # fmt: skip # pyright: ignore
            z = self.emit(arith.ConstantOp(IntegerAttr(0, i32))).results[0]  # pyright: ignore
            off_a = a.offset if a.offset is not None else z
            off_b = b.offset if b.offset is not None else z
            if off_a.type != off_b.type:
                off_a, off_b = (emit(arith.ExtSIOp(x, i64)).results[0] if x.type != i64 else x
                                for x in (off_a, off_b))  # fmt: skip
            sel = emit(arith.SelectOp(self.scalar(op, c), off_a, off_b)).results[0]
            return [Ptr(a.base, sel)]
        if name == "arith.constant":
            return [self.constant(op)]
        vals = [self.scalar(op, a) for a in args]
        if name == "tt.clampf":  # NaN operands: ignored, or propagated with propagateNan=all
            nan = str(op.attributes.get("propagateNan", "")).find("all") >= 0
            lo = self.max_min(op, vals[0], vals[1], "max", nan)
            return [self.max_min(op, lo, vals[2], "min", nan)]
        if name in ("arith.maximumf", "arith.minimumf"):
            return [self.max_min(op, vals[0], vals[1], name[6:9], True)]
        if name == "tt.mulhiui":
            t = types[0]
            wide = IntegerType(2 * t.width.data)  # pyright: ignore
            a, b = (emit(arith.ExtUIOp(x, wide)).results[0] for x in vals)
            full = emit(arith.MuliOp(a, b)).results[0]
            shift = emit(arith.ConstantOp(IntegerAttr(t.width.data, wide))).results[0]  # pyright: ignore
            return [emit(arith.TruncIOp(emit(arith.ShRUIOp(full, shift)), t)).results[0]]
        if name in ("tt.bitcast", "arith.bitcast"):
            if not isinstance(types[0], IntegerType | AnyFloat):
                raise self.error(op, "'tt.bitcast' of pointers is not supported yet")  # pyright: ignore
            src = raw_type(op.operands[0].type)
            if isinstance(src, BFloat16Type):
                return [to_bits(self, vals[0])]
            if isinstance(raw_type(op.results[0].type), BFloat16Type):
                return [from_bits(self, vals[0], types[0])]
            return [emit(arith.BitcastOp(vals[0], types[0])).results[0]]
        if name in ("arith.extf", "arith.truncf") and vals[0].type == types[0]:
            return [vals[0]]  # bf16 <-> f32: the same f32 (rounded after, for bf16)
        if name == "tt.fp_to_fp":
            src, dst = vals[0].type, types[0]
            rounding = op.attributes.get("rounding")
            if rounding is not None and getattr(rounding, "data", "rtne") != "rtne":
                raise self.error(op, f"'tt.fp_to_fp' rounding {rounding.data} is not "  # pyright: ignore
                                     "supported yet (only rtne)")  # fmt: skip
            if not (isinstance(src, AnyFloat) and isinstance(dst, AnyFloat)) or any(
                "f8" in str(x).lower() for x in (src, dst)):  # fmt: skip
                raise self.error(op, f"'tt.fp_to_fp' from {src} to {dst} is not supported yet")  # pyright: ignore
            if src == dst:
                return [vals[0]]
            cls = arith.ExtFOp if dst.bitwidth > src.bitwidth else arith.TruncFOp  # pyright: ignore
            return [emit(cls(vals[0], dst)).results[0]]
        cls = self.ctx.get_optional_op(RENAMED.get(name, name))  # pyright: ignore
        if cls is None or op.regions or name.split(".")[0] not in ("arith", "math", "tt"):
            raise self.error(op, f"'{name}' is not supported yet")  # pyright: ignore
        new = cls.create(operands=vals, result_types=types, properties=dict(op.properties),
                         attributes=dict(op.attributes))  # fmt: skip
        return list(emit(new).results)
