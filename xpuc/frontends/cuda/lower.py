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
from xpuc.frontends.cuda.values import LValue, Val, Var

if TYPE_CHECKING:
    from xpuc.frontends.cuda.unit import Signature, UnitLowering

_LOOPS = ("for_stmt", "while_stmt", "do_stmt")


def exits(node: Tree | Token | None, caught: frozenset[str] = frozenset()) -> set[str]:
    """Which of return/break/continue can leave ``node`` to its enclosing statement list."""
    if not isinstance(node, Tree):
        return set()
    if node.data == "return_stmt":
        return {"return"}
    if node.data in ("break_stmt", "continue_stmt") and node.data[:-5] not in caught:
        return {node.data[:-5]}
    if node.data in _LOOPS:
        caught = frozenset({"break", "continue"})
    elif node.data == "switch_stmt":
        caught = caught | {"break"}
    found: set[str] = set()
    for child in node.children:
        found |= exits(child, caught)
    return found


class FunctionLowering(ExprLowering):
    def __init__(self, unit: UnitLowering, sig: Signature):
        self.unit = unit
        self.pre = unit.pre
        self.sig = sig
        self.env = sig.env
        self.scopes: list[dict[str, Var]] = [{}]
        self.loops: list[tuple[SSAValue | None, SSAValue | None]] = []  # (break, continue)
        self.ret_flag: SSAValue | None = None
        self.ret_slot: LValue | None = None
        self.globals_here: dict[str, Var] = {}
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
        """A fresh local object of type ``t``."""
        if t.kind == "struct":
            return LValue(None, [], t, fields={n: self.local(f, node) for n, f in t.fields})
        if t.kind == "array":
            leaf = ct.leaf_type(t)
            if ct.is_mixed(t):  # an array of mixed structs: bytes
                return LValue(self.alloca(ct.UCHAR.ir(), [max(t.bytes, 1)]), [self.c0], t)
            if leaf is None or leaf.is_ptr:
                raise self.error(node, f"arrays of '{t.leaves()[0]}' are not supported")
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
            if sig.symbol != sig.name:
                op.attributes["xpu.source_name"] = StringAttr(sig.name)
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

    def stmt_decl(self, node: Tree) -> None:
        base_t, quals = self.env.specs(node.children[0])
        for init in node.children[1:]:
            decl, value = init.children[0], init.children[1] if len(init.children) > 1 else None
            name, t, ref = self.env.declarator(base_t, decl)
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
            place = self.local(t, tok)
            if value is not None:
                self.initialize(place, value)
            self.declare(name, Var("place", t, place), tok)

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
        _, c, then, *rest = node.children
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

    def loop(self, cond: Tree | None, body: Tree, step: Tree | None, test_first: bool) -> None:
        found = exits(body)
        brk = self.flag_slot() if "break" in found else None
        cont = self.flag_slot() if "continue" in found else None
        self.loops.append((brk, cont))

        def go_on() -> SSAValue:
            # Evaluate the condition only while no break/return has happened.
            flags = [f for f in (brk, self.ret_flag) if f is not None]
            if not flags:
                return self.cond(cond) if cond is not None else self.const_int(1, ct.BOOL).v
            left = None
            for f in flags:
                v = self.flag_load(f)
                left = v if left is None else self.emit(arith.OrIOp(left, v)).results[0]
            return self.branch(
                left,
                lambda: self.const_int(0, ct.BOOL),
                lambda: (
                    Val(self.cond(cond), ct.BOOL)
                    if cond is not None
                    else self.const_int(1, ct.BOOL)
                ),
                ct.BOOL,
            ).v

        def run_body() -> None:
            if cont is not None:
                self.flag_set(cont, False)
            self.stmt_list([body])
            if step is not None:
                flags = [f for f in (brk, self.ret_flag) if f is not None]
                if flags:
                    saved = self.loops.pop()
                    self.loops.append((brk, None))
                    guard = self.still_running()
                    self.loops[-1] = saved
                    self.emit(scf.IfOp(guard, [], self.region_of(lambda: self.rvalue(step))))
                else:
                    self.rvalue(step)

        before, after = Block(), Block()
        saved, self.block = self.block, before
        if not test_first:
            run_body()
        self.emit(scf.ConditionOp(go_on()))
        self.block = after
        if test_first:
            run_body()
        self.emit(scf.YieldOp())
        self.block = saved
        self.emit(scf.WhileOp([], [], Region(before), Region(after)))
        self.loops.pop()

    def stmt_while(self, node: Tree) -> None:
        self.loop(node.children[1], node.children[2], None, True)

    def stmt_do(self, node: Tree) -> None:
        self.loop(node.children[3], node.children[1], None, False)

    def stmt_for(self, node: Tree) -> None:
        _, init, cond, step, body = node.children
        self.scopes.append({})
        self.stmt(init)
        c = cond.children[0] if cond.children and cond.children[0] is not None else None
        s = step.children[0] if step.children and step.children[0] is not None else None
        self.loop(c, body, s, True)
        self.scopes.pop()

    def stmt_goto(self, node: Tree) -> None:
        raise self.error(node, "'goto' is not supported")

    def stmt_labeled(self, node: Tree) -> None:
        raise self.error(node, "labels and 'goto' are not supported")

    def stmt_case(self, node: Tree) -> None:
        raise self.error(node, "'case' label not within a switch statement")

    def stmt_default(self, node: Tree) -> None:
        raise self.error(node, "'default' label not within a switch statement")

    def stmt_switch(self, node: Tree) -> None:
        """Cases in order; ``matched`` carries fall-through, ``break`` sets a flag."""
        _, expr, body = node.children
        v = self.scalar(expr)
        if not v.t.is_int:
            raise self.error(expr, f"switch condition has non-integer type '{v.t}'")
        v = self.convert(v, ct.promote(v.t), expr)
        items = body.children if isinstance(body, Tree) and body.data == "compound_stmt" else [body]
        groups: list[tuple[list[int | None], list[Tree]]] = []
        labels_seen: list[int] = []
        for item in items:
            labels: list[int | None] = []
            while isinstance(item, Tree) and item.data in ("case_stmt", "default_stmt"):
                if item.data == "case_stmt":
                    k = self.const_expr(item.children[1])
                    if k in labels_seen:
                        raise self.error(item.children[1], f"duplicate case value '{k}'")
                    labels_seen.append(k)
                    labels.append(k)
                else:
                    labels.append(None)
                item = item.children[-1]
            if labels or not groups:
                groups.append((labels, [item]))
            else:
                groups[-1][1].append(item)
        if groups and not groups[0][0] and groups[0][1]:
            groups = groups[1:]  # statements before the first label never run
        brk = self.flag_slot()
        matched = self.flag_slot()
        enclosing_continue = self.loops[-1][1] if self.loops else None
        self.loops.append((brk, enclosing_continue))
        any_case = self.const_int(0, ct.BOOL).v
        for k in labels_seen:
            eq = self.emit(arith.CmpiOp(v.v, self.const_int(k, v.t).v, "eq")).results[0]
            any_case = self.emit(arith.OrIOp(any_case, eq)).results[0]
        for labels, stmts in groups:
            hit = self.flag_load(matched)
            for k in labels:
                if k is None:
                    one = self.const_int(1, ct.BOOL).v
                    eq = self.emit(arith.XOrIOp(any_case, one)).results[0]
                else:
                    eq = self.emit(arith.CmpiOp(v.v, self.const_int(k, v.t).v, "eq")).results[0]
                hit = self.emit(arith.OrIOp(hit, eq)).results[0]
            self.flag_set(matched, hit)
            go = self.emit(arith.AndIOp(hit, self.still_running())).results[0]
            self.emit(scf.IfOp(go, [], self.region_of(lambda ss=stmts: self.stmt_list(ss))))
        self.loops.pop()
