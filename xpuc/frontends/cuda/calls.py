"""Calls in the device language: built-ins, the math library, device functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lark import Tree
from xdsl.dialects import arith, func, math, memref
from xdsl.dialects.builtin import IndexType, MemRefType
from xdsl.ir import Block, SSAValue

import xpuc.frontends.cuda.mathlib  # noqa: F401 - registers the rest of the math library
from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.builtins import MATH_BINARY, MATH_TERNARY, MATH_UNARY
from xpuc.frontends.cuda.ctypes_ import flat_types
from xpuc.frontends.cuda.intrinsics import INTRINSICS, IntrinsicLowering
from xpuc.frontends.cuda.values import LValue, Val

if TYPE_CHECKING:
    from xpuc.frontends.cuda.lower import FunctionLowering


class CallLowering(IntrinsicLowering):
    """Mixin of FunctionLowering: ``f(args)`` expressions."""

    def expr_call(self: FunctionLowering, node: Tree) -> Val:
        callee, *args = node.children
        args = [a for a in args if a is not None]
        if isinstance(callee, Tree) and callee.data in ("member", "arrow"):
            return self.member_call(node, callee, args)
        if not (isinstance(callee, Tree) and callee.data == "name"):
            return self.functor_call(node, self.object_place(callee), args)
        name = str(callee.children[0])
        owner = self.this_place.t if self.this_place is not None else None
        if owner is not None and (owner.name, name) in self.unit.methods:  # a sibling method
            sigs = f"{owner.name}::{name}"
            sig = self.resolve(node, sigs, [self.this_place, *args])
            return self.call_device(node, sig, [self.this_place, *args])
        var = self.lookup_opt(name) if name not in self.unit.functions else None
        if var is not None and var.kind == "place" and var.t.kind == "struct":
            return self.functor_call(node, var.place, args)  # op(a, b)
        if name in self.unit.functions:
            return self.call_device(node, self.resolve(node, name, args), args)
        if name in self.unit.templates:
            sig = self.unit.instantiate(name, self.deduce(node, name, args), node)
            return self.call_device(node, sig, args)
        handler = INTRINSICS.get(name)
        if handler is not None:
            return handler(self, node, name, args)
        if name in MATH_UNARY or name in MATH_BINARY or name in MATH_TERNARY:
            return self.call_math(node, name, args)
        if name in ("min", "max", "umin", "umax", "llmin", "llmax", "ullmin", "ullmax"):
            self.check_args(node, name, args, 2)
            a, b = self.scalar(args[0]), self.scalar(args[1])
            t = ct.common_type(a.t, b.t)
            a, b = self.convert(a, t, node), self.convert(b, t, node)
            if t.is_float:
                cls = arith.MinnumfOp if name.endswith("min") else arith.MaxnumfOp
            elif name.endswith("min"):
                cls = arith.MinSIOp if t.signed else arith.MinUIOp
            else:
                cls = arith.MaxSIOp if t.signed else arith.MaxUIOp
            return Val(self.emit(cls(a.v, b.v)).results[0], t)
        if name in ("abs", "labs", "llabs"):
            self.check_args(node, name, args, 1)
            a = self.scalar(args[0])
            if a.t.is_float:
                return self.call_math(node, "fabs", args)
            a = self.convert(a, ct.promote(a.t), node)
            return Val(self.emit(math.AbsIOp(a.v)).results[0], a.t)
        raise self.error(callee, f"call to undeclared function '{name}'")

    def object_place(self: FunctionLowering, node: Tree) -> LValue:
        """The object ``node`` designates; a temporary holds a computed struct."""
        if self.is_place(node):
            return self.lvalue(node)
        v = self.rvalue(node)
        if v.t.kind != "struct":
            raise self.error(node, "only direct calls of named functions are supported")
        tmp = self.local(v.t, node)
        self.store(tmp, v, node)
        return tmp

    def member_call(self: FunctionLowering, node: Tree, callee: Tree, args: list) -> Val:
        """``obj.f(args)`` / ``p->f(args)``: a member function, or a cooperative group's."""
        base, name = callee.children[0], str(callee.children[-1])
        if callee.data == "member" and self.rvalue_type(base).kind == "cg":
            return self.method_call(node, callee, args)
        if callee.data == "arrow":
            place = self.element(self.scalar(base), 0)
        else:
            place = self.object_place(base)
        if place.t.kind != "struct" or (place.t.name, name) not in self.unit.methods:
            raise self.error(callee.children[-1], f"no member function '{name}' in '{place.t}'")
        sig = self.resolve(node, f"{place.t.name}::{name}", [place, *args])
        return self.call_device(node, sig, [place, *args])

    def functor_call(self: FunctionLowering, node: Tree, place: LValue, args: list) -> Val:
        if place.t.kind != "struct" or (place.t.name, "operator()") not in self.unit.methods:
            raise self.error(node, f"'{place.t}' cannot be called (it has no operator())")
        sig = self.resolve(node, f"{place.t.name}::operator()", [place, *args])
        return self.call_device(node, sig, [place, *args])

    def expr_template_call(self: FunctionLowering, node: Tree) -> Val:
        name, *rest = node.children
        n_targs = next(i for i, c in enumerate(rest) if c is None or not self.is_targ(c))
        targs = [self.env.template_arg(a) for a in rest[:n_targs]]
        args = [a for a in rest[n_targs:] if a is not None]
        if str(name) in self.unit.templates:
            if len(targs) < len(self.unit.templates[str(name)].params):
                targs = self.deduce(node, str(name), args, targs)  # the rest from the args
            sig = self.unit.instantiate(str(name), targs, node)
            return self.call_device(node, sig, args)
        return self.builtin_template_call(node, str(name), targs, args)

    def expr_deduced_call(self: FunctionLowering, node: Tree) -> Val:
        name, *args = node.children
        call = Tree("call", [Tree("name", [name]), *args], node.meta)
        return self.expr_call(call)

    def is_targ(self: FunctionLowering, c) -> bool:
        return isinstance(c, Tree) and c.data in ("type_name", "targ")

    def deduce(self: FunctionLowering, node: Tree, name: str, args: list, given=()) -> list:
        """Template arguments of a call like ``f(x, p)`` from the argument types (after
        the ``given`` explicit ones)."""
        from xpuc.frontends.cuda.ctypes_ import CType

        tpl = self.unit.templates[name]
        env = self.unit.env.child()
        for (kind, pname, _), g in zip(tpl.params, given, strict=False):
            if kind == "type":
                env.types[pname] = g
            else:
                env.consts[pname] = g
        markers = {p: CType("tparam", name=p) for k, p, _ in tpl.params[len(given) :]
                   if k == "type"}  # fmt: skip
        env.types.update(markers)
        plist = tpl.node.children[3]
        params = [c for c in plist.children] if plist is not None else []
        found: dict[str, CType] = {}
        for p, a in zip(params, args, strict=False):
            pt, _ = env.specs(p.children[0])
            if p.children[1] is not None:
                _, pt, _ = env.declarator(pt, p.children[1])
            at = self.rvalue_type(a)
            while pt.kind in ("ptr", "array") and at.kind in ("ptr", "array"):
                pt, at = pt.pointee, at.pointee
            if pt.kind == "tparam" and pt.name not in found:
                found[pt.name] = at
            elif pt.kind == "tparam" and found[pt.name] != at:
                raise self.error(a, f"conflicting types for template parameter '{pt.name}' "
                                 f"('{found[pt.name]}' and '{at}')")  # fmt: skip
        out = list(given)
        for kind, pname, default in tpl.params[len(given) :]:
            if kind == "type" and pname in found:
                out.append(found[pname])
            elif default is None:
                raise self.error(node, f"cannot deduce template argument '{pname}' of '{name}'")
            else:
                break
        return out

    def rvalue_type(self: FunctionLowering, node: Tree):
        """The type of an expression, found without emitting its IR."""
        return self.discarding(lambda: self.rvalue(node).t)

    def lvalue_type(self: FunctionLowering, node: Tree):
        """The type of an object (an array before it decays), without emitting IR."""
        return self.discarding(lambda: self.lvalue(node).t)

    def discarding(self: FunctionLowering, fn):
        scratch, saved = Block(), self.block
        self.block = scratch
        try:
            return fn()
        finally:
            self.block = saved
            scratch.erase(safe_erase=False)

    def check_args(self: FunctionLowering, node: Tree, name: str, args: list, n: int) -> None:
        if len(args) != n:
            raise self.error(node, f"'{name}' takes {n} argument(s), {len(args)} given")

    def call_math(self: FunctionLowering, node: Tree, name: str, args: list) -> Val:
        table, n = (
            (MATH_UNARY, 1) if name in MATH_UNARY
            else (MATH_BINARY, 2) if name in MATH_BINARY
            else (MATH_TERNARY, 3)
        )  # fmt: skip
        self.check_args(node, name, args, n)
        cls, bits = table[name]
        vals = [self.scalar(a) for a in args]
        if bits == 32:
            t = ct.FLOAT
        else:
            t = ct.DOUBLE if any(v.t == ct.DOUBLE or v.t.is_int for v in vals) else ct.FLOAT
        vals = [self.convert(v, t, node) for v in vals]
        return Val(self.emit(cls(*[v.v for v in vals])).results[0], t)

    def resolve(self: FunctionLowering, node: Tree, name: str, args: list):
        """The overload of ``name`` that fits the arguments best (exact types first)."""
        overloads = self.unit.functions[name]
        if len(overloads) == 1:
            return overloads[0]
        types = [self.arg_type(a) for a in args]
        best, best_score = None, -1
        for sig in overloads:
            need = sum(d is None for d in sig.defaults)
            if not need <= len(types) <= len(sig.params):
                continue
            score = 0
            for at, pt in zip(types, sig.params, strict=False):
                if at == pt:
                    score += 2
                elif at.is_arith and pt.is_arith or at.is_ptr and pt.is_ptr:
                    score += 1
                else:
                    score = -1
                    break
            if score > best_score:
                best, best_score = sig, score
        if best is None:
            shown = ", ".join(map(str, types))
            raise self.error(node, f"no overload of '{name}' takes ({shown})")
        return best

    def arg_type(self: FunctionLowering, a):
        if isinstance(a, Val | LValue):
            return a.t
        return self.rvalue_type(a)

    def call_device(self: FunctionLowering, node: Tree, sig, args: list) -> Val:
        """Call a device function.  An argument is a syntax tree, or an already computed
        ``Val`` (or ``LValue`` for a reference parameter), as operator calls pass them."""
        if sig.kernel:
            raise self.error(node, f"'{sig.name}' is a __global__ kernel and cannot be called here")
        given = len(args)
        while len(args) < len(sig.params) and sig.defaults[len(args)] is not None:
            args = [*args, sig.defaults[len(args)]]  # default arguments
        if len(args) != len(sig.params):
            raise self.error(node, f"'{sig.name}' takes {len(sig.params)} argument(s), "
                             f"{given} given")  # fmt: skip
        operands: list[SSAValue] = []
        want = iter(self.unit_types(sig))
        for a, pt, ref in zip(args, sig.params, sig.refs, strict=True):
            where = a if isinstance(a, Tree) else node
            if ref:
                if isinstance(a, LValue):
                    lv = a
                elif isinstance(a, Tree) and self.is_place(a):
                    lv = self.lvalue(a)
                else:
                    raise self.error(where, f"cannot bind reference parameter of '{sig.name}' "
                                     "to a value that is not an object")  # fmt: skip
                if lv.mem is None or not lv.idx or lv.t != pt:
                    raise self.error(
                        where, f"cannot bind a reference of type '{pt}' to this argument"
                    )
                operands += [self.generic(lv.mem, next(want)), lv.idx[0]]
                next(want)
                continue
            v = a if isinstance(a, Val) else self.load(a) if isinstance(a, LValue) else None
            v = v if v is not None else self.rvalue(a)
            for x in self.flatten(self.convert(v, pt, where)):
                operands.append(self.generic(x, next(want)))
        results = [] if sig.ret.kind == "void" else flat_types(sig.ret, False)
        op = self.emit(func.CallOp(sig.symbol, operands, results))
        if not results:
            return Val(self.const_int(0, ct.INT).v, ct.VOID)
        return self.unflatten(sig.ret, iter(op.results), False)

    def operator_call(self: FunctionLowering, node: Tree, op: str, args: list) -> Val | None:
        """``a + b`` on structs: the user's ``operator+`` (None when there is none)."""
        name = f"operator{op}"
        if name not in self.unit.functions:
            return None
        return self.call_device(node, self.resolve(node, name, args), args)

    def unit_types(self: FunctionLowering, sig) -> list:
        out = []
        for p, ref in zip(sig.params, sig.refs, strict=True):
            out += [ct.ptr(p).ir(), IndexType()] if ref else flat_types(p, False)
        return out

    def generic(self: FunctionLowering, v: SSAValue, want) -> SSAValue:
        """``v`` as type ``want``: shared/global arrays cast to a generic ``memref<?xT>``."""
        have = v.type
        if have == want or not isinstance(have, MemRefType) or not isinstance(want, MemRefType):
            return v
        if have.memory_space != want.memory_space:
            mid = MemRefType(have.element_type, have.get_shape(), memory_space=want.memory_space)
            v = self.emit(memref.MemorySpaceCastOp(v, mid)).results[0]
        if v.type != want:
            v = self.emit(memref.CastOp.get(v, want)).results[0]
        return v
