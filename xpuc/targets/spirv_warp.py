"""Warp operations on SPIR-V: CUDA's shuffles and votes over OpenCL sub-groups.

Every shuffle is ``sub_group_shuffle`` (``OpGroupNonUniformShuffle``) from a source
lane computed as PTX's ``shfl.sync`` computes it: within the caller's segment of
``width`` lanes, the caller's own value when the source lies outside it (``valid``
false).  Votes are ``sub_group_ballot`` and ``sub_group_non_uniform_any/all``.  Lane
numbers are those of 32-lane sub-groups (the target pins the sub-group size); the
member mask only filters a ballot: the lanes that vote are the active ones.
"""

from __future__ import annotations

import llvmlite.ir as ir

from xpuc.dialects.xpu import ShuffleOp, VoteOp

I1, I8, I32 = ir.IntType(1), ir.IntType(8), ir.IntType(32)
LANE_ID = "_Z22get_sub_group_local_idv"
# Itanium mangling of the shuffled type in sub_group_shuffle(T, uint)
_MANGLE = {"i8": "c", "i16": "s", "i32": "i", "i64": "l", "half": "Dh", "float": "f",
           "double": "d"}  # fmt: skip


def shuffle(t, op: ShuffleOp) -> list[ir.Value]:
    b = t.b
    val, off, width = t.v(op.value), t.v(op.offset), t.v(op.width)
    lane = t.call_decl(LANE_ID, I32, [], [])
    start = b.and_(lane, b.neg(width))  # widths are powers of two
    last = b.sub(b.add(start, width), ir.Constant(I32, 1))
    mode = op.mode.data
    if mode == "idx":
        src = b.add(start, b.and_(off, b.sub(width, ir.Constant(I32, 1))))
        valid: ir.Value = ir.Constant(I1, 1)
    elif mode == "up":
        src = b.sub(lane, off)
        valid = b.icmp_signed(">=", src, start)
    else:
        src = b.add(lane, off) if mode == "down" else b.xor(lane, off)
        valid = b.icmp_unsigned("<=", src, last)
    src = b.select(valid, src, lane)
    boolean = val.type == I1
    v = b.zext(val, I8) if boolean else val
    name = f"_Z17sub_group_shuffle{_MANGLE[str(v.type)]}j"
    r = t.call_decl(name, v.type, [v.type, I32], [v, src])
    return [b.trunc(r, I1) if boolean else r, valid]


def vote(t, op) -> ir.Value:
    """``__ballot_sync`` / ``__any_sync`` / ``__all_sync``, or ``__activemask()``."""
    b = t.b
    if not isinstance(op, VoteOp):  # the active lanes: a ballot of true
        return _ballot(t, ir.Constant(I32, 1))
    pred = b.zext(t.v(op.predicate), I32)
    mode = op.mode.data
    if mode == "ballot":
        return b.and_(_ballot(t, pred), t.v(op.mask))
    r = t.call_decl(f"_Z25sub_group_non_uniform_{mode}i", I32, [I32], [pred])
    return b.icmp_unsigned("!=", r, ir.Constant(I32, 0))


def _ballot(t, pred: ir.Value) -> ir.Value:
    v4 = ir.VectorType(I32, 4)
    r = t.call_decl("_Z16sub_group_balloti", v4, [I32], [pred])
    return t.b.extract_element(r, ir.Constant(I32, 0))
