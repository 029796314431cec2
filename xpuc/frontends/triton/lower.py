"""Triton frontend, step 2 (elementwise slice): ``tt`` module -> SIMT-level shared IR.

Each Triton program instance becomes one block of ``T = num_warps * 32`` threads.  The
supported subset has no op that mixes tile elements (no reduce, dot, scan, shape changes
that move data), so every element of every 1-D tile is computed independently of the
others: element ``e`` of a tile value depends only on element ``e`` of its operands and on
scalars.  The whole kernel body is therefore emitted once, per element, inside one loop

    scf.for %e = thread_id.x to BLOCK step T { <kernel body, tiles as scalars> }

so thread ``t`` owns elements ``t, t+T, t+2T, ...`` of every tile (the distribution
``BLOCK/T`` registers per tile would give, without unrolling).  Inside the loop a tile
value is a scalar; ``tt.make_range`` is ``start + e``; ``tt.splat`` is the scalar; a
pointer (tile) is a kernel argument (``memref<?xT>``) plus an element offset; ``tt.load``
/ ``tt.store`` with a mask become ``scf.if`` around ``memref.load`` / ``memref.store``
(``other``, or zero, where masked off).  Scalar ops are recomputed per element (the
shared-IR passes and LLVM hoist them).  A kernel without tiles runs its body once, on
thread 0.  All tiles must have one element count with at most one non-unit dimension,
which makes ``tt.splat``/``tt.broadcast``/``tt.expand_dims``/``tt.reshape`` identities.
Anything else is a located :class:`CompileError` naming the op.

Reductions (``tt.reduce``, :mod:`.reduce`) and ``scf.for`` loops over scalars split the
body into phases: scalar ops are emitted once per thread in program order, the tile ops of
a phase in one element loop (emitted when the phase stores or reduces), and a later phase
recomputes the tile values it needs from their definitions (a load only when no store
comes between it and the use; see ``docs/triton.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from xdsl.dialects import arith, gpu, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
    i32,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from xpuc.compiler.diagnostics import CompileError
from xpuc.dialects import tt
from xpuc.dialects.arith_ext import IndexCastUIOp
from xpuc.dialects.registry import make_context
from xpuc.frontends.triton.reduce import block_combine, check_reduce, combine, combine_op, identity
from xpuc.frontends.triton.source import KernelSignature
from xpuc.frontends.triton.ttir import located_error, op_location

_INDEX = IndexType()
_DIMS = {"x": gpu.DimensionEnum.X, "y": gpu.DimensionEnum.Y, "z": gpu.DimensionEnum.Z}
_SAME = {"tt.splat", "tt.broadcast", "tt.expand_dims", "tt.reshape"}
_TT_OPS = (tt.ReturnOp, tt.GetProgramIdOp, tt.GetNumProgramsOp, tt.MakeRangeOp, tt.AddPtrOp,
           tt.LoadOp, tt.StoreOp)  # fmt: skip
_RENAMED = {"tt.precise_sqrt": "math.sqrt", "tt.precise_divf": "arith.divf"}


@dataclass(frozen=True)
class _Ptr:
    """A pointer (tile element): a kernel argument plus an element offset (or none)."""

    base: SSAValue
    offset: SSAValue | None


def _elem(t: Attribute) -> Attribute:
    return t.get_element_type() if isinstance(t, TensorType) else t


def _code(t: Attribute) -> str:
    if isinstance(t, tt.PointerType):
        return "*" + _code(t.pointee)
    return str(t)


class _Lowering:
    def __init__(self, func: tt.FuncOp, sig: KernelSignature, num_warps: int):
        self.func = func
        self.sig = sig
        self.threads = num_warps * 32
        self.ctx = make_context()
        self.ops: list[Operation] = []
        self.values: dict[SSAValue, SSAValue | _Ptr] = {}  # scalars
        self.tiles: dict[SSAValue, SSAValue | _Ptr] = {}  # tile values in the current phase
        self.pending: list[Operation] = []  # tile ops of the current phase
        self.phase = 0
        self.phase_of: dict[Operation, tuple[int, int]] = {}  # tile op: phase, walk order
        self.stores: list[tuple[float, int]] = []  # phase, walk order of the stores so far
        self.now = 0  # walk order of the op being lowered
        self.loops: list[Operation] = []
        self.globals: list[Operation] = []

    def error(self, op: Operation, message: str) -> CompileError:
        return located_error(message, op_location(op, self.sig.file))

    def emit(self, op: Operation) -> Operation:
        self.ops.append(op)
        return op

    def const(self, value: int, t: Attribute) -> SSAValue:
        return self.emit(arith.ConstantOp(IntegerAttr(value, t))).results[0]

    # -- kernel ---------------------------------------------------------------------
    def supported(self, op: Operation) -> bool:
        name = op.name
        if name in _SAME or name in _RENAMED or isinstance(op, _TT_OPS):
            return True
        if name in ("scf.for", "scf.yield", "tt.reduce"):
            return True
        return name.split(".")[0] in ("arith", "math") and not op.regions and (
            self.ctx.get_optional_op(name) is not None)  # fmt: skip

    def block_elements(self) -> int:
        """The one element count of the kernel's tiles (1 without tiles)."""
        for op in self.func.body.walk():
            parent = op.parent_op()
            if parent is not None and parent.name == "tt.reduce":
                continue
            if op.name == "tt.reduce" and (why := check_reduce(op)):
                raise self.error(op, why)
            if parent is not None and parent is not self.func and parent.name != "scf.for":
                raise self.error(op, f"'{op.name}' is not supported yet")
            if not self.supported(op):
                raise self.error(op, f"'{op.name}' is not supported yet")
        count = None
        for op in self.func.walk():
            if op.name == "tt.reduce":
                continue
            for v in [*op.operands, *op.results]:
                if not isinstance(v.type, TensorType):
                    continue
                shape = [d for d in v.type.get_shape() if d != 1]
                n = prod(v.type.get_shape())
                if len(shape) > 1 or (count is not None and n != count):
                    raise self.error(op, f"'{op.name}': tile shape {v.type} is not supported "
                                         "yet (only 1-D tiles of one size)")  # fmt: skip
                count = n
        return count or 1

    # -- phases -----------------------------------------------------------------------
    def lower_block(self, block: Block) -> None:
        for op in block.ops:
            if isinstance(op, scf.YieldOp):
                self.flush()
                self.emit(scf.YieldOp(*[self.values[v] for v in op.operands]))
            else:
                self.walk_op(op)
        self.flush()

    def walk_op(self, op: Operation) -> None:
        """Lower ``op`` in program order: scalars now, tile ops in the current phase."""
        if op.name == "tt.reduce":
            t = _elem(op.operands[0].type)
            loop = self.flush(op, identity(combine_op(op).name, t))  # pyright: ignore
            self.values[op.results[0]] = block_combine(self, op, loop.results[0])
        elif isinstance(op, scf.ForOp):
            self.flush()
            self.scf_for(op)
            self.phase += 1
        elif any(isinstance(v.type, TensorType) for v in [*op.results, *op.operands]):
            self.phase_of[op] = (self.phase, len(self.phase_of))
            if isinstance(op, tt.StoreOp):
                self.stores.append((self.phase, len(self.phase_of) - 1))
            self.pending.append(op)
        elif isinstance(op, tt.StoreOp):  # a scalar store: thread 0 does it
            self.flush()
            self.stores.append((self.phase - 0.5, len(self.phase_of)))
            cond = self.emit(arith.CmpiOp(self.tid, self.const(0, _INDEX), "eq")).results[0]
            outer, self.ops = self.ops, []
            self.lower_op(op)
            self.emit(scf.YieldOp())
            then, self.ops = self.ops, outer
            self.emit(scf.IfOp(cond, [], then))
        else:
            if isinstance(op, tt.LoadOp):
                self.flush()
            self.lower_op(op)

    def flush(self, red: Operation | None = None, init: Attribute | None = None):
        """Emit the current phase: one loop over the thread's elements running its tile
        ops, and folding ``red``'s operand into a partial (the loop's result)."""
        pending, self.pending = self.pending, []
        if red is None and not any(isinstance(o, tt.StoreOp) for o in pending):
            self.phase += 1 if pending else 0
            return None
        start = [self.emit(arith.ConstantOp(init)).results[0]] if init is not None else []
        body = Block(arg_types=[_INDEX, *[v.type for v in start]])
        outer, self.ops, self.tiles = self.ops, [], {}
        self.elem = body.args[0]
        self.elem_i32 = self.emit(arith.IndexCastOp(self.elem, i32)).results[0]
        for op in pending:
            self.now = self.phase_of[op][1]
            self.lower_op(op)
        acc = []
        self.now = len(self.phase_of)
        if red is not None:
            x = self.get(red, red.operands[0])
            acc = [combine(self, red, body.args[1], x)]
        self.emit(scf.YieldOp(*acc))
        body.add_ops(self.ops)
        self.ops, self.tiles = outer, {}
        self.phase += 1
        return self.emit(scf.ForOp(self.tid, self.upper, self.step, start, body))

    def scf_for(self, op: scf.ForOp) -> None:
        if any(isinstance(a.type, TensorType) for a in op.iter_args):
            raise self.error(op, "'scf.for' with tile-valued iteration arguments is not "
                                 "supported yet")  # fmt: skip
        old = op.body.blocks[0]
        body = Block(arg_types=[a.type for a in old.args])
        for a, new in zip(old.args, body.args, strict=True):
            self.values[a] = new
        bounds = [self.values[v] for v in (op.lb, op.ub, op.step)]
        inits = [self.values[v] for v in op.iter_args]
        outer, self.ops = self.ops, []
        self.loops.append(op)
        self.phase += 1
        self.lower_block(old)
        self.loops.pop()
        body.add_ops(self.ops)
        self.ops = outer
        new = self.emit(scf.ForOp(*bounds, inits, body))  # pyright: ignore
        for r, n in zip(op.results, new.results, strict=True):
            self.values[r] = n

    def val(self, op: Operation, v: SSAValue) -> SSAValue | _Ptr:
        """The lowered value of ``v``; a tile from an earlier phase is recomputed."""
        if not isinstance(v.type, TensorType):
            return self.values[v]
        if v not in self.tiles:
            owner = v.owner
            assert isinstance(owner, Operation)
            if isinstance(owner, tt.LoadOp):
                self.check_reload(owner)
            self.lower_op(owner)
        return self.tiles[v]

    def check_reload(self, load: Operation) -> None:
        p, order = self.phase_of[load]
        stored = any(order < s and (sp < self.phase or s < self.now) for sp, s in self.stores)
        stored = stored or any(
            not loop.is_ancestor(load) and any(isinstance(o, tt.StoreOp) for o in loop.walk())
            for loop in self.loops)  # fmt: skip
        if p != self.phase and stored:
            raise self.error(load, "'tt.load': a tile loaded before a store and used after a "
                                   "reduction is not supported yet")  # fmt: skip

    def set(self, v: SSAValue, x: SSAValue | _Ptr) -> None:
        (self.tiles if isinstance(v.type, TensorType) else self.values)[v] = x

    def lower(self) -> gpu.FuncOp:
        args = self.func.body.blocks[0].args
        types: list[Attribute] = []
        for a in args:
            if isinstance(a.type, tt.PointerType):
                types.append(MemRefType(a.type.pointee, [DYNAMIC_INDEX]))
            elif isinstance(a.type, IntegerType | AnyFloat):
                types.append(a.type)
            else:
                raise self.error(self.func, f"kernel argument type {a.type} is not supported yet")
        entry = Block(arg_types=types)
        for a, new in zip(args, entry.args, strict=True):
            self.values[a] = _Ptr(new, None) if isinstance(a.type, tt.PointerType) else new
        self.tid = self.emit(gpu.ThreadIdOp(gpu.DimensionAttr(gpu.DimensionEnum.X))).results[0]
        self.upper = self.const(self.block_elements(), _INDEX)
        self.step = self.const(self.threads, _INDEX)
        self.lower_block(self.func.body.blocks[0])
        entry.add_ops([*self.ops, gpu.ReturnOp([])])
        kernel = gpu.FuncOp(self.sig.name, (types, []), Region(entry), kernel=True)
        names = [n for n, c in self.sig.params if c != "constexpr"]
        if len(names) != len(args):
            names = [f"arg{i}" for i in range(len(args))]
        kernel.attributes["xpu.arg_types"] = ArrayAttr([StringAttr(_code(a.type)) for a in args])
        kernel.attributes["xpu.arg_names"] = ArrayAttr([StringAttr(n) for n in names])
        kernel.attributes["xpu.loc"] = StringAttr(f"{self.sig.file}:{self.sig.line}:1")
        return kernel

    # -- ops ------------------------------------------------------------------------
    def get(self, op: Operation, v: SSAValue) -> SSAValue:
        got = self.val(op, v)
        if isinstance(got, _Ptr):
            raise self.error(op, f"'{op.name}' on pointers is not supported yet")
        return got

    def index(self, p: _Ptr) -> SSAValue:
        if p.offset is None:
            return self.const(0, _INDEX)
        return self.emit(arith.IndexCastOp(p.offset, _INDEX)).results[0]

    def lower_op(self, op: Operation) -> None:
        name = op.name
        if isinstance(op, tt.ReturnOp):
            if op.operands:
                raise self.error(op, "a kernel cannot return a value")
            return
        if isinstance(op, tt.GetProgramIdOp | tt.GetNumProgramsOp):
            cls = gpu.BlockIdOp if isinstance(op, tt.GetProgramIdOp) else gpu.GridDimOp
            dim = gpu.DimensionAttr(_DIMS[op.attributes["axis"].data])  # pyright: ignore
            idx = self.emit(cls(dim)).results[0]
            self.set(op.results[0], self.emit(IndexCastUIOp(idx, i32)).results[0])
        elif isinstance(op, tt.MakeRangeOp):
            start = op.attributes["start"].value.data  # pyright: ignore
            v = self.elem_i32
            if start:
                v = self.emit(arith.AddiOp(v, self.const(start, i32))).results[0]
            self.set(op.results[0], v)
        elif name in _SAME:
            self.set(op.results[0], self.val(op, op.operands[0]))
        elif isinstance(op, tt.AddPtrOp):
            self.set(op.results[0], self.addptr(op))
        elif isinstance(op, tt.LoadOp):
            self.set(op.results[0], self.load(op))
        elif isinstance(op, tt.StoreOp):
            self.store(op)
        elif isinstance(op, arith.ConstantOp) or name == "arith.constant":
            self.set(op.results[0], self.constant(op))
        elif name in _RENAMED or name.split(".")[0] in ("arith", "math"):
            self.set(op.results[0], self.elementwise(op, _RENAMED.get(name, name)))
        else:
            raise self.error(op, f"'{name}' is not supported yet")

    def addptr(self, op: Operation) -> _Ptr:
        p = self.val(op, op.operands[0])
        assert isinstance(p, _Ptr)
        off = self.get(op, op.operands[1])
        if p.offset is None:
            return _Ptr(p.base, off)
        a, b = p.offset, off
        if a.type != b.type:  # i32 + i64: widen
            a, b = (self.emit(arith.ExtSIOp(x, i64)).results[0] if x.type != i64 else x
                    for x in (a, b))  # fmt: skip
        return _Ptr(p.base, self.emit(arith.AddiOp(a, b)).results[0])

    def load(self, op: Operation) -> SSAValue:
        p = self.val(op, op.operands[0])
        if not isinstance(p, _Ptr) or len(op.operands) > 3:
            raise self.error(op, "'tt.load' of this pointer kind is not supported yet")
        t = _elem(op.results[0].type)
        if len(op.operands) == 1:
            return self.emit(memref.LoadOp.get(p.base, [self.index(p)])).results[0]
        mask = self.get(op, op.operands[1])
        outer, self.ops = self.ops, []
        self.emit(scf.YieldOp(self.emit(memref.LoadOp.get(p.base, [self.index(p)]))))
        then, self.ops = self.ops, []
        if len(op.operands) == 3:
            other = self.get(op, op.operands[2])
        elif isinstance(t, IntegerType):
            other = self.const(0, t)
        else:
            other = self.emit(arith.ConstantOp(FloatAttr(0.0, t))).results[0]
        self.emit(scf.YieldOp(other))
        other_ops, self.ops = self.ops, outer
        return self.emit(scf.IfOp(mask, [t], then, other_ops)).results[0]

    def store(self, op: Operation) -> None:
        p = self.val(op, op.operands[0])
        if not isinstance(p, _Ptr):
            raise self.error(op, "'tt.store' to this pointer kind is not supported yet")
        value = self.get(op, op.operands[1])
        if len(op.operands) == 2:
            self.emit(memref.StoreOp.get(value, p.base, [self.index(p)]))
            return
        mask = self.get(op, op.operands[2])
        outer, self.ops = self.ops, []
        self.emit(memref.StoreOp.get(value, p.base, [self.index(p)]))
        self.emit(scf.YieldOp())
        then, self.ops = self.ops, outer
        self.emit(scf.IfOp(mask, [], then))

    def constant(self, op: Operation) -> SSAValue:
        value = op.properties.get("value") or op.attributes.get("value")
        if isinstance(value, DenseIntOrFPElementsAttr):
            if not value.is_splat():
                raise self.error(op, "a non-uniform constant tile is not supported yet")
            value = value.get_attrs()[0]
        return self.emit(arith.ConstantOp(value)).results[0]  # pyright: ignore

    def elementwise(self, op: Operation, name: str) -> SSAValue:
        cls = self.ctx.get_optional_op(name)
        if cls is None or len(op.results) != 1 or op.regions:
            raise self.error(op, f"'{op.name}' is not supported yet")
        new = cls.create(
            operands=[self.get(op, v) for v in op.operands],
            result_types=[_elem(r.type) for r in op.results],
            properties=dict(op.properties),
            attributes=dict(op.attributes),
        )
        return self.emit(new).results[0]


def lower_module(module: ModuleOp, sig: KernelSignature, num_warps: int) -> ModuleOp:
    """The shared-IR module (one ``gpu.func`` kernel) for an imported elementwise kernel."""
    funcs = [op for op in module.ops if isinstance(op, tt.FuncOp)]
    for op in module.walk():
        if isinstance(op, tt.CallOp) or (op.name not in ("builtin.module", "tt.func")
                                          and op.parent_op() is module):  # fmt: skip
            raise located_error(f"'{op.name}' is not supported yet", op_location(op, sig.file))
    public = [f for f in funcs if f.sym_name.data == sig.name] or funcs[:1]
    low = _Lowering(public[0], sig, num_warps)
    kernel = low.lower()
    gmod = gpu.ModuleOp(StringAttr("kernels"), Region(Block([*low.globals, kernel])))
    out = ModuleOp([gmod], attributes={"gpu.container_module": UnitAttr()})
    out.verify()
    return out
