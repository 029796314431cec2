"""Print structured shared IR as C: the base that source-printing targets share.

A renderer is a few fields and a table of op handlers over this base, as tinygrad's
``renderer/cstyle.py`` has them; ``targets/opencl_c.py`` is the OpenCL dialect of C.
Types are spelled as OpenCL C spells them (``uint``, ``ulong``), which a C99 dialect
would map to ``<stdint.h>`` names.

Conventions of the printed C:
- Every SSA value is a variable ``vN`` assigned once (constants are printed where they
  are used), so every operand is an atom and expressions need no precedence rules.
  Variables are declared at the top of the function (see ``finish``).
- Integers are signless in the IR and unsigned in C (``index`` is ``ulong``):
  unsigned arithmetic wraps as ``arith`` does, where C's signed overflow would be
  undefined (``c_arith.py``).  ``i1`` is ``bool``, a byte in memory (as in the LLVM
  translation).
- Structured control flow stays structured (``if``, ``for``, ``while (1)`` with a
  ``break``); only ``cf`` branches, if any are left, become labels and ``goto``.
- A function with several results returns a struct (``tuple_float_uint``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from xdsl.dialects import arith, cf, func, gpu, memref, scf
from xdsl.dialects.builtin import (
    Float16Type,
    Float32Type,
    Float64Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from xpuc.compiler.diagnostics import TargetError
from xpuc.targets.c_arith import SIGNED, UNSIGNED, ArithMixin, is_bool, literal, width

VIEWS = (memref.CastOp, memref.ViewOp, memref.MemorySpaceCastOp)
_PURE = ("arith.", "math.")


class CRenderer(ArithMixin):
    """Prints functions of structured shared IR as C.  Subclasses add handlers for
    their target's ops and override the hooks (``space``, ``memory_type``, ...)."""

    language = "C"
    float_types = {16: "half", 32: "float", 64: "double"}

    def __init__(self) -> None:
        self.handlers: dict[type, Callable[[Operation], str | None]] = {
            **self.arith_handlers(),
            **{k: self._view for k in VIEWS},
            memref.LoadOp: self._load, memref.StoreOp: self._store,
            memref.AllocaOp: self._alloca, scf.IfOp: self._if, scf.ForOp: self._for,
            scf.WhileOp: self._while, func.CallOp: self._call, func.ReturnOp: self._return,
            gpu.ReturnOp: self._return, cf.BranchOp: self._br, cf.ConditionalBranchOp: self._cbr,
            scf.YieldOp: lambda op: None, scf.ConditionOp: lambda op: None,
        }  # fmt: skip
        self.structs: dict[str, str] = {}
        self.begin()

    def begin(self) -> None:
        """Start a function."""
        self.lines: list[str] = []
        self.arrays: list[str] = []
        self.decls: dict[str, list[str]] = {}
        self.names: dict[SSAValue, str] = {}
        self.blocks: dict[Block, str] = {}
        self.depth = 1

    # ---- types and values
    def ctype(self, t: Attribute, signed: bool = False) -> str:
        """The C type a value of IR type ``t`` is held in."""
        if isinstance(t, IntegerType | IndexType):
            return (SIGNED if signed else UNSIGNED)[width(t)]
        if isinstance(t, Float16Type | Float32Type | Float64Type):
            return self.float_types[t.bitwidth]
        raise TargetError(f"type {t} has no C equivalent")

    def memory_type(self, t: Attribute) -> str:
        """The C type of an element in memory (a bool is a byte)."""
        return "uchar" if is_bool(t) else self.ctype(t)

    def pointer(self, t: MemRefType, space: str) -> str:
        return f"{space + ' ' if space else ''}{self.memory_type(t.element_type)} *"

    def space(self, v: SSAValue) -> str:
        """The address-space qualifier of a memref value ('' in plain C)."""
        return ""

    def ptype(self, v: SSAValue) -> str:
        return self.pointer(v.type, self.space(v))

    def vtype(self, v: SSAValue) -> str:
        """The C type of a value, as a declaration's prefix (``uint ``, ``float *``)."""
        return self.ptype(v) if isinstance(v.type, MemRefType) else self.ctype(v.type) + " "

    def val(self, v: SSAValue) -> str:
        """An atom naming ``v``: its variable, or its literal when it is a constant."""
        if isinstance(v.owner, arith.ConstantOp):
            attr = v.owner.value
            if isinstance(attr, IntegerAttr | FloatAttr):
                return literal(attr.value.data, v.type)
        return self.names[v]

    def alias(self, v: SSAValue, name: str) -> None:
        """``v`` is ``name`` (a parameter, a global array, an equal pointer)."""
        self.names[v] = name

    def fresh(self, v: SSAValue) -> str:
        self.names[v] = name = f"v{len(self.names)}"
        return name

    def line(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def declare(self, v: SSAValue, expr: str | None = None) -> str:
        """A variable for ``v``, declared at the top of the function, assigned here."""
        name = self.fresh(v)
        self.decls.setdefault(self.vtype(v), []).append(name)
        if expr is not None:
            self.line(f"{name} = {expr};")
        return name

    def temporary(self, t: str) -> str:
        name = f"t{sum(map(len, self.decls.values()))}"
        self.decls.setdefault(t if t.endswith("*") else t + " ", []).append(name)
        return name

    def finish(self) -> list[str]:
        """The function's lines, its variables declared first.  Declarations in inner
        blocks get LLVM lifetime markers, which PoCL 3.1 mishandles in loops that hold a
        barrier (the loop runs once); C89-style declarations at the top avoid them."""
        out = [*self.arrays]
        for t, names in self.decls.items():
            if t.endswith("*"):
                out += [f"  {t}{n};" for n in names]
            else:
                out += [f"  {t}{', '.join(names[k : k + 12])};" for k in range(0, len(names), 12)]
        return out + self.lines

    # ---- ops and blocks
    def block(self, block: Block) -> None:
        for op in block.ops:
            self.op(op)

    def op(self, op: Operation) -> None:
        handler = self.handlers.get(type(op))
        if handler is None:
            fn = function_of(op)
            where = f" (in @{fn.sym_name.data})" if fn is not None else ""
            raise TargetError(f"'{op.name}' cannot be printed as {self.language}{where}")
        if op.results and op.name.startswith(_PURE) and not any(r.uses for r in op.results):
            return
        expr = handler(op)
        if expr is not None:
            self.declare(op.results[0], expr)

    def body(self, region) -> None:
        """A function body: one block, or labelled blocks when ``cf`` branches remain."""
        blocks = list(region.blocks)
        self.blocks = {b: f"bb{i}" for i, b in enumerate(blocks)}
        for b in blocks[1:]:
            for a in b.args:
                self.declare(a)
        for i, b in enumerate(blocks):
            if i:
                self.lines.append(f"{self.blocks[b]}:;")
            self.block(b)

    # ---- structured control flow
    def region(self, block: Block, head: str, names: list[str]) -> None:
        """``head { block }``, the terminator's operands assigned to ``names``."""
        self.line(head + " {")
        self.depth += 1
        self.block(block)
        for t in self.assign(names, block.last_op.operands if names else []):
            self.line(t)
        self.depth -= 1
        self.line("}")

    def assign(self, targets: list[str], values) -> list[str]:
        """``a = x; b = y;`` as a parallel copy (through temporaries where one's value is
        another's target, as loop-carried values can be)."""
        vals = [self.val(v) for v in values]
        if not any(x in targets and x != t for t, x in zip(targets, vals, strict=True)):
            return [f"{t} = {x};" for t, x in zip(targets, vals, strict=True)]
        tmps = [self.temporary(self.vtype(v).rstrip()) for v in values]
        return [f"{t} = {x};" for t, x in zip(tmps, vals, strict=True)] + [
            f"{t} = {x};" for t, x in zip(targets, tmps, strict=True)]  # fmt: skip

    def _if(self, op: scf.IfOp) -> None:
        names = [self.declare(r) for r in op.results]
        self.region(op.true_region.block, f"if ({self.val(op.cond)})", names)
        other = op.false_region.blocks[0] if op.false_region.blocks else None
        if other is not None and (names or len(other.ops) > 1):
            self.region(other, "else", names)

    def _for(self, op: scf.ForOp) -> None:
        body = op.body.block
        iv, carried = body.args[0], body.args[1:]
        names = [self.declare(a, self.val(v)) for a, v in zip(carried, op.iter_args, strict=True)]
        for r, n in zip(op.results, names, strict=True):
            self.names[r] = n
        s, i = self.ctype(iv.type, signed=True), self.declare(iv)
        lb, ub, step = self.val(op.lb), self.val(op.ub), self.val(op.step)
        self.region(body, f"for ({i} = {lb}; ({s}){i} < ({s}){ub}; {i} += {step})", names)

    def _while(self, op: scf.WhileOp) -> None:
        before, after = op.before_region.block, op.after_region.block
        names = [self.declare(a, self.val(v))
                 for a, v in zip(before.args, op.arguments, strict=True)]  # fmt: skip
        results = [self.declare(r) for r in op.results]
        self.line("while (1) {")
        self.depth += 1
        self.block(before)
        cond = before.last_op
        leave = " ".join([*self.assign(results, cond.args), "break;"])
        self.line(f"if (!{self.val(cond.condition)}) {{ {leave} }}")
        for a, v in zip(after.args, cond.args, strict=True):
            self.declare(a, self.val(v))
        self.block(after)
        for t in self.assign(names, after.last_op.operands):
            self.line(t)
        self.depth -= 1
        self.line("}")

    # ---- calls
    def _call(self, op: func.CallOp) -> None:
        args = ", ".join(self.val(a) for a in op.arguments)
        self.call_results(op, f"{op.callee.root_reference.data}({args})")

    def call_results(self, op: Operation, call: str) -> None:
        if len(op.results) > 1:  # several results come back as one struct
            tmp = self.temporary(self.result_type(list(op.results)))
            self.line(f"{tmp} = {call};")
            for k, r in enumerate(op.results):
                self.declare(r, f"{tmp}.f{k}")
        elif op.results:
            self.declare(op.results[0], call)
        else:
            self.line(call + ";")

    def result_type(self, values: list[SSAValue]) -> str:
        """What a function returning ``values`` returns: void, a value, or a struct."""
        if len(values) <= 1:
            return self.vtype(values[0]).rstrip() if values else "void"
        fields = [self.vtype(v) for v in values]
        name = "tuple_" + "_".join(re.sub(r"\W+", "", f.replace("*", "p")) for f in fields)
        text = " ".join(f"{t}f{k};" for k, t in enumerate(fields))
        self.structs.setdefault(name, f"typedef struct {{ {text} }} {name};")
        return name

    def _return(self, op: Operation) -> None:
        if len(op.operands) > 1:
            tmp = self.temporary(self.result_type(list(op.operands)))
            for k, v in enumerate(op.operands):
                self.line(f"{tmp}.f{k} = {self.val(v)};")
            self.line(f"return {tmp};")
        else:
            self.line(f"return {self.val(op.operands[0])};" if op.operands else "return;")

    # ---- cf branches: labels and goto (structured control flow never needs them)
    def _jump(self, dest: Block, args) -> str:
        names = [self.names[a] for a in dest.args]
        return " ".join([*self.assign(names, args), f"goto {self.blocks[dest]};"])

    def _br(self, op: cf.BranchOp) -> None:
        self.line(self._jump(op.successor, op.arguments))

    def _cbr(self, op: cf.ConditionalBranchOp) -> None:
        self.line(f"if ({self.val(op.cond)}) {{ {self._jump(op.then_block, op.then_arguments)} }}")
        self.line(f"else {{ {self._jump(op.else_block, op.else_arguments)} }}")

    # ---- memory
    def index(self, ref: SSAValue, indices) -> str:
        """The linear element index of ``ref[indices]`` (row-major, static inner sizes)."""
        shape = ref.type.get_shape()
        expr = self.val(indices[0]) if indices else "0"
        for k, i in enumerate(indices[1:], 1):
            if shape[k] < 0:
                raise TargetError("only the outermost memref dimension may be dynamic")
            expr = f"({expr}) * {shape[k]} + {self.val(i)}"
        return expr

    def element(self, ref: SSAValue, indices) -> str:
        return f"{self.val(ref)}[{self.index(ref, indices)}]"

    def _load(self, op: memref.LoadOp) -> str:
        text = self.element(op.memref, op.indices)
        return f"{text} != 0" if is_bool(op.memref.type.element_type) else text

    def _store(self, op: memref.StoreOp) -> None:
        v = self.val(op.value)
        v = f"(uchar){v}" if is_bool(op.value.type) else v
        self.line(f"{self.element(op.memref, op.indices)} = {v};")

    def _alloca(self, op: memref.AllocaOp) -> None:
        mt = op.memref.type
        if op.dynamic_sizes:
            raise TargetError("a stack array sized at run time cannot be printed as C")
        name, space = self.fresh(op.memref), self.space(op.memref)
        t = f"{space} " * bool(space) + self.memory_type(mt.element_type)
        self.arrays.append(f"  {t} {name}[{max(1, mt.element_count())}]{self.align(op)};")

    def align(self, op: memref.AllocaOp) -> str:
        return ""

    def _view(self, op: Operation) -> str | None:
        src, to = op.operands[0], self.ptype(op.results[0])
        if isinstance(op, memref.ViewOp):
            byte = f"{self.space(src)} uchar *".lstrip()
            return f"({to})(({byte}){self.val(src)} + {self.val(op.byte_shift)})"
        if to == self.ptype(src):  # a cast of shape or memory space only: the same pointer
            self.alias(op.results[0], self.val(src))
            return None
        return f"({to}){self.val(src)}"


def function_of(op: Operation) -> Operation | None:
    """The function (or kernel) an op is in."""
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, func.FuncOp | gpu.FuncOp):
        parent = parent.parent_op()
    return parent
