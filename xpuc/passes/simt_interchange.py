"""Thread loops inside uniform loops: which ``scf.for`` loops a CPU kernel runs in
lockstep, and the uniform values their bounds need.

A thread that runs ``for (k = 0; k < n; k++) c[j] += a[k] * b[k * n + j];`` alone
leaves LLVM an inner loop over ``k`` with nothing to vectorize.  When the bounds are the
same for every thread of the block (*uniform*), the loop can run once for the block
with a thread loop inside it: ``for k: for threads: body``.  That is a legal schedule of
the CUDA program (threads of a block run in lockstep on a GPU, and a data race between
threads that do not synchronise has no defined outcome), and its innermost loop runs
over consecutive threads, which LLVM vectorizes.  ``simt_fission.Fission`` performs
it by cutting the kernel at such loops as it cuts at barriers.

A loop is run in lockstep when

- its bounds are uniform: computed from kernel arguments, constants, block ids and
  sizes, and the counters of enclosing lockstep loops, with arithmetic only;
- it carries no values, and every operation enclosing it is an ``scf.if`` without
  results or another lockstep loop (so it is reached in uniform control flow, or under
  a per-thread mask);
- it holds no atomic operation, ``printf`` or call: a thread waiting
  for another thread of its block (a spin lock) must not be made to wait in lockstep,
  and calls may hide either.
"""

from __future__ import annotations

from xdsl.dialects import arith, func, gpu, memref, scf
from xdsl.ir import Block, BlockArgument, Operation, SSAValue

from xpuc.dialects.arith_ext import IndexCastUIOp, RemFOp
from xpuc.dialects.gpu_ext import PrintfOp
from xpuc.dialects.xpu import AtomicCASOp, FenceOp

_BLOCK_LEVEL = (arith.ConstantOp, gpu.BlockIdOp, gpu.GridDimOp, gpu.BlockDimOp,
                gpu.SubgroupSizeOp)  # fmt: skip
_SIDE_EFFECTS = (memref.AtomicRMWOp, AtomicCASOp, FenceOp,
                 PrintfOp, func.CallOp)  # fmt: skip
_TRAPS = (arith.DivSIOp, arith.DivUIOp, arith.RemSIOp, arith.RemUIOp, arith.CeilDivSIOp,
          arith.CeilDivUIOp, arith.FloorDivSIOp)  # fmt: skip


def is_pure(op: Operation) -> bool:
    """Arithmetic without memory effects or regions (it may still trap: see _TRAPS)."""
    if op.regions or isinstance(op, (arith.ConstantOp, *_BLOCK_LEVEL)):
        return not op.regions
    return op.dialect_name() in ("arith", "math") or isinstance(op, IndexCastUIOp | RemFOp)


def _traps(op: Operation) -> bool:
    """An integer division whose divisor is not a nonzero constant."""
    if not isinstance(op, _TRAPS):
        return False
    d = op.operands[1]
    owner = d.owner if not isinstance(d, BlockArgument) else None
    return not (isinstance(owner, arith.ConstantOp) and owner.value.value.data != 0)


class Uniformity:
    """Which values are the same for every thread of a block."""

    def __init__(self, args: list[SSAValue]):
        self.known: dict[SSAValue, bool] = {a: True for a in args}
        self.counters: set[SSAValue] = set()

    def __call__(self, v: SSAValue, depth: int = 0) -> bool:
        if v in self.known:
            return self.known[v]
        if isinstance(v, BlockArgument):
            ok = v in self.counters
        elif depth > 64:
            ok = False
        else:
            op = v.owner
            ok = isinstance(op, _BLOCK_LEVEL) or (
                is_pure(op) and not _traps(op) and all(self(o, depth + 1) for o in op.operands)
            )
        self.known[v] = ok
        return ok


def choose_loops(body: Block, args: list[SSAValue]) -> tuple[set[scf.ForOp], set[Operation]]:
    """The loops of a kernel body to run in lockstep, and the operations computing their
    bounds (uniform arithmetic, to run outside every thread loop)."""
    uniform = Uniformity(args)
    chosen: set[scf.ForOp] = set()
    bounds: set[Operation] = set()

    def visit(block: Block) -> None:
        for op in block.ops:
            if isinstance(op, scf.IfOp) and not op.results:
                for region in op.regions:
                    for b in region.blocks:
                        visit(b)
            elif isinstance(op, scf.ForOp) and _eligible(op, uniform):
                chosen.add(op)
                for v in (op.lb, op.ub, op.step):
                    bounds.update(_slice(v))
                uniform.counters.add(op.body.block.args[0])
                visit(op.body.block)

    visit(body)
    return chosen, bounds


def _eligible(loop: scf.ForOp, uniform: Uniformity) -> bool:
    if loop.iter_args or not all(uniform(v) for v in (loop.lb, loop.ub, loop.step)):
        return False
    touches = False
    counter = loop.body.block.args[0]
    for op in loop.body.walk():
        if isinstance(op, _SIDE_EFFECTS):
            return False
        if isinstance(op, memref.LoadOp | memref.StoreOp) and op.indices:
            touches = True
            idx = op.indices[-1]
            if _step(idx, _is_thread_x) == _OTHER and _step(idx, lambda v: v is counter) == _UNIT:
                # each thread walks its own row: run in lockstep, the threads would
                # touch one cache line each per step, a large power-of-two stride
                # apart (one L1 set); in turn, each streams through its row
                return False
    return touches


_NONE, _UNIT, _OTHER = 0, 1, 2
_CASTS = (arith.IndexCastOp, IndexCastUIOp, arith.ExtSIOp, arith.ExtUIOp, arith.TruncIOp)


def _is_thread_x(v: SSAValue) -> bool:
    return isinstance(v.owner, gpu.ThreadIdOp) and v.owner.dimension.data.value == "x"


def _step(v: SSAValue, var, memo: dict | None = None, depth: int = 0) -> int:
    """How an index moves when ``var`` steps by one: not at all, by one, or otherwise
    (also when the index is computed by more than 64 operations in a row)."""
    memo = {} if memo is None else memo
    if v in memo:
        return memo[v]
    if depth > 64:
        return _OTHER
    if var(v):
        out = _UNIT
    elif isinstance(v, BlockArgument):
        out = _NONE
    else:
        op = v.owner
        parts = [_step(o, var, memo, depth + 1) for o in op.operands]
        if isinstance(op, arith.AddiOp | arith.SubiOp):
            out = _OTHER if all(parts) else max(parts)
        elif isinstance(op, arith.MuliOp):
            if all(parts):
                out = _OTHER
            elif not any(parts):
                out = _NONE
            else:
                k = op.operands[1] if parts[0] else op.operands[0]
                one = isinstance(k.owner, arith.ConstantOp) and k.owner.value.value.data == 1
                out = max(parts) if one else _OTHER
        elif isinstance(op, _CASTS):
            out = parts[0]
        else:
            out = _OTHER if any(parts) else _NONE
    memo[v] = out
    return out


def _slice(v: SSAValue) -> list[Operation]:
    """The operations computing a (uniform) value."""
    out: list[Operation] = []
    todo = [v]
    while todo:
        x = todo.pop()
        if isinstance(x, BlockArgument) or x.owner in out:
            continue
        out.append(x.owner)
        todo += list(x.owner.operands)
    return out


__all__ = ["Uniformity", "choose_loops", "is_pure"]
