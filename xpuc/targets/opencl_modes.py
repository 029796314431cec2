"""Which kernels the OpenCL target prints as SIMT code, and which as loops.

A CUDA thread is an OpenCL work-item and a block a work-group, so most kernels print
as they are.  Two things have no OpenCL C equivalent on the devices here (PoCL 3.1
exposes no sub-groups) and force a kernel into *loop mode*, where one work-item runs a
whole block as ``convert-simt-to-loops`` does for the cpu target:

- warp operations (``xpu.shuffle``, ``xpu.vote``, ``xpu.active_mask``,
  ``xpu.warp_sync``): lanes must see each other's values in lockstep;
- a barrier that part of a block may not reach (after an early ``return``, inside
  ``if (threadIdx.x < 32)``): xpuc defines it as CUDA does (threads that left are not
  waited for), OpenCL leaves it undefined and PoCL miscompiles it;
- barriers under uniform branches, where a frontend says so (``xpu.barriers_in_branches``
  on the kernel): PoCL 3.1 miscompiles some of those too.

Whether a barrier is reached by the whole block is a uniformity analysis: a value is
uniform when it is computed from constants, kernel arguments, block ids and sizes,
and local variables (one-element stack slots) stored only uniform values under
uniform control.  Everything else (thread ids, memory, atomics, calls) is varying.
"""

from __future__ import annotations

from xdsl.dialects import func, gpu, memref, scf
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import Block, Operation, SSAValue

from xpuc.compiler.diagnostics import TargetError
from xpuc.dialects.xpu import (
    AtomicCASOp,
    LaneMaskOp,
    ShuffleOp,
    VoteOp,
    WarpSyncOp,
)

WARP_OPS = (ShuffleOp, VoteOp, LaneMaskOp, WarpSyncOp)
_VARYING = (gpu.ThreadIdOp, gpu.GlobalIdOp, memref.AtomicRMWOp, AtomicCASOp, func.CallOp,
            *WARP_OPS)  # fmt: skip


def device_functions(module: Operation) -> dict[str, func.FuncOp]:
    """The module's device functions by name (not loop mode's kernels)."""
    return {f.sym_name.data: f for f in module.walk()
            if isinstance(f, func.FuncOp) and "xpu.kernel" not in f.attributes}  # fmt: skip


def callees(op: Operation) -> set[str]:
    return {o.callee.root_reference.data for o in op.walk() if isinstance(o, func.CallOp)}


def reachable(kernel: Operation, funcs: dict[str, func.FuncOp]) -> list[func.FuncOp]:
    """Device functions a kernel calls, directly or not; OpenCL C has no recursion."""
    found: dict[str, func.FuncOp] = {}
    open_: set[str] = set()  # on the path from the kernel: calling one again recurses

    def visit(op: Operation) -> None:
        for name in sorted(callees(op)):
            if name not in funcs:
                raise TargetError(f"call of @{name}, which the module does not define")
            if name in open_:
                raise TargetError(f"OpenCL C has no recursion: @{name} calls itself")
            if name not in found:
                open_.add(name)
                visit(funcs[name])
                open_.discard(name)
                found[name] = funcs[name]

    visit(kernel)
    return list(found.values())


class Uniformity:
    """Values of one function that may differ between the threads of a block, and the
    synchronising ops reached under control flow that may differ (``divergent``)."""

    def __init__(self, fn: Operation, syncing: set[str], kernel: bool):
        self.syncing = syncing
        self.varying: set[SSAValue] = set()
        self.bad_slots: set[SSAValue] = set()
        entry = fn.regions[0].blocks[0]
        if not kernel:  # a device function's arguments may differ per call
            self.varying |= set(entry.args)
        self.slots = {
            op.memref for op in fn.walk()
            if isinstance(op, memref.AllocaOp) and all(
                isinstance(u.operation, memref.LoadOp | memref.StoreOp)
                and u.operation.memref is op.memref for u in op.memref.uses)
        }  # fmt: skip
        self.changed = True
        while self.changed:
            self.changed = False
            self.divergent: list[Operation] = []
            for block in fn.regions[0].blocks:
                self.walk(block, len(fn.regions[0].blocks) == 1)

    def mark(self, values, cond: bool = True) -> None:
        for v in values:
            if cond and v not in self.varying:
                self.varying.add(v)
                self.changed = True

    def any(self, values) -> bool:
        return any(v in self.varying for v in values)

    def walk(self, block: Block, uniform: bool) -> None:
        for op in block.ops:
            if isinstance(op, scf.IfOp):
                u = uniform and op.cond not in self.varying
                for region in op.regions:
                    for b in region.blocks:
                        self.walk(b, u)
                        self.mark(op.results, not u)
                        for r, y in zip(op.results, b.last_op.operands, strict=True):
                            self.mark([r], y in self.varying)
            elif isinstance(op, scf.ForOp):
                u = uniform and not self.any([op.lb, op.ub, op.step])
                body = op.body.block
                self.mark(body.args, not u)
                for a, init, y, r in zip(body.args[1:], op.iter_args, body.last_op.operands,
                                         op.results, strict=True):  # fmt: skip
                    self.mark([a, r], init in self.varying or y in self.varying)
                self.walk(body, u)
            elif isinstance(op, scf.WhileOp):
                before, after = op.before_region.block, op.after_region.block
                cond = before.last_op
                u = uniform and cond.condition not in self.varying
                self.mark([*before.args, *after.args, *op.results], not u)
                for a, init, y in zip(before.args, op.arguments, after.last_op.operands,
                                      strict=True):  # fmt: skip
                    self.mark([a], init in self.varying or y in self.varying)
                for a, r, c in zip(after.args, op.results, cond.args, strict=True):
                    self.mark([a, r], c in self.varying)
                self.walk(before, u)
                self.walk(after, u)
            else:
                self.simple(op, uniform)

    def simple(self, op: Operation, uniform: bool) -> None:
        called = isinstance(op, func.CallOp) and op.callee.root_reference.data in self.syncing
        if (isinstance(op, gpu.BarrierOp) or called) and not uniform:
            self.divergent.append(op)
        if isinstance(op, memref.StoreOp) and op.memref in self.slots:
            if not uniform or self.any([op.value, *op.indices]):
                if op.memref not in self.bad_slots:
                    self.bad_slots.add(op.memref)
                    self.changed = True
        scalars = [v for v in op.operands if not isinstance(v.type, MemRefType)]
        varying = isinstance(op, _VARYING) or self.any(scalars)
        if isinstance(op, memref.LoadOp):
            varying |= op.memref not in self.slots or op.memref in self.bad_slots
        for region in op.regions:  # an op we do not know: everything inside may vary
            for b in region.blocks:
                self.walk(b, False)
                self.mark(b.args)
        self.mark(op.results, varying)


def _syncing(funcs: dict[str, func.FuncOp]) -> set[str]:
    found = {n for n, f in funcs.items() if any(isinstance(o, gpu.BarrierOp) for o in f.walk())}
    while True:
        more = {n for n, f in funcs.items() if n not in found and callees(f) & found}
        if not more:
            return found
        found |= more


BRANCH_BARRIERS = "xpu.barriers_in_branches"


def loop_reason(kernel: gpu.FuncOp, funcs: dict[str, func.FuncOp]) -> str | None:
    """Why ``kernel`` must run as loops (one work-item a block), or None."""
    if BRANCH_BARRIERS in kernel.attributes:
        # a frontend's fact: barriers under (uniform) branches, e.g. the Triton
        # frontend's early returns; PoCL 3.1 miscompiles such kernels (with loopvec,
        # masked stores after the branch run unmasked; with cbs, other ones)
        return "has barriers under branches"
    reached = reachable(kernel, funcs)
    for fn in [kernel, *reached]:
        warp = next((o for o in fn.walk() if isinstance(o, WARP_OPS)), None)
        if warp is not None:
            return f"uses warp operations ({warp.name})"
    syncing = _syncing(funcs)
    for fn in [kernel, *reached]:
        if Uniformity(fn, syncing, fn is kernel).divergent:
            where = "" if fn is kernel else f" (in @{fn.sym_name.data})"
            return f"has a barrier that part of the block may not reach{where}"
    return None
