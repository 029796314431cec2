"""Warp operations on a CPU, after loop fission: each lane reads its warp's lanes.

Every ``xpu.shuffle`` / ``xpu.vote`` / ``xpu.active_mask`` sits alone in a thread loop
(see ``simt_fission.py``), and the values it reads were stored per thread by the
loops before it.  A shuffle becomes a load from the source lane's slot, with CUDA's
rules for sub-warp widths and out-of-range lanes (the lane keeps its own value).  A
vote scans the 32 (warp size) lanes of the warp: member of the mask, inside the
block and active at this point of the control flow.
"""

from __future__ import annotations

from xdsl.dialects import arith, memref, scf
from xdsl.dialects.builtin import IndexType, IntegerAttr, IntegerType, i32
from xdsl.ir import Block, Operation, Region, SSAValue

from xpuc.dialects.xpu import LaneMaskOp, ShuffleOp, VoteOp
from xpuc.passes.simt_fission import Fission


class _Emit:
    def __init__(self, before: Operation):
        self.before = before

    def __call__(self, op: Operation) -> SSAValue:
        self.before.parent_block().insert_op_before(op, self.before)
        return op.results[0]

    def idx(self, v: int) -> SSAValue:
        return self(arith.ConstantOp(IntegerAttr(v, IndexType())))


def _per_lane(fission: Fission, v: SSAValue) -> SSAValue | None:
    """The per-thread buffer a warp operation's operand was loaded from, if any."""
    op = v.owner
    if isinstance(op, memref.LoadOp) and op.memref in fission.spills.values():
        return op.memref
    return None


def _shuffle(f: Fission, op: ShuffleOp, lin: SSAValue) -> None:
    e = _Emit(op)
    buf = _per_lane(f, op.value)
    if buf is None:  # the same value in every lane
        op.result.replace_all_uses_with(op.value)
        op.valid.replace_all_uses_with(e(arith.ConstantOp.from_int_and_width(1, 1)))
        op.parent_block().erase_op(op)
        return
    w_lanes = e.idx(f.warp)
    lane = e(arith.RemUIOp(lin, w_lanes))
    base = e(arith.SubiOp(lin, lane))
    off = e(arith.IndexCastOp(op.offset, IndexType()))
    width = e(arith.IndexCastOp(op.width, IndexType()))
    seg = e(arith.SubiOp(lane, e(arith.RemUIOp(lane, width))))
    end = e(arith.AddiOp(seg, width))
    mode = op.mode.data
    if mode == "idx":
        src = e(arith.AddiOp(seg, e(arith.RemUIOp(off, width))))
        valid = e(arith.ConstantOp.from_int_and_width(1, 1))
    elif mode == "up":
        src = e(arith.SubiOp(lane, off))
        valid = e(arith.CmpiOp(src, seg, "sge"))
    elif mode == "down":
        src = e(arith.AddiOp(lane, off))
        valid = e(arith.CmpiOp(src, end, "slt"))
    else:
        src = e(arith.XOrIOp(lane, off))
        lo = e(arith.CmpiOp(src, seg, "sge"))
        valid = e(arith.AndIOp(lo, e(arith.CmpiOp(src, end, "slt"))))
    g = e(arith.AddiOp(base, src))
    valid = e(arith.AndIOp(valid, e(arith.CmpiOp(g, f.n.result, "ult"))))
    at = e(arith.SelectOp(valid, g, lin))
    r = e(memref.LoadOp.get(buf, [at]))
    op.result.replace_all_uses_with(r)
    op.valid.replace_all_uses_with(valid)
    op.parent_block().erase_op(op)


def _vote(f: Fission, op: Operation, lin: SSAValue, mask_buf: SSAValue | None) -> None:
    e = _Emit(op)
    if isinstance(op, VoteOp):
        pred, members = op.predicate, op.mask
        pbuf = _per_lane(f, pred)
    else:
        pred, members, pbuf = None, e(arith.ConstantOp(IntegerAttr(-1, i32))), None
    w_lanes = e.idx(f.warp)
    base = e(arith.SubiOp(lin, e(arith.RemUIOp(lin, w_lanes))))
    zero = e(arith.ConstantOp(IntegerAttr(0, i32)))
    body = Block(arg_types=[IndexType(), i32, i32])
    j, bits, part = body.args
    ops: list[Operation] = []

    def add(o: Operation) -> SSAValue:
        ops.append(o)
        return o.results[0]

    t = add(arith.AddiOp(base, j))
    inside = add(arith.CmpiOp(t, f.n.result, "ult"))
    tc = add(arith.SelectOp(inside, t, lin))
    ok = inside
    if mask_buf is not None:
        ok = add(arith.AndIOp(ok, add(memref.LoadOp.get(mask_buf, [tc]))))
    j32 = add(arith.IndexCastOp(j, i32))
    one = add(arith.ConstantOp(IntegerAttr(1, i32)))
    member = add(arith.AndIOp(add(arith.ShRUIOp(members, j32)), one))
    ok = add(arith.AndIOp(ok, add(arith.TruncIOp(member, IntegerType(1)))))
    p = ok
    if pred is not None:
        pv = add(memref.LoadOp.get(pbuf, [tc])) if pbuf is not None else pred
        p = add(arith.AndIOp(ok, pv))
    bit = add(arith.ShLIOp(add(arith.ExtUIOp(p, i32)), j32))
    okbit = add(arith.ShLIOp(add(arith.ExtUIOp(ok, i32)), j32))
    nbits = add(arith.OrIOp(bits, bit))
    npart = add(arith.OrIOp(part, okbit))
    body.add_ops([*ops, scf.YieldOp(nbits, npart)])
    loop = scf.ForOp(e.idx(0), w_lanes, e.idx(1), [zero, zero], Region(body))
    e(loop)
    ballot, active = loop.results
    if isinstance(op, LaneMaskOp):
        r = active
    elif op.mode.data == "ballot":
        r = ballot
    elif op.mode.data == "any":
        r = e(arith.CmpiOp(ballot, zero, "ne"))
    else:
        r = e(arith.CmpiOp(ballot, active, "eq"))
    op.results[0].replace_all_uses_with(r)
    op.parent_block().erase_op(op)


def lower_warp_ops(fission: Fission) -> None:
    for op, mask in fission.warp_ops:
        loop = fission.loop_of(op)
        assert loop is not None
        if isinstance(op, ShuffleOp):
            _shuffle(fission, op, loop.lin)
        else:
            _vote(fission, op, loop.lin, mask)
