"""Upstream ``gpu`` ops that xDSL 0.74 does not model yet.

They keep upstream MLIR's names and syntax; ``registry.py`` adds them to the ``gpu``
dialect that xpuc loads.
"""

from __future__ import annotations

from xdsl.dialects.builtin import DYNAMIC_INDEX, IntegerType, MemRefType, StringAttr
from xdsl.ir import SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    prop_def,
    result_def,
    var_operand_def,
)
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class DynamicSharedMemoryOp(IRDLOperation):
    """``gpu.dynamic_shared_memory``: the block's dynamic shared memory, as bytes.

    Its size is given at launch (CUDA's ``extern __shared__`` arrays, the third
    ``<<<>>>`` argument).  Typed views come from ``memref.view``.
    """

    name = "gpu.dynamic_shared_memory"
    result = result_def(MemRefType)
    assembly_format = "attr-dict `:` type($result)"

    def __init__(self, result_type: MemRefType):
        super().__init__(result_types=[result_type])

    def verify_(self) -> None:
        t = self.result.type
        assert isinstance(t, MemRefType)
        if t.element_type != IntegerType(8) or t.get_shape() != (DYNAMIC_INDEX,):
            raise VerifyException(
                f"'gpu.dynamic_shared_memory' must return memref<?xi8, 3>, not {t}"
            )


@irdl_op_definition
class PrintfOp(IRDLOperation):
    """``gpu.printf``: C ``printf`` from device code (scalars only)."""

    name = "gpu.printf"
    format = prop_def(StringAttr)
    args = var_operand_def()
    assembly_format = "$format attr-dict (`,` $args^ `:` type($args))?"

    def __init__(self, fmt: str, args: list[SSAValue]):
        super().__init__(operands=[args], properties={"format": StringAttr(fmt)})


GPU_EXTRA_OPS = [DynamicSharedMemoryOp, PrintfOp]
