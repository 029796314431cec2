"""The SIMT ops: thread and block ids, ``gpu.barrier``, warp operations, ``gpu.printf``,
``xpu.fence``, and ``func.call`` of device functions.

Warp operations follow the rules the cpu target uses (``passes/simt_warp.py``), so the
two agree: a shuffle reads the source lane's value when the source is inside the
lane's ``width`` segment and inside the block (else the lane keeps its own value and
``valid`` is false); a vote looks at the lanes that are members of the mask and
reached the op.
"""

from __future__ import annotations

import re

from xdsl.dialects import func, gpu
from xdsl.interpreter import (
    InterpreterFunctions,
    PythonValues,
    ReturnedValues,
    impl,
    impl_terminator,
    register_impls,
)

from xpuc.dialects.gpu_ext import PrintfOp
from xpuc.dialects.xpu import FenceOp, LaneMaskOp, ShuffleOp, VoteOp, WarpSyncOp
from xpuc.interpreter.state import ThreadInterpreter, ThreadState
from xpuc.interpreter.values import Fault, int_bits, is_float, signed, unsigned

WARP_SIZE = 32
_DIM = {"x": 0, "y": 1, "z": 2}


def _thread(interp: ThreadInterpreter) -> ThreadState:
    assert interp.thread is not None
    return interp.thread


def _dim(op) -> int:
    return _DIM[op.dimension.data.value]


def shuffle_source(mode: str, lin: int, offset: int, width: int, threads: int) -> int | None:
    """The thread a shuffle reads from, or None when the lane keeps its own value."""
    if width <= 0:
        raise Fault(f"shuffle width must be positive, not {width}")
    lane = lin % WARP_SIZE
    seg = lane - lane % width
    if mode == "idx":
        src = seg + unsigned(offset, 64) % width
    elif mode == "up":
        src = lane - offset
        src = src if src >= seg else None
    elif mode == "down":
        src = lane + offset
        src = src if src < seg + width else None
    else:
        src = lane ^ offset
        src = src if seg <= src < seg + width else None
    if src is None or not 0 <= lin - lane + src < threads:
        return None
    return lin - lane + src


# C printf conversions: flags, width, precision, length (dropped), conversion
_SPEC = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?(hh|h|ll|l|j|z|t|L)?([diouxXeEfFgGaAcsp%])")


def c_format(fmt: str, args: list, types: list) -> str:
    """Format like C's printf, for scalar arguments of the given IR types."""
    it = iter(zip(args, types, strict=True))

    def one(m: re.Match) -> str:
        flags, width, prec, _, conv = m.groups()
        if conv == "%":
            return "%"
        if width == "*":
            width = str(signed(next(it)[0], 32))
        if prec == "*":
            prec = str(signed(next(it)[0], 32))
        try:
            v, t = next(it)
        except StopIteration:
            return m.group(0)
        spec = "%" + flags + (width or "") + ("." + prec if prec is not None else "")
        if conv in "di":
            return (spec + "d") % signed(v, int_bits(t))
        if conv in "uoxX":
            return (spec + ("d" if conv == "u" else conv)) % unsigned(v, int_bits(t))
        if conv == "c":
            return (spec + "c") % chr(unsigned(v, 8))
        if conv == "p":
            return (spec + "s") % hex(unsigned(v, 64))
        if conv in "aA":
            return (spec + "s") % float(v).hex()
        if conv == "s":
            return (spec + "s") % "(string)"
        return (spec + conv) % (float(v) if is_float(t) else v)

    return _SPEC.sub(one, fmt)


@register_impls
class SimtFunctions(InterpreterFunctions):
    # -- ids -----------------------------------------------------------------------

    @impl(gpu.ThreadIdOp)
    def run_thread_id(self, interp: ThreadInterpreter, op: gpu.ThreadIdOp, args: PythonValues):
        return (_thread(interp).tid[_dim(op)],)

    @impl(gpu.BlockIdOp)
    def run_block_id(self, interp: ThreadInterpreter, op: gpu.BlockIdOp, args: PythonValues):
        return (_thread(interp).block.block_id[_dim(op)],)

    @impl(gpu.BlockDimOp)
    def run_block_dim(self, interp: ThreadInterpreter, op: gpu.BlockDimOp, args: PythonValues):
        return (_thread(interp).block.block_dim[_dim(op)],)

    @impl(gpu.GridDimOp)
    def run_grid_dim(self, interp: ThreadInterpreter, op: gpu.GridDimOp, args: PythonValues):
        return (_thread(interp).block.grid_dim[_dim(op)],)

    @impl(gpu.GlobalIdOp)
    def run_global_id(self, interp: ThreadInterpreter, op: gpu.GlobalIdOp, args: PythonValues):
        t, d = _thread(interp), _dim(op)
        return (t.block.block_id[d] * t.block.block_dim[d] + t.tid[d],)

    @impl(gpu.LaneIdOp)
    def run_lane_id(self, interp: ThreadInterpreter, op: gpu.LaneIdOp, args: PythonValues):
        return (_thread(interp).linear % WARP_SIZE,)

    @impl(gpu.SubgroupIdOp)
    def run_subgroup_id(self, interp: ThreadInterpreter, op: gpu.SubgroupIdOp, args: PythonValues):
        return (_thread(interp).linear // WARP_SIZE,)

    @impl(gpu.SubgroupSizeOp)
    def run_subgroup_size(
        self, interp: ThreadInterpreter, op: gpu.SubgroupSizeOp, args: PythonValues
    ):
        return (WARP_SIZE,)

    @impl(gpu.NumSubgroupsOp)
    def run_num_subgroups(
        self, interp: ThreadInterpreter, op: gpu.NumSubgroupsOp, args: PythonValues
    ):
        return (-(-_thread(interp).block.threads // WARP_SIZE),)

    # -- control -------------------------------------------------------------------

    @impl(gpu.BarrierOp)
    def run_barrier(self, interp: ThreadInterpreter, op: gpu.BarrierOp, args: PythonValues):
        t = _thread(interp)
        t.block.sync.barrier(t.linear, op)
        return ()

    @impl_terminator(gpu.ReturnOp)
    def run_return(self, interp: ThreadInterpreter, op: gpu.ReturnOp, args: PythonValues):
        return ReturnedValues(args), ()

    @impl(func.CallOp)
    def run_call(self, interp: ThreadInterpreter, op: func.CallOp, args: PythonValues):
        name = op.callee.string_value()
        callee = _thread(interp).block.module.functions.get(name)
        if callee is None or not callee.body.blocks:
            raise Fault(f"call to @{name}, which has no body here")
        return interp.run_ssacfg_region(callee.body, args, name)

    @impl(FenceOp)
    def run_fence(self, interp: ThreadInterpreter, op: FenceOp, args: PythonValues):
        return ()  # threads interleave op by op: every store is already visible

    @impl(PrintfOp)
    def run_printf(self, interp: ThreadInterpreter, op: PrintfOp, args: PythonValues):
        text = c_format(op.format.data, list(args), [a.type for a in op.args])
        with _thread(interp).block.module.print_lock:
            print(text, end="", flush=True, file=interp.file)
        return ()

    # -- warp operations -----------------------------------------------------------

    @impl(WarpSyncOp)
    def run_warp_sync(self, interp: ThreadInterpreter, op: WarpSyncOp, args: PythonValues):
        t = _thread(interp)
        t.block.sync.warp(t.linear, op, unsigned(args[0], 32), None)
        return ()

    @impl(ShuffleOp)
    def run_shuffle(self, interp: ThreadInterpreter, op: ShuffleOp, args: PythonValues):
        value, offset, width, mask = args
        t = _thread(interp)
        lanes = t.block.sync.warp(t.linear, op, unsigned(mask, 32), value)
        src = shuffle_source(
            op.mode.data, t.linear, signed(offset, 32), signed(width, 32), t.block.threads
        )
        if src is None:
            return (value, False)
        return (lanes.get(src, value), True)

    @impl(VoteOp)
    def run_vote(self, interp: ThreadInterpreter, op: VoteOp, args: PythonValues):
        pred, mask = args
        t = _thread(interp)
        members = unsigned(mask, 32)
        lanes = t.block.sync.warp(t.linear, op, members, int(pred) & 1)
        ballot = active = 0
        for tid, p in lanes.items():
            bit = 1 << tid % WARP_SIZE
            if members & bit:
                active |= bit
                ballot |= bit if p else 0
        mode = op.mode.data
        if mode == "ballot":
            return (signed(ballot, 32),)
        return (ballot != 0 if mode == "any" else ballot == active,)

    @impl(LaneMaskOp)
    def run_active_mask(self, interp: ThreadInterpreter, op: LaneMaskOp, args: PythonValues):
        t = _thread(interp)
        lanes = t.block.sync.warp(t.linear, op, None, None)
        return (signed(sum(1 << tid % WARP_SIZE for tid in lanes), 32),)
