"""The ``xpu`` dialect: what the shared IR needs and upstream MLIR does not provide.

Every op here says why no upstream op fits.  The SIMT level otherwise uses the
upstream ``gpu``, ``arith``, ``math``, ``scf``, ``cf``, ``memref`` and ``func`` dialects.
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import (
    I1,
    I32,
    IndexType,
    IntegerType,
    MemRefType,
    StringAttr,
    i1,
    i32,
)
from xdsl.ir import Attribute, Dialect, Operation, SSAValue
from xdsl.irdl import (
    AnyAttr,
    IRDLOperation,
    VarConstraint,
    base,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    var_operand_def,
)
from xdsl.utils.exceptions import VerifyException

_SHUFFLE_MODES = ("idx", "up", "down", "xor")
_VOTE_MODES = ("ballot", "any", "all")


@irdl_op_definition
class ShuffleOp(IRDLOperation):
    """Exchange a value between lanes of a subgroup (warp/wavefront), as ``__shfl*_sync``.

    Upstream ``gpu.shuffle`` exists in MLIR but not in xDSL 0.74, and it has no
    member mask; CUDA's ``__shfl_*_sync(mask, v, lane, width)`` needs both the mask
    and a sub-width, so xpu carries them.  ``valid`` is false when the source lane is
    outside the segment (the value is then the caller's own, as CUDA defines).
    """

    name = "xpu.shuffle"

    T: ClassVar = VarConstraint("T", AnyAttr())
    mode = prop_def(StringAttr)
    value = operand_def(T)
    offset = operand_def(I32)
    width = operand_def(I32)
    mask = operand_def(I32)
    result = result_def(T)
    valid = result_def(I1)

    assembly_format = "$mode $value `,` $offset `,` $width `,` $mask attr-dict `:` type($value)"

    def __init__(
        self,
        mode: str,
        value: SSAValue | Operation,
        offset: SSAValue | Operation,
        width: SSAValue | Operation,
        mask: SSAValue | Operation,
    ):
        vt = SSAValue.get(value).type
        super().__init__(
            operands=[value, offset, width, mask],
            result_types=[vt, i1],
            properties={"mode": StringAttr(mode)},
        )

    def verify_(self) -> None:
        if self.mode.data not in _SHUFFLE_MODES:
            raise VerifyException(
                f"'xpu.shuffle' mode must be one of {', '.join(_SHUFFLE_MODES)}, "
                f"got '{self.mode.data}'"
            )
        if not isinstance(self.value.type, IntegerType) and self.value.type.name not in (
            "f32", "f64", "f16", "bf16",
        ):  # fmt: skip
            raise VerifyException(
                f"'xpu.shuffle' value must be an integer or float scalar, got {self.value.type}"
            )


@irdl_op_definition
class VoteOp(IRDLOperation):
    """Subgroup vote: ``ballot`` (bit mask of lanes whose predicate holds), ``any``, ``all``.

    Upstream MLIR has ``nvvm.vote.ballot`` and ``rocdl`` intrinsics per vendor but no
    target-neutral vote in ``gpu``; ``gpu.subgroup_reduce`` needs a value and cannot
    take the member mask of ``__ballot_sync``.
    """

    name = "xpu.vote"

    mode = prop_def(StringAttr)
    predicate = operand_def(I1)
    mask = operand_def(I32)
    result = result_def(base(IntegerType))

    assembly_format = "$mode $predicate `,` $mask attr-dict `:` type($result)"

    def __init__(self, mode: str, predicate: SSAValue | Operation, mask: SSAValue | Operation):
        rt: Attribute = i32 if mode == "ballot" else i1
        super().__init__(
            operands=[predicate, mask], result_types=[rt], properties={"mode": StringAttr(mode)}
        )

    def verify_(self) -> None:
        if self.mode.data not in _VOTE_MODES:
            raise VerifyException(
                f"'xpu.vote' mode must be one of {', '.join(_VOTE_MODES)}, got '{self.mode.data}'"
            )
        want = i32 if self.mode.data == "ballot" else i1
        if self.result.type != want:
            raise VerifyException(
                f"'xpu.vote' {self.mode.data} returns {want}, not {self.result.type}"
            )


@irdl_op_definition
class LaneMaskOp(IRDLOperation):
    """``__activemask()``: the mask of lanes of the subgroup that execute this op.

    No upstream op reads the active-lane mask in a target-neutral way.  Not pure:
    its value depends on the control flow that reaches it.
    """

    name = "xpu.active_mask"
    result = result_def(I32)
    assembly_format = "attr-dict `:` type($result)"

    def __init__(self):
        super().__init__(result_types=[i32])


@irdl_op_definition
class AtomicCASOp(IRDLOperation):
    """Atomic compare-and-swap on one memref element; returns the old value.

    Upstream ``memref.atomic_rmw`` has no compare-and-swap kind, and the region-based
    ``memref.generic_atomic_rmw`` is missing from xDSL 0.74 (and needs a CAS loop to
    lower anyway).  CUDA's ``atomicCAS`` is exactly this op.
    """

    name = "xpu.atomic_cas"

    T: ClassVar = VarConstraint("T", base(IntegerType))
    memref = operand_def(MemRefType)
    indices = var_operand_def(IndexType)
    compare = operand_def(T)
    value = operand_def(T)
    result = result_def(T)

    assembly_format = (
        "$memref `[` $indices `]` `,` $compare `,` $value attr-dict "
        "`:` type($memref) `,` type($value)"
    )

    def __init__(self, ref, indices, compare, value):
        super().__init__(
            operands=[ref, indices, compare, value], result_types=[SSAValue.get(value).type]
        )

    def verify_(self) -> None:
        mt = self.memref.type
        assert isinstance(mt, MemRefType)
        if mt.element_type != self.value.type:
            raise VerifyException(
                f"'xpu.atomic_cas' value type {self.value.type} does not match {mt}"
            )


@irdl_op_definition
class WarpSyncOp(IRDLOperation):
    """``__syncwarp(mask)``: the lanes in ``mask`` meet here (a barrier for one warp).

    Upstream ``gpu.barrier`` synchronises the whole workgroup; NVVM's
    ``bar.warp.sync`` has no target-neutral counterpart.
    """

    name = "xpu.warp_sync"
    mask = operand_def(I32)
    assembly_format = "$mask attr-dict"

    def __init__(self, mask: SSAValue | Operation):
        super().__init__(operands=[mask])


_SCOPES = ("block", "device", "system")


@irdl_op_definition
class FenceOp(IRDLOperation):
    """``__threadfence_block/__threadfence/__threadfence_system``: order this thread's
    memory accesses as seen by the block, the device or the whole system.

    Upstream has ``llvm.fence`` only at the LLVM level; ``gpu`` has no memory fence.
    """

    name = "xpu.fence"
    scope = prop_def(StringAttr)
    assembly_format = "$scope attr-dict"

    def __init__(self, scope: str):
        super().__init__(properties={"scope": StringAttr(scope)})

    def verify_(self) -> None:
        if self.scope.data not in _SCOPES:
            raise VerifyException(f"'xpu.fence' scope must be one of {', '.join(_SCOPES)}")


@irdl_op_definition
class ReinterpretOp(IRDLOperation):
    """The same memory seen with another element type: C's ``(unsigned *)float_ptr``.

    Upstream ``memref.view`` changes the element type only of an ``i8`` buffer, and
    ``memref.reinterpret_cast`` never changes it.  The result is one-dimensional and
    dynamic; the memory space is kept.
    """

    name = "xpu.reinterpret"
    source = operand_def(MemRefType)
    result = result_def(MemRefType)
    assembly_format = "$source attr-dict `:` type($source) `to` type($result)"

    def __init__(self, source: SSAValue | Operation, result_type: MemRefType):
        super().__init__(operands=[source], result_types=[result_type])

    def verify_(self) -> None:
        src, res = self.source.type, self.result.type
        assert isinstance(src, MemRefType) and isinstance(res, MemRefType)
        if src.memory_space != res.memory_space:
            raise VerifyException("'xpu.reinterpret' cannot change the memory space")
        if len(res.get_shape()) != 1:
            raise VerifyException("'xpu.reinterpret' returns a one-dimensional memref")


def _comm_ops() -> list[type[IRDLOperation]]:
    from xpuc.dialects.xpu_comm import XPU_COMM_OPS
    from xpuc.dialects.xpu_launch import XPU_LAUNCH_OPS

    return [*XPU_COMM_OPS, *XPU_LAUNCH_OPS]


XPU = Dialect(
    "xpu",
    [ShuffleOp, VoteOp, LaneMaskOp, AtomicCASOp, WarpSyncOp, FenceOp, ReinterpretOp, *_comm_ops()],
    [],
)

__all__ = ["XPU", "AtomicCASOp", "FenceOp", "LaneMaskOp", "ReinterpretOp", "ShuffleOp", "VoteOp",
           "WarpSyncOp"]  # fmt: skip
