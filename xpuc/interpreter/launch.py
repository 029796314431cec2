"""Launching interpreted kernels: the same interface as ``xpuc.runtime.cpu``'s
``CPUModule``/``CPUKernel``, so a test can run a kernel both ways."""

from __future__ import annotations

import threading
from functools import cache

import numpy as np
from xdsl.dialects import func, gpu
from xdsl.dialects.builtin import MemRefType, ModuleOp
from xdsl.interpreter import InterpreterFunctions
from xdsl.interpreters.arith import ArithFunctions as XdslArith
from xdsl.interpreters.builtin import BuiltinFunctions
from xdsl.interpreters.cf import CfFunctions
from xdsl.interpreters.func import FuncFunctions
from xdsl.interpreters.math import MathFunctions as XdslMath
from xdsl.interpreters.scf import ScfFunctions

from xpuc.compiler.artifact import (
    Artifact,
    KernelInfo,
    KernelTable,
    flatten_args,
    launch_dims,
)
from xpuc.compiler.diagnostics import XpucError
from xpuc.interpreter.arith import ArithFunctions
from xpuc.interpreter.math import MathFunctions
from xpuc.interpreter.memory import MemoryFunctions
from xpuc.interpreter.simt import WARP_SIZE, SimtFunctions
from xpuc.interpreter.state import BlockState, ModuleState, ThreadInterpreter, ThreadState
from xpuc.interpreter.sync import Aborted, BlockSync
from xpuc.interpreter.values import (
    Fault,
    InterpretError,
    UnsupportedOpError,
    describe,
    memref_of_array,
    null_memref,
    to_python,
)

# xDSL's function sets first, then ours over them (override=True): ours replace what is
# missing or wrong for kernels (see each module's docstring).
_FUNCTION_SETS: tuple[tuple[InterpreterFunctions, bool], ...] = (
    (XdslArith(), False), (ScfFunctions(), False), (FuncFunctions(), False),
    (CfFunctions(), False), (BuiltinFunctions(), False), (XdslMath(), False),
    (ArithFunctions(), True), (MathFunctions(), True), (MemoryFunctions(), True),
    (SimtFunctions(), True),
)  # fmt: skip

# signature code -> the numpy dtype an array argument must have (as the cpu runtime)
_ARRAY_DTYPES = {"i1": np.bool_, "i8": np.int8, "u8": np.uint8, "i16": np.int16,
                 "u16": np.uint16, "i32": np.int32, "u32": np.uint32, "i64": np.int64,
                 "u64": np.uint64, "f16": np.float16, "f32": np.float32,
                 "f64": np.float64}  # fmt: skip


def _interpreter(module: ModuleOp, thread: ThreadState | None) -> ThreadInterpreter:
    interp = ThreadInterpreter(module, index_bitwidth=64, thread=thread)
    for functions, override in _FUNCTION_SETS:
        interp.register_implementations(functions, override=override)
    return interp


@cache
def supported_ops() -> frozenset[type]:
    """Every op type the interpreter can run."""
    probe = _interpreter(ModuleOp([]), None)
    return frozenset(probe._impls._impl_dict)  # xDSL has no public listing of them


class InterpretedKernel:
    def __init__(self, module: InterpretedModule, info: KernelInfo, op: gpu.FuncOp):
        self.module = module
        self.info = info
        self.op = op
        self._checked = False

    def __getitem__(self, launch):
        """``k[grid, block]`` or ``k[grid, block, dynamic_shared_bytes]``, as ``<<<>>>``."""
        grid, block, *shared = launch
        return lambda *args: self.launch(grid, block, *args, shared=shared[0] if shared else 0)

    def __call__(self, *args, grid=1, block=1, shared=0):
        return self.launch(grid, block, *args, shared=shared)

    def _check_ops(self) -> None:
        """Every op the kernel and the functions it calls use must be runnable: say so
        before starting threads, naming the op."""
        if self._checked:
            return
        ok, seen, todo = supported_ops(), set(), [self.op]
        while todo:
            fn = todo.pop()
            for op in fn.walk():
                if op is fn:
                    continue
                if type(op) not in ok:
                    raise UnsupportedOpError(
                        f"the interpreter does not support {describe(op)} "
                        f"(in {fn.sym_name.data}, reached from kernel {self.info.name})"
                    )
                if isinstance(op, func.CallOp) and op.callee.string_value() not in seen:
                    seen.add(op.callee.string_value())
                    target = self.module.state.functions.get(op.callee.string_value())
                    if target is not None:
                        todo.append(target)
        self._checked = True

    def _arguments(self, args) -> list:
        info, types = self.info, self.op.function_type.inputs.data
        args = flatten_args(args)
        if len(args) != len(types):
            raise XpucError(
                f"kernel {info.name} takes {len(types)} arguments "
                f"({', '.join(info.arg_names)}), {len(args)} given"
            )
        codes = info.arg_types if len(info.arg_types) == len(types) else [""] * len(types)
        names = info.arg_names if len(info.arg_names) == len(types) else [""] * len(types)
        values = []
        for a, t, code, name in zip(args, types, codes, names, strict=True):
            if isinstance(t, MemRefType):
                values.append(self._array(a, t, code, name))
                continue
            try:
                values.append(to_python(a.item() if isinstance(a, np.generic) else a, t))
            except (TypeError, ValueError, Fault):
                raise XpucError(
                    f"argument '{name}' of {info.name} must be a number ({t}), not {a!r}"
                ) from None
        return values

    def _array(self, a, t: MemRefType, code: str, name: str):
        if a is None:
            return null_memref(t)
        what = f"argument '{name}' of {self.info.name}"
        if not isinstance(a, np.ndarray):
            raise XpucError(f"{what} must be a numpy array ({code or t})")
        want = _ARRAY_DTYPES.get(code.lstrip("*"))
        if want is not None and a.dtype != want and not (code == "*u8" and a.dtype.fields):
            raise XpucError(f"{what} must have dtype {np.dtype(want)}, not {a.dtype}")
        if not a.flags.c_contiguous:
            raise XpucError(f"{what} must be C-contiguous")
        return memref_of_array(a, t)

    def launch(self, grid, block, *args, shared: int = 0) -> None:
        g = launch_dims(grid, "grid")
        b = launch_dims(block, "block")
        if b[0] * b[1] * b[2] > self.info.max_threads_per_block:
            raise XpucError(
                f"block of {b[0] * b[1] * b[2]} threads exceeds the limit of "
                f"{self.info.max_threads_per_block} for {self.info.name}"
            )
        if shared < 0:
            raise XpucError(f"dynamic shared memory size must be >= 0, not {shared}")
        self._check_ops()
        values = self._arguments(args)
        for z in range(g[2]):
            for y in range(g[1]):
                for x in range(g[0]):
                    self._run_block((x, y, z), g, b, values, shared)

    def _run_block(self, bid, grid, block, values, shared: int) -> None:
        n = block[0] * block[1] * block[2]
        state = BlockState(self.module.state, bid, grid, block, np.zeros(shared, np.uint8),
                           BlockSync(n, WARP_SIZE, self.module.state.order))  # fmt: skip
        errors: list[tuple[int, BaseException]] = []
        threads = []
        for lin in range(n):
            t = ThreadState(state, _thread_id(lin, block), lin)
            threads.append(threading.Thread(target=self._run_thread, args=(t, values, errors),
                                            name=f"xpuc-interp-{lin}", daemon=True))  # fmt: skip
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            lin, e = errors[0]
            where = f"kernel {self.info.name}, block {bid}, thread {_thread_id(lin, block)}"
            if isinstance(e, InterpretError):
                raise type(e)(f"{where}: {e}") from e.__cause__
            raise InterpretError(f"{where}: internal error: {type(e).__name__}: {e}") from e

    def _run_thread(self, t: ThreadState, values: list, errors: list) -> None:
        sync = t.block.sync
        try:
            interp = _interpreter(self.module.state.module, t)
            sync.begin(t.linear)
            with np.errstate(all="ignore"):
                interp.run_ssacfg_region(self.op.body, tuple(values), self.op.sym_name.data)
        except Aborted:
            pass
        except BaseException as e:  # reported by the launching thread
            errors.append((t.linear, e))
            sync.fail()
        finally:
            sync.finish(t.linear)


def _thread_id(lin: int, block: tuple[int, int, int]) -> tuple[int, int, int]:
    """threadIdx of the thread with linear id ``lin``."""
    return (lin % block[0], lin // block[0] % block[1], lin // (block[0] * block[1]))


class InterpretedModule(KernelTable):
    """Kernels of a module, run by the interpreter: ``mod.saxpy[grid, block](...)``."""

    def __init__(self, module: ModuleOp, infos: list[KernelInfo]):
        self.state = ModuleState(module)
        ops = {
            op.sym_name.data: op
            for op in module.walk()
            if isinstance(op, gpu.FuncOp) and op.kernel is not None
        }
        self.kernels: dict[str, InterpretedKernel] = {}
        for info in infos:
            op = ops.get(info.link_name)
            if op is not None:
                self.kernels[info.name] = InterpretedKernel(self, info, op)
        if not self.kernels:
            raise XpucError(
                "no SIMT-level kernels (gpu.func with the kernel attribute) to interpret"
            )

    def symbol(self, name: str) -> np.ndarray:
        """A ``__device__``/``__constant__`` variable as a numpy array over its memory
        (``cudaMemcpyToSymbol`` is a write to it)."""
        mem = self.state.globals.get(name)
        if mem is None:
            raise XpucError(f"no __device__ or __constant__ variable named '{name}'")
        n = 1
        for d in mem.shape:
            n *= d
        return mem.data[:n]


def load(source: Artifact | ModuleOp | str) -> InterpretedModule:
    """Kernels to interpret, from an artifact (its SIMT-level IR), a module, or IR text."""
    from xpuc.compiler.driver import kernel_infos, parse_mlir

    if isinstance(source, Artifact):
        text = source.stages.get("opt", source.stages.get("mlir"))
        if not isinstance(text, str):
            raise XpucError("the artifact holds no SIMT-level IR (stage 'opt' or 'mlir')")
        module, infos = parse_mlir(text, "<opt>"), source.kernels
    elif isinstance(source, ModuleOp):
        module, infos = source, kernel_infos(source, 1024)
    elif isinstance(source, str):
        module = parse_mlir(source)
        infos = kernel_infos(module, 1024)
    else:
        raise XpucError(f"cannot interpret a {type(source).__name__}")
    return InterpretedModule(module, infos)
