"""``arith`` comparisons, ``select`` and casts on tensors, for the TTIR import context.

xDSL's comparisons always yield ``i1`` and its casts take scalars only; MLIR's (and
TTIR's) work elementwise on tensors too.  The import context registers these in their
place.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr, IntegerType, TensorType
from xdsl.ir import Attribute, Dialect, Operation
from xdsl.irdl import (
    AnyAttr,
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException


def _i1_like(t: Attribute) -> Attribute:
    return (
        TensorType(IntegerType(1), t.get_shape()) if isinstance(t, TensorType) else IntegerType(1)
    )


def _parse(cls: type[arith.ComparisonOperation], parser: Parser, names: list[str]) -> Operation:
    pred = parser.parse_identifier()
    if pred not in names:
        parser.raise_error(f"unknown comparison predicate '{pred}'")
    parser.parse_punctuation(",")
    lhs = parser.parse_unresolved_operand()
    parser.parse_punctuation(",")
    rhs = parser.parse_unresolved_operand()
    props: dict[str, Attribute] = {"predicate": IntegerAttr(names.index(pred), 64)}
    if parser.parse_optional_keyword("fastmath"):
        props["fastmath"] = arith.FastMathFlagsAttr(arith.FastMathFlagsAttr.parse_parameter(parser))
    parser.parse_punctuation(":")
    t = parser.parse_type()
    return cls.create(
        operands=parser.resolve_operands([lhs, rhs], [t, t], parser.pos),
        result_types=[_i1_like(t)],
        properties=props,
    )


class _Shaped(arith.ComparisonOperation):
    def verify_(self) -> None:
        want = _i1_like(self.operands[0].type)
        if self.results[0].type != want:
            raise VerifyException(f"'{self.name}' result must be {want}")


@irdl_op_definition
class ShapedCmpiOp(_Shaped):
    name = "arith.cmpi"
    predicate = prop_def(IntegerAttr)
    lhs = operand_def(arith.signlessIntegerLike)
    rhs = operand_def(arith.signlessIntegerLike)
    result = result_def(AnyAttr())
    traits = traits_def(Pure())
    print = arith.CmpiOp.print

    @classmethod
    def parse(cls, parser: Parser) -> Operation:
        return _parse(cls, parser, arith.CMPI_COMPARISON_OPERATIONS)


@irdl_op_definition
class ShapedCmpfOp(_Shaped):
    name = "arith.cmpf"
    predicate = prop_def(IntegerAttr)
    lhs = operand_def(arith.floatingPointLike)
    rhs = operand_def(arith.floatingPointLike)
    fastmath = prop_def(arith.FastMathFlagsAttr, default_value=arith.FastMathFlagsAttr("none"))
    result = result_def(AnyAttr())
    traits = traits_def(Pure())
    print = arith.CmpfOp.print

    @classmethod
    def parse(cls, parser: Parser) -> Operation:
        return _parse(cls, parser, arith.CMPF_COMPARISON_OPERATIONS)


@irdl_op_definition
class ShapedSelectOp(IRDLOperation):
    """``arith.select %c, %a, %b : [C,] T``: ``c`` is ``i1`` or ``i1`` of ``T``'s shape."""

    name = "arith.select"
    cond = operand_def(AnyAttr())
    lhs = operand_def(AnyAttr())
    rhs = operand_def(AnyAttr())
    result = result_def(AnyAttr())
    traits = traits_def(Pure())

    @classmethod
    def parse(cls, parser: Parser) -> Operation:
        names = parser.parse_comma_separated_list(
            parser.Delimiter.NONE, parser.parse_unresolved_operand
        )
        parser.parse_punctuation(":")
        types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
        t = types[-1]
        cond = types[0] if len(types) == 2 else IntegerType(1)
        return cls.create(
            operands=parser.resolve_operands(names, [cond, t, t], parser.pos), result_types=[t]
        )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list(self.operands, printer.print_operand)
        cond = "" if self.cond.type == IntegerType(1) else f"{self.cond.type}, "
        printer.print_string(f" : {cond}{self.result.type}")

    def verify_(self) -> None:
        t = self.result.type
        if not (self.lhs.type == self.rhs.type == t):
            raise VerifyException("'arith.select' operands and result must have one type")
        if self.cond.type not in (IntegerType(1), _i1_like(t)):
            raise VerifyException(f"'arith.select' condition must be i1 or {_i1_like(t)}")


class _ShapedCast(IRDLOperation):
    """``arith.<cast> %x : S to T`` where ``S`` and ``T`` are scalars or tensors of one
    shape."""

    input = operand_def(AnyAttr())
    result = result_def(AnyAttr())
    traits = traits_def(Pure())

    @classmethod
    def parse(cls, parser: Parser) -> Operation:
        x = parser.parse_unresolved_operand()
        parser.parse_punctuation(":")
        src = parser.parse_type()
        parser.parse_keyword("to")
        dst = parser.parse_type()
        return cls.create(operands=parser.resolve_operands([x], [src], parser.pos),
                          result_types=[dst])  # fmt: skip

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.input)
        printer.print_string(f" : {self.input.type} to {self.result.type}")

    def verify_(self) -> None:
        a, b = self.input.type, self.result.type
        shape = [t.get_shape() if isinstance(t, TensorType) else None for t in (a, b)]
        if shape[0] != shape[1]:
            raise VerifyException(f"'{self.name}' must keep its operand's shape ({a} to {b})")


_CASTS = ("extsi", "extui", "trunci", "sitofp", "uitofp", "fptosi", "fptoui", "extf",
          "truncf", "bitcast", "index_cast", "index_castui")  # fmt: skip
SHAPED_CASTS = [
    irdl_op_definition(type(f"Shaped{n.title().replace('_', '')}Op", (_ShapedCast,),
                            {"name": f"arith.{n}"}))
    for n in _CASTS
]  # fmt: skip


def shaped_arith(base: Dialect) -> Dialect:
    """``base`` (the shared IR's arith) with the tensor-shaped comparisons and casts."""
    shaped = {op.name: op for op in (ShapedCmpiOp, ShapedCmpfOp, ShapedSelectOp, *SHAPED_CASTS)}
    ops = [shaped.get(op.name, op) for op in base.operations]
    return Dialect("arith", ops, list(base.attributes))
