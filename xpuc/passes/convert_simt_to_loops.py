"""``convert-simt-to-loops``: run a SIMT kernel's threads as loops, for CPU targets.

Each ``gpu.func`` kernel becomes a ``func.func`` that executes one thread block:
its body is wrapped in ``scf.for`` loops over the block's z, y and x threads (x
innermost, so consecutive threads touch consecutive addresses and the loop can be
vectorized).  Block ids, grid and block sizes become trailing ``index`` arguments,
in this order: ``block_id x,y,z``, ``grid_dim x,y,z``, ``block_dim x,y,z``.
Device functions (``func.func`` inside the ``gpu.module``) get the twelve id values
as trailing arguments, and every call passes them on.  Stack slots (``memref.alloca``
at the kernel entry) move in front of the thread loops so the stack does not grow
per thread.  The ``gpu.module`` is dissolved into the enclosing module.

Barriers need loop fission and per-thread storage of values live across them; this
pass rejects a kernel that contains ``gpu.barrier``.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, builtin, func, gpu, memref, scf
from xdsl.dialects.builtin import IndexType, IntegerAttr
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import DiagnosticException

_ID_OPS = (gpu.ThreadIdOp, gpu.BlockIdOp, gpu.GridDimOp, gpu.BlockDimOp)
_ORDER = {gpu.ThreadIdOp: 0, gpu.BlockIdOp: 3, gpu.GridDimOp: 6, gpu.BlockDimOp: 9}
_DIM = {"x": 0, "y": 1, "z": 2}


class SimtToLoopsError(DiagnosticException):
    pass


def _replace_ids(body: Region, ids: list[SSAValue], warp_size: int) -> None:
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
        elif isinstance(op, gpu.BarrierOp):
            raise SimtToLoopsError(
                "convert-simt-to-loops: kernels with barriers (__syncthreads) are not "
                "supported on cpu yet"
            )
        elif isinstance(op, func.CallOp):
            op.operands = [*op.operands, *ids]


def _lower_kernel(k: gpu.FuncOp, warp_size: int) -> func.FuncOp:
    old = k.body.blocks[0]
    if len(k.body.blocks) != 1:
        raise SimtToLoopsError(f"kernel @{k.sym_name.data} has unstructured control flow")
    nargs = len(old.args)
    entry = Block(arg_types=[*old.arg_types, *[IndexType()] * 9])
    for a, b in zip(old.args, entry.args[:nargs], strict=True):
        a.replace_all_uses_with(b)
    bid, gdim, bdim = (
        entry.args[nargs : nargs + 3],
        entry.args[nargs + 3 : nargs + 6],
        entry.args[nargs + 6 :],
    )
    zero = arith.ConstantOp(IntegerAttr(0, IndexType()))
    one = arith.ConstantOp(IntegerAttr(1, IndexType()))
    entry.add_ops([zero, one])
    # Stack slots first, outside the thread loops.
    for op in list(old.ops):
        if isinstance(op, memref.AllocaOp):
            op.detach()
            entry.add_op(op)
    inner = [Block(arg_types=[IndexType()]) for _ in range(3)]  # z, y, x
    tz, ty, tx = (b.args[0] for b in inner)
    ret = old.last_op
    assert isinstance(ret, gpu.ReturnOp)
    old.erase_op(ret)
    for op in list(old.ops):
        op.detach()
        inner[2].add_op(op)
    inner[2].add_op(scf.YieldOp())
    loop_x = scf.ForOp(zero, bdim[0], one, [], inner[2])
    inner[1].add_ops([loop_x, scf.YieldOp()])
    loop_y = scf.ForOp(zero, bdim[1], one, [], inner[1])
    inner[0].add_ops([loop_y, scf.YieldOp()])
    loop_z = scf.ForOp(zero, bdim[2], one, [], inner[0])
    entry.add_ops([loop_z, func.ReturnOp()])
    ids = [tx, ty, tz, *bid, *gdim, *bdim]
    new = func.FuncOp(k.sym_name.data, (entry.arg_types, []), Region(entry))
    new.attributes["xpu.kernel"] = builtin.UnitAttr()
    for name in ("xpu.arg_types", "xpu.arg_names"):
        if name in k.attributes:
            new.attributes[name] = k.attributes[name]
    _replace_ids(new.body, ids, warp_size)
    return new


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
            for f in list(gmod.body.block.ops):
                f.detach()
                if isinstance(f, gpu.FuncOp):
                    lowered.append(_lower_kernel(f, self.warp_size))
                elif isinstance(f, func.FuncOp):
                    lowered.append(_lower_device_fn(f, self.warp_size))
                else:
                    lowered.append(f)
            op.body.block.insert_ops_before(lowered, gmod)
            op.body.block.erase_op(gmod)
        if "gpu.container_module" in op.attributes:
            del op.attributes["gpu.container_module"]
