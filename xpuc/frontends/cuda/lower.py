"""Device functions and statements -> ``gpu.module`` with ``gpu.func`` kernels.

Local variables live in ``memref.alloca`` slots at the function entry (as clang emits
allocas); LLVM's mem2reg turns them into registers.  Control flow stays structured
(``scf.if`` / ``scf.while``) because the SIMT-to-CPU lowering and the barrier passes
reason about regions.  ``return``, ``break`` and ``continue`` set a flag slot, and the
statements after one that may leave are guarded by the flags: the usual way to keep
early exits structured.
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Token, Tree
from xdsl.dialects import arith, func, gpu, memref, scf
from xdsl.dialects.builtin import ArrayAttr, IndexType, ModuleOp, StringAttr, UnitAttr
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from xpuc.compiler.diagnostics import CompileError
from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.ctypes_ import CType
from xpuc.frontends.cuda.expr import ExprLowering
from xpuc.frontends.cuda.preprocess import Preprocessed
from xpuc.frontends.cuda.values import LValue, Val, Var

_LOOPS = ("for_stmt", "while_stmt", "do_stmt")
_QUALIFIERS = {"const", "volatile", "__restrict__", "static", "inline", "__forceinline__",
               "__noinline__", "__inline__", "extern", "register", "__host__"}  # fmt: skip


@dataclass
class Signature:
    name: str
    params: list[CType]
    param_names: list[str]
    ret: CType
    kernel: bool
    node: Tree


def decl_type(lower_error, specs: Tree) -> tuple[CType, set[str]]:
    words = [str(t) for t in specs.children]
    quals = {w for w in words if w in _QUALIFIERS or w in ("__global__", "__device__")}
    t = ct.from_words([w for w in words if w not in quals])
    if t is None:
        raise lower_error(specs, f"unknown type '{' '.join(words)}'")
    return t, quals


def exits(node: Tree | Token | None, in_loop: bool = False) -> set[str]:
    """Which of return/break/continue can leave ``node`` to its enclosing statement list."""
    if not isinstance(node, Tree):
        return set()
    if node.data == "return_stmt":
        return {"return"}
    if node.data in ("break_stmt", "continue_stmt") and not in_loop:
        return {node.data[:-5]}
    found: set[str] = set()
    for child in node.children:
        found |= exits(child, in_loop or node.data in _LOOPS)
    return found


class FunctionLowering(ExprLowering):
    def __init__(self, pre: Preprocessed, functions: dict[str, Signature], sig: Signature):
        self.pre = pre
        self.functions = functions
        self.sig = sig
        self.scopes: list[dict[str, Var]] = [{}]
        self.loops: list[tuple[SSAValue | None, SSAValue | None]] = []  # (break, continue)
        self.ret_flag: SSAValue | None = None
        self.ret_slot: SSAValue | None = None

    # ---- diagnostics and names
    def error(self, node: Tree | Token, message: str) -> CompileError:
        if isinstance(node, Token):
            line, col = node.line, node.column
        else:
            line, col = node.meta.line, node.meta.column
        return self.pre.error(message, line, col)

    def lookup(self, tok: Token) -> Var:
        for scope in reversed(self.scopes):
            if tok in scope:
                return scope[tok]
        raise self.error(tok, f"use of undeclared identifier '{tok}'")

    def type_name(self, node: Tree) -> CType:
        t, _ = decl_type(self.error, node.children[0])
        for _ in node.children[1:]:
            t = ct.ptr(t)
        return t

    def alloca(self, t: Attribute, shape: list[int] | None = None) -> SSAValue:
        """A stack slot in the entry block, so that loops do not grow the stack."""
        op = memref.AllocaOp.get(t, shape=shape or [])
        self.entry.insert_op_before(op, self.entry_anchor)
        return op.results[0]

    # ---- the function
    def build(self) -> Operation:
        sig = self.sig
        arg_types = []
        for p in sig.params:
            arg_types += [p.ir(), IndexType()] if p.is_ptr and not sig.kernel else [p.ir()]
        self.entry = Block(arg_types=arg_types)
        self.block = self.entry
        self.entry_anchor = self.emit(arith.ConstantOp.from_int_and_width(0, 1))
        self.entry_anchor.results[0].name_hint = "false"
        args = list(self.entry.args)
        for t, name in zip(sig.params, sig.param_names, strict=True):
            if t.is_ptr:
                base = args.pop(0)
                off = args.pop(0) if not sig.kernel else self.const_index(0)
                slot = self.alloca(IndexType())
                self.emit(memref.StoreOp.get(off, slot, []))
                self.declare(name, Var("ptr", t, slot, base), sig.node)
            else:
                slot = self.alloca(t.ir())
                self.emit(memref.StoreOp.get(args.pop(0), slot, []))
                self.declare(name, Var("scalar", t, slot), sig.node)
        body = sig.node.children[-1]
        if "return" in exits(body):
            self.ret_flag = self.flag_slot()
            if sig.ret.kind != "void":
                self.ret_slot = self.alloca(sig.ret.ir())
        self.stmt_list(body.children)
        if sig.kernel:
            self.emit(gpu.ReturnOp([]))
            op = gpu.FuncOp(sig.name, (arg_types, []), Region(self.entry), kernel=True)
            op.attributes["xpu.arg_types"] = ArrayAttr([StringAttr(p.code()) for p in sig.params])
            op.attributes["xpu.arg_names"] = ArrayAttr([StringAttr(n) for n in sig.param_names])
        else:
            if sig.ret.kind == "void":
                self.emit(func.ReturnOp())
            elif self.ret_slot is not None:
                self.emit(func.ReturnOp(self.emit(memref.LoadOp.get(self.ret_slot, [])).results[0]))
            else:
                raise self.error(
                    sig.node, f"non-void function '{sig.name}' does not return a value"
                )
            results = [] if sig.ret.kind == "void" else [sig.ret.ir()]
            op = func.FuncOp(sig.name, (arg_types, results), Region(self.entry))
        return op

    def flag_slot(self) -> SSAValue:
        slot = self.alloca(ct.BOOL.ir())
        self.entry.insert_op_after(
            memref.StoreOp.get(self.entry_anchor.results[0], slot, []), self.entry_anchor
        )
        return slot

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
            v = self.emit(memref.LoadOp.get(f, [])).results[0]
            left = v if left is None else self.emit(arith.OrIOp(left, v)).results[0]
        if left is None:
            return self.const_int(1, ct.BOOL).v
        return self.emit(arith.XOrIOp(left, self.const_int(1, ct.BOOL).v)).results[0]

    def stmt(self, node: Tree) -> None:
        method = getattr(self, "stmt_" + node.data.removesuffix("_stmt"), None)
        if method is None:
            raise self.error(node, f"unsupported statement ({node.data.replace('_', ' ')})")
        method(node)

    def stmt_compound(self, node: Tree) -> None:
        self.stmt_list(node.children)

    def stmt_empty(self, node: Tree) -> None:
        pass

    def stmt_expr(self, node: Tree) -> None:
        self.rvalue(node.children[0])

    def stmt_decl(self, node: Tree) -> None:
        base_t, _ = decl_type(self.error, node.children[0])
        for init in node.children[1:]:
            decl, value = init.children[0], init.children[1] if len(init.children) > 1 else None
            t = base_t
            ptrs = [c for c in decl.children if isinstance(c, Tree) and c.data == "pointer"]
            dims = [c for c in decl.children if isinstance(c, Tree) and c.data == "array_dim"]
            name = next(c for c in decl.children if isinstance(c, Token))
            for p in ptrs:
                if p.children and p.children[0] == "&":
                    raise self.error(p, "references are only supported as parameters")
                t = ct.ptr(t)
            if t.kind == "void":
                raise self.error(name, f"variable '{name}' has incomplete type 'void'")
            if dims:
                self.declare_array(name, t, dims, value)
                continue
            if t.is_ptr:
                if value is None:
                    raise self.error(
                        name, "a pointer variable must be initialised (not supported yet)"
                    )
                v = self.convert(self.rvalue(value), t, value)
                slot = self.alloca(IndexType())
                self.emit(memref.StoreOp.get(v.off, slot, []))
                self.declare(name, Var("ptr", t, slot, v.v), name)
                continue
            slot = self.alloca(t.ir())
            if value is not None:
                if isinstance(value, Tree) and value.data == "init_list":
                    raise self.error(value, "a scalar cannot take a braced initializer list")
                self.store(LValue(slot, [], t), self.rvalue(value), value)
            self.declare(name, Var("scalar", t, slot), name)

    def declare_array(self, name: Token, t: CType, dims: list[Tree], value) -> None:
        if len(dims) != 1 or not dims[0].children:
            raise self.error(
                dims[-1], "only one-dimensional local arrays of fixed size are supported yet"
            )
        size = self.const_expr(dims[0].children[0])
        mem = self.alloca(t.ir(), [size])
        if value is not None:
            if not (isinstance(value, Tree) and value.data == "init_list"):
                raise self.error(value, "array initializer must be an initializer list")
            items = [v for v in value.children if v is not None]
            if len(items) > size:
                raise self.error(value, "excess elements in array initializer")
            for k, item in enumerate(items):
                self.store(LValue(mem, [self.const_index(k)], t), self.rvalue(item), item)
        self.declare(name, Var("array", t, mem), name)

    def const_expr(self, node: Tree) -> int:
        if isinstance(node, Tree) and node.data == "int_lit":
            return int(str(node.children[0]).rstrip("uUlL"), 0)
        if isinstance(node, Tree) and node.data == "binary":
            a, b = self.const_expr(node.children[0]), self.const_expr(node.children[2])
            op = str(node.children[1].children[0])
            ops = {"+": a + b, "-": a - b, "*": a * b, "/": a // b if b else 0, "<<": a << b}
            if op in ops:
                return ops[op]
        raise self.error(node, "array size must be an integer constant")

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
            self.store(LValue(self.ret_slot, [], self.sig.ret), self.rvalue(value), value)
        elif self.ret_slot is not None:
            raise self.error(node, f"non-void function '{self.sig.name}' should return a value")
        true = self.const_int(1, ct.BOOL).v
        self.emit(memref.StoreOp.get(true, self.ret_flag, []))

    def stmt_break(self, node: Tree) -> None:
        self.set_loop_flag(node, 0, "break")

    def stmt_continue(self, node: Tree) -> None:
        self.set_loop_flag(node, 1, "continue")

    def set_loop_flag(self, node: Tree, which: int, word: str) -> None:
        if not self.loops or self.loops[-1][which] is None:
            raise self.error(node, f"'{word}' statement not in loop statement")
        true = self.const_int(1, ct.BOOL).v
        self.emit(memref.StoreOp.get(true, self.loops[-1][which], []))

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
                v = self.emit(memref.LoadOp.get(f, [])).results[0]
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
                self.emit(memref.StoreOp.get(self.entry_anchor.results[0], cont, []))
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

    def stmt_switch(self, node: Tree) -> None:
        raise self.error(node, "'switch' is not supported yet")


def signature(pre: Preprocessed, node: Tree) -> Signature:
    def err(n, msg):
        return pre.error(
            msg, *(n.line, n.column) if isinstance(n, Token) else (n.meta.line, n.meta.column)
        )

    specs, decl, *rest = node.children
    ret, quals = decl_type(err, specs)
    for p in decl.children:
        if isinstance(p, Tree) and p.data == "pointer":
            ret = ct.ptr(ret)
    name = next(str(c) for c in decl.children if isinstance(c, Token))
    kernel = "__global__" in quals
    if kernel and ret.kind != "void":
        type_tok = next((t for t in specs.children if str(t) not in quals), specs)
        raise err(type_tok, f"__global__ function '{name}' must have a void return type")
    if ret.is_ptr:
        raise err(specs, "device functions returning pointers are not supported yet")
    params, names = [], []
    plist = rest[0] if len(rest) == 2 else None
    if plist is not None:
        for p in plist.children:
            if isinstance(p, Token):  # (void)
                continue
            t, _ = decl_type(err, p.children[0])
            pdecl = p.children[1]
            for c in pdecl.children:
                if isinstance(c, Tree) and c.data == "pointer":
                    if c.children and c.children[0] == "&":
                        raise err(c, "reference parameters are not supported yet")
                    t = ct.ptr(t)
                if isinstance(c, Tree) and c.data == "array_dim":
                    t = ct.ptr(t)
            if t.kind == "void":
                raise err(p, "parameter has incomplete type 'void'")
            params.append(t)
            names.append(next(str(c) for c in pdecl.children if isinstance(c, Token)))
    return Signature(name, params, names, ret, kernel, node)


def lower_translation_unit(pre: Preprocessed, tree: Tree, module_name: str = "kernels") -> ModuleOp:
    functions: dict[str, Signature] = {}
    for fn in tree.children:
        sig = signature(pre, fn)
        if sig.name in functions:
            raise pre.error(f"redefinition of '{sig.name}'", fn.meta.line, fn.meta.column)
        functions[sig.name] = sig
    ops = [FunctionLowering(pre, functions, sig).build() for sig in functions.values()]
    gmod = gpu.ModuleOp(StringAttr(module_name), Region(Block(ops)))
    return ModuleOp([gmod], attributes={"gpu.container_module": UnitAttr()})
