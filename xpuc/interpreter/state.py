"""What the interpreter keeps per module, per block and per thread, and the per-thread
xDSL interpreter that runs one GPU thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import IntegerType, ModuleOp
from xdsl.interpreter import Interpreter, OpImplResult, PythonValues, ReturnedValues
from xdsl.ir import Operation, Region
from xdsl.utils.scoped_dict import ScopedDict

from xpuc.interpreter.sync import Aborted, BlockSync
from xpuc.interpreter.values import (
    Fault,
    InterpretError,
    Memref,
    UnsupportedOpError,
    describe,
    memory_space,
    signed,
)

SHARED_SPACE = 3


def _initialized(g: memref.GlobalOp) -> Memref:
    mem = Memref.zeros(g.type)
    init = g.initial_value
    if hasattr(init, "get_values"):
        values = list(init.get_values())  # type: ignore[union-attr]
        et = g.type.element_type
        if isinstance(et, IntegerType):
            values = [signed(v, et.width.data) for v in values]
        mem.data[: len(values)] = values
    return mem


class ModuleState:
    """One loaded module: its device functions, its ``__device__``/``__constant__``
    variables (one buffer each, kept across launches) and the locks its launches share."""

    def __init__(self, module: ModuleOp):
        self.module = module
        self.functions: dict[str, func.FuncOp] = {}
        self.globals: dict[str, Memref] = {}
        self.shared: list[memref.GlobalOp] = []
        self.order: dict[Operation, int] = {}  # op -> position in the IR
        for op in module.walk():
            self.order[op] = len(self.order)
            if isinstance(op, func.FuncOp):
                self.functions[op.sym_name.data] = op
            elif isinstance(op, memref.GlobalOp):
                if memory_space(op.type) == SHARED_SPACE:
                    self.shared.append(op)
                else:
                    self.globals[op.sym_name.data] = _initialized(op)
        self.atomic_lock = threading.Lock()  # every atomic of every launch
        self.print_lock = threading.Lock()


@dataclass
class BlockState:
    """One block of a launch: its ids, its shared memory and its meeting points."""

    module: ModuleState
    block_id: tuple[int, int, int]
    grid_dim: tuple[int, int, int]
    block_dim: tuple[int, int, int]
    dynamic_shared: np.ndarray
    sync: BlockSync
    shared: dict[str, Memref] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for g in self.module.shared:
            self.shared[g.sym_name.data] = Memref.zeros(g.type)

    @property
    def threads(self) -> int:
        x, y, z = self.block_dim
        return x * y * z


@dataclass
class ThreadState:
    block: BlockState
    tid: tuple[int, int, int]
    linear: int  # x + y * bx + z * bx * by: lanes of a warp are consecutive


@dataclass
class ThreadInterpreter(Interpreter):
    """The xDSL interpreter of one GPU thread; ``thread`` is what the SIMT ops read.

    ``_run_op`` dispatches as xDSL's does, minus its error path: xDSL wraps every
    exception in a diagnostic that prints the whole module for each op it passes
    through (nested regions, device calls), which is slow and no help to a user.
    Here a fault becomes an :class:`InterpretError` naming the innermost op, once.
    """

    thread: ThreadState | None = None

    def run_ssacfg_region(
        self, region: Region, args: PythonValues, name: str = "unknown"
    ) -> PythonValues:
        """xDSL's region loop, minus its per-op checks (it formats an assertion message
        for every op it runs, which costs as much as running the op)."""
        block = region.blocks.first
        outer = self._ctx
        try:
            while block is not None:
                scope = self._ctx = ScopedDict(self._ctx, name=name)
                for arg, value in zip(block.args, args, strict=True):
                    scope[arg] = value
                op = block.first_op
                block = None
                while op is not None:
                    result = self._run_op(op, tuple(scope[v] for v in op.operands))
                    for res, value in zip(op.results, result.values, strict=True):
                        scope[res] = value
                    jump = result.terminator_value
                    if isinstance(jump, ReturnedValues):
                        return jump.values
                    if jump is not None:
                        block, args = jump.block, jump.args
                        break
                    op = op.next_op
            return ()
        finally:
            self._ctx = outer

    def _run_op(self, op: Operation, inputs: PythonValues) -> OpImplResult:
        assert self.thread is not None
        if self.thread.block.sync.failed:
            raise Aborted
        found = self._impls._impl_dict.get(type(op))  # see the docstring
        if found is None:
            raise UnsupportedOpError(f"the interpreter does not support {describe(op)}")
        ft, run = found
        try:
            return run(ft, self, op, inputs)
        except (InterpretError, Aborted):
            raise
        except Fault as e:
            raise InterpretError(f"{describe(op)}: {e}") from None
        except ZeroDivisionError:
            raise InterpretError(f"{describe(op)}: division by zero") from None
        except Exception as e:
            raise InterpretError(f"{describe(op)}: {type(e).__name__}: {e}") from e
