"""A translation unit: declarations in order, templates and their instances, globals.

Templates are lowered only when instantiated: a kernel template for each
``name<args>`` the caller asks for or the host code launches (``name<args><<<...>>>``),
a device-function template for each call that names or deduces its arguments.
``__shared__``, ``__constant__`` and ``__device__`` variables become ``memref.global``
ops in the ``gpu.module`` (memory spaces 3, 4 and 1, as NVVM numbers them); dynamic
shared memory (``extern __shared__``) is ``gpu.dynamic_shared_memory`` viewed as the
declared element type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lark import Token, Tree
from xdsl.dialects import gpu
from xdsl.dialects.builtin import (
    ModuleOp,
    StringAttr,
    UnitAttr,
)
from xdsl.ir import Block, Operation, Region

from xpuc.compiler.diagnostics import CompileError
from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.ctypes_ import CType
from xpuc.frontends.cuda.decls import BUILTIN_TYPES, LAUNCH_BOUNDS, TypeEnv
from xpuc.frontends.cuda.globals_ import GlobalDef, GlobalsLowering
from xpuc.frontends.cuda.lower import FunctionLowering
from xpuc.frontends.cuda.preprocess import Preprocessed


@dataclass
class Signature:
    name: str  # as the user spells it; instances carry their arguments: f<32>
    symbol: str  # the IR symbol
    params: list[CType]
    param_names: list[str]
    refs: list[bool]
    ret: CType
    kernel: bool
    node: Tree
    env: TypeEnv
    defaults: list = field(default_factory=list)  # default argument expressions (or None)
    restrict: list[bool] = field(default_factory=list)  # a __restrict__ pointer parameter
    owner: CType | None = None  # the struct of a member function (``this`` comes first)
    max_threads: int = 0  # __launch_bounds__: the most threads a block has (0: not given)

    def arg_codes(self) -> list[str]:
        return [c for p in self.params for c in _codes(p)]

    def noalias_args(self) -> list[int]:
        """Indices (in the flattened argument list) of ``__restrict__`` pointers."""
        out, at = [], 0
        for k, p in enumerate(self.params):
            if k < len(self.restrict) and self.restrict[k]:
                out.append(at)
            at += len(_codes(p))
        return out

    def arg_names(self) -> list[str]:
        return [n for p, name in zip(self.params, self.param_names, strict=True)
                for n in _names(p, name)]  # fmt: skip


_RESTRICT = {"__restrict__", "__restrict", "restrict"}


def _restricted(decl) -> bool:
    """Whether the declarator's own pointer (the last ``*``) is ``__restrict__``."""
    kids = getattr(decl, "children", [])
    stars = [c for c in kids if isinstance(c, Tree) and c.data == "pointer"]
    return bool(stars) and any(str(q) in _RESTRICT for q in stars[-1].children)


def _codes(t: CType) -> list[str]:
    if t.kind == "struct":
        return [c for _, f in t.fields for c in _codes(f)]
    return [] if t.kind == "cg" else [t.code()]


def _names(t: CType, name: str) -> list[str]:
    if t.kind == "struct":
        return [n for fn, f in t.fields for n in _names(f, f"{name}.{fn}")]
    return [] if t.kind == "cg" else [name]


@dataclass
class Template:
    name: str
    node: Tree
    params: list[tuple[str, str, Tree | None]]  # (type|value, name, default)
    instances: dict[tuple, Signature] = field(default_factory=dict)


_OP_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "rem", "=": "eq",
             "!": "not", "<": "lt", ">": "gt", "[": "idx", "]": "", "(": "call",
             ")": ""}  # fmt: skip


def mangle(name: str, args: list) -> str:
    parts = [str(a).replace("*", "p").replace(" ", "_") for a in args]
    return re.sub(r"\W", "_", f"{name}__{'_'.join(parts)}")


class UnitLowering(GlobalsLowering):
    def __init__(self, pre: Preprocessed, tree: Tree):
        self.pre = pre
        self.tree = tree
        self.env = TypeEnv(self.error)
        self.env.fallback = self.host_constant
        self.env.on_methods = self.declare_methods
        self.methods: dict[tuple[str, str], list[Signature]] = {}
        self.functions: dict[str, list[Signature]] = {}  # overload sets
        self.templates: dict[str, Template] = {}
        self.globals: dict[str, GlobalDef] = {}
        self.global_ops: list[Operation] = []
        self.pending: list[Signature] = []
        self.symbols: set[str] = set()
        self.float_consts: dict[str, tuple[CType, float]] = {}
        self.resolving: set[str] = set()

    def error(self, node: Tree | Token, message: str) -> CompileError:
        if isinstance(node, Token):
            return self.pre.error(message, node.line or 1, node.column or 1)
        return self.pre.error(message, node.meta.line or 1, node.meta.column or 1)

    # ---- declarations
    def declare_all(self) -> None:
        for item in self.tree.children:
            if not isinstance(item, Tree):
                continue
            if item.data == "typedef_decl":
                self.env.typedef_decl(item)
            elif item.data == "using_decl":
                self.env.using_decl(item)
            elif item.data == "struct_decl":
                self.env.struct_spec(item.children[0])
            elif item.data == "enum_decl":
                self.env.enum_decl(item)
            elif item.data == "global_decl":
                self.global_decl(item)
            elif item.data == "function_def":
                self.function_decl(item)
            elif item.data == "explicit_inst":  # template __global__ void k<32>(float *);
                name = str(item.children[2])
                if name not in self.templates:
                    raise self.error(item.children[2], f"'{name}' is not a template")
                targs = [a for a in item.children[3:] if isinstance(a, Tree) and a.data != "params"]
                vals = [self.env.template_arg(a) for a in targs]
                self.instantiate(name, vals, item)

    def function_decl(self, node: Tree) -> None:
        head = node.children[0]
        has_body = node.children[-1].data == "compound_stmt"
        if isinstance(head, Tree) and head.data == "template_head":
            name = self.declarator_name(node.children[2])
            params = []
            for p in head.children[1:]:
                if p.data == "template_type":
                    params.append(("type", str(p.children[1]), p.children[2]))
                else:
                    params.append(("value", str(p.children[1]), p.children[2]))
            if has_body:
                if name in self.templates:
                    raise self.error(node, f"redefinition of template '{name}'")
                self.templates[name] = Template(name, node, params)
            return
        if not has_body:
            return  # a prototype: the definition follows
        sig = self.signature(node, self.env, None)
        overloads = self.functions.setdefault(sig.name, [])
        if any(o.params == sig.params and o.refs == sig.refs for o in overloads):
            raise self.error(node, f"redefinition of '{sig.name}'")
        if overloads or sig.name.startswith("operator"):
            sig.symbol = self.overload_symbol(sig)
        overloads.append(sig)
        self.pending.append(sig)

    def declare_methods(self, owner: CType, nodes: list[Tree]) -> None:
        """Member functions: device functions whose first parameter is ``this``."""
        for node in nodes:
            if node.children[0] is not None:
                raise self.error(node, "member function templates are not supported")
            if node.children[-1].data != "compound_stmt":
                continue
            sig = self.signature(node, self.env, None)
            if sig.name == owner.name:
                raise self.error(node, f"constructors of '{owner.name}' are not supported "
                                 "(aggregate initialization is)")  # fmt: skip
            method = sig.name
            sig.params.insert(0, owner)
            sig.param_names.insert(0, "this")
            sig.refs.insert(0, True)
            sig.defaults.insert(0, None)
            sig.owner = owner
            sig.name = f"{owner.name}::{method}"
            overloads = self.methods.setdefault((owner.name, method), [])
            self.functions[sig.name] = overloads
            sig.symbol = self.overload_symbol(sig)
            overloads.append(sig)
            self.pending.append(sig)

    def overload_symbol(self, sig: Signature) -> str:
        """A unique symbol for one of several functions of one name (or an operator)."""
        base = sig.name.replace("::", "__")
        if "operator" in base:
            head, _, op = base.partition("operator")
            base = head + "op_" + "".join(_OP_NAMES.get(ch, ch) for ch in op)
        parts = [re.sub(r"\W", "_", str(p)).replace("*", "p") for p in sig.params] or ["void"]
        symbol = f"{base}__{'_'.join(parts)}"
        while symbol in self.symbols:
            symbol += "_"
        self.symbols.add(symbol)
        return symbol

    @staticmethod
    def declarator_name(decl: Tree) -> str:
        return next(str(c) for c in decl.children if isinstance(c, Token))

    def signature(self, node: Tree, env: TypeEnv, targs: list | None) -> Signature:
        _, specs, decl, plist, _quals, _body = node.children
        ret, quals = env.specs(specs)
        name, ret, ref = env.declarator(ret, decl)
        kernel = "__global__" in quals
        if kernel and ret.kind != "void":
            where = next((c for c in specs.children if str(c) not in quals), specs)
            raise self.error(where, f"__global__ function '{name}' must have a void return type")
        if ret.is_ptr or ref:
            raise self.error(specs, "device functions returning pointers or references are "
                             "not supported yet")  # fmt: skip
        params, names, refs, defaults, restrict = [], [], [], [], []
        if plist is not None:
            for k, p in enumerate(plist.children):
                t, pquals = env.specs(p.children[0])
                empty = all(c is None for c in p.children[1].children)
                if t.kind == "void" and empty and len(plist.children) == 1:
                    continue  # f(void)
                pname, t, is_ref = (f"arg{k}", t, False)
                if p.children[1] is not None:
                    pname, t, is_ref = env.declarator(t, p.children[1])
                if "volatile" in pquals:
                    t = ct.as_volatile(t)
                    if t.kind == "array":  # T a[] is T *a
                        assert t.pointee is not None
                        t = ct.ptr(t.pointee)
                if t.kind == "void":
                    raise self.error(p, "parameter has incomplete type 'void'")
                if kernel and is_ref:
                    raise self.error(p, "__global__ function parameters cannot be references")
                if is_ref and ("const" in pquals or t.kind == "cg"):
                    is_ref = False  # a const reference reads like a copy (and binds rvalues)
                params.append(t)
                names.append(pname or f"arg{k}")
                refs.append(is_ref)
                defaults.append(p.children[2])
                restrict.append(t.is_ptr and _restricted(p.children[1]))
        symbol = name if targs is None else mangle(name, targs)
        shown = name if targs is None else f"{name}<{', '.join(map(str, targs))}>"
        bounds = [int(q.removeprefix(LAUNCH_BOUNDS)) for q in quals if q.startswith(LAUNCH_BOUNDS)]
        return Signature(shown, symbol, params, names, refs, ret, kernel, node, env, defaults,
                         restrict=restrict, max_threads=bounds[0] if bounds else 0)  # fmt: skip

    # ---- templates
    def instantiate(self, name: str, targs: list, node: Tree | Token) -> Signature:
        tpl = self.templates[name]
        if len(targs) > len(tpl.params):
            raise self.error(node, f"too many template arguments for '{name}'")
        env = self.env.child()
        bound = []
        for k, (kind, pname, default) in enumerate(tpl.params):
            if k < len(targs):
                a = targs[k]
            elif default is not None:
                a = env.type_name(default) if kind == "type" else env.const_eval(default)
            else:
                raise self.error(node, f"cannot deduce template argument '{pname}' of '{name}'")
            if kind == "type" and not isinstance(a, CType):
                raise self.error(node, f"template argument for '{pname}' must be a type")
            if kind == "value" and not isinstance(a, int):
                raise self.error(node, f"template argument for '{pname}' must be a constant")
            if kind == "type":
                env.types[pname] = a
            else:
                env.consts[pname] = a
            bound.append(a)
        key = tuple(bound)
        if key not in tpl.instances and len(tpl.instances) >= 256:
            raise self.error(node, f"more than 256 instances of template '{name}' "
                             "(recursive instantiation without an end?)")  # fmt: skip
        if key not in tpl.instances:
            shown = [_show(a, self.template_param_type(tpl, k)) for k, a in enumerate(bound)]
            sig = self.signature(tpl.node, env, shown)
            tpl.instances[key] = sig
            self.pending.append(sig)
        return tpl.instances[key]

    def template_param_type(self, tpl: Template, k: int) -> CType | None:
        head = tpl.node.children[0]
        p = head.children[1 + k]
        if p.data != "template_value":
            return None
        t, _ = self.env.specs(p.children[0])
        return t

    def parse_template_args(self, text: str, node: Tree | Token) -> list:
        """``32, float, 2 * BS`` -> [32, FLOAT, 64] (instances named in the API or a launch)."""
        try:
            return [self.env.template_arg(t) for t in self.parse_targ_trees(text)]
        except CompileError:
            raise CompileError(f"cannot read template argument '{text}'") from None

    def host_constant(self, name: str) -> int | None:
        """``constexpr int N = 256;`` in host code (e.g. in main), for launches ``k<N>``."""
        if name in self.resolving or len(self.resolving) > 8:
            return None
        name_re = re.escape(name)
        pattern = rf"\b(?:constexpr|const)\s+[\w\s]*?\b{name_re}\s*=\s*([^;{{}}]+);"
        m = re.search(pattern, self.pre.original)
        if m is None:
            return None
        self.resolving.add(name)
        try:
            (tree,) = self.parse_targ_trees(m.group(1))
            return self.env.const_eval(tree)
        except (CompileError, ValueError):  # not one constant expression: not a constant
            return None
        finally:
            self.resolving.discard(name)

    def parse_targ_trees(self, text: str) -> list:
        """Template arguments written outside the device code, as syntax trees."""
        from lark.exceptions import LarkError

        from xpuc.frontends.cuda import parse_template_args

        try:
            return parse_template_args(text, set(self.env.types) | set(BUILTIN_TYPES))
        except LarkError:
            raise CompileError(f"cannot read template arguments '{text}'") from None

    # ---- the module
    def lower(self, requested: list[str]) -> ModuleOp:
        self.declare_all()
        for text in requested:
            self.request(text, self.tree)
        for m in re.finditer(r"\b([A-Za-z_]\w*)\s*<([^;]*?)>\s*<<<", self.pre.original):
            if m.group(1) in self.templates:
                try:  # launches the device side cannot evaluate are left to the caller
                    self.request(f"{m.group(1)}<{m.group(2)}>", self.tree)
                except CompileError:
                    pass
        ops: list[Operation] = []
        while self.pending:
            ops.append(FunctionLowering(self, self.pending.pop(0)).build())
        gmod = gpu.ModuleOp(StringAttr("kernels"), Region(Block([*self.global_ops, *ops])))
        return ModuleOp([gmod], attributes={"gpu.container_module": UnitAttr()})

    def request(self, text: str, node) -> None:
        m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*(?:<(.*)>)?\s*", text)
        if m is None:
            raise CompileError(f"cannot read kernel name '{text}'")
        name, args = m.group(1), m.group(2)
        if args is None:
            if name not in self.functions and name not in self.templates:
                raise CompileError(f"no kernel named '{name}' in the source")
            return
        if name not in self.templates:
            raise CompileError(f"'{name}' is not a template")
        self.instantiate(name, self.parse_template_args(args, node), node)


def _show(arg, t: CType | None) -> str:
    """A template argument as C++ prints it (``true``, ``64``, ``float``)."""
    if t is not None and t.kind == "bool" and isinstance(arg, int):
        return "true" if arg else "false"
    return str(arg)
