"""Triton frontend, step 2: ``tt`` module -> SIMT-level shared IR (one ``gpu.func``).

Each Triton program instance becomes one block of ``T = num_warps * 32`` threads.  The
kernel body is walked in program order:

- **scalars** (program ids, scalar arithmetic and loads, ``tl.sum`` results) are computed
  by every thread, identically (Triton scalars are uniform over a program);
- **lazy tiles** are not emitted where they stand: :mod:`.tiles` recomputes them at each
  element a consumer needs (``broadcast``, ``expand_dims``, ``trans``, ``tt.dot``... are
  index maps);
- **stores** of tiles run in element loops over the elements each thread owns
  (consecutive stores of one size share a loop);
- **materialized tiles** (reductions along an axis, scans, loop-carried tiles, ``scf.if``
  results, atomics' old values, loads that a later store could change; see
  :mod:`.analysis`) are computed once into per-thread slots or shared memory;
- **scalar side effects** (a store through a scalar pointer, an atomic on one) are done
  by thread 0, an atomic's old value broadcast to every thread through shared memory;
- ``scf.for``/``scf.if``/``scf.while`` keep their structure (their conditions are
  uniform), ``tl.debug_barrier()`` is ``gpu.barrier``.

Anything outside this is a located :class:`CompileError` naming the op.
"""

from __future__ import annotations

from xdsl.dialects import arith, gpu
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    ArrayAttr,
    BFloat16Type,
    IntegerType,
    MemRefType,
    ModuleOp,
    StringAttr,
    UnitAttr,
    bf16,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from xpuc.compiler.diagnostics import CompileError
from xpuc.dialects import tt
from xpuc.dialects.registry import make_context
from xpuc.frontends.triton import control
from xpuc.frontends.triton.analysis import (
    LAZY_TT,
    Facts,
    base_arg,
    count,
    is_lazy,
    is_tile,
    loads_to_keep,
)
from xpuc.frontends.triton.atomics import lower_atomic
from xpuc.frontends.triton.cfg import lower_cfg
from xpuc.frontends.triton.ops import ScalarOps
from xpuc.frontends.triton.reduce import reduce_axis, reduce_scalar, scan
from xpuc.frontends.triton.source import KernelSignature
from xpuc.frontends.triton.storage import Storage
from xpuc.frontends.triton.tile_rules import TileRules
from xpuc.frontends.triton.tiles import (
    BaseMismatch,
    Buffered,
    Ix,
    Ptr,
    Tiles,
    Value,
    shape_of,
)
from xpuc.frontends.triton.ttir import located_error, op_location

_POINTER_KEEPING = ("tt.splat", "tt.addptr", "tt.broadcast", "tt.expand_dims", "tt.reshape",
                    "tt.trans")  # fmt: skip
_TT = {
    "tt.return", "tt.get_program_id", "tt.get_num_programs", "tt.store", "tt.reduce",
    "tt.reduce.return", "tt.scan", "tt.scan.return", "tt.atomic_rmw", "tt.atomic_cas",
    "ttg.barrier", "tt.debug_barrier", "scf.for", "scf.yield", "scf.if", "scf.while",
    "scf.condition", "cf.br", "cf.cond_br",
}  # fmt: skip
_UNSUPPORTED = {
    "tt.extern_elementwise": "calls into a device library",
    "tt.int_to_ptr": "integers as pointers",
    "tt.ptr_to_int": "pointers as integers",
}


def _code(t: Attribute) -> str:
    if isinstance(t, tt.PointerType):
        return "*" + ("u16" if isinstance(t.pointee, BFloat16Type) else _code(t.pointee))
    return str(t)


def _launch_code(ir: str, given: str) -> str:
    """The runtime's code for an argument: the IR type's (``*i8``), unsigned where the
    triton signature says so (``*u8``: the IR's integers are signless)."""
    base, kind = ir.lstrip("*"), given.lstrip("*k")
    if kind.startswith("u") and kind != "u1" and base.startswith("i"):
        return ir[: len(ir) - len(base)] + "u" + base[1:]
    return ir


class Lowering(TileRules, Storage, Tiles, ScalarOps):
    def __init__(self, func: tt.FuncOp, sig: KernelSignature, num_warps: int):
        self.func = func
        self.sig = sig
        self.threads = num_warps * 32
        self.ctx = make_context()
        self.ops: list[Operation] = []
        self.prologue: list[Operation] = []
        self.globals: list[Operation] = []
        self.values: dict[SSAValue, Value] = {}
        self.tilemap: dict = {}
        self.scopes: list[dict] = [{}]
        self.cur: tuple = (0, None, None)
        self.pending: list[Operation] = []  # tile stores sharing one element loop
        self.dot_operands: dict[Operation, list] = {}  # tt.dot -> its staged a and b
        self.unfenced: list[SSAValue | None] = []  # where tile stores since a barrier went
        self.first_arg: dict[SSAValue, Value] = {}  # a block argument's first incoming value
        self.stored_inside: list[list] = []  # per open region: where its tile stores went
        self.constants: dict[Operation, Attribute] = {}  # arith.constant -> its scalar value
        self.staged_bytes = 0  # shared memory taken by staged tt.dot operands
        self.branch_barriers = False  # a barrier under a (uniform) branch was emitted
        self.facts = Facts(func, self.threads)
        self.keep = loads_to_keep(func, self.facts)

    def error(self, op: Operation, message: str) -> CompileError:
        return located_error(message, op_location(op, self.sig.file))

    def check(self) -> None:
        """Every op is one the lowering knows (before anything is emitted)."""
        for op in self.func.body.walk():
            name = op.name
            if name in _UNSUPPORTED:
                raise self.error(op, f"'{name}' ({_UNSUPPORTED[name]}) is not supported")
            if name in _TT or is_lazy(op) or name == "arith.constant":
                continue
            if name.split(".")[0] in ("arith", "math") and not op.regions and (
                self.ctx.get_optional_op(name) is not None):  # fmt: skip
                continue
            if name in LAZY_TT:  # on scalars
                continue
            raise self.error(op, f"'{name}' is not supported yet")

    # -- walking the body ---------------------------------------------------------------
    def lower_block(self, block: Block) -> Operation | None:
        """Lower ``block``'s ops; its terminator (``scf.yield``...) is returned, unlowered."""
        for op in block.ops:
            if op.name in ("scf.yield", "scf.condition"):
                self.flush()
                return op
            if op.name in ("cf.br", "cf.cond_br"):  # for lower_cfg
                self.flush()
                return op
            self.walk_op(op)
        self.flush()
        return None

    def walk_op(self, op: Operation) -> None:
        name = op.name
        if name == "tt.return":
            if op.operands:
                raise self.error(op, "a kernel cannot return a value")
        elif is_lazy(op):
            if name in ("tt.load", "tt.dot") and self.pending:
                self.flush()  # a load after stores starts a new element loop
            if op in self.keep:
                self.keep_load(op)
            if name == "tt.dot":
                self.stage(op)
        elif name == "tt.store" and is_tile(op.operands[0]):
            base = base_arg(op.operands[0])
            earlier = [base_arg(p.operands[0]) for p in self.pending] + self.unfenced
            same = any(base is None or b in (base, None) for b in earlier)
            if same or (
                self.pending and count(self.pending[0].operands[0]) != count(op.operands[0])
            ):
                self.flush()
            if same:  # the later store wins, also where another thread wrote the earlier one
                self.barrier()
            self.pending.append(op)
        else:
            self.flush()
            self.effect(op)

    def effect(self, op: Operation) -> None:
        name = op.name
        if name == "tt.reduce":
            if len(shape_of(op.operands[0])) == 1:
                self.values.update(zip(op.results, reduce_scalar(self, op), strict=True))
            else:
                reduce_axis(self, op)
        elif name == "tt.scan":
            scan(self, op)
        elif name in ("tt.atomic_rmw", "tt.atomic_cas"):
            lower_atomic(self, op)
        elif name in ("ttg.barrier", "tt.debug_barrier"):
            self.barrier()
        elif name in ("scf.for", "scf.if", "scf.while"):
            how = {"scf.for": control.lower_for, "scf.if": control.lower_if,
                   "scf.while": control.lower_while}[name]  # fmt: skip
            try:
                how(self, op)
            except BaseMismatch:
                raise self.error(op, f"'{name}' carrying a pointer tile into different "
                                     "arguments is not supported yet") from None  # fmt: skip
        elif name == "tt.store":  # through a scalar pointer: thread 0
            p, v, *mask = (self.values[x] for x in op.operands)
            self.on_thread0(lambda: self.store_to(op, p, v, mask[0] if mask else None))
        elif name == "tt.load":
            p, *rest = (self.values[x] for x in op.operands)
            mask, other = (rest + [None, None])[:2]
            self.values[op.results[0]] = self.load_from(op, p, mask, other,
                                                        op.results[0].type)  # fmt: skip
        elif any(is_tile(v) for v in op.results):
            raise self.error(op, f"'{name}' is not supported yet")
        else:
            got = self.scalar_op(op, [self.values[v] for v in op.operands])
            self.values.update(zip(op.results, got, strict=True))

    def flush(self) -> None:
        """Emit the pending tile stores in one element loop."""
        if not self.pending:
            return
        stores, self.pending = self.pending, []
        bases = [base_arg(op.operands[0]) for op in stores]
        self.unfenced += bases
        for inside in self.stored_inside:
            inside += bases

        def body(ix: Ix, _s: SSAValue) -> None:
            for op in stores:
                p, v, *mask = (self.at(x, ix) for x in op.operands)
                self.store_to(op, p, v, mask[0] if mask else None)

        self.each(count(stores[0].operands[0]), body)

    def barrier(self) -> None:
        super().barrier()
        self.unfenced.clear()

    def nested(self, fn):
        """A region (a branch, a loop body) may not run, or its barriers may not: after
        it, what was unfenced before is still, plus what it stored."""
        saved = list(self.unfenced)
        self.stored_inside.append([])
        try:
            got = super().nested(fn)
        finally:
            inside = self.stored_inside.pop()
        self.unfenced = saved + inside
        return got

    def on_thread0(self, fn) -> None:
        zero = self.cidx(0)
        cond = self.emit(arith.CmpiOp(self.tid, zero, "eq")).results[0]
        self.if_(cond, lambda: [fn(), []][1])

    # -- materialized tiles ----------------------------------------------------------------
    def keep_load(self, op: Operation) -> None:
        """Load the tile now, into per-thread slots or shared memory."""
        v = op.results[0]
        m = self.new_buffer(v, self.facts.private(v))
        self.fill([(count(v), [(m, lambda ix: self.lower_at(op, v, ix))])])
        self.tilemap[v] = m

    def lower(self) -> gpu.FuncOp:
        self.check()
        args = self.func.body.blocks[0].args
        types: list[Attribute] = []
        for a in args:
            if isinstance(a.type, tt.PointerType):
                pointee = a.type.pointee
                bits = isinstance(pointee, BFloat16Type)  # bf16 memory: its bit patterns
                types.append(MemRefType(IntegerType(16) if bits else pointee, [DYNAMIC_INDEX]))
            elif isinstance(a.type, IntegerType | AnyFloat) and a.type != bf16:
                types.append(a.type)
            else:
                raise self.error(self.func, f"kernel argument type {a.type} is not supported yet")
        entry = Block(arg_types=types)
        for a, new in zip(args, entry.args, strict=True):
            self.values[a] = Ptr(new, None) if isinstance(a.type, tt.PointerType) else new
        self.tid = self.emit(gpu.ThreadIdOp(gpu.DimensionAttr(gpu.DimensionEnum.X))).results[0]
        if len(self.func.body.blocks) > 1:  # early returns
            lower_cfg(self, self.func.body)
        else:
            self.lower_block(self.func.body.blocks[0])
        entry.add_ops([*self.prologue, *self.ops, gpu.ReturnOp([])])
        kernel = gpu.FuncOp(self.sig.name, (types, []), Region(entry), kernel=True)
        names = [n for n, c in self.sig.params if c != "constexpr"]
        if len(names) != len(args):
            names = [f"arg{i}" for i in range(len(args))]
        codes = [_code(a.type) for a in args]
        given = [c for _, c in self.sig.params if c != "constexpr"]
        if len(given) == len(codes):
            codes = [_launch_code(c, g) for c, g in zip(codes, given, strict=True)]
        kernel.attributes["xpu.arg_types"] = ArrayAttr([StringAttr(c) for c in codes])
        kernel.attributes["xpu.arg_names"] = ArrayAttr([StringAttr(n) for n in names])
        kernel.attributes["xpu.loc"] = StringAttr(f"{self.sig.file}:{self.sig.line}:1")
        if self.branch_barriers:  # see xpuc/targets/opencl_modes.py
            kernel.attributes["xpu.barriers_in_branches"] = UnitAttr()
        return kernel

    def ptr_base(self, v: SSAValue) -> SSAValue:
        """The kernel argument a pointer tile points into."""
        if v in self.tilemap:
            m = self.tilemap[v]
            return m.base if isinstance(m, Buffered) else self.ptr_base(m.init)
        if not is_tile(v):
            got = self.values[v]
            assert isinstance(got, Ptr)
            return got.base
        op = v.owner
        if isinstance(op, Operation) and op.name in _POINTER_KEEPING:
            return self.ptr_base(op.operands[0])
        if isinstance(op, Operation) and op.name == "arith.select":
            return self.ptr_base(op.operands[1])
        where = op if isinstance(op, Operation) else self.func
        raise self.error(where, "a pointer tile whose argument is not known is not supported yet")


def lower_module(module: ModuleOp, sig: KernelSignature, num_warps: int) -> ModuleOp:
    """The shared-IR module (one ``gpu.func`` kernel) for an imported kernel."""
    funcs = [op for op in module.ops if isinstance(op, tt.FuncOp)]
    for op in module.walk():
        if isinstance(op, tt.CallOp) or (op.name not in ("builtin.module", "tt.func")
                                          and op.parent_op() is module):  # fmt: skip
            raise located_error(f"'{op.name}' is not supported yet", op_location(op, sig.file))
    public = [f for f in funcs if f.sym_name.data == sig.name] or funcs[:1]
    low = Lowering(public[0], sig, num_warps)
    kernel = low.lower()
    gmod = gpu.ModuleOp(StringAttr("kernels"), Region(Block([*low.globals, kernel])))
    out = ModuleOp([gmod], attributes={"gpu.container_module": UnitAttr()})
    out.verify()
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m xpuc.frontends.triton.lower FILE.ttir [--num-warps N]``: lower a saved
    TTIR file (its first ``tt.func``) and print the SIMT-level shared IR."""
    import argparse
    import sys

    from xpuc.compiler.diagnostics import XpucError
    from xpuc.compiler.pipeline import print_module
    from xpuc.frontends.triton.ttir import parse_ttir

    ap = argparse.ArgumentParser(prog="python -m xpuc.frontends.triton.lower")
    ap.add_argument("file")
    ap.add_argument("--num-warps", type=int, default=4)
    args = ap.parse_args(argv)
    try:
        with open(args.file) as f:
            module = parse_ttir(f.read(), args.file)
        func = next((op for op in module.ops if isinstance(op, tt.FuncOp)), None)
        if func is None:
            raise XpucError(f"{args.file}: no tt.func")
        names = [a.name_hint or f"arg{i}" for i, a in enumerate(func.body.blocks[0].args)]
        params = tuple((n, "?") for n in names)
        sig = KernelSignature(func.sym_name.data, params, (), args.file, 1)
        print_module(lower_module(module, sig, args.num_warps), sys.stdout)
    except XpucError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
