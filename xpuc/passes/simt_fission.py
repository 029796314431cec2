"""Thread loops with barriers and warp operations: loop fission for CPU targets.

A kernel body is cut at every ``gpu.barrier`` and warp operation (``xpu.shuffle``,
``xpu.vote``, ``xpu.active_mask``).  Each piece between cuts runs in its own loop over
the block's threads, so every thread finishes the piece before any thread starts the
next: the barrier's meaning.  A warp operation gets a thread loop of its own that
reads the operands of the other lanes of its warp.

Control flow that contains a cut is kept uniform and *predicated*: ``scf.if`` gets a
per-thread mask (the parent mask and the condition), ``scf.while`` keeps a per-thread
"active" flag and iterates while any thread is active, ``scf.for`` keeps its (uniform)
bounds.  This is exact for CUDA's rules (barriers in uniform control flow, warp
operations in warp-uniform control flow) and degrades gracefully otherwise.

Values live across a cut are kept per thread: an SSA value defined in one thread loop
and used in another is stored to a ``memref<?xT>`` indexed by the linear thread id, and
each local variable slot (``memref.alloca``) gets a leading thread dimension.
"""

from __future__ import annotations

from xdsl.dialects import arith, gpu, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    UnitAttr,
)
from xdsl.ir import Block, BlockArgument, Operation, Region, SSAValue
from xdsl.utils.exceptions import DiagnosticException

from xpuc.dialects.gpu_ext import DynamicSharedMemoryOp
from xpuc.dialects.xpu import AtomicCASOp, LaneMaskOp, ShuffleOp, VoteOp, WarpSyncOp
from xpuc.passes.simt_interchange import is_pure

WARP_OPS = (ShuffleOp, VoteOp, LaneMaskOp)
# __syncwarp is cut like a barrier: in warp-uniform control flow the predication makes
# it exact, and a whole-block cut is a correct (stronger) warp barrier
CUTS = (gpu.BarrierOp, WarpSyncOp, *WARP_OPS)
_UNIFORM = (arith.ConstantOp, memref.AllocaOp, memref.GetGlobalOp, DynamicSharedMemoryOp,
            gpu.BlockIdOp, gpu.GridDimOp, gpu.BlockDimOp, gpu.SubgroupSizeOp)  # fmt: skip
_INDEXED = (memref.LoadOp, memref.StoreOp, memref.AtomicRMWOp, AtomicCASOp)


class FissionError(DiagnosticException):
    pass


def has_cut(op: Operation) -> bool:
    return any(isinstance(o, CUTS) for o in op.walk())


def _idx(v: int) -> arith.ConstantOp:
    return arith.ConstantOp(IntegerAttr(v, IndexType()))


class ThreadLoop:
    def __init__(self, outer: scf.ForOp, body: Block, ids: list[SSAValue], lin: SSAValue):
        self.outer, self.body, self.ids, self.lin = outer, body, ids, lin


class Fission:
    def __init__(self, entry: Block, bdim: list[SSAValue], warp_size: int,
                 lockstep: set[Operation] | None = None,
                 outside: set[Operation] | None = None):  # fmt: skip
        """``lockstep``: loops to cut like barriers (see ``simt_interchange``);
        ``outside``: uniform arithmetic to keep out of thread loops (their bounds)."""
        self.lockstep = lockstep or set()
        self.outside = outside or set()
        self.per_thread_bytes = 0
        """Stack each thread of the block adds (values and locals kept per thread)."""
        self.entry = entry
        self.bdim = bdim
        self.warp = warp_size
        self.loops: dict[Operation, ThreadLoop] = {}
        self.warp_ops: list[tuple[Operation, SSAValue | None]] = []
        self.spills: dict[SSAValue, SSAValue] = {}
        self.c0, self.c1 = _idx(0), _idx(1)
        xy = arith.MuliOp(bdim[0], bdim[1])
        self.n = arith.MuliOp(xy, bdim[2])
        entry.add_ops([self.c0, self.c1, xy, self.n])

    # ---- building
    def buffer(self, t) -> SSAValue:
        """A per-thread ``memref<?xT>`` in the entry block."""
        op = memref.AllocaOp.get(t, shape=[DYNAMIC_INDEX], dynamic_sizes=[self.n.result])
        self.entry.insert_op_after(op, self.n)
        self.per_thread_bytes += byte_size(t)
        return op.results[0]

    def thread_loop(self, out: Block, mask: SSAValue | None, parallel: bool = True) -> Block:
        """A z, y, x loop nest over the block's threads, appended to ``out``; its body.

        ``parallel``: the x loop's iterations touch no memory another iteration touches
        (``xpu.parallel``, so LLVM vectorizes it without alias checks) -- true of a
        piece between barriers by CUDA's rules (a race has no defined outcome), not of
        a loop that combines all threads' values."""
        inner = [Block(arg_types=[IndexType()]) for _ in range(3)]  # z, y, x
        tz, ty, tx = (b.args[0] for b in inner)
        zy = arith.MuliOp(tz, self.bdim[1])
        zyy = arith.AddiOp(zy, ty)
        row = arith.MuliOp(zyy, self.bdim[0])
        lin = arith.AddiOp(row, tx)
        inner[2].add_ops([zy, zyy, row, lin])
        body = inner[2]
        if mask is not None:
            m = memref.LoadOp.get(mask, [lin])
            then = Block([scf.YieldOp()])
            inner[2].add_ops([m, scf.IfOp(m, [], Region(then)), scf.YieldOp()])
            body = then
        else:
            inner[2].add_op(scf.YieldOp())
        loop_x = scf.ForOp(self.c0, self.bdim[0], self.c1, [], inner[2])
        if parallel:
            loop_x.attributes["xpu.parallel"] = UnitAttr()
        inner[1].add_ops([loop_x, scf.YieldOp()])
        loop_y = scf.ForOp(self.c0, self.bdim[1], self.c1, [], inner[1])
        inner[0].add_ops([loop_y, scf.YieldOp()])
        loop_z = scf.ForOp(self.c0, self.bdim[2], self.c1, [], inner[0])
        out.add_op(loop_z)
        self.loops[loop_z] = ThreadLoop(loop_z, body, [tx, ty, tz], lin.result)
        return body

    def put(self, body: Block, ops: list[Operation]) -> None:
        for op in ops:
            if op.parent is not None:
                op.detach()
            body.insert_op_before(op, body.last_op)

    def emit_seq(self, ops: list[Operation], mask: SSAValue | None, out: Block) -> None:
        run: list[Operation] = []

        def flush() -> None:
            if run:
                self.put(self.thread_loop(out, mask), run)
                run.clear()

        for op in ops:
            if op in self.outside:
                if op.parent is not None:
                    op.detach()
                out.add_op(op)
            elif isinstance(op, gpu.BarrierOp | WarpSyncOp):
                flush()
                if op.parent is not None:
                    op.detach()
                op.erase()
            elif isinstance(op, WARP_OPS):
                flush()
                self.put(self.thread_loop(out, mask), [op])
                self.warp_ops.append((op, mask))
            elif self.cuts(op):
                flush()
                if isinstance(op, scf.IfOp):
                    self.split_if(op, mask, out)
                elif isinstance(op, scf.WhileOp):
                    self.split_while(op, mask, out)
                elif isinstance(op, scf.ForOp):
                    self.split_for(op, mask, out)
                else:
                    raise FissionError(f"cpu: a barrier or warp operation inside '{op.name}' "
                                       "is not supported")  # fmt: skip
            else:
                run.append(op)
        flush()

    def cuts(self, op: Operation) -> bool:
        return has_cut(op) or (bool(self.lockstep) and any(o in self.lockstep for o in op.walk()))

    def masked(self, out: Block, mask: SSAValue | None, cond: SSAValue, negate: bool) -> SSAValue:
        buf = self.buffer(IntegerType(1))
        body = self.thread_loop(out, None)
        tl = self.loops[out.last_op]
        c = cond
        ops: list[Operation] = []
        if negate:
            one = arith.ConstantOp.from_int_and_width(1, 1)
            x = arith.XOrIOp(c, one)
            ops += [one, x]
            c = x.result
        if mask is not None:
            m = memref.LoadOp.get(mask, [tl.lin])
            a = arith.AndIOp(m, c)
            ops += [m, a]
            c = a.result
        ops.append(memref.StoreOp.get(c, buf, [tl.lin]))
        for o in ops:
            body.insert_op_before(o, body.last_op)
        return buf

    def split_if(self, op: scf.IfOp, mask: SSAValue | None, out: Block) -> None:
        if op.results:
            raise FissionError("cpu: a barrier inside a value-yielding 'scf.if' is not supported")
        then_mask = self.masked(out, mask, op.cond, False)
        self.emit_seq(list(op.true_region.block.ops)[:-1], then_mask, out)
        if op.false_region.blocks:
            else_mask = self.masked(out, mask, op.cond, True)
            self.emit_seq(list(op.false_region.block.ops)[:-1], else_mask, out)
        if op.parent is not None:
            op.detach()
        op.erase(safe_erase=False)

    def split_while(self, op: scf.WhileOp, mask: SSAValue | None, out: Block) -> None:
        if op.arguments or op.results:
            raise FissionError("cpu: a barrier inside a loop that carries values is not supported")
        true = arith.ConstantOp.from_int_and_width(1, 1)
        self.entry.insert_op_after(true, self.n)
        active = self.masked(out, mask, true.result, False)
        any_slot = memref.AllocaOp.get(IntegerType(1), shape=[1])
        self.entry.insert_op_after(any_slot, self.n)
        before, after = Block(), Block()
        cond_op = op.before_region.block.last_op
        assert isinstance(cond_op, scf.ConditionOp)
        self.emit_seq(list(op.before_region.block.ops)[:-1], active, before)
        false = arith.ConstantOp.from_int_and_width(0, 1)
        before.add_ops([false, memref.StoreOp.get(false, any_slot, [self.c0])])
        body = self.thread_loop(before, None, parallel=False)  # all threads or into one
        lin = self.loops[before.last_op].lin
        a = memref.LoadOp.get(active, [lin])
        keep = arith.AndIOp(a, cond_op.condition)
        seen = memref.LoadOp.get(any_slot, [self.c0])
        now = arith.OrIOp(seen, keep)
        for o in (a, keep, memref.StoreOp.get(keep, active, [lin]), seen, now,
                  memref.StoreOp.get(now, any_slot, [self.c0])):  # fmt: skip
            body.insert_op_before(o, body.last_op)
        go = memref.LoadOp.get(any_slot, [self.c0])
        before.add_ops([go, scf.ConditionOp(go)])
        self.emit_seq(list(op.after_region.block.ops)[:-1], active, after)
        after.add_op(scf.YieldOp())
        out.add_op(scf.WhileOp([], [], Region(before), Region(after)))
        if op.parent is not None:
            op.detach()
        op.erase(safe_erase=False)

    def split_for(self, op: scf.ForOp, mask: SSAValue | None, out: Block) -> None:
        if op.iter_args:
            raise FissionError("cpu: a barrier inside a loop that carries values is not supported")
        body = Block(arg_types=[op.body.block.args[0].type])
        op.body.block.args[0].replace_all_uses_with(body.args[0])
        self.emit_seq(list(op.body.block.ops)[:-1], mask, body)
        body.add_op(scf.YieldOp())
        out.add_op(scf.ForOp(op.lb, op.ub, op.step, [], body))
        if op.parent is not None:
            op.detach()
        op.erase(safe_erase=False)

    # ---- per-thread values
    def loop_of(self, op: Operation | None) -> ThreadLoop | None:
        while op is not None:
            if op in self.loops:
                return self.loops[op]
            op = op.parent_op()
        return None

    def resolve(self, entry: Block) -> None:
        """Spill SSA values used outside the thread loop that defines them."""
        for op in [o for top in list(entry.ops) for o in top.walk()]:
            here = self.loop_of(op)
            for k, v in enumerate(op.operands):
                owner = v.owner if not isinstance(v, BlockArgument) else v.block.parent_op()
                there = self.loop_of(owner)
                if there is None or there is here:
                    continue
                # (a warp operation reads its operand from every lane's copy)
                if here is not None and not isinstance(op, WARP_OPS) and self.recompute(v, op, k):
                    continue
                buf = self.spill(v, there)
                load = memref.LoadOp.get(buf, [here.lin if here else self.c0.result])
                op.parent_block().insert_op_before(load, op)
                op.operands[k] = load.res

    def recompute(self, v: SSAValue, user: Operation, k: int, limit: int = 24) -> bool:
        """Cheaper to compute again than to keep per thread: a value that is arithmetic on
        thread ids and values outside the thread loops is recomputed in front of its
        user (which keeps ``j = blockIdx.x * blockDim.x + threadIdx.x`` visible to LLVM
        as unit-stride in the thread loop)."""
        order: list[Operation] = []
        seen: set[SSAValue] = set()

        def ok(x: SSAValue) -> bool:
            if x in seen:
                return True
            seen.add(x)
            if len(seen) > 2 * limit:  # bounds the depth of the search too
                return False
            if isinstance(x, BlockArgument):
                return self.loop_of(x.block.parent_op()) is None
            if self.loop_of(x.owner) is None:
                return True
            op = x.owner
            movable = isinstance(op, gpu.ThreadIdOp | memref.ViewOp) or is_pure(op)
            if not movable or len(order) >= limit:
                return False
            if not all(ok(o) for o in op.operands):
                return False
            order.append(op)
            return True

        if not ok(v):
            return False
        clones: dict[SSAValue, SSAValue] = {}
        for op in order:
            c = op.clone()
            for i, o in enumerate(c.operands):
                if o in clones:
                    c.operands[i] = clones[o]
            user.parent_block().insert_op_before(c, user)
            for old, new in zip(op.results, c.results, strict=True):
                clones[old] = new
        user.operands[k] = clones[v]
        return True

    def spill(self, v: SSAValue, loop: ThreadLoop) -> SSAValue:
        if v not in self.spills:
            buf = self.buffer(v.type)
            store = memref.StoreOp.get(v, buf, [loop.lin])
            if isinstance(v, BlockArgument):
                v.block.insert_op_before(store, v.block.first_op)
            else:
                v.owner.parent_block().insert_op_after(store, v.owner)
            self.spills[v] = buf
        return self.spills[v]

    def privatize(self, alloca: memref.AllocaOp) -> None:
        """A local slot gets one copy per thread: memref<N x T> -> memref<? x T> of N per
        thread (thread t's copy at t * N), so byte views of it stay one-dimensional."""
        mt = alloca.memref.type
        assert isinstance(mt, MemRefType)
        shape = mt.get_shape()
        if len(shape) != 1 or shape[0] < 0:
            raise FissionError(f"cpu: cannot keep a local of type {mt} per thread")
        size = arith.ConstantOp(IntegerAttr(shape[0], IndexType()))
        total = arith.MuliOp(self.n.result, size.result)
        self.per_thread_bytes += shape[0] * byte_size(mt.element_type)
        new_t = MemRefType(mt.element_type, [DYNAMIC_INDEX])
        new = memref.AllocaOp.build(operands=[[total.result], []], result_types=[new_t],
                                    properties=dict(alloca.properties))  # fmt: skip
        self.entry.insert_ops_after([size, total, new], self.n)
        uses = list(alloca.memref.uses)
        while uses:
            use = uses.pop()
            user = use.operation
            if isinstance(user, memref.CastOp):  # a shape cast: its users index the same slot
                uses += list(user.dest.uses)
                continue
            if not isinstance(user, (*_INDEXED, memref.ViewOp)):
                raise FissionError(f"cpu: in a kernel with barriers, a local variable is used "
                                   f"by '{user.name}' (not supported yet)")  # fmt: skip
            loop = self.loop_of(user)
            tid = loop.lin if loop else self.c0.result
            base = arith.MuliOp(tid, size.result)
            user.parent_block().insert_op_before(base, user)
            user.operands[use.index] = new.results[0]
            if isinstance(user, memref.ViewOp):
                shift = arith.AddiOp(base.result, user.byte_shift)
                user.parent_block().insert_op_before(shift, user)
                user.operands[1] = shift.result
                continue
            (idx,) = user.indices
            at = arith.AddiOp(base.result, idx)
            user.parent_block().insert_op_before(at, user)
            # the index operand follows the memref (load, store, atomic_rmw, atomic_cas)
            user.operands[use.index + 1] = at.result
        for op in list(self.entry.walk()):
            if isinstance(op, memref.CastOp) and not op.dest.uses:
                op.parent_block().erase_op(op)
        alloca.detach()
        alloca.erase()


def privatizable(alloca: memref.AllocaOp) -> bool:
    """Whether ``Fission.privatize`` can give the slot one copy per thread."""
    shape = alloca.memref.type.get_shape()
    if len(shape) != 1 or shape[0] < 0:
        return False
    uses = list(alloca.memref.uses)
    while uses:
        user = uses.pop().operation
        if isinstance(user, memref.CastOp):
            uses += list(user.dest.uses)
        elif not isinstance(user, (*_INDEXED, memref.ViewOp)):
            return False
    return True


def byte_size(t) -> int:
    """Bytes of a scalar element type in memory (a bool takes a byte)."""
    width = getattr(t, "width", None)
    if width is not None:
        return max(1, (width.data + 7) // 8)
    return 8  # index, pointers


def hoist_uniform(body: Region, entry: Block, ops: list[Operation], views: bool = True) -> None:
    """Move constants, slots and block-level ids to the entry, ahead of the thread loops,
    and views of slots too unless the slots become per thread (``views=False``)."""
    for op in list(body.walk()):
        if isinstance(op, _UNIFORM) and op.parent_block() is not entry:
            op.detach()
            entry.add_op(op)
            if op in ops:
                ops.remove(op)
        elif views and isinstance(op, memref.ViewOp) and all(
            not isinstance(o, BlockArgument) and o.owner.parent_block() is entry
            for o in op.operands
        ):  # fmt: skip
            op.detach()
            entry.add_op(op)
            if op in ops:
                ops.remove(op)


__all__ = ["CUTS", "Fission", "FissionError", "has_cut", "hoist_uniform", "privatizable"]
