"""TVM frontend: a TensorIR ``PrimFunc`` -> SIMT-level shared IR, one kernel per stage.

A PrimFunc's root block holds its stages in order (one loop nest per ``te.compute``) and
its intermediate buffers.  Stages depend on each other through global memory, so each
becomes a ``gpu.func`` of its own, launched in order (:class:`~.launch.TVMKernel`); an
intermediate buffer is an argument the launcher allocates.  Every kernel takes every
buffer, as ``memref<?xT>`` (row-major, flattened).

**Default mapping** (an unscheduled PrimFunc): a stage's outer loops known to be
parallel (feeding only spatial block iterators, ``T.axis.spatial``, or marked
``parallel``/``vectorized``) become an ``scf.parallel``, the rest of the nest runs
inside each iteration (reduction loops included); ``map-parallel-loops`` then maps it
onto threads (:mod:`xpuc.passes.map_parallel_loops`).  A stage without such loops runs
on one thread.  GPU-scheduled stages (loops bound to threads) run as written
(:mod:`.threads`); ``te.extern`` calls become stages (:mod:`.externs`).

**Blocks**: iterator bindings are values; ``T.init()`` runs where every reduction
iterator is at the start of its domain; the block predicate guards the body; buffers a
block allocates are per-thread ``memref.alloca`` (``shared`` ones per block of
threads).  Unsupported nodes are a :class:`~.exprs.TirError` naming them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import prod

from xdsl.context import Context
from xdsl.dialects import arith, gpu, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    ArrayAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    UnitAttr,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from xpuc.frontends.tvm import tir
from xpuc.frontends.tvm.exprs import Exprs, TirError, dtype_of, ir_type
from xpuc.frontends.tvm.externs import expand, extern_call
from xpuc.frontends.tvm.threads import Threads, lower_cross_thread
from xpuc.passes.map_parallel_loops import MARK, TILE, MapParallelLoops

INDEX = IndexType()
BLOCK = 256
_CODES = {"float16": "f16", "float32": "f32", "float64": "f64", "bool": "i1", "int8": "i8",
          "int16": "i16", "int32": "i32", "int64": "i64", "uint8": "u8", "uint16": "u16",
          "uint32": "u32", "uint64": "u64"}  # fmt: skip


@dataclass(frozen=True)
class BufferSpec:
    name: str
    shape: tuple[int | str, ...]  # a str: a symbolic dimension (a kernel argument)
    dtype: str
    param: bool  # a PrimFunc parameter (else an intermediate the launcher allocates)


@dataclass(frozen=True)
class Stage:
    kernel: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    threads: tuple[int | str, ...] | None = None  # default mapping: the parallel extents
    tile: tuple[int, ...] = ()  # ... mapped with this tile (map-parallel-loops)
    block_size: int = BLOCK


class TirLowering(Exprs, Threads):
    def __init__(self, func, name: str, externs=None):
        self.func = func
        self.externs, self.aliases = externs, []
        self.name = name
        root = func.body  # s_tir PrimFuncs have a root block; plain tirx ones do not
        self.body = root.block.body if type(root).__name__ == "SBlockRealize" else root
        roots = list(root.block.alloc_buffers) if type(root).__name__ == "SBlockRealize" else []
        buffers = [p for p in func.params if "Buffer" in type(getattr(p, "ty", None)).__name__]
        self.scalars = [p for p in func.params if not any(p.same_as(b) for b in buffers)]
        self.order = ["buffer" if any(p.same_as(b) for b in buffers) else str(p.ty)
                      for p in func.params]  # fmt: skip  # what each parameter is
        scoped = [b for b in roots if str(b.scope()) not in ("global", "")]
        self.shared = [b for b in scoped if str(b.scope()) == "shared"]
        self.local = [b for b in scoped if str(b.scope()) == "local"]
        for b in scoped:
            if not any(b.same_as(x) for x in [*self.shared, *self.local]):
                raise TirError(f"buffer '{b.name}' in scope '{b.scope()}' is not supported yet")
        self.root_shared = len(self.shared)
        self.buffers = [*buffers, *(b for b in roots
                                    if str(b.scope()) in ("global", ""))]  # fmt: skip
        self.globals: list[Operation] = []
        self.specs = [
            BufferSpec(str(b.name), tuple(tir.dim(d, f"shape of {b.name}") for d in b.shape),
                       str(b.dtype), i < len(buffers))
            for i, b in enumerate(self.buffers)
        ]  # fmt: skip
        self.sym: list = []  # symbolic dimensions, by first appearance in the parameters
        for p in buffers:
            for d in p.shape:
                if type(d).__name__ == "Var" and not any(d.same_as(v) for v in self.sym):
                    self.sym.append(d)
        known = {str(v.name) for v in self.sym}
        for s in self.specs:
            if any(isinstance(d, str) and d not in known for d in s.shape):
                raise TirError(f"buffer {s.name}: a dimension no parameter's shape gives")
        for s in self.specs:
            ir_type(s.dtype)

    # -- environment ------------------------------------------------------------------
    def emit(self, op: Operation) -> Operation:
        self.ops.append(op)
        return op

    def lookup(self, var) -> SSAValue:
        for v, val in reversed(self.env):
            if v.same_as(var):
                return val
        raise TirError(f"TIR variable '{var}' is not bound")

    def bind(self, var, val: SSAValue) -> None:
        self.env.append((var, val))

    def memref_of(self, buf) -> tuple[SSAValue, tuple]:
        buf = next((real for b, real in self.aliases if b.same_as(buf)), buf)
        for b, m, shape in reversed(self.mems):
            if b.same_as(buf):
                return m, shape
        raise TirError(f"buffer '{buf.name}' is not one the kernel can reach")

    def flat_index(self, buf, indices) -> tuple[SSAValue, SSAValue]:
        m, shape = self.memref_of(buf)
        acc = None
        for i, (idx, d) in enumerate(zip(indices, shape, strict=True)):
            v = self.expr(idx)
            if isinstance(v.type, AnyFloat):  # TIR lets a float index (truncated)
                v = self.emit(arith.FPToSIOp(v, i64)).results[0]
            if v.type != INDEX:
                v = self.emit(arith.IndexCastOp(v, INDEX)).results[0]
            if i == 0:
                acc = v
                continue
            acc = self.emit(arith.MuliOp(acc, self.size(d))).results[0]
            acc = self.emit(arith.AddiOp(acc, v)).results[0]
        return m, acc if acc is not None else self.idx(0)

    def size(self, d) -> SSAValue:
        """A dimension (a number or a TIR expression) as an index."""
        if isinstance(d, int):
            return self.idx(d)
        v = self.expr(d)
        return self.emit(arith.IndexCastOp(v, INDEX)).results[0] if v.type != INDEX else v

    def idx(self, n: int) -> SSAValue:
        return self.emit(arith.ConstantOp.from_int_and_width(n, INDEX)).results[0]

    def load(self, e) -> SSAValue:
        m, at = self.flat_index(tir.source(e), e.indices)
        return self.emit(memref.LoadOp.get(m, [at])).results[0]

    def nested(self, fn) -> list[Operation]:
        outer, self.ops = self.ops, []
        mark = len(self.env)
        fn()
        inner, self.ops = self.ops, outer
        del self.env[mark:]
        return inner

    def if_value(self, cond: SSAValue, then, other, t: Attribute) -> SSAValue:
        vals = []
        a = self.nested(lambda: vals.append(then()))
        b = self.nested(lambda: vals.append(other()))
        return self.emit(scf.IfOp(cond, [t], [*a, scf.YieldOp(vals[0])],
                                  [*b, scf.YieldOp(vals[1])])).results[0]  # fmt: skip

    # -- statements -------------------------------------------------------------------
    def stmt(self, s) -> None:  # noqa: C901 - one case per TIR node
        kind = type(s).__name__
        if kind == "SeqStmt":
            reads: set[int] = set()  # shared buffers touched since the last barrier here
            writes: set[int] = set()
            for x in s.seq:
                if self.launch:
                    r, w = self.shared_access(x)
                    if writes & (r | w) or reads & w:
                        self.barrier()  # the block's threads share the buffer
                        reads, writes = set(), set()
                    reads, writes = reads | r, writes | w
                self.stmt(x)
        elif kind == "For":
            self.loop(s)
        elif kind == "AllocBuffer":  # plain tirx: for the rest of the enclosing sequence
            self.allocate(s.buffer)
        elif kind == "SBlockRealize":
            self.block(s)
        elif kind == "BufferStore":
            m, at = self.flat_index(s.buffer, s.indices)
            self.emit(memref.StoreOp.get(self.expr(s.value), m, [at]))
        elif kind == "IfThenElse":
            c = self.expr(s.condition)
            split = self.per_thread(s.condition)
            self.divergent += split
            then = self.nested(lambda: self.stmt(s.then_case))
            other = self.nested(lambda: self.stmt(s.else_case)) if s.else_case is not None else None
            self.divergent -= split
            self.emit(scf.IfOp(c, [], [*then, scf.YieldOp()],
                               [*other, scf.YieldOp()] if other is not None else None))  # fmt: skip
        elif kind == "AttrStmt" and str(s.attr_key) == "reduce_scope":
            outer, self.reducer = self.reducer, s.node
            self.stmt(s.body)
            self.reducer = outer
        elif kind in ("LetStmt", "Bind"):
            self.bind(s.var, self.expr(s.value))
            if self.per_thread(s.value):
                self.thread_dep.append(s.var)
            if getattr(s, "body", None) is not None:
                self.stmt(s.body)
        elif kind == "Evaluate" and type(s.value).__name__ == "IntImm":
            pass
        elif kind == "Evaluate" and tir.callee(s.value) == "tvm_thread_allreduce":
            self.allreduce(s.value)
        else:
            raise TirError(f"TIR statement {kind} is not supported yet")

    def loop(self, s) -> None:
        if int(s.kind) == 4:  # bound to blockIdx / threadIdx: this thread's index, once
            self.bound(s)
            return
        lo = self.expr(s.min)
        n = self.expr(s.extent)
        lo_i, n_i = (self.emit(arith.IndexCastOp(v, INDEX)).results[0] for v in (lo, n))
        hi = self.emit(arith.AddiOp(lo_i, n_i)).results[0]
        body = Block(arg_types=[INDEX])

        def inner() -> None:
            self.bind(s.loop_var, self.emit(arith.IndexCastOp(body.args[0], lo.type)).results[0])
            self.stmt(s.body)
            if self.launch and self.conflict(s.body, s.body):  # the next iteration's writes
                self.barrier()

        ops = self.nested(inner)
        body.add_ops([*ops, scf.YieldOp()])
        self.emit(scf.ForOp(lo_i, hi, self.idx(1), [], body))

    def block(self, realize) -> None:
        blk = realize.block
        if len(blk.match_buffers):
            raise TirError(f"block '{blk.name_hint}': match_buffer is not supported yet")

        def body() -> None:
            for iv, value in zip(blk.iter_vars, realize.iter_values, strict=True):
                self.bind(iv.var, self.expr(value))
                if self.per_thread(value):
                    self.thread_dep.append(iv.var)
            for b in blk.alloc_buffers:
                self.allocate(b)
            if blk.init is not None:
                first = None
                for iv in blk.iter_vars:
                    if int(iv.iter_type) != 2:  # CommReduce
                        continue
                    lo = self.cast(self.expr(iv.dom.min), dtype_of(iv.var))
                    c = self.binary("EQ", self.lookup(iv.var), lo, "int")
                    first = c if first is None else self.emit(arith.AndIOp(first, c)).results[0]
                init = self.nested(lambda: self.stmt(blk.init))
                if first is None:
                    self.ops += init
                else:
                    self.emit(scf.IfOp(first, [], [*init, scf.YieldOp()]))
            self.stmt(blk.body)

        pred = realize.predicate
        if type(pred).__name__ == "IntImm" and int(pred.value) == 1:
            mark = len(self.env)
            body()
            del self.env[mark:]
        else:
            self.guarded(self.expr(pred), body, self.per_thread(pred))

    def allocate(self, b) -> None:
        """Memory for buffer ``b`` allocated inside a stage: per block of threads in
        ``shared`` scope, else per thread."""
        shape = tuple(tir.static(d, f"shape of {b.name}") for d in b.shape)
        if str(b.scope()) == "shared":
            t = ir_type(str(b.dtype))
            self.mems.append((b, self.workgroup(str(b.name), t, max(prod(shape), 1)), shape))
            self.shared.append(b)
            return
        if str(b.scope()) not in ("global", "local"):
            raise TirError(f"buffer '{b.name}' in scope '{b.scope()}' is not supported yet")
        self.mems.append((b, self.alloca(b, shape), shape))

    def alloca(self, b, shape) -> SSAValue:
        """A per-thread array for buffer ``b``."""
        op = memref.AllocaOp.get(ir_type(str(b.dtype)), shape=[max(prod(shape), 1)])
        return self.emit(op).results[0]

    # -- kernels ----------------------------------------------------------------------
    def stages(self) -> list:
        """The root statements, extern calls replaced by the stages computing them."""
        out = []
        for stmt in tir.seq(self.body):
            call = extern_call(stmt)
            if call is None:
                out.append(stmt)
                continue
            func, aliases = expand(call, self.buffers, self.externs)
            if len(func.body.block.alloc_buffers):
                raise TirError(f"the definition of extern '{call.args[0].value}' needs "
                               "intermediate buffers: not supported yet")  # fmt: skip
            self.aliases += aliases
            out += tir.seq(func.body.block.body)
        return out

    def parallel_loops(self, stmt) -> list:
        """The outer loops of ``stmt`` known to be parallel: marked ``parallel`` or
        ``vectorized``, or feeding block iterators, all of them spatial (a plain tirx
        loop outside blocks is serial)."""
        loops = []
        while (type(stmt).__name__ == "For" and type(stmt.extent).__name__ in ("IntImm", "Var")
               and tir.is_const(stmt.min) and self.spatial(stmt.loop_var, stmt.body)
               and (int(stmt.kind) in (1, 2)
                    or self.feeds_block(stmt.loop_var, stmt.body))):  # fmt: skip
            loops.append(stmt)
            stmt = stmt.body
        return loops

    @staticmethod
    def vector_tile(loops) -> list[int]:
        """A cpu schedule's tile (none unless the innermost loop is vectorized): the
        loops inside the last ``parallel`` one, up to 1024 threads, else the vector."""
        if not loops or int(loops[-1].kind) != 2:
            return []
        vec = tir.static(loops[-1].extent, "vectorized extent")
        last = max((i for i, f in enumerate(loops) if int(f.kind) == 1), default=-1)
        inner = loops[last + 1 :]
        if all(tir.is_const(f.extent) for f in inner):
            tile = [int(f.extent.value) for f in inner]
            if prod(tile) <= 1024:
                return tile
        return [min(vec, 1024)]  # a block's threads: at most 1024 on every target

    @staticmethod
    def feeds_block(var, body) -> bool:
        found: list[bool] = []

        def visit(node) -> None:
            if type(node).__name__ == "SBlockRealize":
                found.extend(tir.uses(v, var) for v in node.iter_values)

        tir.walk(body, visit)
        return any(found)

    def kernel(self, stmt, index: int) -> tuple[gpu.FuncOp, Stage]:
        types = [MemRefType(ir_type(s.dtype), [DYNAMIC_INDEX]) for s in self.specs]
        types += [ir_type(dtype_of(v)) for v in [*self.sym, *self.scalars]]
        entry = Block(arg_types=types)
        self.ops, self.env = [], []
        for v, a in zip([*self.sym, *self.scalars], entry.args[len(self.specs) :], strict=True):
            self.bind(v, a)
        args = entry.args[: len(self.buffers)]
        self.mems = [(b, a, tuple(b.shape)) for b, a in zip(self.buffers, args, strict=True)]
        self.index, self.thread_vars, self.reducer, self.reductions = index, [], None, 0
        self.divergent, self.shared = 0, self.shared[: self.root_shared]
        self.thread_dep: list = []  # variables that differ between a block's threads
        for b in self.shared:  # per block: shared memory
            shape = tuple(tir.static(d, f"shape of {b.name}") for d in b.shape)
            self.mems.append((b, self.workgroup(str(b.name), ir_type(str(b.dtype)), prod(shape)),
                              shape))  # fmt: skip
        for b in self.local:  # per thread
            shape = tuple(tir.static(d, f"shape of {b.name}") for d in b.shape)
            self.mems.append((b, self.alloca(b, shape), shape))
        self.launch = self.bindings(stmt)
        if self.launch:  # scheduled: as written
            self.stmt(stmt)
            entry.add_ops([*self.ops, gpu.ReturnOp([])])
            grid = tuple(self.launch.get(f"blockIdx.{d}", 1) for d in "xyz")
            block = tuple(self.launch.get(f"threadIdx.{d}", 1) for d in "xyz")
            return self.finish(entry, types, index, grid, block)  # pyright: ignore
        loops = self.parallel_loops(stmt)
        extents = [tir.dim(f.extent, "loop extent") for f in loops] or [1]
        lows = [self.idx(int(f.min.value)) for f in loops] or [self.idx(0)]
        highs = [self.emit(arith.AddiOp(lo, self.size(f.extent))).results[0]
                 for lo, f in zip(lows, loops, strict=False)] or [self.idx(1)]  # fmt: skip
        body = Block(arg_types=[INDEX] * len(lows))

        def run() -> None:
            inner = stmt
            for f, iv in zip(loops, body.args, strict=False):  # no loops: one dummy
                t = ir_type(dtype_of(f.loop_var))
                self.bind(f.loop_var, self.emit(arith.IndexCastOp(iv, t)).results[0])
                inner = inner.body
            self.stmt(inner)

        body.add_ops([*self.nested(run), scf.ReduceOp()])
        self.emit(scf.ParallelOp(lows, highs, [self.idx(1)] * len(lows), Region(body)))
        entry.add_ops([*self.ops, gpu.ReturnOp([])])
        kernel, stage = self.finish(entry, types, index, (1, 1, 1), (1, 1, 1), tuple(extents))
        tile = self.vector_tile(loops)
        kernel.attributes[MARK] = ArrayAttr([IntegerAttr(t, 64) for t in tile])
        return kernel, stage

    def finish(self, entry: Block, types, index: int, grid, block, threads=None
               ) -> tuple[gpu.FuncOp, Stage]:  # fmt: skip
        name = f"{self.name}_{index}"
        kernel = gpu.FuncOp(name, (types, []), Region(entry), kernel=True)
        codes = ["*" + _CODES[s.dtype] for s in self.specs]
        codes += [_CODES[dtype_of(v)] for v in [*self.sym, *self.scalars]]
        names = [s.name for s in self.specs] + [str(v.name) for v in [*self.sym, *self.scalars]]
        kernel.attributes["xpu.arg_types"] = ArrayAttr([StringAttr(c) for c in codes])
        kernel.attributes["xpu.arg_names"] = ArrayAttr([StringAttr(n) for n in names])
        return kernel, Stage(name, grid, block, threads)


def lower_prim_func(func, name: str, *, tile: tuple[int, ...] = (), block_size: int = BLOCK,
                    mapped: bool = True, externs=None):  # fmt: skip
    """The module, its stages, the buffers, the symbolic sizes' names, what each
    parameter is ("buffer", or a scalar's dtype), and the scalar parameters' names.
    Unscheduled stages are mapped onto threads by ``map-parallel-loops`` with ``tile``
    and ``block_size`` (not with ``mapped=False``: they keep their ``scf.parallel``)."""
    low = TirLowering(lower_cross_thread(func), name, externs)
    kernels, stages = [], []
    for i, s in enumerate(low.stages()):
        k, st = low.kernel(s, i)
        kernels.append(k)
        stages.append(st)
    gmod = gpu.ModuleOp(StringAttr("kernels"), Region(Block([*low.globals, *kernels])))
    module = ModuleOp([gmod], attributes={"gpu.container_module": UnitAttr()})
    if mapped:
        MapParallelLoops(block_size, tuple(tile)).apply(Context(), module)
        for i, (k, st) in enumerate(zip(kernels, stages, strict=True)):
            if TILE in k.attributes:
                t = tuple(a.value.data for a in k.attributes[TILE].data)  # pyright: ignore
                stages[i] = replace(st, tile=t, block_size=block_size)
    module.verify()
    names = [str(v.name) for v in low.scalars]
    return module, stages, low.specs, [str(v.name) for v in low.sym], low.order, names
