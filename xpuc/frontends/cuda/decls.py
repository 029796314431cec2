"""Types and constants of a translation unit: typedefs, structs, enums, template bindings.

``TypeEnv`` resolves declaration specifiers and declarators to ``CType`` and
evaluates integer constant expressions (array sizes, template arguments, enum values,
``case`` labels).  One environment is shared by the whole translation unit; a
template instantiation gets a child environment holding its parameter bindings.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lark import Token, Tree

from xpuc.compiler.diagnostics import CompileError
from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.ctypes_ import CType

LAUNCH_BOUNDS = "__launch_bounds__="
"""A qualifier ``__launch_bounds__=N``: the most threads a block of the kernel has."""
QUALIFIERS = {"const", "constexpr", "volatile", "__restrict__", "static", "inline",
              "__forceinline__", "extern", "register", "__host__", "__global__", "__device__",
              "__shared__", "__constant__", "__managed__"}  # fmt: skip

# Cooperative-groups handle types (values carry no data; methods are built-ins).
CG_BLOCK = CType("cg", name="thread_block")
CG_GRID = CType("cg", name="grid_group")
BUILTIN_TYPES: dict[str, CType] = {
    "thread_block": CG_BLOCK, "grid_group": CG_GRID,
    "dim3": ct.struct("dim3", [("x", ct.UINT), ("y", ct.UINT), ("z", ct.UINT)]),
    "__half": ct.HALF, "half": ct.HALF,
}  # fmt: skip
TEMPLATE_TYPES = ("thread_block_tile",)  # built-in class templates
TEMPLATE_FUNCTIONS = ("tiled_partition",)  # built-in function templates

ErrorFn = Callable[[Tree | Token, str], CompileError]


def cg_tile(n: int) -> CType:
    return CType("cg", name=f"thread_block_tile<{n}>", count=n)


class TypeEnv:
    def __init__(self, error: ErrorFn, parent: TypeEnv | None = None):
        self.error = error
        self.parent = parent
        self.types: dict[str, CType] = {}
        self.consts: dict[str, int] = {}
        # names the device code does not define: constants of the host code (root only)
        self.fallback: Callable[[str], int | None] | None = None
        # member functions of a struct just defined (the translation unit lowers them)
        self.on_methods: Callable[[CType, list], None] | None = None

    def child(self) -> TypeEnv:
        return TypeEnv(self.error, self)

    def type_named(self, name: str) -> CType | None:
        env: TypeEnv | None = self
        while env is not None:
            if name in env.types:
                return env.types[name]
            env = env.parent
        return BUILTIN_TYPES.get(name) or ct.vector_type(name)

    def const_named(self, name: str) -> int | None:
        env: TypeEnv | None = self
        while env is not None:
            if name in env.consts:
                return env.consts[name]
            if env.parent is None and env.fallback is not None:
                return env.fallback(name)
            env = env.parent
        return None

    # ---- declaration specifiers
    def specs(self, specs: Tree) -> tuple[CType, set[str]]:
        words: list[str] = []
        quals: set[str] = set()
        found: CType | None = None
        for c in specs.children:
            if isinstance(c, Tree):
                if c.data == "struct_spec":
                    found = self.struct_spec(c)
                elif c.data == "enum_decl":
                    self.enum_decl(c)
                    found = ct.INT
                elif c.data == "template_type_ref":
                    found = self.template_type(c)
                elif c.data == "launch_bounds":  # __launch_bounds__(max threads, ...)
                    n = self.const_eval(c.children[1])
                    if not 1 <= n < 1 << 31:
                        raise self.error(c, f"__launch_bounds__ must be 1 to 2^31-1, not {n}")
                    quals.add(f"{LAUNCH_BOUNDS}{n}")
                continue
            w = str(c)
            if w in QUALIFIERS:
                quals.add(w)
            elif c.type == "TYPE_NAME" or (c.type == "TYPE_WORD" and self.type_named(w)):
                found = self.type_named(w)
                if found is None:
                    raise self.error(c, f"unknown type name '{w}'")
            else:
                words.append(w)
        if found is not None:
            if words:
                raise self.error(specs, f"cannot combine '{' '.join(words)}' with '{found}'")
            return found, quals
        t = ct.from_words(words)
        if t is None:
            raise self.error(specs, f"unknown type '{' '.join(words) or 'none'}'")
        return t, quals

    def template_type(self, node: Tree) -> CType:
        name, *args = node.children
        if str(name) != "thread_block_tile" or len(args) != 1:
            raise self.error(node, f"unknown class template '{name}'")
        n = self.const_eval(args[0])
        if n not in (1, 2, 4, 8, 16, 32):
            raise self.error(args[0], "thread_block_tile size must be a power of two up to 32")
        return cg_tile(n)

    def declarator(self, base: CType, decl: Tree) -> tuple[str, CType, bool]:
        """(name, type, is_reference) of ``*name[N][M]``."""
        t, ref = base, False
        for c in decl.children:
            if isinstance(c, Tree) and c.data == "reference":
                ref = True
            elif isinstance(c, Tree) and c.data == "pointer":
                t = ct.ptr(t)
        dims = [c for c in decl.children if isinstance(c, Tree) and c.data == "array_dim"]
        for d in reversed(dims):
            n = self.const_eval(d.children[0]) if d.children and d.children[0] is not None else 0
            if n < 0:
                raise self.error(d, "array has a negative size")
            if n * max(t.bytes, 1) >= 1 << 31:
                raise self.error(d, "array is too large (2 GiB or more)")
            t = ct.array(t, n)
        names = [re.sub(r"\s+", "", str(c)) for c in decl.children if isinstance(c, Token)]
        return (names[0] if names else ""), t, ref

    def template_arg(self, node: Tree) -> CType | int:
        """One template argument: a type, or an integer constant expression."""
        return self.type_name(node) if node.data == "type_name" else self.const_eval(node)

    def type_name(self, node: Tree) -> CType:
        t, _ = self.specs(node.children[0])
        for _ in node.children[1:]:
            t = ct.ptr(t)
        return t

    # ---- struct, typedef, enum
    def struct_spec(self, node: Tree) -> CType:
        kw, name, body_tree = node.children
        tag = str(name) if name is not None else ""
        if str(kw) == "union":
            raise self.error(node, "unions are not supported")
        body = body_tree.children if body_tree is not None else None
        if body is None:
            t = self.type_named(tag) if tag else None
            if t is None or t.kind != "struct":
                raise self.error(node, f"incomplete struct type '{tag}'")
            return t
        fields: list[tuple[str, CType]] = []
        methods = []
        for fd in body:
            if fd.data == "function_def":
                methods.append(fd)
                continue
            if fd.data != "field_decl":
                continue  # public: / private: / ;
            base, quals = self.specs(fd.children[0])
            decls = [d for d in fd.children[1:] if isinstance(d, Tree) and d.data == "declarator"]
            init = fd.children[2] if len(fd.children) > 2 else None
            if "static" in quals:  # static constexpr int N = 4: a constant of the scope
                if init is None or not base.is_int:
                    raise self.error(fd, "only static integer constants are supported as "
                                     "static members")  # fmt: skip
                self.consts[self.declarator(base, decls[0])[0]] = self.const_eval(init)
                continue
            if init is not None:
                raise self.error(init, "default member initializers are not supported")
            for decl in decls:
                fname, ftype, ref = self.declarator(base, decl)
                if ref:
                    raise self.error(decl, "reference members are not supported")
                if any(f == fname for f, _ in fields):
                    raise self.error(decl, f"duplicate member '{fname}'")
                fields.append((fname, ftype))
        t = ct.struct(tag or "<anonymous struct>", fields)
        if tag:
            self.types[tag] = t
        root = self
        while root.parent is not None:
            root = root.parent
        if methods and root.on_methods is not None:
            root.on_methods(t, methods)
        return t

    def typedef_decl(self, node: Tree) -> None:
        _, specs, decl = node.children
        base, _ = self.specs(specs)
        name, t, _ = self.declarator(base, decl)
        self.types[name] = t

    def using_decl(self, node: Tree) -> None:
        _, name, tname = node.children
        self.types[str(name)] = self.type_name(tname)

    def enum_decl(self, node: Tree) -> None:
        items = [c for c in node.children if isinstance(c, Tree) and c.data == "enumerator"]
        value = 0
        for e in items:
            name, expr = e.children[0], e.children[1] if len(e.children) > 1 else None
            if expr is not None:
                value = self.const_eval(expr)
            self.consts[str(name)] = value
            value += 1
        tags = [c for c in node.children if isinstance(c, Token) and c.type == "NAME"]
        for tag in tags:
            self.types[str(tag)] = ct.INT

    # ---- integer constant expressions
    def const_eval(self, node: Tree | Token) -> int:
        if isinstance(node, Token):
            raise self.error(node, f"'{node}' is not an integer constant")
        d = node.data
        if d == "targ":
            return self.const_eval(node.children[0])
        if d == "int_lit":
            text = str(node.children[0]).rstrip("uUlL")
            if text.startswith("0") and text[1:].isdigit():
                if "8" in text or "9" in text:
                    raise self.error(node, "invalid digit in octal constant")
                return int(text, 8)
            return int(text, 0)
        if d == "char_lit":
            return ord(str(node.children[0])[1:-1].encode().decode("unicode_escape"))
        if d == "bool_lit":
            return int(node.children[0] == "true")
        if d == "name":
            v = self.const_named(str(node.children[0]))
            if v is None:
                raise self.error(node, f"'{node.children[0]}' is not an integer constant")
            return v
        if d == "sizeof_type":
            return self.type_name(node.children[1]).bytes
        if d == "cast":
            return self.const_eval(node.children[1])
        if d == "unary_op":
            op, v = str(node.children[0].children[0]), self.const_eval(node.children[1])
            return {"-": -v, "+": v, "!": int(not v), "~": ~v}[op]
        if d == "ternary":
            c = self.const_eval(node.children[0])
            return self.const_eval(node.children[1] if c else node.children[2])
        if d in ("binary", "bit_or", "bit_xor", "bit_and", "logical_or", "logical_and"):
            if d == "binary":
                a, op, b = node.children
                op = str(op.children[0])
            else:
                a, b = node.children
                op = {"bit_or": "|", "bit_xor": "^", "bit_and": "&",
                      "logical_or": "||", "logical_and": "&&"}[d]  # fmt: skip
            x, y = self.const_eval(a), self.const_eval(b)
            if op in ("/", "%") and y == 0:
                raise self.error(node, "division by zero in a constant expression")
            return _FOLD[op](x, y)
        raise self.error(node, "expression is not an integer constant")


def _cdiv(x: int, y: int) -> int:
    q = abs(x) // abs(y)
    return q if (x >= 0) == (y >= 0) else -q


_FOLD: dict[str, Callable[[int, int], int]] = {
    "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
    "/": _cdiv, "%": lambda x, y: x - _cdiv(x, y) * y,
    "<<": lambda x, y: x << y, ">>": lambda x, y: x >> y,
    "<": lambda x, y: int(x < y), ">": lambda x, y: int(x > y),
    "<=": lambda x, y: int(x <= y), ">=": lambda x, y: int(x >= y),
    "==": lambda x, y: int(x == y), "!=": lambda x, y: int(x != y),
    "&": lambda x, y: x & y, "|": lambda x, y: x | y, "^": lambda x, y: x ^ y,
    "&&": lambda x, y: int(bool(x and y)), "||": lambda x, y: int(bool(x or y)),
}  # fmt: skip
