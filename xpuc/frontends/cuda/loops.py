"""Loops, ``switch`` and the conditional operators (``?:``, ``&&``, ``||``) of the device
language, as structured control flow.

Every loop is an ``scf.while`` without carried values (variables live in memory):
the condition region evaluates the C condition unless a ``break`` or ``return``
flag is set, and the body guards the statements after a ``continue``.  A ``switch``
is its case bodies in order, each run when a fall-through flag says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lark import Token, Tree
from xdsl.dialects import arith, scf
from xdsl.ir import Block, Region, SSAValue

from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.ctypes_ import CType
from xpuc.frontends.cuda.values import Val

if TYPE_CHECKING:
    from xpuc.frontends.cuda.lower import FunctionLowering


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


class LoopLowering:
    """Mixin of FunctionLowering: for, while, do, switch, and ?: / && / ||."""

    def loop(
        self: FunctionLowering, cond: Tree | None, body: Tree, step: Tree | None, test_first: bool
    ) -> None:
        found = exits(body)
        brk = self.flag_slot() if "break" in found else None
        cont = self.flag_slot() if "continue" in found else None
        if brk is not None:  # each time the loop statement runs (an inner loop runs often)
            self.flag_set(brk, False)
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

    def stmt_while(self: FunctionLowering, node: Tree) -> None:
        self.loop(node.children[1], node.children[2], None, True)

    def stmt_do(self: FunctionLowering, node: Tree) -> None:
        self.loop(node.children[3], node.children[1], None, False)

    def stmt_for(self: FunctionLowering, node: Tree) -> None:
        _, init, cond, step, body = node.children
        self.scopes.append({})
        self.stmt(init)
        c = cond.children[0] if cond.children and cond.children[0] is not None else None
        s = step.children[0] if step.children and step.children[0] is not None else None
        self.loop(c, body, s, True)
        self.scopes.pop()

    def stmt_switch(self: FunctionLowering, node: Tree) -> None:
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
        self.flag_set(brk, False)
        self.flag_set(matched, False)
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

    # ---- control flow inside expressions
    def branch(self: FunctionLowering, cond: SSAValue, then_fn, else_fn, t: CType) -> Val:
        """scf.if yielding one value of type ``t`` (a pointer yields base and offset, a
        struct its fields)."""
        types = ct.flat_types(t, False)
        blocks = []
        for fn in (then_fn, else_fn):
            blk = Block()
            saved, self.block = self.block, blk
            parts = self.flatten(fn())
            self.emit(scf.YieldOp(*[self.generic(v, w) for v, w in zip(parts, types, strict=True)]))
            self.block = saved
            blocks.append(blk)
        op = self.emit(scf.IfOp(cond, types, Region(blocks[0]), Region(blocks[1])))
        return self.unflatten(t, iter(op.results), False)

    def expr_logical_and(self: FunctionLowering, node: Tree) -> Val:
        a = self.truth(self.rvalue(node.children[0]), node)
        return self.branch(
            a.v,
            lambda: self.truth(self.rvalue(node.children[1]), node),
            lambda: self.const_int(0, ct.BOOL),
            ct.BOOL,
        )

    def expr_logical_or(self: FunctionLowering, node: Tree) -> Val:
        a = self.truth(self.rvalue(node.children[0]), node)
        return self.branch(
            a.v,
            lambda: self.const_int(1, ct.BOOL),
            lambda: self.truth(self.rvalue(node.children[1]), node),
            ct.BOOL,
        )

    def expr_ternary(self: FunctionLowering, node: Tree) -> Val:
        c = self.truth(self.rvalue(node.children[0]), node)
        # Type the arms without emitting them, then emit each arm in its own region.
        ta, tb = self.rvalue_type(node.children[1]), self.rvalue_type(node.children[2])
        if ta == ct.NULLPTR or tb == ct.NULLPTR:
            raise self.error(node, "a null pointer as an operand of '?:' is not supported")
        if ta.is_ptr or tb.is_ptr or ta.kind == "struct" or tb.kind == "struct":
            if ta != tb:
                raise self.error(node, f"incompatible operand types ('{ta}' and '{tb}')")
            t = ta
        elif ta.is_arith and tb.is_arith:
            t = ct.common_type(ta, tb)
        else:
            raise self.error(node, f"incompatible operand types ('{ta}' and '{tb}')")
        return self.branch(
            c.v,
            lambda: self.convert(self.rvalue(node.children[1]), t, node),
            lambda: self.convert(self.rvalue(node.children[2]), t, node),
            t,
        )
