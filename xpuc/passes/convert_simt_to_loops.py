"""``convert-simt-to-loops``: run a SIMT kernel's threads as loops, for CPU targets.

Each ``gpu.func`` kernel becomes a ``func.func`` that executes one thread block:
its body is wrapped in ``scf.for`` loops over the block's z, y and x threads (x
innermost, so consecutive threads touch consecutive addresses and the loop can be
vectorized).  Block ids, grid and block sizes become trailing ``index`` arguments,
in this order: ``block_id x,y,z``, ``grid_dim x,y,z``, ``block_dim x,y,z``, followed
by the block's dynamic shared memory (``memref<?xi8>``).  Device functions
(``func.func`` inside the ``gpu.module``) get the twelve id values as trailing
arguments, and every call passes them on.  Stack slots (``memref.alloca`` at the
kernel entry) move in front of the thread loops so the stack does not grow per
thread.  Static shared memory (``memref.global`` in memory space 3) becomes a stack
array of the kernel, so each block has its own.  The ``gpu.module`` is dissolved.

A kernel with barriers or warp operations is cut into several thread loops (see
``simt_fission.py``); device functions that contain them are inlined first.  So are
uniform loops that can run in lockstep (``simt_interchange.py``): the thread loop goes
inside them, where LLVM vectorizes it.  The kernel records its stack needs as
``xpu.stack_bytes = [bytes per block, bytes per thread]`` (the runtime runs small
launches on the calling thread when they fit its stack).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, builtin, func, gpu, memref, scf
from xdsl.dialects.builtin import DYNAMIC_INDEX, IndexType, IntegerAttr, IntegerType, MemRefType
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import DiagnosticException

from xpuc.dialects.gpu_ext import DynamicSharedMemoryOp
from xpuc.passes.simt_fission import (
    Fission,
    FissionError,
    byte_size,
    has_cut,
    hoist_uniform,
    privatizable,
)
from xpuc.passes.simt_inline import inline_calls
from xpuc.passes.simt_interchange import choose_loops

_ID_OPS = (gpu.ThreadIdOp, gpu.BlockIdOp, gpu.GridDimOp, gpu.BlockDimOp)
_ORDER = {gpu.ThreadIdOp: 0, gpu.BlockIdOp: 3, gpu.GridDimOp: 6, gpu.BlockDimOp: 9}
_DIM = {"x": 0, "y": 1, "z": 2}


_SHARED = IntegerAttr(3, 64)


class SimtToLoopsError(DiagnosticException):
    pass


def _replace_ids(body: Region, ids: list, warp_size: int, calls: bool = True) -> None:
    """ids: tid xyz, bid xyz, gdim xyz, bdim xyz."""
    for op in list(body.walk()):
        if isinstance(op, _ID_OPS):
            k = _ORDER[type(op)] + _DIM[op.dimension.data.value]
            op.results[0].replace_all_uses_with(ids[k])
            op.parent_block().erase_op(op)
        elif isinstance(op, gpu.GlobalIdOp):
            d = _DIM[op.dimension.data.value]
            mul = arith.MuliOp(ids[3 + d], ids[9 + d])
            add = arith.AddiOp(mul, ids[d])
            op.parent_block().insert_ops_before([mul, add], op)
            op.results[0].replace_all_uses_with(add.result)
            op.parent_block().erase_op(op)
        elif isinstance(op, gpu.SubgroupSizeOp):
            c = arith.ConstantOp(IntegerAttr(warp_size, IndexType()))
            op.parent_block().insert_op_before(c, op)
            op.results[0].replace_all_uses_with(c.result)
            op.parent_block().erase_op(op)
        elif isinstance(op, func.CallOp) and calls:
            op.operands = [*op.operands, *ids]


def _lower_kernel(k: gpu.FuncOp, warp_size: int, shared: dict[str, memref.GlobalOp]) -> func.FuncOp:
    old = k.body.blocks[0]
    if len(k.body.blocks) != 1:
        raise SimtToLoopsError(f"kernel @{k.sym_name.data} has unstructured control flow")
    nargs = len(old.args)
    smem_t = MemRefType(IntegerType(8), [DYNAMIC_INDEX], memory_space=_SHARED)
    entry = Block(arg_types=[*old.arg_types, *[IndexType()] * 9, smem_t])
    for a, b in zip(old.args, entry.args[:nargs], strict=True):
        a.replace_all_uses_with(b)
    bid, gdim, bdim = (
        entry.args[nargs : nargs + 3],
        entry.args[nargs + 3 : nargs + 6],
        entry.args[nargs + 6 : nargs + 9],
    )
    _shared_memory(old, entry.args[-1], shared)
    ret = old.last_op
    assert isinstance(ret, gpu.ReturnOp)
    old.erase_op(ret)
    body = _thread_loops(old, entry, list(bdim), warp_size)
    ids = [None, None, None, *bid, *gdim, *bdim]
    entry.add_op(func.ReturnOp())
    new = func.FuncOp(k.sym_name.data, (entry.arg_types, []), Region(entry))
    new.attributes["xpu.kernel"] = builtin.UnitAttr()
    static = sum(
        byte_size(o.memref.type.element_type) * _count(o.memref.type.get_shape())
        for o in entry.ops
        if isinstance(o, memref.AllocaOp) and DYNAMIC_INDEX not in o.memref.type.get_shape()
    )
    new.attributes["xpu.stack_bytes"] = builtin.ArrayAttr(
        [IntegerAttr(static, 64), IntegerAttr(body.per_thread_bytes, 64)]
    )
    for name in ("xpu.arg_types", "xpu.arg_names", "xpu.source_name", "xpu.noalias"):
        if name in k.attributes:
            new.attributes[name] = k.attributes[name]
    _replace_ids_per_loop(new.body, body, ids, warp_size)
    return new


def _count(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _shared_memory(body: Block, dyn: SSAValue, shared: dict[str, memref.GlobalOp]) -> None:
    """Each shared variable the kernel names becomes one stack array of the kernel."""
    slots: dict[str, SSAValue] = {}
    for op in list(body.walk()):
        if isinstance(op, memref.GetGlobalOp) and op.name_.string_value() in slots:
            op.memref.replace_all_uses_with(slots[op.name_.string_value()])
            op.parent_block().erase_op(op)
        elif isinstance(op, memref.GetGlobalOp) and op.name_.string_value() in shared:
            slot = memref.AllocaOp.get(op.memref.type.element_type,
                                       shape=op.memref.type.get_shape(), alignment=64,
                                       memory_space=op.memref.type.memory_space)  # fmt: skip
            body.insert_op_before(slot, body.first_op)
            slots[op.name_.string_value()] = slot.memref
            op.memref.replace_all_uses_with(slot.memref)
            op.parent_block().erase_op(op)
        elif isinstance(op, DynamicSharedMemoryOp):
            op.result.replace_all_uses_with(dyn)
            op.parent_block().erase_op(op)


def _thread_loops(old: Block, entry: Block, bdim: list[SSAValue], warp_size: int) -> Fission:
    """The body as thread loops: one loop nest, or one per piece between cuts."""
    lockstep, outside = choose_loops(old, list(entry.args))
    slots = [o for o in old.walk() if isinstance(o, memref.AllocaOp)]
    if lockstep and not all(privatizable(a) for a in slots):
        lockstep, outside = set(), set()  # a local passed to a call stays one per thread
    cuts = any(has_cut(op) for op in old.ops) or bool(lockstep)
    ops = list(old.ops)
    if cuts:
        demote_if_results(ops, old)
        ops = list(old.ops)
    hoist_uniform(old.parent_region(), entry, ops, views=not cuts)
    privates = [op for op in entry.ops if isinstance(op, memref.AllocaOp)
                and op.memref.type.memory_space == builtin.NoneAttr()]  # fmt: skip
    fission = Fission(entry, bdim, warp_size, lockstep, outside)
    for op in ops:
        op.detach()
    fission.emit_seq(ops, None, entry)
    if not cuts:  # one thread loop: threads run one after another, slots can be shared
        return fission
    fission.resolve(entry)
    for a in privates:
        fission.privatize(a)
    from xpuc.passes.simt_warp import lower_warp_ops

    lower_warp_ops(fission)
    return fission


def demote_if_results(ops: list[Operation], entry: Block) -> None:
    """``scf.if`` ops that yield values and contain a cut yield through stack slots.

    (``a && __any_sync(...)`` and ``c ? __shfl_sync(...) : x`` give such ifs.)  The
    slots become per-thread storage like any local variable.
    """
    c0 = arith.ConstantOp(IntegerAttr(0, IndexType()))
    entry.insert_op_before(c0, entry.first_op) if entry.first_op else entry.add_op(c0)
    for top in ops:
        for op in list(top.walk()):
            if not (isinstance(op, scf.IfOp) and op.results and has_cut(op)):
                continue
            slots = []
            for r in op.results:
                slot = memref.AllocaOp.get(r.type, shape=[1])
                entry.insert_op_after(slot, c0)
                slots.append(slot.memref)
            for region in (op.true_region, op.false_region):
                blk = region.block
                y = blk.last_op
                assert isinstance(y, scf.YieldOp)
                stores = [memref.StoreOp.get(v, sl, [c0.result])
                          for v, sl in zip(y.operands, slots, strict=True)]  # fmt: skip
                blk.insert_ops_before([*stores, scf.YieldOp()], y)
                blk.erase_op(y)
            new = scf.IfOp(op.cond, [], op.true_region.clone(), op.false_region.clone())
            block = op.parent_block()
            block.insert_op_before(new, op)
            loads = [memref.LoadOp.get(sl, [c0.result]) for sl in slots]
            block.insert_ops_after(loads, new)
            for r, ld in zip(op.results, loads, strict=True):
                r.replace_all_uses_with(ld.res)
            block.erase_op(op)
            if op is top:
                ops[ops.index(top)] = new


def _replace_ids_per_loop(body: Region, fission: Fission, ids: list, warp_size: int) -> None:
    for op in list(body.walk()):
        if isinstance(op, gpu.ThreadIdOp | func.CallOp):
            loop = fission.loop_of(op)
            if loop is None:
                raise SimtToLoopsError("cpu: thread id used outside a thread loop")
            here = [*loop.ids, *ids[3:]]
            if isinstance(op, gpu.ThreadIdOp):
                op.results[0].replace_all_uses_with(here[_DIM[op.dimension.data.value]])
                op.parent_block().erase_op(op)
            else:
                op.operands = [*op.operands, *here]
    _replace_ids(body, [None, None, None, *ids[3:]], warp_size, calls=False)


def _lower_device_fn(f: func.FuncOp, warp_size: int) -> func.FuncOp:
    entry = f.body.blocks[0]
    ids = [entry.insert_arg(IndexType(), len(entry.args)) for _ in range(12)]
    f.function_type = builtin.FunctionType.from_lists(entry.arg_types, f.function_type.outputs)
    _replace_ids(f.body, ids, warp_size)
    return f


@dataclass(frozen=True)
class ConvertSimtToLoops(ModulePass):
    name = "convert-simt-to-loops"

    warp_size: int = 32

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for gmod in [o for o in op.ops if isinstance(o, gpu.ModuleOp)]:
            lowered: list[Operation] = []
            shared = {
                g.sym_name.data: g
                for g in gmod.body.block.ops
                if isinstance(g, memref.GlobalOp) and g.type.memory_space == _SHARED
            }
            try:
                inline_calls(gmod, set(shared))
            except FissionError as e:
                raise SimtToLoopsError(str(e)) from None
            for f in list(gmod.body.block.ops):
                f.detach()
                if isinstance(f, gpu.FuncOp):
                    try:
                        lowered.append(_lower_kernel(f, self.warp_size, shared))
                    except FissionError as e:
                        raise SimtToLoopsError(f"kernel @{f.sym_name.data}: {e}") from None
                elif f in shared.values():
                    continue
                elif isinstance(f, func.FuncOp):
                    lowered.append(_lower_device_fn(f, self.warp_size))
                else:
                    lowered.append(f)
            op.body.block.insert_ops_before(lowered, gmod)
            op.body.block.erase_op(gmod)
        if "gpu.container_module" in op.attributes:
            del op.attributes["gpu.container_module"]
