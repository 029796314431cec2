"""``map-parallel-loops``: a kernel's ``scf.parallel`` nest becomes its threads.

The loop level's entry into the SIMT level.  A ``gpu.func`` marked ``xpu.map_parallel``
holds, at its top level, one ``scf.parallel`` (step 1) over the iteration space a
frontend found parallel; the launch grid and block are left to this pass, which gives
each iteration its own thread on a 1-D launch:

- ``tile`` empty (the default): the nest is flattened row-major and thread
  ``g = block_id.x * block_size + thread_id.x`` runs iteration ``g``; the launch is
  ``ceil(total / block_size)`` blocks of ``block_size`` threads.
- ``tile = (t_1, ..., t_m)``: the innermost ``m`` dimensions are cut into tiles of
  ``t_1 x ... x t_m`` iterations, one block of ``prod(t)`` threads per tile (the
  outer dimensions' iterations, too, each get their own blocks).  Thread ``u`` of a
  block takes the position ``u`` (row-major) in the tile, so neighbouring threads take
  neighbouring innermost iterations: coalesced on a GPU, one vector on the cpu
  target, whose block is the vectorized thread loop.  A nest shallower than ``m``
  takes the tile's last entries.

A kernel's ``xpu.map_parallel`` may name its own tile (a frontend's schedule: TVM's
``vectorize``), taken where the pass is given none.  The pass writes the tile it used
into the kernel's ``xpu.launch_tile`` (empty: flat) and the block size into
``xpu.launch_block``; :func:`launch` computes the grid from them and the extents.
Iterations past the bounds (the last tile, the last block) do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

from xdsl.context import Context
from xdsl.dialects import arith, builtin, gpu, scf
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from xpuc.compiler.diagnostics import XpucError

MARK = "xpu.map_parallel"
TILE = "xpu.launch_tile"
BLOCK = "xpu.launch_block"
INDEX = builtin.IndexType()


def effective_tile(tile: tuple[int, ...], depth: int) -> tuple[int, ...]:
    """The tile a nest of ``depth`` dimensions takes: the last ``depth`` entries."""
    return tuple(tile[-depth:]) if depth and tile else ()


def launch(extents: list[int], tile: tuple[int, ...], block_size: int
           ) -> tuple[int, int]:  # fmt: skip
    """(blocks, threads per block) of a nest with ``extents`` mapped with ``tile``."""
    tile = effective_tile(tile, len(extents))
    if not tile:
        total = prod(extents)
        return max(-(-total // block_size), 1), max(min(block_size, total), 1)
    m = len(tile)
    tiles = [-(-n // t) for n, t in zip(extents[-m:], tile, strict=True)]
    return max(prod(extents[:-m]) * prod(tiles), 1), prod(tile)


class _Emit:
    def __init__(self, ops: list[Operation]):
        self.ops = ops

    def __call__(self, op: Operation) -> SSAValue:
        self.ops.append(op)
        return op.results[0]

    def const(self, n: int) -> SSAValue:
        return self(arith.ConstantOp.from_int_and_width(n, INDEX))

    def split(self, flat: SSAValue, sizes: list[SSAValue]) -> list[SSAValue]:
        """``flat``'s row-major coordinates over ``sizes`` (the first is not wrapped)."""
        out, rest = [], flat
        for i in reversed(range(len(sizes))):
            out.append(self(arith.RemUIOp(rest, sizes[i])) if i else rest)
            if i:
                rest = self(arith.DivUIOp(rest, sizes[i]))
        return out[::-1]


@dataclass(frozen=True)
class MapParallelLoops(ModulePass):
    name = "map-parallel-loops"

    block_size: int = 256
    tile: tuple[int, ...] = field(default=())

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        if self.block_size < 1 or any(t < 1 for t in self.tile):
            raise XpucError(f"map-parallel-loops: block_size and tile entries must be "
                            f"positive (got {self.block_size}, {self.tile})")  # fmt: skip
        for func in [o for o in op.walk() if isinstance(o, gpu.FuncOp)]:
            if MARK not in func.attributes:
                continue
            loops = [o for o in func.body.block.ops if isinstance(o, scf.ParallelOp)]
            if len(loops) != 1:
                raise XpucError(f"map-parallel-loops: kernel {func.sym_name.data} needs one "
                                f"top-level scf.parallel, found {len(loops)}")  # fmt: skip
            own = func.attributes[MARK]
            own = (
                tuple(a.value.data for a in own.data) if isinstance(own, builtin.ArrayAttr) else ()
            )
            tile = self.map(loops[0], self.tile or own)
            del func.attributes[MARK]
            func.attributes[TILE] = builtin.ArrayAttr([builtin.IntegerAttr(t, 64) for t in tile])
            func.attributes[BLOCK] = builtin.IntegerAttr(self.block_size, 64)

    def map(self, loop: scf.ParallelOp, tile: tuple[int, ...]) -> tuple[int, ...]:
        lo, hi = list(loop.lowerBound), list(loop.upperBound)
        tile = effective_tile(tile, len(lo))
        ops: list[Operation] = []
        e = _Emit(ops)
        sizes = [e(arith.SubiOp(h, lo_)) for lo_, h in zip(lo, hi, strict=True)]
        bid = e(gpu.BlockIdOp(gpu.DimensionAttr(gpu.DimensionEnum.X)))
        tid = e(gpu.ThreadIdOp(gpu.DimensionAttr(gpu.DimensionEnum.X)))
        conds: list[SSAValue] = []
        if not tile:
            g = e(arith.AddiOp(e(arith.MuliOp(bid, e.const(self.block_size))), tid))
            total = sizes[0]
            for n in sizes[1:]:
                total = e(arith.MuliOp(total, n))
            conds.append(e(arith.CmpiOp(g, total, "ult")))
            offs = e.split(g, sizes)
        else:
            m = len(tile)
            ts = [e.const(t) for t in tile]
            counts = [e(arith.DivUIOp(e(arith.AddiOp(n, e.const(t - 1))), c))
                      for n, t, c in zip(sizes[-m:], tile, ts, strict=True)]  # fmt: skip
            blocks = e.split(bid, [*sizes[:-m], *counts])
            within = e.split(tid, ts)
            offs = blocks[:-m]
            for b, t, u, n in zip(blocks[-m:], ts, within, sizes[-m:], strict=True):
                at = e(arith.AddiOp(e(arith.MuliOp(b, t)), u))
                conds.append(e(arith.CmpiOp(at, n, "ult")))
                offs.append(at)
        ivs = [e(arith.AddiOp(o, lo_)) for o, lo_ in zip(offs, lo, strict=True)]
        inside = conds[0]
        for c in conds[1:]:
            inside = e(arith.AndIOp(inside, c))
        body = loop.body.block
        for arg, iv in zip(body.args, ivs, strict=True):
            arg.replace_all_uses_with(iv)
        inner = Block()
        for o in list(body.ops):
            o.detach()
            if not isinstance(o, scf.ReduceOp):
                inner.add_op(o)
        inner.add_op(scf.YieldOp())
        ops.append(scf.IfOp(inside, [], [inner]))
        Rewriter.replace_op(loop, ops, [])
        return tile
