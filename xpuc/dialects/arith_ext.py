"""Upstream ``arith`` ops that xDSL 0.74 does not model yet.

They keep upstream MLIR's names and syntax, so IR that uses them still parses in
``mlir-opt``; ``registry.py`` adds them to the ``arith`` dialect that xpuc loads.
"""

from __future__ import annotations

from xdsl.dialects.arith import FloatingPointLikeBinaryOperation
from xdsl.dialects.builtin import IndexType, IntegerType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import IRDLOperation, base, irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class IndexCastUIOp(IRDLOperation):
    """``arith.index_castui``: index <-> integer cast that zero-extends (unsigned)."""

    name = "arith.index_castui"

    input = operand_def(base(IntegerType) | base(IndexType))
    result = result_def(base(IntegerType) | base(IndexType))
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `to` type($result)"

    def __init__(self, input_arg: SSAValue | Operation, target_type: Attribute):
        super().__init__(operands=[input_arg], result_types=[target_type])

    def verify_(self) -> None:
        if not isinstance(self.input.type, IndexType) ^ isinstance(self.result.type, IndexType):
            raise VerifyException(
                f"'arith.index_castui' op operand type '{self.input.type}' and result "
                f"type '{self.result.type}' are cast incompatible"
            )


@irdl_op_definition
class RemFOp(FloatingPointLikeBinaryOperation):
    """``arith.remf``: floating-point remainder with the sign of the dividend (C fmod)."""

    name = "arith.remf"


ARITH_EXTRA_OPS = [IndexCastUIOp, RemFOp]
