"""Loops, ``switch`` and the conditional operators (``?:``, ``&&``, ``||``) of the device
language, as structured control flow.

A counted ``for`` (``for (i = a; i < b; i++)`` or ``i <= b``, ``i += c`` with a
positive constant ``c``, where the body assigns neither ``i`` nor what ``b`` reads and
has no ``break`` or ``return``) becomes an ``scf.for`` over ``index``: its bounds are
evaluated once, as C evaluates them each time to the same value, and the counter is
stored to the variable at the top of every iteration and to its final value after the
loop.  Later passes see the trip count (uniform across threads or not) and the
induction variable as an SSA value.

Every other loop is an ``scf.while`` without carried values (variables live in
memory): the condition region evaluates the C condition unless a ``break`` or
``return`` flag is set, and the body guards the statements after a ``continue``.  A
``switch`` is its case bodies in order, each run when a fall-through flag says so.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lark import Token, Tree
from xdsl.dialects import arith, memref, scf
from xdsl.dialects.builtin import IndexType
from xdsl.ir import Block, Region, SSAValue

from xpuc.dialects.arith_ext import IndexCastUIOp
from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.builtins import ID_VARS
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
        counted = _counted(c, s, body)
        var = self.lookup_opt(counted[0]) if counted else None
        if counted and counted[0] not in self.scopes_names():
            var = None
        if counted and var is not None and self.counted_for(counted[0], var, *counted[1:], body):
            self.scopes.pop()
            return
        self.loop(c, body, s, True)
        self.scopes.pop()

    def counted_for(self: FunctionLowering, name: str, var, bound: Tree, inclusive: bool,
                    step: int, body: Tree) -> bool:  # fmt: skip
        """``for`` as ``scf.for`` (see the module's docstring); False where it does not fit."""
        t = var.t
        place = var.place
        # 32-bit counters only: index arithmetic (64-bit) then never overflows, and an
        # unsigned one must step by 1 to `<` (else it could wrap around, as C's does)
        if not self.private_scalar(var) or t.bits != 32 or not t.is_int:
            return False
        if not t.signed and (step != 1 or inclusive):
            return False
        escaped = _escaping(self.sig.node.children[-1], set())
        for n in _names(bound) | {name}:
            v = self.lookup_opt(n)
            if n in ID_VARS or (v is not None and v.kind == "const"):
                continue
            if n not in self.scopes_names() or not self.private_scalar(v) or n in escaped:
                return False  # a global, a reference, or reachable through a pointer
        if self.rvalue_type(bound) != t:  # C compares in the common type: keep it simple
            return False
        ub_val = self.rvalue(bound)
        cast = arith.IndexCastOp if t.signed else IndexCastUIOp
        lb = self.emit(cast(self.load(place).v, IndexType())).results[0]
        ub = self.emit(cast(ub_val.v, IndexType())).results[0]
        if inclusive:
            ub = self.emit(arith.AddiOp(ub, self.const_index(1))).results[0]
        st = self.const_index(step)
        blk = Block(arg_types=[IndexType()])
        saved, self.block = self.block, blk
        cont = self.flag_slot() if "continue" in exits(body) else None
        self.loops.append((None, cont))
        back = arith.IndexCastOp if t.signed else IndexCastUIOp
        self.emit(memref.StoreOp.get(self.emit(back(blk.args[0], t.ir())).results[0],
                                     place.mem, place.idx))  # fmt: skip
        if cont is not None:
            self.flag_set(cont, False)
        self.stmt_list([body])
        self.loops.pop()
        self.emit(scf.YieldOp())
        self.block = saved
        self.emit(scf.ForOp(lb, ub, st, [], blk))
        # the counter's value after the loop: lb + max(0, ceil((ub - lb) / st)) * st
        span = self.emit(arith.SubiOp(ub, lb)).results[0]
        span = self.emit(arith.MaxSIOp(span, self.const_index(0))).results[0]
        span = self.emit(arith.AddiOp(span, self.const_index(step - 1))).results[0]
        trips = self.emit(arith.DivSIOp(span, st)).results[0]
        last = self.emit(arith.AddiOp(lb, self.emit(arith.MuliOp(trips, st)).results[0]))
        final = self.emit(back(last.results[0], t.ir())).results[0]
        self.emit(memref.StoreOp.get(final, place.mem, place.idx))
        return True

    def private_scalar(self: FunctionLowering, var) -> bool:
        """A variable in a stack slot of its own (not a reference, global or member)."""
        if var is None or var.kind != "place" or var.place is None or var.place.volatile:
            return False
        mem = var.place.mem
        return (
            mem is not None
            and isinstance(mem.owner, memref.AllocaOp)
            and mem.type.get_shape() == (1,)
            and var.t.is_int
        )

    def scopes_names(self: FunctionLowering) -> set[str]:
        return {n for scope in self.scopes for n in scope}

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


def _leaf(node) -> str:
    return str(node.children[0]) if isinstance(node, Tree) and node.children else str(node)


def _name_of(node) -> str | None:
    if isinstance(node, Tree) and node.data == "name":
        return str(node.children[0])
    return None


_BOUND_OK = ("name", "int_lit", "binary", "unary_op", "cast", "member")


def _names(node) -> set[str]:
    if not isinstance(node, Tree):
        return set()
    if node.data == "name":
        return {str(node.children[0])}
    if node.data == "member":
        return _names(node.children[0])
    out: set[str] = set()
    for c in node.children:
        out |= _names(c)
    return out


def _pure_bound(node) -> bool:
    """Names, literals, arithmetic, casts and members of names: no loads, no calls."""
    if isinstance(node, Token) or node is None:
        return True
    if node.data not in _BOUND_OK and not node.data.endswith("_op") and node.data != "type_name":
        return False
    if node.data == "type_name":
        return True
    return all(_pure_bound(c) for c in node.children)


def _root(node) -> set[str]:
    """The variable an lvalue expression designates (``a[i]`` and ``s.f``: ``a``, ``s``)."""
    while isinstance(node, Tree) and node.data in ("index", "member"):
        node = node.children[0]
    name = _name_of(node)
    return {name} if name else set()


_CALLS = ("call", "template_call", "deduced_call", "construct")


def _written(node, out: set[str]) -> set[str]:
    """Variables a subtree may change: assigned, incremented, address taken, or passed
    to a call as a bare name (a reference parameter) or called a method of."""
    if not isinstance(node, Tree):
        return out
    if node.data in ("assign", "post_incdec", "pre_incdec", "address_of"):
        for c in node.children:
            if isinstance(c, Tree) and c.data not in ("assign_op", "inc_op"):
                out |= _root(c)
                break
    elif node.data in _CALLS:
        for c in node.children:
            if isinstance(c, Tree) and c.data in ("name", "member", "index"):
                out |= _root(c)
    for c in node.children:
        _written(c, out)
    return out


def _escaping(node, out: set[str]) -> set[str]:
    """Names anywhere in a function whose object another name may reach: address taken,
    a reference bound to them, or passed bare to a call (a reference parameter)."""
    if not isinstance(node, Tree):
        return out
    if node.data == "address_of" or node.data in _CALLS:
        for c in node.children:
            if isinstance(c, Tree) and c.data in ("name", "member", "index"):
                out |= _root(c)
    elif node.data == "init_declarator" and _is_reference(node.children[0]):
        for c in node.children[1:]:
            if isinstance(c, Tree):
                out |= _names(c)
    for c in node.children:
        _escaping(c, out)
    return out


def _is_reference(decl) -> bool:
    return isinstance(decl, Tree) and any(
        isinstance(c, Tree) and c.data == "reference" for c in decl.children
    )


def _counted(cond, step, body) -> tuple[str, Tree, bool, int] | None:
    """(variable, bound, inclusive, step) of a counted ``for``, or None."""
    if not (isinstance(cond, Tree) and cond.data == "binary" and len(cond.children) == 3):
        return None
    lhs, op, bound = cond.children
    name = _name_of(lhs)
    if name is None or _leaf(op) not in ("<", "<="):
        return None
    inc = _step(step, name)
    if inc is None or not _pure_bound(bound) or exits(body) & {"break", "return"}:
        return None
    if name in _names(bound):  # the step changes the bound too
        return None
    if _goto(body) or (_written(body, set()) & ({name} | _names(bound))):
        return None
    return name, bound, _leaf(op) == "<=", inc


def _step(step, name: str) -> int | None:
    if not isinstance(step, Tree):
        return None
    if step.data in ("post_incdec", "pre_incdec"):
        target = next(c for c in step.children if not (isinstance(c, Tree) and c.data == "inc_op"))
        op = next(c for c in step.children if isinstance(c, Tree) and c.data == "inc_op")
        return 1 if _name_of(target) == name and _leaf(op) == "++" else None
    if step.data == "assign" and _name_of(step.children[0]) == name:
        op, rhs = step.children[1], step.children[2]
        if _leaf(op) == "+=" and isinstance(rhs, Tree) and rhs.data == "int_lit":
            text = _leaf(rhs).rstrip("uUlL")
            value = int(text, 8) if re.fullmatch(r"0[0-7]+", text) else int(text, 0)
            return value if value > 0 else None
    return None


def _goto(node) -> bool:
    return isinstance(node, Tree) and (
        node.data in ("goto_stmt", "labeled_stmt") or any(_goto(c) for c in node.children)
    )
