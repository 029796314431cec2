"""``comm-overlap``: communication of one chunk runs while the next one computes.

Two patterns of tensor-parallel layers, split into ``chunks`` pieces along the rows
of the matmul's left operand (a dimension no device splits):

- ``matmul`` then ``shard.all_reduce`` of its result (row-parallel layer): chunk
  ``i``'s all-reduce starts as soon as chunk ``i`` is computed, and runs while chunk
  ``i+1`` computes;
- ``shard.all_gather`` (along rows) then ``matmul`` (sequence-parallel input):
  all chunks' gathers start up front, and chunk ``i``'s matmul runs as soon as its
  rows arrive, while later chunks are still in flight.

Collectives started early carry ``xpu.async``: the runtime waits for them only where
their result is used.  The chunks are put back with ``tensor.concat``.  A matmul whose
rows do not divide into ``chunks`` is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, shard, tensor
from xdsl.dialects.builtin import TensorType, UnitAttr
from xdsl.dialects.linalg import ops as linalg
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from xpuc.comm import tensor_ops
from xpuc.dialects.shard_ext import AllGatherOp

ASYNC = "xpu.async"


def _empty_init(v: SSAValue) -> bool:
    return isinstance(v.owner, tensor.EmptyOp)


def _matmul(a: SSAValue, b: SSAValue, like: linalg.MatmulOp) -> list[Operation]:
    m = a.type.get_shape()[0]  # type: ignore[attr-defined]
    out_t = like.results[0].type
    t = TensorType(out_t.element_type, (m, out_t.get_shape()[1]))  # type: ignore[attr-defined]
    e = tensor.EmptyOp([], t)
    mm = type(like).create(
        operands=[a, b, e.results[0]],
        result_types=[t],
        properties=dict(like.properties),
        attributes=dict(like.attributes),
        regions=[r.clone() for r in like.regions],
    )
    return [e, mm]


def _uses(v: SSAValue) -> list[Operation]:
    return [u.operation for u in v.uses]


def overlap_reduce(mm: linalg.MatmulOp, chunks: int) -> bool:
    users = _uses(mm.results[0])
    if len(users) != 1 or not isinstance(users[0], shard.AllReduceOp):
        return False
    ar = users[0]
    a, b, init = mm.operands[:3]
    m = a.type.get_shape()[0]  # type: ignore[attr-defined]
    if not _empty_init(init) or m % chunks or chunks < 2:
        return False
    cs = m // chunks
    new: list[Operation] = []
    parts = []
    for i in range(chunks):
        ai = tensor_ops.rows(a, 0, i * cs, cs)
        e, mi = _matmul(ai.results[0], b, mm)
        ri = shard.AllReduceOp.create(
            operands=[mi.results[0]],
            result_types=[mi.results[0].type],
            properties=dict(ar.properties),
            attributes={**ar.attributes, ASYNC: UnitAttr()},
        )
        new += [ai, e, mi, ri]
        parts.append(ri.results[0])
    cat = tensor_ops.concat(parts, 0)
    Rewriter.insert_op([*new, cat], InsertPoint.after(ar))
    ar.result.replace_all_uses_with(cat.results[0])
    for op in (ar, mm):
        op.detach()
        op.erase()
    return True


def overlap_gather(mm: linalg.MatmulOp, chunks: int) -> bool:
    g = mm.operands[0].owner
    if not isinstance(g, AllGatherOp) or g.gather_axis.value.data != 0:
        return False
    if len(_uses(g.result)) != 1 or not _empty_init(mm.operands[2]) or chunks < 2:
        return False
    x = g.input
    m_loc = x.type.get_shape()[0]  # type: ignore[attr-defined]
    n = g.result.type.get_shape()[0] // m_loc  # type: ignore[attr-defined]
    if m_loc % chunks:
        return False
    cs = m_loc // chunks
    new: list[Operation] = []
    gathered = []
    for i in range(chunks):
        xi = tensor_ops.rows(x, 0, i * cs, cs)
        t = TensorType(x.type.element_type, (n * cs, *x.type.get_shape()[1:]))  # type: ignore[attr-defined]
        gi = AllGatherOp(xi.results[0], g.grid.root_reference.data, g.grid_axes, 0, t)
        gi.attributes[ASYNC] = UnitAttr()
        new += [xi, gi]
        gathered.append(gi.results[0])
    products = []
    for gi in gathered:
        e, mi = _matmul(gi, mm.operands[1], mm)
        new += [e, mi]
        products.append(mi.results[0])
    pieces = []
    for j in range(n):  # device j's rows come in chunk order
        for p in products:
            s = tensor_ops.rows(p, 0, j * cs, cs)
            new.append(s)
            pieces.append(s.results[0])
    cat = tensor_ops.concat(pieces, 0)
    Rewriter.insert_op([*new, cat], InsertPoint.before(mm))
    mm.results[0].replace_all_uses_with(cat.results[0])
    for op in (mm, g):
        op.detach()
        op.erase()
    return True


@dataclass(frozen=True)
class CommOverlap(ModulePass):
    name = "comm-overlap"

    chunks: int = 4

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for mm in [o for o in op.walk() if isinstance(o, linalg.MatmulOp)]:
            overlap_reduce(mm, self.chunks) or overlap_gather(mm, self.chunks)
