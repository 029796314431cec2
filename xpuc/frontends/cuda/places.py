"""Places of the device language: objects in memory and how they are reached.

``lvalue`` resolves names, subscripts, ``*p``, ``.field`` and ``->field`` to an
``LValue``; ``load``/``store`` move values in and out (a struct field by field, an
array decaying to a pointer).  Arrays and homogeneous structs are addressed in
scalar leaves; structs whose fields differ in type are addressed in bytes, each field
through a typed ``memref.view``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lark import Token, Tree
from xdsl.dialects import arith, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    Float16Type,
    Float32Type,
    Float64Type,
    IndexType,
    IntegerType,
    MemRefType,
)
from xdsl.ir import Block, SSAValue

from xpuc.dialects.xpu import LaneMaskOp, ReinterpretOp, WarpSyncOp
from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.ctypes_ import CType
from xpuc.frontends.cuda.values import LValue, Val

if TYPE_CHECKING:
    from xpuc.frontends.cuda.lower import FunctionLowering


_CMP = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}


class PlaceLowering:
    """Mixin of FunctionLowering: lvalues, loads, stores and pointer conversions."""

    def load(self: FunctionLowering, lv: LValue) -> Val:
        t = lv.t
        if t.kind == "array":
            off = lv.idx[0] if lv.idx else self.const_index(0)
            assert t.pointee is not None
            return Val(lv.mem, ct.ptr(t.pointee), off)
        if t.kind == "struct":
            return Val(None, t, parts=[self.load(self.field_place(lv, n)) for n, _ in t.fields])
        if lv.t.is_ptr and lv.ptr_base is None:
            raise self.error_here("pointer variable is used before it is assigned")
        v = self.emit(memref.LoadOp.get(lv.mem, lv.idx)).results[0]
        if lv.t.is_ptr:
            return Val(lv.ptr_base, lv.t, v)
        return Val(v, lv.t)

    def store(self: FunctionLowering, lv: LValue, val: Val, node: Tree | Token) -> None:
        if lv.t.kind == "array":
            raise self.error(node, "an array is not assignable")
        val = self.convert(val, lv.t, node)
        if lv.t.kind == "struct":
            assert val.parts is not None
            for (n, ft), part in zip(lv.t.fields, val.parts, strict=True):
                if ft.kind == "array":  # struct copies copy their arrays
                    self.copy_array(self.field_place(lv, n), part)
                    continue
                self.store(self.field_place(lv, n), part, node)
            return
        if lv.t.is_ptr:
            if lv.ptr_base is None:
                lv.ptr_base = val.v  # a pointer variable's array is fixed by its first store
            elif val.v is not lv.ptr_base:
                raise self.error(
                    node, "a pointer variable may only point into one array (not supported yet)"
                )
            self.emit(memref.StoreOp.get(val.off, lv.mem, lv.idx))
            return
        self.emit(memref.StoreOp.get(val.v, lv.mem, lv.idx))
        if lv.volatile:
            # Warp-synchronous code (``volatile`` shared memory without __syncwarp) relies
            # on the lanes' stores being seen at once, as in lock step: say so explicitly.
            self.emit(WarpSyncOp(self.emit(LaneMaskOp()).results[0]))

    def copy_array(self: FunctionLowering, dest: LValue, src: Val) -> None:
        """Element-wise copy of an array (a struct member) from the array ``src`` decays to."""
        to = self.load(dest)
        body = Block(arg_types=[IndexType()])
        saved, self.block = self.block, body
        i = body.args[0]
        self.store(self.element(to, i), self.load(self.element(src, i)), self.node_stack[-1])
        self.emit(scf.YieldOp())
        self.block = saved
        assert dest.t.pointee is not None
        n = self.const_index(dest.t.count)
        self.emit(scf.ForOp(self.const_index(0), n, self.const_index(1), [], body))

    def field_place(self: FunctionLowering, lv: LValue, name: str) -> LValue:
        if lv.fields is not None:
            return lv.fields[name]
        if ct.is_mixed(lv.t):
            return self.byte_field(lv, name)
        found = lv.t.field(name)
        assert found is not None
        off, ft = found
        return LValue(lv.mem, [self.add_index(lv.idx[0], off)], ft)

    def element(self: FunctionLowering, p: Val, i: SSAValue | int) -> LValue:
        """The place ``p[i]`` of a pointer value."""
        assert p.t.pointee is not None
        if p.t.pointee.kind == "void":
            raise self.error_here("dereferencing a 'void *' pointer")
        if isinstance(i, int):
            i = self.const_index(i)
        # mixed structs are addressed in bytes, everything else in leaves
        step = p.t.pointee.bytes if ct.is_mixed(p.t.pointee) else p.t.pointee.size
        off = self.add_index(p.off, self.scale_index(i, step))
        return LValue(p.v, [off], p.t.pointee, volatile=p.t.volatile)

    def byte_field(self: FunctionLowering, lv: LValue, name: str) -> LValue:
        """A field of a struct with mixed leaf types, stored as bytes: a typed view."""
        ft = dict(lv.t.fields)[name]
        pos = self.add_index(lv.idx[0], lv.t.byte_offset(name))
        if ct.is_mixed(ft):
            return LValue(lv.mem, [pos], ft)
        leaf = ct.leaf_type(ft) if ft.is_aggregate else ft
        if leaf is None or leaf.is_ptr:
            raise self.error_here(f"field '{name}' of type '{ft}' cannot be read from memory yet")
        space = lv.mem.type.memory_space
        view_t = MemRefType(leaf.ir(), [max(ft.size, 1)], memory_space=space)
        view = self.emit(memref.ViewOp(lv.mem, pos, [], view_t)).results[0]
        return LValue(view, [self.const_index(0)], ft)

    def lvalue(self: FunctionLowering, node: Tree | Token) -> LValue:
        if isinstance(node, Tree) and node.data == "name":
            var = self.lookup(node.children[0])
            if var.kind != "place":
                raise self.error(node, f"'{node.children[0]}' is not assignable")
            assert var.place is not None
            return var.place
        if isinstance(node, Tree) and node.data == "index":
            p = self.scalar(node.children[0])
            i = self.scalar(node.children[1])
            if not p.t.is_ptr and i.t.is_ptr:
                p, i = i, p
            if not p.t.is_ptr:
                raise self.error(node, f"subscripted value is not a pointer or array ('{p.t}')")
            return self.element(p, self.to_index(i, node.children[1]))
        if isinstance(node, Tree) and node.data == "deref":
            p = self.scalar(node.children[1])
            if not p.t.is_ptr:
                raise self.error(node, f"indirection requires a pointer operand ('{p.t}')")
            return self.element(p, 0)
        if isinstance(node, Tree) and node.data in ("member", "arrow"):
            base, field = node.children[0], str(node.children[-1])
            if node.data == "arrow":
                p = self.scalar(base)
                if not p.t.is_ptr:
                    raise self.error(node, f"member reference type '{p.t}' is not a pointer")
                lv = self.element(p, 0)
            else:
                lv = self.lvalue(base)
            if lv.t.kind != "struct" or lv.t.field(field) is None:
                raise self.error(node.children[-1], f"no member named '{field}' in '{lv.t}'")
            return self.field_place(lv, field)
        raise self.error(node, "expression is not assignable")

    def is_place(self: FunctionLowering, node: Tree | Token) -> bool:
        """Whether ``node`` designates an object (so ``.field`` can be taken in place)."""
        if not isinstance(node, Tree):
            return False
        if node.data == "name":
            var = self.lookup_opt(str(node.children[0]))
            return var is not None and var.kind == "place"
        if node.data in ("index", "deref", "arrow"):
            return True
        if node.data == "member":
            return self.is_place(node.children[0])
        return False

    def expr_address_of(self: FunctionLowering, node: Tree) -> Val:
        target = node.children[-1]
        lv = self.lvalue(target)
        if lv.mem is None or not lv.idx or lv.ptr_base is not None:
            raise self.error(
                node,
                "cannot take the address of this object (only of array elements, "
                "shared and global variables, and scalar locals)",
            )
        return Val(lv.mem, ct.ptr(lv.t), lv.idx[0])

    def convert_pointer(self: FunctionLowering, val: Val, to: CType, node) -> Val:
        assert val.v is not None and to.pointee is not None
        have = val.v.type.element_type
        want = to.ir().element_type
        if have == want or to.pointee.kind == "void":
            return Val(val.v, to, val.off)
        if have == IntegerType(8) and len(val.v.type.get_shape()) == 1:
            # bytes (dynamic shared memory, void*) reinterpreted as T: a memref.view
            nbytes = max(ct.first_leaf(to.pointee).bits, 8) // 8
            size = val.v.type.get_shape()[0]
            if size == DYNAMIC_INDEX:
                dim = self.const_index(ct.NOMINAL_EXTENT_BYTES)
            else:
                dim = self.emit(memref.DimOp(val.v, self.const_index(0)))
                dim = dim.results[0]
            n = self.emit(arith.DivUIOp(dim, self.const_index(nbytes))).results[0]
            rt = MemRefType(want, [DYNAMIC_INDEX], memory_space=val.v.type.memory_space)
            view = self.emit(memref.ViewOp(val.v, val.off, [n], rt))
            return Val(view.results[0], to, self.const_index(0))
        if isinstance(have, IntegerType | Float16Type | Float32Type | Float64Type) and isinstance(
            want, IntegerType | Float16Type | Float32Type | Float64Type
        ):
            # another element type over the same memory: offsets convert through bytes
            a, b = self.elem_bytes(val), max(getattr(want, "bitwidth", 8), 8) // 8
            rt = MemRefType(want, [DYNAMIC_INDEX], memory_space=val.v.type.memory_space)
            base = self.emit(ReinterpretOp(val.v, rt)).results[0]
            off = self.scale_index(val.off, a)
            if b != 1:
                off = self.emit(arith.DivUIOp(off, self.const_index(b))).results[0]
            return Val(base, to, off)
        raise self.error(node, f"cannot convert '{val.t}' to '{to}'")

    def pointer_binop(self: FunctionLowering, op: str, a: Val, b: Val, node: Tree) -> Val:
        if op in ("==", "!=") and (self.is_null(a) or self.is_null(b)):
            p = b if self.is_null(a) else a  # p == nullptr, p != NULL
            if p.t.is_ptr:
                zero = self.const_index(0)
                pred = "eq" if op == "==" else "ne"
                return Val(self.emit(arith.CmpiOp(self.address(p), zero, pred)).results[0], ct.BOOL)
        if a.t.is_ptr and b.t.is_ptr:
            if op == "-":
                step = self.pointer_step(a.t)
                if a.v is b.v:
                    d = self.emit(arith.SubiOp(a.off, b.off)).results[0]
                else:
                    d = self.emit(arith.SubiOp(self.address(a), self.address(b))).results[0]
                    step *= self.elem_bytes(a)
                if step != 1:
                    d = self.emit(arith.DivSIOp(d, self.const_index(step))).results[0]
                return Val(self.emit(arith.IndexCastOp(d, IntegerType(64))).results[0], ct.LONG)
            if op in _CMP:
                pred = _CMP[op] if op in ("==", "!=") else "u" + _CMP[op]
                if a.v is b.v:  # same array: offsets decide
                    x, y = a.off, b.off
                else:  # maybe different arrays (or aliases): compare addresses
                    x, y = self.address(a), self.address(b)
                return Val(self.emit(arith.CmpiOp(x, y, pred)).results[0], ct.BOOL)
        elif op in ("+", "-") and (a.t.is_ptr and b.t.is_int or op == "+" and b.t.is_ptr):
            p, i = (a, b) if a.t.is_ptr else (b, a)
            idx = self.scale_index(self.to_index(i, node), self.pointer_step(p.t))
            cls = arith.AddiOp if op == "+" else arith.SubiOp
            return Val(p.v, p.t, self.emit(cls(p.off, idx)).results[0])
        raise self.error(node, f"invalid operands to '{op}' ('{a.t}' and '{b.t}')")

    def is_null(self: FunctionLowering, v: Val) -> bool:
        """``nullptr`` or an integer constant zero (``NULL``)."""
        if v.t == ct.NULLPTR:
            return True
        op = v.v.owner if v.v is not None and v.t.is_int else None
        return isinstance(op, arith.ConstantOp) and op.value.value.data == 0

    def pointer_step(self: FunctionLowering, t: CType) -> int:
        """Offset units per element of ``*t``: leaves, or bytes for mixed structs."""
        assert t.pointee is not None
        if t.pointee.kind == "void":
            return 1
        return t.pointee.bytes if ct.is_mixed(t.pointee) else t.pointee.size

    def elem_bytes(self: FunctionLowering, p: Val) -> int:
        """Bytes per offset unit of a pointer value (its memref's element type)."""
        elem = p.v.type.element_type
        return max(getattr(elem, "bitwidth", 8), 8) // 8

    def address(self: FunctionLowering, p: Val) -> SSAValue:
        """The byte address a pointer value designates (for comparing two arrays)."""
        base = self.emit(memref.ExtractAlignedPointerAsIndexOp.get(p.v)).results[0]
        off = self.scale_index(p.off, self.elem_bytes(p))
        return self.emit(arith.AddiOp(base, off)).results[0]
