"""Variables at file scope and in shared memory, for the translation unit.

``__shared__``, ``__constant__`` and ``__device__`` variables become ``memref.global``
ops in the ``gpu.module`` (memory spaces 3, 4 and 1, as NVVM numbers them); dynamic
shared memory (``extern __shared__``) is ``gpu.dynamic_shared_memory`` viewed as the
declared element type.  ``const``/``constexpr`` scalars of the host code are
compile-time constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lark import Tree
from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DenseIntOrFPElementsAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    StringAttr,
    TensorType,
    UnitAttr,
)

from xpuc.compiler.diagnostics import CompileError
from xpuc.dialects.gpu_ext import DynamicSharedMemoryOp
from xpuc.frontends.cuda import ctypes_ as ct
from xpuc.frontends.cuda.ctypes_ import CType
from xpuc.frontends.cuda.decls import TypeEnv
from xpuc.frontends.cuda.values import LValue, Var

if TYPE_CHECKING:
    from xpuc.frontends.cuda.lower import FunctionLowering

SHARED, CONSTANT, GLOBAL = 3, 4, 1


def space_attr(space: int) -> IntegerAttr:
    return IntegerAttr(space, 64)


@dataclass
class GlobalDef:
    name: str
    t: CType
    space: int
    symbol: str
    dynamic: bool = False


class GlobalsLowering:
    """Mixin of UnitLowering: file-scope variables and shared memory."""

    def global_decl(self, node: Tree) -> None:
        base, quals = self.env.specs(node.children[0])
        if not {"__shared__", "__constant__", "__device__", "__managed__"} & quals:
            self.host_constants(node, base)
            return
        space = SHARED if "__shared__" in quals else CONSTANT if "__constant__" in quals else GLOBAL
        for init in node.children[1:]:
            name, t, _ = self.env.declarator(base, init.children[0])
            value = init.children[1] if len(init.children) > 1 else None
            if space == SHARED and value is not None:
                raise self.error(value, "__shared__ variables cannot have an initializer")
            dynamic = space == SHARED and "extern" in quals
            if dynamic and t.kind == "array" and t.count == 0:
                self.globals[name] = GlobalDef(name, t, space, "", dynamic=True)
                continue
            g = self.make_global(name, t, space, value, init)
            self.globals[name] = g

    def host_constants(self, node: Tree, base: CType) -> None:
        """``const``/``constexpr`` scalars at file scope: compile-time constants."""
        for init in node.children[1:]:
            name, t, _ = self.env.declarator(base, init.children[0])
            value = init.children[1] if len(init.children) > 1 else None
            if value is None or not (t.is_int or t.is_float) or t.kind == "bool":
                continue
            if t.is_int:
                try:
                    self.env.consts[name] = self.env.const_eval(value)
                except CompileError:
                    pass  # not a constant expression: host data, ignored
                continue
            consts = _flat_constants(self.env, value) if _is_literal(value) else None
            if consts:
                self.float_consts[name] = (t, consts[0])

    def make_global(self, name: str, t: CType, space: int, value, node) -> GlobalDef:
        leaf = ct.leaf_type(t) if not ct.is_mixed(t) else ct.UCHAR
        if leaf is None or leaf.is_ptr:
            raise self.error(node, f"variables of type '{t}' cannot be placed in memory yet")
        if ct.is_mixed(t) and value is not None:
            raise self.error(value, "initializers of mixed-type structs are not supported yet")
        symbol = name if space != SHARED else f"__shared_{name}"
        while symbol in self.symbols:
            symbol += "_"
        self.symbols.add(symbol)
        count = t.bytes if ct.is_mixed(t) else max(t.size, 1)
        mt = MemRefType(leaf.ir(), [count], memory_space=space_attr(space))
        init: object = UnitAttr()
        if value is not None:
            vals = _flat_constants(self.env, value)
            if len(vals) > t.size:
                raise self.error(value, "excess elements in initializer")
            vals += [0] * (t.size - len(vals))
            vals = [float(v) if leaf.is_float else int(v) for v in vals]
            init = DenseIntOrFPElementsAttr.from_list(TensorType(leaf.ir(), [len(vals)]), vals)
        visibility = StringAttr("public" if space != SHARED else "private")
        # not `constant`: the host writes __constant__ memory (cudaMemcpyToSymbol)
        op = memref.GlobalOp.get(StringAttr(symbol), mt, init, visibility, None, alignment=16)
        self.global_ops.append(op)
        return GlobalDef(name, t, space, symbol)

    def global_var(self, fl: FunctionLowering, name: str) -> Var | None:
        if name in fl.globals_here:
            return fl.globals_here[name]
        if name in self.float_consts:
            t, v = self.float_consts[name]
            return Var("const", t, value=v)
        g = self.globals.get(name)
        if g is None:
            return None
        place = self.dynamic_place(fl, g.t) if g.dynamic else self.global_place(fl, g)
        var = Var("place", g.t, place)
        fl.globals_here[name] = var
        return var

    def global_place(self, fl: FunctionLowering, g: GlobalDef) -> LValue:
        mixed = ct.is_mixed(g.t)
        leaf = ct.UCHAR if mixed else ct.leaf_type(g.t)
        assert leaf is not None
        count = g.t.bytes if mixed else max(g.t.size, 1)
        mt = MemRefType(leaf.ir(), [count], memory_space=space_attr(g.space))
        ref = fl.at_entry(memref.GetGlobalOp(g.symbol, mt))
        return LValue(ref, [fl.c0], g.t)

    def dynamic_place(self, fl: FunctionLowering, t: CType) -> LValue:
        assert t.pointee is not None
        leaf = ct.leaf_type(t.pointee)
        if leaf is None:
            raise fl.error_here(f"extern __shared__ arrays of '{t.pointee}' are not supported")
        raw_t = MemRefType(ct.UCHAR.ir(), [DYNAMIC_INDEX], memory_space=space_attr(SHARED))
        raw = fl.at_entry(DynamicSharedMemoryOp(raw_t))
        if leaf.ir() == ct.UCHAR.ir():
            return LValue(raw, [fl.c0], t)
        n = ct.NOMINAL_EXTENT_BYTES // max(leaf.bits // 8, 1)
        big = fl.at_entry(arith.ConstantOp(IntegerAttr(n, IndexType())))
        view_t = MemRefType(leaf.ir(), [DYNAMIC_INDEX], memory_space=space_attr(SHARED))
        view = fl.at_entry(memref.ViewOp(raw, fl.c0, [big], view_t))
        return LValue(view, [fl.c0], t)

    def shared_place(self, fl: FunctionLowering, name: str, t: CType, extern: bool, tok) -> LValue:
        if extern:
            if t.kind != "array" or t.count != 0:
                raise self.error(tok, "extern __shared__ must be an array of unknown size")
            return self.dynamic_place(fl, t)
        if t.kind == "array" and t.count == 0:
            raise self.error(tok, f"__shared__ array '{name}' needs a size")
        g = self.make_global(f"{fl.sig.symbol}_{name}", t, SHARED, None, tok)
        return self.global_place(fl, g)


def _is_literal(value) -> bool:
    if isinstance(value, Tree) and value.data == "unary_op":
        value = value.children[1]
    return isinstance(value, Tree) and value.data in ("float_lit", "int_lit")


def _flat_constants(env: TypeEnv, value) -> list[float]:
    if isinstance(value, Tree) and value.data == "init_list":
        return [x for v in value.children if v is not None for x in _flat_constants(env, v)]
    if isinstance(value, Tree) and value.data == "float_lit":
        return [float(str(value.children[0]).rstrip("fFlL"))]
    if isinstance(value, Tree) and value.data == "unary_op" and isinstance(value.children[1], Tree):
        if value.children[1].data == "float_lit" and str(value.children[0].children[0]) == "-":
            return [-_flat_constants(env, value.children[1])[0]]
    return [env.const_eval(value)]
