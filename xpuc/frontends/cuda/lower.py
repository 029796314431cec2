"""Device functions and statements -> ``gpu.module`` with ``gpu.func`` kernels.

Local variables live in one-element ``memref.alloca`` slots at the function entry (as
clang emits allocas, and so ``&x`` and references work); LLVM's mem2reg turns them
into registers.  Control flow stays structured (``scf.if`` / ``scf.while``) because the
SIMT-to-CPU lowering and the barrier passes reason about regions.  ``return``,
``break`` and ``continue`` set a flag slot, and the statements after one that may leave
are guarded by the flags: the usual way to keep early exits structured.  ``switch``
is a chain of guarded case bodies with a fall-through flag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lark import Token, Tree
from xdsl.dialects import arith, func, gpu, memref, scf
from xdsl.dialects.builtin import ArrayAttr, IndexType, IntegerAttr, StringAttr
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from xpuc.compiler.diagnostics import CompileError
from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.ctypes_ import CType, flat_types
from xpuc.frontends.cuda.expr import ExprLowering
from xpuc.frontends.cuda.loops import LoopLowering, exits
from xpuc.frontends.cuda.values import LValue, Val, Var

if TYPE_CHECKING:
    from xpuc.frontends.cuda.unit import Signature, UnitLowering


class FunctionLowering(LoopLowering, ExprLowering):
    def __init__(self, unit: UnitLowering, sig: Signature):
        self.unit = unit
        self.pre = unit.pre
        self.sig = sig
        self.env = sig.env.child()  # local constants and types
        self.scopes: list[dict[str, Var]] = [{}]
        self.loops: list[tuple[SSAValue | None, SSAValue | None]] = []  # (break, continue)
        self.ret_flag: SSAValue | None = None
        self.ret_slot: LValue | None = None
        self.globals_here: dict[str, Var] = {}
        self.this_place: LValue | None = None
        self.node_stack: list[Tree | Token] = []

    # ---- diagnostics and names
    def error(self, node: Tree | Token, message: str) -> CompileError:
        if isinstance(node, Token):
            line, col = node.line, node.column
        else:
            line, col = node.meta.line, node.meta.column
        return self.pre.error(message, line or 1, col or 1)

    def error_here(self, message: str) -> CompileError:
        return self.error(self.node_stack[-1] if self.node_stack else self.sig.node, message)

    def lookup_opt(self, name: str) -> Var | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if self.this_place is not None and self.this_place.t.field(name) is not None:
            member = self.field_place(self.this_place, name)
            return Var("place", member.t, member)
        c = self.env.const_named(name)
        if c is not None:
            return Var("const", ct.INT, value=c)
        return self.unit.global_var(self, name)

    def lookup(self, tok: Token) -> Var:
        var = self.lookup_opt(str(tok))
        if var is None:
            raise self.error(tok, f"use of undeclared identifier '{tok}'")
        return var

    def type_name(self, node: Tree) -> CType:
        return self.env.type_name(node)

    def alloca(self, t: Attribute, shape: list[int] | None = None) -> SSAValue:
        """A stack slot in the entry block, so that loops do not grow the stack."""
        op = memref.AllocaOp.get(t, shape=shape or [])
        self.entry.insert_op_before(op, self.entry_anchor)
        return op.results[0]

    def at_entry(self, op: Operation) -> SSAValue:
        self.entry.insert_op_before(op, self.entry_anchor)
        return op.results[0]

    def local(self, t: CType, node: Tree | Token) -> LValue:
        """A fresh local object of type ``t``.

        A struct lives in memory like an array (so references to it work), unless it
        holds pointers: then each field is a variable of its own.
        """
        if t.kind == "struct" and ct.has_pointer(t):
            return LValue(None, [], t, fields={n: self.local(f, node) for n, f in t.fields})
        if t.kind == "struct":
            if ct.is_mixed(t):
                return LValue(self.alloca(ct.UCHAR.ir(), [max(t.bytes, 1)]), [self.c0], t)
            leaf = ct.leaf_type(t)
            assert leaf is not None
            return LValue(self.alloca(leaf.ir(), [max(t.size, 1)]), [self.c0], t)
        if t.kind == "array":
            leaf = ct.leaf_type(t)
            if ct.is_mixed(t):  # an array of mixed structs: bytes
                return LValue(self.alloca(ct.UCHAR.ir(), [max(t.bytes, 1)]), [self.c0], t)
            if leaf is None or leaf.is_ptr:
                raise self.error(node, f"arrays of '{ct.first_leaf(t)}' are not supported")
            return LValue(self.alloca(leaf.ir(), [max(t.size, 1)]), [self.c0], t)
        if t.kind in ("void", "cg"):
            raise self.error(node, f"variable has incomplete type '{t}'")
        if t.is_ptr:
            return LValue(self.alloca(IndexType(), [1]), [self.c0], t, ptr_base=None)
        return LValue(self.alloca(t.ir(), [1]), [self.c0], t)

    # ---- the function
    def build(self) -> Operation:
        sig = self.sig
        arg_types: list[Attribute] = []
        for p, ref in zip(sig.params, sig.refs, strict=True):
            arg_types += [ct.ptr(p).ir(), IndexType()] if ref else flat_types(p, sig.kernel)
        self.entry = Block(arg_types=arg_types)
        self.block = self.entry
        self.entry_anchor = self.emit(arith.ConstantOp.from_int_and_width(0, 1))
        self.entry_anchor.results[0].name_hint = "false"
        self.c0 = self.at_entry(arith.ConstantOp(IntegerAttr(0, IndexType())))
        args = iter(self.entry.args)
        for t, name, ref in zip(sig.params, sig.param_names, sig.refs, strict=True):
            if t.kind == "cg":
                self.declare(name, Var("cg", t), sig.node)
                continue
            if ref:
                base, off = next(args), next(args)
                place = LValue(base, [off], t)
                if name == "this" and sig.owner is not None:
                    self.this_place = place  # members are names in the body
                    continue
                self.declare(name, Var("place", t, place), sig.node)
                continue
            val = self.unflatten(t, args, sig.kernel)
            place = self.local(t, sig.node)
            self.store(place, val, sig.node)
            self.declare(name, Var("place", t, place), sig.node)
        body = sig.node.children[-1]
        if "return" in exits(body):
            self.ret_flag = self.flag_slot()
            if sig.ret.kind != "void":
                self.ret_slot = self.local(sig.ret, sig.node)
        self.stmt_list(body.children)
        if sig.kernel:
            self.emit(gpu.ReturnOp([]))
            op = gpu.FuncOp(sig.symbol, (arg_types, []), Region(self.entry), kernel=True)
            op.attributes["xpu.arg_types"] = ArrayAttr([StringAttr(c) for c in sig.arg_codes()])
            op.attributes["xpu.arg_names"] = ArrayAttr([StringAttr(n) for n in sig.arg_names()])
            noalias = sig.noalias_args()
            if noalias:  # __restrict__ pointers: no other argument reaches their memory
                op.attributes["xpu.noalias"] = ArrayAttr([IntegerAttr(i, 64) for i in noalias])
            if sig.symbol != sig.name:
                op.attributes["xpu.source_name"] = StringAttr(sig.name)
            node = sig.node
            loc = self.pre.location(node.meta.line or 1, node.meta.column or 1)
            op.attributes["xpu.loc"] = StringAttr(str(loc))  # for target limit errors
            if sig.max_threads:
                op.attributes["xpu.max_threads"] = IntegerAttr(sig.max_threads, 32)
            return op
        results = [] if sig.ret.kind == "void" else flat_types(sig.ret, False)
        if sig.ret.kind == "void":
            self.emit(func.ReturnOp())
        elif self.ret_slot is not None:
            self.emit(func.ReturnOp(*self.flatten(self.load(self.ret_slot))))
        else:
            raise self.error(sig.node, f"non-void function '{sig.name}' does not return a value")
        return func.FuncOp(sig.symbol, (arg_types, results), Region(self.entry))

    def unflatten(self, t: CType, args, kernel: bool) -> Val:
        if t.kind == "struct":
            return Val(None, t, parts=[self.unflatten(f, args, kernel) for _, f in t.fields])
        if t.is_ptr:
            base = next(args)
            return Val(base, t, self.c0 if kernel else next(args))
        return Val(next(args), t)

    def flatten(self, v: Val) -> list[SSAValue]:
        if v.t.kind == "struct":
            assert v.parts is not None
            return [x for p in v.parts for x in self.flatten(p)]
        if v.t.kind == "cg":
            return []
        assert v.v is not None
        return [v.v, v.off] if v.t.is_ptr else [v.v]

    def flag_slot(self) -> SSAValue:
        slot = self.alloca(ct.BOOL.ir(), [1])
        self.entry.insert_op_after(
            memref.StoreOp.get(self.entry_anchor.results[0], slot, [self.c0]), self.entry_anchor
        )
        return slot

    def flag_load(self, slot: SSAValue) -> SSAValue:
        return self.emit(memref.LoadOp.get(slot, [self.c0])).results[0]

    def flag_set(self, slot: SSAValue, value: bool | SSAValue) -> None:
        if isinstance(value, bool):
            value = self.const_int(int(value), ct.BOOL).v
        self.emit(memref.StoreOp.get(value, slot, [self.c0]))

    def declare(self, name: str, var: Var, node: Tree | Token) -> None:
        if name in self.scopes[-1]:
            raise self.error(node, f"redefinition of '{name}'")
        self.scopes[-1][name] = var

    # ---- statements
    def stmt_list(self, items: list) -> None:
        self.scopes.append({})
        for k, s in enumerate(items):
            self.stmt(s)
            if k + 1 < len(items) and exits(s):
                guard = self.still_running()
                then = Block()
                self.emit(scf.IfOp(guard, [], Region(then)))
                saved, self.block = self.block, then
                self.stmt_list(items[k + 1 :])
                self.emit(scf.YieldOp())
                self.block = saved
                break
        self.scopes.pop()

    def still_running(self) -> SSAValue:
        """i1: no return, break or continue has happened in the current iteration."""
        flags = [self.ret_flag] if self.ret_flag is not None else []
        if self.loops:
            flags += [f for f in self.loops[-1] if f is not None]
        left: SSAValue | None = None
        for f in flags:
            v = self.flag_load(f)
            left = v if left is None else self.emit(arith.OrIOp(left, v)).results[0]
        if left is None:
            return self.const_int(1, ct.BOOL).v
        return self.emit(arith.XOrIOp(left, self.const_int(1, ct.BOOL).v)).results[0]

    def stmt(self, node: Tree) -> None:
        method = getattr(self, "stmt_" + node.data.removesuffix("_stmt"), None)
        if method is None:
            raise self.error(node, f"unsupported statement ({node.data.replace('_', ' ')})")
        self.node_stack.append(node)
        try:
            method(node)
        finally:
            self.node_stack.pop()

    def stmt_compound(self, node: Tree) -> None:
        self.stmt_list(node.children)

    def stmt_empty(self, node: Tree) -> None:
        pass

    def stmt_expr(self, node: Tree) -> None:
        self.rvalue(node.children[0])

    def stmt_typedef_decl(self, node: Tree) -> None:
        self.env.typedef_decl(node)

    def stmt_using_decl(self, node: Tree) -> None:
        self.env.using_decl(node)

    def stmt_decl(self, node: Tree) -> None:
        base_t, quals = self.env.specs(node.children[0])
        for init in node.children[1:]:
            decl, value = init.children[0], init.children[1] if len(init.children) > 1 else None
            name, t, ref = self.env.declarator(base_t, decl)
            if "volatile" in quals:
                t = ct.as_volatile(t)
            tok = next(c for c in decl.children if isinstance(c, Token))
            if t.kind == "auto":
                if value is None or isinstance(value, Tree) and value.data == "init_list":
                    raise self.error(tok, f"'auto' variable '{name}' needs an initializer")
                t = self.rvalue_type(value) if not ref else self.lvalue(value).t
            if ref:
                if value is None:
                    raise self.error(tok, f"reference '{name}' must be initialized")
                lv = self.lvalue(value)
                self.declare(name, Var("place", lv.t, lv), tok)
                continue
            if t.kind == "cg":
                if value is not None:
                    self.rvalue(value)
                self.declare(name, Var("cg", t), tok)
                continue
            if "__shared__" in quals:
                if value is not None:
                    raise self.error(value, "__shared__ variables cannot have an initializer")
                place = self.unit.shared_place(self, name, t, "extern" in quals, tok)
                self.declare(name, Var("place", t, place), tok)
                continue
            if t.kind == "void":
                raise self.error(tok, f"variable '{name}' has incomplete type 'void'")
            if t.kind == "array" and t.count == 0:
                if not (isinstance(value, Tree) and value.data == "init_list"):
                    raise self.error(tok, f"array '{name}' needs a size or an initializer")
                t = ct.array(t.pointee, len([v for v in value.children if v is not None]))
            if isinstance(value, Tree) and value.data == "ctor_args":  # T x(args)
                if t.kind == "struct":
                    ctor = [Token("TYPE_NAME", str(t)), *value.children]
                    value = Tree("construct", ctor, value.meta)
                else:
                    value = (value.children or [None])[0]
            if ({"const", "constexpr"} & quals and t.is_int and value is not None
                    and self.constant_value(value) is not None):  # fmt: skip
                # a constant: usable in array sizes and template arguments
                self.env.consts[name] = self.constant_value(value)
                self.declare(name, Var("const", t, value=self.env.consts[name]), tok)
                continue
            place = self.local(t, tok)
            if value is not None:
                self.initialize(place, value)
            self.declare(name, Var("place", t, place), tok)

    def constant_value(self, node: Tree) -> int | None:
        try:
            return self.env.const_eval(node)
        except CompileError:
            return None

    def initialize(self, place: LValue, value: Tree) -> None:
        t = place.t
        if isinstance(value, Tree) and value.data == "init_list":
            items = [v for v in value.children if v is not None]
            if t.kind == "array":
                assert t.pointee is not None
                if len(items) > t.count:
                    raise self.error(value, "excess elements in array initializer")
                for k, item in enumerate(items):
                    self.initialize(self.element(self.load(place), k), item)
                return
            if t.kind == "struct":
                if len(items) > len(t.fields):
                    raise self.error(value, "excess elements in struct initializer")
                for (n, _), item in zip(t.fields, items, strict=False):
                    self.initialize(self.field_place(place, n), item)
                return
            if len(items) != 1:
                raise self.error(value, "a scalar takes one initializer")
            value = items[0]
        elif t.kind == "array":
            raise self.error(value, "array initializer must be an initializer list")
        self.store(place, self.rvalue(value), value)

    def const_expr(self, node: Tree) -> int:
        return self.env.const_eval(node)

    def cond(self, node: Tree) -> SSAValue:
        return self.truth(self.rvalue(node), node).v

    def region_of(self, fn) -> Region:
        blk = Block()
        saved, self.block = self.block, blk
        fn()
        self.emit(scf.YieldOp())
        self.block = saved
        return Region(blk)

    def stmt_if(self, node: Tree) -> None:
        _, qual, c, then, *rest = node.children
        if qual is not None and str(qual) != "constexpr":
            raise self.error(qual, f"unexpected '{qual}' after 'if'")
        cv = self.cond(c)
        else_stmt = rest[1] if rest else None
        then_r = self.region_of(lambda: self.stmt_list([then]))
        else_r = self.region_of(lambda: self.stmt_list([else_stmt])) if else_stmt else None
        self.emit(scf.IfOp(cv, [], then_r, else_r))

    def stmt_return(self, node: Tree) -> None:
        value = node.children[1] if len(node.children) > 1 else None
        if value is not None:
            if self.ret_slot is None:
                raise self.error(
                    value, f"void function '{self.sig.name}' should not return a value"
                )
            self.store(self.ret_slot, self.rvalue(value), value)
        elif self.ret_slot is not None:
            raise self.error(node, f"non-void function '{self.sig.name}' should return a value")
        self.flag_set(self.ret_flag, True)

    def stmt_break(self, node: Tree) -> None:
        self.set_loop_flag(node, 0, "break")

    def stmt_continue(self, node: Tree) -> None:
        self.set_loop_flag(node, 1, "continue")

    def set_loop_flag(self, node: Tree, which: int, word: str) -> None:
        if not self.loops or self.loops[-1][which] is None:
            raise self.error(node, f"'{word}' statement not in loop statement")
        self.flag_set(self.loops[-1][which], True)

    def stmt_goto(self, node: Tree) -> None:
        raise self.error(node, "'goto' is not supported")

    def stmt_labeled(self, node: Tree) -> None:
        raise self.error(node, "labels and 'goto' are not supported")

    def stmt_case(self, node: Tree) -> None:
        raise self.error(node, "'case' label not within a switch statement")

    def stmt_default(self, node: Tree) -> None:
        raise self.error(node, "'default' label not within a switch statement")
