"""Compile-time checks of a kernel against its chip's limits (``TargetDesc``).

Run on the shared IR before lowering, so every target family gets them: static
shared memory over ``max_shared_memory``, an element type the chip lacks.  Errors
point at the kernel's definition (the frontend's ``xpu.loc``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xdsl.dialects import func, gpu, memref
from xdsl.dialects.builtin import (
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    StringAttr,
)
from xdsl.ir import Attribute, Operation

from xpuc.compiler.diagnostics import CompileError, Location, TargetError

if TYPE_CHECKING:
    from xpuc.targets.base import TargetDesc

SHARED_SPACE = IntegerAttr(3, 64)


def element_code(t: Attribute) -> str | None:
    """``i32``, ``f16``, ...: the element-type name a TargetDesc lists, or None."""
    if isinstance(t, MemRefType):
        return element_code(t.element_type)
    if isinstance(t, IntegerType):
        return f"i{t.width.data}"
    if isinstance(t, Float16Type | Float32Type | Float64Type):
        return f"f{t.bitwidth}"
    return None


def _byte_size(t: MemRefType) -> int:
    n = 1
    for d in t.get_shape():
        n *= max(d, 0)
    el = t.element_type
    bits = el.width.data if isinstance(el, IntegerType) else getattr(el, "bitwidth", 8)
    return n * max(bits, 8) // 8


def reachable(module: ModuleOp, kernel: Operation) -> list[Operation]:
    """The kernel and every function it calls, directly or not."""
    funcs = {op.sym_name.data: op for op in module.walk() if isinstance(op, func.FuncOp)}
    out, todo, seen = [], [kernel], {id(kernel)}
    while todo:
        fn = todo.pop()
        out.append(fn)
        for op in fn.walk():
            if isinstance(op, func.CallOp):
                callee = funcs.get(op.callee.string_value())
                if callee is not None and id(callee) not in seen:
                    seen.add(id(callee))
                    todo.append(callee)
    return out


def shared_bytes(module: ModuleOp, kernel: Operation) -> int:
    """Bytes of static shared memory the kernel and the functions it calls name
    (globals in memory space 3, each counted once)."""
    sizes = {
        op.sym_name.data: _byte_size(op.type)
        for op in module.walk()
        if isinstance(op, memref.GlobalOp) and op.type.memory_space == SHARED_SPACE
    }
    used = {
        o.name_.string_value()
        for fn in reachable(module, kernel)
        for o in fn.walk()
        if isinstance(o, memref.GetGlobalOp)
    }
    return sum(v for k, v in sizes.items() if k in used)


def private_bytes(module: ModuleOp, kernel: Operation) -> int:
    """Bytes of local (stack) arrays a thread of the kernel holds at most: its own and
    those of every function it calls (an upper bound: all as if live at once)."""
    return sum(
        _byte_size(op.results[0].type)
        for fn in reachable(module, kernel)
        for op in fn.walk()
        if isinstance(op, memref.AllocaOp) and op.results[0].type.has_static_shape()
    )


def _types_used(module: ModuleOp, kernel: Operation) -> dict[str, Operation]:
    """Element types a kernel (and what it calls) computes with or reads."""
    seen: dict[str, Operation] = {}
    for op in (o for fn in reachable(module, kernel) for o in fn.walk()):
        for v in (*op.results, *op.operands):
            code = element_code(v.type)
            if code is not None and code not in seen:
                seen[code] = op
        if isinstance(op, memref.GetGlobalOp | memref.AllocaOp):
            code = element_code(op.results[0].type)
            if code is not None:
                seen.setdefault(code, op)
    return seen


def kernel_location(kernel: Operation) -> Location | None:
    loc = kernel.attributes.get("xpu.loc")
    if not isinstance(loc, StringAttr):
        return None
    file, line, col = loc.data.rsplit(":", 2)
    return Location(file, int(line), int(col))


def _error(kernel: Operation, message: str) -> TargetError | CompileError:
    loc = kernel_location(kernel)
    if loc is None:
        return TargetError(message)
    return CompileError(message, loc)


def check_limits(desc: TargetDesc, module: ModuleOp) -> None:
    for op in module.walk():
        if not (isinstance(op, gpu.FuncOp) and op.kernel is not None):
            continue
        name = op.sym_name.data
        src = op.attributes.get("xpu.source_name")
        if isinstance(src, StringAttr):
            name = src.data
        bound = op.attributes.get("xpu.max_threads")
        if isinstance(bound, IntegerAttr) and bound.value.data > desc.max_threads_per_block:
            raise _error(
                op,
                f"kernel '{name}' asks for blocks of {bound.value.data} threads "
                f"(__launch_bounds__); {desc.name} has at most {desc.max_threads_per_block}",
            )
        smem = shared_bytes(module, op)
        limit = desc.static_shared_limit
        if smem > limit:
            raise _error(
                op,
                f"kernel '{name}' needs {smem} bytes of shared memory; {desc.name} has "
                f"{limit} per block"
                + (
                    " for static __shared__ (more only as dynamic shared memory)"
                    if limit < desc.max_shared_memory
                    else ""
                ),
            )
        private = private_bytes(module, op)
        if desc.max_private_memory and private > desc.max_private_memory:
            raise _error(
                op,
                f"kernel '{name}' needs {private} bytes of local arrays per thread; "
                f"{desc.name} has {desc.max_private_memory}",
            )
        for code in _types_used(module, op):
            if code not in desc.element_types and code != "i1":
                raise _error(
                    op,
                    f"kernel '{name}' uses {code}, which {desc.name} does not support "
                    f"(it has {', '.join(desc.element_types)})",
                )
