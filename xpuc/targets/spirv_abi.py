"""``spirv-kernel-abi``: give memrefs the address spaces an OpenCL SPIR-V module needs.

CUDA's pointers are generic, and the shared IR follows it: a kernel's pointer
parameters and its local arrays are memrefs with no memory space.  In SPIR-V for
OpenCL a kernel's buffer parameters are ``CrossWorkgroup`` pointers and the stack is
``Function`` memory; neither is the ``Generic`` space that device functions take.
This pass

- puts the memref parameters of kernels in memory space 1 (global) and stack
  allocations in space 5 (private), NVVM's numbers as the rest of the shared IR has
  them.  Loads, stores and atomics through such a memref, and views and casts of it,
  keep the space (so LLVM sees ``addrspace(1)`` accesses); every other use (a call, a
  ``select``, a branch) gets one ``memref.memory_space_cast`` back to the generic type;
- passes a ``bool`` kernel parameter as a byte (OpenCL kernels take no ``bool``);
- turns ``gpu.dynamic_shared_memory`` into a trailing ``memref<?xi8, 3>`` parameter of
  each function that reads it, directly or through the functions it calls (OpenCL
  passes dynamically sized local memory as a ``__local`` kernel argument).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, builtin, func, gpu, memref
from xdsl.dialects.builtin import DYNAMIC_INDEX, IntegerAttr, MemRefType, NoneAttr
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from xpuc.dialects.gpu_ext import DynamicSharedMemoryOp
from xpuc.dialects.xpu import AtomicCASOp, ReinterpretOp

GLOBAL, SHARED, PRIVATE = 1, 3, 5
_ACCESS = (memref.LoadOp, memref.StoreOp, memref.AtomicRMWOp, AtomicCASOp)
_SAME_POINTER = (memref.CastOp, memref.ViewOp, ReinterpretOp)  # result = source's memory
DYNAMIC_SHARED = MemRefType(builtin.i8, [DYNAMIC_INDEX], NoneAttr(), IntegerAttr(SHARED, 64))


def _in_space(t: MemRefType, space: int) -> MemRefType:
    return MemRefType(t.element_type, t.get_shape(), t.layout, IntegerAttr(space, 64))


def _respace(val: SSAValue, space: int) -> None:
    """Give ``val`` memory space ``space``; uses that cannot take it get a generic cast."""
    generic_type = val.type
    val = Rewriter.replace_value_with_new_type(val, _in_space(generic_type, space))
    generic: SSAValue | None = None
    for use in list(val.uses):
        user = use.operation
        if isinstance(user, _ACCESS) and user.memref is val:
            continue
        if isinstance(user, _SAME_POINTER) and use.index == 0:
            _respace(user.results[0], space)
            continue
        if generic is None:
            cast = memref.MemorySpaceCastOp(val, generic_type)
            if isinstance(val.owner, Block):
                val.owner.insert_op_before(cast, val.owner.first_op)
            else:
                val.owner.parent_block().insert_op_after(cast, val.owner)
            generic = cast.dest
        user.operands = [generic if o is val else o for o in user.operands]


def _bool_as_byte(arg: SSAValue) -> None:
    byte = Rewriter.replace_value_with_new_type(arg, builtin.i8)
    uses = list(byte.uses)
    trunc = arith.TruncIOp(byte, builtin.i1)
    arg.owner.insert_op_before(trunc, arg.owner.first_op)
    for use in uses:
        use.operation.operands = [trunc.result if o is byte else o for o in use.operation.operands]


def _is_generic(t) -> bool:
    return isinstance(t, MemRefType) and isinstance(t.memory_space, NoneAttr)


def _add_param(fn: Operation, t: MemRefType) -> SSAValue:
    entry = fn.body.blocks[0]
    arg = entry.insert_arg(t, len(entry.args))
    fn.function_type = builtin.FunctionType.from_lists(entry.arg_types, fn.function_type.outputs)
    return arg


def _callee(op: func.CallOp) -> str:
    return op.callee.root_reference.data


def _pass_dynamic_shared(gmod: gpu.ModuleOp) -> None:
    funcs = {f.sym_name.data: f for f in gmod.body.block.ops
             if isinstance(f, func.FuncOp | gpu.FuncOp) and f.body.blocks}  # fmt: skip
    needs = {n for n, f in funcs.items() if any(isinstance(o, DynamicSharedMemoryOp)
                                                for o in f.walk())}  # fmt: skip
    grew = True
    while grew:  # callers of functions that need it need it too
        more = {n for n, f in funcs.items() if n not in needs and any(
            isinstance(o, func.CallOp) and _callee(o) in needs for o in f.walk())}  # fmt: skip
        needs |= more
        grew = bool(more)
    for name in needs:
        fn = funcs[name]
        arg = _add_param(fn, DYNAMIC_SHARED)
        for op in list(fn.walk()):
            if isinstance(op, DynamicSharedMemoryOp):
                op.results[0].replace_all_uses_with(arg)
                op.parent_block().erase_op(op)
            elif isinstance(op, func.CallOp) and _callee(op) in needs:
                op.operands = [*op.operands, arg]


@dataclass(frozen=True)
class SPIRVKernelABI(ModulePass):
    name = "spirv-kernel-abi"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for gmod in [o for o in op.walk() if isinstance(o, gpu.ModuleOp)]:
            _pass_dynamic_shared(gmod)
        for o in list(op.walk()):
            if isinstance(o, gpu.FuncOp) and o.kernel is not None and o.body.blocks:
                entry = o.body.blocks[0]
                for k in range(len(entry.args)):
                    if _is_generic(entry.args[k].type):
                        _respace(entry.args[k], GLOBAL)
                    elif entry.args[k].type == builtin.i1:
                        _bool_as_byte(entry.args[k])
                o.function_type = builtin.FunctionType.from_lists(
                    entry.arg_types, o.function_type.outputs
                )
            elif isinstance(o, memref.AllocaOp) and _is_generic(o.memref.type):
                _respace(o.memref, PRIVATE)
