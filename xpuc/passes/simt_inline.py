"""Inline device functions that synchronise or use shared memory into their callers.

Loop fission needs to see every barrier in the kernel body itself, so a device
function that (directly or through its callees) synchronises is inlined at each call.
A function that touches shared memory is inlined too: on a CPU shared memory is the
kernel's per-block storage, which only the kernel's body can name.  Stack slots of
an inlined function move to the caller's entry block.
"""

from __future__ import annotations

from xdsl.dialects import func, gpu, memref
from xdsl.ir import Block, Operation

from xpuc.dialects.gpu_ext import DynamicSharedMemoryOp
from xpuc.passes.simt_fission import FissionError, has_cut


def _uses_shared(f: func.FuncOp, shared: set[str]) -> bool:
    return any(
        isinstance(op, DynamicSharedMemoryOp)
        or isinstance(op, memref.GetGlobalOp)
        and op.name_.string_value() in shared
        for op in f.walk()
    )


def _syncing(funcs: dict[str, func.FuncOp], shared: set[str]) -> set[str]:
    found = {n for n, f in funcs.items() if has_cut(f) or _uses_shared(f, shared)}
    changed = True
    while changed:
        changed = False
        for n, f in funcs.items():
            if n in found:
                continue
            for op in f.walk():
                if isinstance(op, func.CallOp) and op.callee.root_reference.data in found:
                    found.add(n)
                    changed = True
                    break
    return found


def _inline(call: func.CallOp, callee: func.FuncOp, entry: Block) -> None:
    body = callee.body.clone()
    blk = body.blocks[0]
    for arg, val in zip(blk.args, call.arguments, strict=True):
        arg.replace_all_uses_with(val)
    ret = blk.last_op
    assert isinstance(ret, func.ReturnOp)
    for res, val in zip(call.results, ret.operands, strict=True):
        res.replace_all_uses_with(val)
    blk.erase_op(ret)
    where = call.parent_block()
    for op in list(blk.ops):
        op.detach()
        if isinstance(op, memref.AllocaOp):
            entry.insert_op_before(op, entry.first_op)
        else:
            where.insert_op_before(op, call)
    where.erase_op(call)


def _takes_local(call: func.CallOp) -> bool:
    """Whether a call passes a stack slot (a local array, or a variable by reference)."""
    for v in call.arguments:
        while isinstance(v.owner, memref.CastOp):
            v = v.owner.source
        if isinstance(v.owner, memref.AllocaOp):
            return True
    return False


def inline_local_passing(gmod: gpu.ModuleOp) -> None:
    """In kernels that synchronise, calls that pass locals are inlined: the locals become
    per-thread arrays, which a separate function could not index."""
    funcs = {f.sym_name.data: f for f in gmod.body.block.ops if isinstance(f, func.FuncOp)}
    for kernel in [k for k in gmod.body.block.ops if isinstance(k, gpu.FuncOp) and has_cut(k)]:
        for _ in range(64):
            calls = [op for op in kernel.walk() if isinstance(op, func.CallOp) and _takes_local(op)]
            if not calls:
                break
            for call in calls:
                callee = funcs[call.callee.root_reference.data]
                if any(isinstance(o, func.CallOp) and o.callee == call.callee
                       for o in callee.walk()):  # fmt: skip
                    raise FissionError(f"recursive function @{callee.sym_name.data} takes a "
                                       "local variable of a kernel with barriers")  # fmt: skip
                _inline(call, callee, kernel.body.blocks[0])


def inline_calls(gmod: gpu.ModuleOp, shared: set[str]) -> None:
    inline_syncing(gmod, shared)
    inline_local_passing(gmod)  # after: inlined bodies pass their locals on


def inline_syncing(gmod: gpu.ModuleOp, shared: set[str]) -> None:
    funcs = {f.sym_name.data: f for f in gmod.body.block.ops if isinstance(f, func.FuncOp)}
    syncing = _syncing(funcs, shared)
    if not syncing:
        return
    for _ in range(64):
        calls: list[tuple[func.CallOp, Operation]] = []
        if not calls and _done(gmod, syncing):
            break
        for f in gmod.body.block.ops:
            for op in f.walk():
                if isinstance(op, func.CallOp) and op.callee.root_reference.data in syncing:
                    calls.append((op, f))
        if not calls:
            break
        for call, owner in calls:
            callee = funcs[call.callee.root_reference.data]
            if owner is callee:
                raise FissionError(f"recursive function @{callee.sym_name.data} with barriers")
            _inline(call, callee, owner.body.blocks[0])
    else:
        raise FissionError("device functions with barriers nest too deeply (recursion?)")
    # Every call is inlined; the functions themselves cannot run outside a kernel.
    for name in syncing:
        gmod.body.block.erase_op(funcs[name])


def _done(gmod: gpu.ModuleOp, syncing: set[str]) -> bool:
    return not any(isinstance(op, func.CallOp) and op.callee.root_reference.data in syncing
                   for f in gmod.body.block.ops for op in f.walk())  # fmt: skip
