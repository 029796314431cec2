"""Which pointer arguments of a kernel may be written through (an analysis, not a pass).

Runtimes use it to know what to copy back from a device and which arguments may be
read-only arrays.  It follows each pointer (a memref) through views, casts and calls
into device functions; a store or an atomic through it is a write, and so is any use
it does not understand (a memref carried by control flow or stored to memory, an
unknown op), so the answer errs on the side of "may write".
"""

from __future__ import annotations

from xdsl.dialects import func, gpu, memref
from xdsl.dialects.builtin import MemRefType, ModuleOp
from xdsl.ir import Operation, SSAValue

_READS = (memref.LoadOp, memref.DimOp, memref.ExtractAlignedPointerAsIndexOp)
_DERIVES = ("memref.view", "memref.cast", "memref.subview", "memref.reinterpret_cast",
            "memref.memory_space_cast", "xpu.reinterpret", "arith.select")  # fmt: skip
"""Ops whose memref result is (a view of) a memref operand: the result is followed."""


class _Effects:
    def __init__(self, module: ModuleOp):
        self.funcs = {op.sym_name.data: op for op in module.walk() if isinstance(op, func.FuncOp)}
        self.seen: dict[tuple[int, int], bool] = {}  # (function, argument) -> may write

    def writes(self, value: SSAValue, depth: int = 0) -> bool:
        if depth > 64:
            return True
        for use in value.uses:
            op = use.operation
            if isinstance(op, _READS):
                continue
            if op.name in _DERIVES and (use.index == 0 or op.name == "arith.select"):
                results = [r for r in op.results if isinstance(r.type, MemRefType)]
                if not results or any(self.writes(r, depth + 1) for r in results):
                    return True
                continue
            if isinstance(op, func.CallOp):
                if self._callee_writes(op, use.index, depth):
                    return True
                continue
            return True  # stores, atomics, control flow, anything else: may write
        return False

    def _callee_writes(self, call: func.CallOp, index: int, depth: int) -> bool:
        callee = self.funcs.get(call.callee.string_value())
        if callee is None or not callee.body.blocks:
            return True
        key = (id(callee), index)
        if key not in self.seen:
            self.seen[key] = True  # a recursive call: assume it writes
            arg = callee.body.blocks[0].args[index]
            self.seen[key] = self.writes(arg, depth + 1)
        return self.seen[key]


def written_args(module: ModuleOp, kernel: Operation) -> list[int]:
    """Indices of the kernel's pointer (memref) arguments it may write through."""
    assert isinstance(kernel, gpu.FuncOp | func.FuncOp)
    effects = _Effects(module)
    args = kernel.body.blocks[0].args
    return [i for i, a in enumerate(args)
            if isinstance(a.type, MemRefType) and effects.writes(a)]  # fmt: skip
