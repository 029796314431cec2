"""Expressions of the device language -> arith / math / memref / scf / gpu ops."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from lark import Token, Tree
from xdsl.dialects import arith, gpu
from xdsl.dialects.builtin import (
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
)
from xdsl.ir import Operation, SSAValue

from xpuc.dialects.arith_ext import IndexCastUIOp
from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.builtins import ID_VARS
from xpuc.frontends.cuda.calls import CallLowering
from xpuc.frontends.cuda.ctypes_ import CType
from xpuc.frontends.cuda.places import _CMP, PlaceLowering
from xpuc.frontends.cuda.values import LValue, Val

if TYPE_CHECKING:
    from xpuc.frontends.cuda.lower import FunctionLowering

_INT_BIN = {
    "+": (arith.AddiOp, arith.AddiOp), "-": (arith.SubiOp, arith.SubiOp),
    "*": (arith.MuliOp, arith.MuliOp), "/": (arith.DivSIOp, arith.DivUIOp),
    "%": (arith.RemSIOp, arith.RemUIOp), "&": (arith.AndIOp, arith.AndIOp),
    "|": (arith.OrIOp, arith.OrIOp), "^": (arith.XOrIOp, arith.XOrIOp),
    "<<": (arith.ShLIOp, arith.ShLIOp), ">>": (arith.ShRSIOp, arith.ShRUIOp),
}  # fmt: skip
_FLOAT_BIN = {"+": arith.AddfOp, "-": arith.SubfOp, "*": arith.MulfOp, "/": arith.DivfOp}
_DIMS = {d.value: gpu.DimensionAttr(d) for d in gpu.DimensionEnum}
_ID_OPS = {"threadIdx": gpu.ThreadIdOp, "blockIdx": gpu.BlockIdOp,
           "blockDim": gpu.BlockDimOp, "gridDim": gpu.GridDimOp}  # fmt: skip


class ExprLowering(PlaceLowering, CallLowering):
    """Mixin of FunctionLowering: everything that yields a value."""

    # ---- small IR helpers
    def emit(self: FunctionLowering, op: Operation) -> Operation:
        self.block.add_op(op)
        return op

    def const_int(self: FunctionLowering, value: int, t: CType) -> Val:
        if t.kind == "bool":
            return Val(
                self.emit(arith.ConstantOp.from_int_and_width(int(bool(value)), 1)).results[0], t
            )
        bits = t.bits
        value &= (1 << bits) - 1
        if value >= 1 << (bits - 1):
            value -= 1 << bits
        op = arith.ConstantOp(IntegerAttr(value, IntegerType(bits)))
        return Val(self.emit(op).results[0], t)

    def const_index(self: FunctionLowering, value: int) -> SSAValue:
        return self.emit(arith.ConstantOp(IntegerAttr(value, IndexType()))).results[0]

    def const_float(self: FunctionLowering, value: float, t: CType) -> Val:
        limit = {16: 65504.0, 32: 3.4028234663852886e38}.get(t.bits)
        if limit is not None and abs(value) > limit * (1 + 2**-24) and value == value:
            value = math.copysign(math.inf, value)  # out of range: C gives infinity
        return Val(self.emit(arith.ConstantOp(FloatAttr(value, t.ir()))).results[0], t)

    # ---- conversions
    def convert(self: FunctionLowering, val: Val, to: CType, node: Tree | Token) -> Val:
        fr = val.t
        if fr == to:
            return val
        if to.is_ptr or fr.is_ptr:
            if to.is_ptr and fr.is_ptr:
                return self.convert_pointer(val, to, node)
            raise self.error(node, f"cannot convert '{fr}' to '{to}'")
        if to.kind == "void":
            return Val(val.v, to)
        if fr.kind == to.kind == "struct" and [f for _, f in fr.fields] == [
            f for _, f in to.fields
        ]:
            return Val(None, to, parts=val.parts)  # dim3 <-> uint3: the same fields
        if not (fr.is_arith and to.is_arith):
            raise self.error(node, f"cannot convert '{fr}' to '{to}'")
        if to.kind == "bool":
            return self.truth(val, node)
        v = val.v
        if to.is_int:
            if fr.is_float:
                op = arith.FPToSIOp if to.signed else arith.FPToUIOp
                return Val(self.emit(op(v, to.ir())).results[0], to)
            if fr.bits == to.bits:
                return Val(v, to)
            if fr.bits > to.bits:
                return Val(self.emit(arith.TruncIOp(v, to.ir())).results[0], to)
            ext = arith.ExtSIOp if fr.signed and fr.kind != "bool" else arith.ExtUIOp
            return Val(self.emit(ext(v, to.ir())).results[0], to)
        if to.is_float:
            if fr.is_int:
                signed = fr.signed and fr.kind != "bool"
                op = arith.SIToFPOp if signed else arith.UIToFPOp
                return Val(self.emit(op(v, to.ir())).results[0], to)
            op = arith.ExtFOp if to.bits > fr.bits else arith.TruncFOp
            return Val(self.emit(op(v, to.ir())).results[0], to)
        raise self.error(node, f"cannot convert '{fr}' to '{to}'")

    def truth(self: FunctionLowering, val: Val, node: Tree | Token) -> Val:
        """C truth value of a scalar, as an i1."""
        if val.t.kind == "bool":
            return val
        if not (val.t.is_arith or val.t.is_ptr):
            raise self.error(node, f"'{val.t}' is not contextually convertible to bool")
        if val.t.is_ptr:  # non-null: its address is not zero
            zero = self.const_index(0)
            return Val(self.emit(arith.CmpiOp(self.address(val), zero, "ne")).results[0], ct.BOOL)
        if val.t.is_float:
            zero = self.const_float(0.0, val.t)
            return Val(self.emit(arith.CmpfOp(val.v, zero.v, "une")).results[0], ct.BOOL)
        zero = self.const_int(0, val.t)
        return Val(self.emit(arith.CmpiOp(val.v, zero.v, "ne")).results[0], ct.BOOL)

    def to_index(self: FunctionLowering, val: Val, node: Tree | Token) -> SSAValue:
        if not val.t.is_int:
            raise self.error(node, f"array subscript is not an integer (it is '{val.t}')")
        cast = arith.IndexCastOp if val.t.signed and val.t.kind != "bool" else IndexCastUIOp
        return self.emit(cast(val.v, IndexType())).results[0]

    def add_index(self: FunctionLowering, base: SSAValue, k: int | SSAValue) -> SSAValue:
        if isinstance(k, int):
            if k == 0:
                return base
            k = self.const_index(k)
        return self.emit(arith.AddiOp(base, k)).results[0]

    def scale_index(self: FunctionLowering, i: SSAValue, n: int) -> SSAValue:
        if n == 1:
            return i
        return self.emit(arith.MuliOp(i, self.const_index(n))).results[0]

    # ---- entry point
    def rvalue(self: FunctionLowering, node: Tree | Token) -> Val:
        if isinstance(node, Token):
            raise self.error(node, f"unexpected '{node}'")
        method = getattr(self, "expr_" + node.data, None)
        if method is None:
            raise self.error(node, f"unsupported expression ({node.data.replace('_', ' ')})")
        return method(node)

    def scalar(self: FunctionLowering, node: Tree | Token) -> Val:
        """An rvalue that must be a scalar or pointer (not a struct)."""
        v = self.rvalue(node)
        if v.t.kind in ("struct", "cg"):
            raise self.error(node, f"'{v.t}' used where a scalar is required")
        return v

    # ---- leaves
    def expr_name(self: FunctionLowering, node: Tree) -> Val:
        tok = node.children[0]
        if tok in ID_VARS:
            lv = self.builtin_dim3(str(tok))
            return Val(None, lv.t, parts=[self.id_value(str(tok), d) for d in "xyz"])
        if tok == "this" and self.this_place is not None:
            place = self.this_place
            return Val(place.mem, ct.ptr(place.t), place.idx[0])
        if tok == "warpSize":
            v = self.emit(gpu.SubgroupSizeOp()).results[0]
            return Val(self.emit(arith.IndexCastOp(v, IntegerType(32))).results[0], ct.INT)
        var = self.lookup(tok)
        if var.kind == "const":
            if var.t.is_float:
                return self.const_float(float(var.value), var.t)
            return self.const_int(int(var.value), var.t)
        if var.kind == "cg":
            return Val(None, var.t)
        assert var.place is not None
        return self.load(var.place)

    def id_value(self: FunctionLowering, var: str, dim: str) -> Val:
        v = self.emit(_ID_OPS[var](_DIMS[dim])).results[0]
        return Val(self.emit(IndexCastUIOp(v, IntegerType(32))).results[0], ct.UINT)

    def builtin_dim3(self: FunctionLowering, name: str) -> LValue:
        from xpuc.frontends.cuda.decls import BUILTIN_TYPES

        return LValue(None, [], BUILTIN_TYPES["dim3"])

    def expr_int_lit(self: FunctionLowering, node: Tree) -> Val:
        text = str(node.children[0])
        body = text.rstrip("uUlL")
        suffix = text[len(body) :].lower()
        if body.startswith("0") and body[1:].isdigit():
            bad = next((d for d in body if d in "89"), None)
            if bad is not None:
                raise self.error(node, f"invalid digit '{bad}' in octal constant")
            value = int(body, 8)
        else:
            value = int(body, 0)
        unsigned = "u" in suffix
        is_long = "l" in suffix
        if not is_long and value < 2**31 and not unsigned:
            t = ct.INT
        elif not is_long and value < 2**32 and (unsigned or body[:2].lower() in ("0x", "0b")):
            t = ct.UINT
        elif value < 2**63 and not unsigned:
            t = ct.LONG
        else:
            t = ct.ULONG
        return self.const_int(value, t)

    def expr_float_lit(self: FunctionLowering, node: Tree) -> Val:
        text = str(node.children[0])
        is_float = text[-1] in "fF"
        return self.const_float(float(text.rstrip("fFlL")), ct.FLOAT if is_float else ct.DOUBLE)

    def expr_char_lit(self: FunctionLowering, node: Tree) -> Val:
        text = str(node.children[0])[1:-1]
        value = ord(text.encode().decode("unicode_escape"))
        return self.const_int(value, ct.CHAR)

    def expr_null_lit(self: FunctionLowering, node: Tree) -> Val:
        return Val(self.const_int(0, ct.LONG).v, ct.NULLPTR)

    def expr_bool_lit(self: FunctionLowering, node: Tree) -> Val:
        return self.const_int(1 if node.children[0] == "true" else 0, ct.BOOL)

    # ---- operators
    def expr_member(self: FunctionLowering, node: Tree) -> Val:
        base, field = node.children[0], str(node.children[-1])
        if isinstance(base, Tree) and base.data == "name" and base.children[0] in _ID_OPS:
            if field not in _DIMS:
                raise self.error(node.children[-1], f"'{base.children[0]}' has no member '{field}'")
            return self.id_value(str(base.children[0]), field)
        if self.is_place(base):
            return self.load(self.lvalue(node))
        v = self.rvalue(base)
        if v.t.kind != "struct" or v.t.field(field) is None:
            raise self.error(node.children[-1], f"no member named '{field}' in '{v.t}'")
        assert v.parts is not None
        k = [n for n, _ in v.t.fields].index(field)
        return v.parts[k]

    def expr_arrow(self: FunctionLowering, node: Tree) -> Val:
        return self.load(self.lvalue(node))

    def expr_index(self: FunctionLowering, node: Tree) -> Val:
        return self.load(self.lvalue(node))

    def expr_deref(self: FunctionLowering, node: Tree) -> Val:
        return self.load(self.lvalue(node))

    def expr_cxx_cast(self: FunctionLowering, node: Tree) -> Val:
        """static_cast / reinterpret_cast / const_cast: the C cast's conversions."""
        to = self.type_name(node.children[1])
        return self.convert(self.rvalue(node.children[2]), to, node)

    def expr_construct(self: FunctionLowering, node: Tree) -> Val:
        """``T(x)`` (a functional cast), ``float4(...)``-style and ``dim3(x, y)``."""
        t = self.env.type_named(str(node.children[0]))
        args = [a for a in node.children[1:] if a is not None]
        if t is None:
            raise self.error(node, f"unknown type name '{node.children[0]}'")
        if t.kind != "struct":
            if len(args) > 1:
                raise self.error(node, f"too many arguments to construct '{t}'")
            return self.convert(self.scalar(args[0]), t, node) if args else self.zero(t)
        if len(args) > len(t.fields):
            raise self.error(node, f"too many arguments to construct '{t}'")
        parts = []
        for k, (_, ft) in enumerate(t.fields):
            if k < len(args):
                parts.append(self.convert(self.rvalue(args[k]), ft, args[k]))
            else:
                parts.append(self.const_int(1, ft) if t.name == "dim3" else self.zero(ft))
        return Val(None, t, parts=parts)

    def zero(self: FunctionLowering, t: CType) -> Val:
        if t.kind == "struct":
            return Val(None, t, parts=[self.zero(f) for _, f in t.fields])
        if t.is_float:
            return self.const_float(0.0, t)
        if t.is_int:
            return self.const_int(0, t)
        raise self.error_here(f"cannot make a zero of type '{t}'")

    def expr_string_lit(self: FunctionLowering, node: Tree) -> Val:
        raise self.error(node, "string literals are only supported as printf's format")

    def expr_sizeof_expr(self: FunctionLowering, node: Tree) -> Val:
        arg = node.children[1]
        t = self.lvalue_type(arg) if self.is_place(arg) else self.rvalue_type(arg)
        return self.const_int(t.bytes, ct.ULONG)

    def expr_binary(self: FunctionLowering, node: Tree) -> Val:
        lhs, op_tree, rhs = node.children
        op = str(op_tree.children[0])
        return self.binop(op, self.rvalue(lhs), self.rvalue(rhs), node)

    def expr_bit_or(self: FunctionLowering, node: Tree) -> Val:
        return self.binop("|", self.rvalue(node.children[0]), self.rvalue(node.children[1]), node)

    def expr_bit_xor(self: FunctionLowering, node: Tree) -> Val:
        return self.binop("^", self.rvalue(node.children[0]), self.rvalue(node.children[1]), node)

    def expr_bit_and(self: FunctionLowering, node: Tree) -> Val:
        return self.binop("&", self.rvalue(node.children[0]), self.rvalue(node.children[1]), node)

    def binop(self: FunctionLowering, op: str, a: Val, b: Val, node: Tree) -> Val:
        if a.t.kind == "struct" or b.t.kind == "struct":
            r = self.operator_call(node, op, [a, b])
            if r is None:
                raise self.error(node, f"invalid operands to '{op}' ('{a.t}' and '{b.t}')")
            return r
        if a.t.is_ptr or b.t.is_ptr:
            return self.pointer_binop(op, a, b, node)
        if not (a.t.is_arith and b.t.is_arith):
            raise self.error(node, f"invalid operands to '{op}' ('{a.t}' and '{b.t}')")
        if op in ("<<", ">>"):
            t = ct.promote(a.t)
            if t.is_float or b.t.is_float:
                raise self.error(node, f"invalid operands to '{op}' ('{a.t}' and '{b.t}')")
            a, b = self.convert(a, t, node), self.convert(b, t, node)
        else:
            t = ct.common_type(a.t, b.t)
            a, b = self.convert(a, t, node), self.convert(b, t, node)
        if op in _CMP:
            if t.is_float:
                pred = "o" + _CMP[op] if op != "!=" else "une"
                r = self.emit(arith.CmpfOp(a.v, b.v, pred)).results[0]
            else:
                pred = _CMP[op] if op in ("==", "!=") else ("s" if t.signed else "u") + _CMP[op]
                r = self.emit(arith.CmpiOp(a.v, b.v, pred)).results[0]
            return Val(r, ct.BOOL)
        if t.is_float:
            if op not in _FLOAT_BIN:
                raise self.error(node, f"invalid operands to '{op}' ('{a.t}' and '{b.t}')")
            return Val(self.emit(_FLOAT_BIN[op](a.v, b.v)).results[0], t)
        signed_op, unsigned_op = _INT_BIN[op]
        cls = signed_op if t.signed else unsigned_op
        return Val(self.emit(cls(a.v, b.v)).results[0], t)

    def expr_unary_op(self: FunctionLowering, node: Tree) -> Val:
        op = str(node.children[0].children[0])
        a = self.rvalue(node.children[1])
        if a.t.kind == "struct":
            r = self.operator_call(node, op, [a])
            if r is None:
                raise self.error(node, f"invalid argument type '{a.t}' to unary '{op}'")
            return r
        if op == "!":
            t = self.truth(a, node)
            one = self.const_int(1, ct.BOOL)
            return Val(self.emit(arith.XOrIOp(t.v, one.v)).results[0], ct.BOOL)
        if not a.t.is_arith:
            raise self.error(node, f"invalid argument type '{a.t}' to unary '{op}'")
        t = ct.promote(a.t)
        a = self.convert(a, t, node)
        if op == "+":
            return a
        if op == "-":
            if t.is_float:
                return Val(self.emit(arith.NegfOp(a.v)).results[0], t)
            return Val(self.emit(arith.SubiOp(self.const_int(0, t).v, a.v)).results[0], t)
        if t.is_float:
            raise self.error(node, f"invalid argument type '{a.t}' to unary '~'")
        return Val(self.emit(arith.XOrIOp(a.v, self.const_int(-1, t).v)).results[0], t)

    def expr_cast(self: FunctionLowering, node: Tree) -> Val:
        to = self.type_name(node.children[0])
        return self.convert(self.rvalue(node.children[1]), to, node)

    def expr_sizeof_type(self: FunctionLowering, node: Tree) -> Val:
        return self.const_int(self.type_name(node.children[1]).bytes, ct.ULONG)

    def expr_assign(self: FunctionLowering, node: Tree) -> Val:
        target, op_tree, value = node.children
        op = str(op_tree.children[0])
        lv = self.lvalue(target)
        rhs = self.rvalue(value)
        if op != "=" and lv.t.kind == "struct" and f"operator{op}" in self.unit.functions:
            return self.operator_call(node, op, [lv, rhs])  # the user's a += b
        if op != "=":
            rhs = self.binop(op[:-1], self.load(lv), rhs, node)
        self.store(lv, rhs, node)
        return self.convert(rhs, lv.t, node)

    def incdec(self: FunctionLowering, node: Tree, target: Tree, op: str, post: bool) -> Val:
        lv = self.lvalue(target)
        old = self.load(lv)
        one = self.const_int(1, ct.INT)
        new = self.binop("+" if op == "++" else "-", old, one, node)
        self.store(lv, new, node)
        return old if post else self.convert(new, lv.t, node)

    def expr_pre_incdec(self: FunctionLowering, node: Tree) -> Val:
        return self.incdec(node, node.children[1], str(node.children[0].children[0]), False)

    def expr_post_incdec(self: FunctionLowering, node: Tree) -> Val:
        return self.incdec(node, node.children[0], str(node.children[1].children[0]), True)

    def expr_comma(self: FunctionLowering, node: Tree) -> Val:
        self.rvalue(node.children[0])
        return self.rvalue(node.children[1])
