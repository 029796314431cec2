"""The ``tt`` import dialect, its ops with regions (and ``ttg.barrier``): ``tt.func``,
``tt.call``, ``tt.reduce``, ``tt.scan``.  See :mod:`xpuc.dialects.tt`."""

from __future__ import annotations

from xdsl.dialects.builtin import (
    BoolAttr,
    FunctionType,
    IntegerAttr,
    StringAttr,
    SymbolRefAttr,
    TensorType,
)
from xdsl.dialects.utils import parse_func_op_like, print_func_op_like
from xdsl.ir import Attribute
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    region_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import IsolatedFromAbove, SymbolOpInterface
from xdsl.utils.exceptions import VerifyException


def _shape(t: Attribute) -> tuple[int, ...]:
    return tuple(t.get_shape()) if isinstance(t, TensorType) else ()


@irdl_op_definition
class FuncOp(IRDLOperation):
    """``tt.func [public|private] @name(args) [-> results] {body}``, as ``func.func``."""

    name = "tt.func"
    body = region_def()
    sym_name = prop_def(StringAttr)
    function_type = prop_def(FunctionType)
    sym_visibility = opt_prop_def(StringAttr)
    traits = traits_def(IsolatedFromAbove(), SymbolOpInterface())

    @classmethod
    def parse(cls, parser: Parser) -> FuncOp:
        vis = parser.parse_optional_visibility_keyword()
        name, ins, outs, region, extra, _, _ = parse_func_op_like(
            parser, reserved_attr_names=("sym_name", "function_type", "sym_visibility")
        )
        props: dict[str, Attribute] = {
            "sym_name": StringAttr(name), "function_type": FunctionType.from_lists(ins, outs),
        }  # fmt: skip
        if vis is not None:
            props["sym_visibility"] = vis
        attrs = extra.data if extra is not None else {}
        return cls.create(properties=props, regions=[region], attributes=dict(attrs))

    def print(self, printer: Printer) -> None:
        if self.sym_visibility:
            printer.print_string(f" {self.sym_visibility.data}")
        print_func_op_like(
            printer, self.sym_name, self.function_type, self.body, self.attributes,
            reserved_attr_names=("sym_name", "function_type", "sym_visibility"),
        )  # fmt: skip


@irdl_op_definition
class CallOp(IRDLOperation):
    """``tt.call @callee(%args) : (Ts) -> Rs``."""

    name = "tt.call"
    args = var_operand_def()
    res = var_result_def()
    callee = prop_def(SymbolRefAttr)

    @classmethod
    def parse(cls, parser: Parser) -> CallOp:
        callee = parser.parse_symbol_name()
        operands = parser.parse_op_args_list()
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        ftype = parser.parse_function_type()
        return cls.create(
            operands=parser.resolve_operands(operands, ftype.inputs.data, parser.pos),
            result_types=ftype.outputs.data,
            properties={"callee": SymbolRefAttr(callee)},
            attributes=attrs,
        )

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {self.callee}(")
        printer.print_list(self.args, printer.print_operand)
        printer.print_string(") : ")
        printer.print_function_type([a.type for a in self.args], [r.type for r in self.res])


class _CombineOp(IRDLOperation):
    """Generic form only: ``"tt.reduce"(%srcs) <{axis}> ({combine body}) : (Ts) -> Rs``."""

    srcs = var_operand_def()
    axis = prop_def(IntegerAttr)
    combineOp = region_def()  # noqa: N815 - triton's name for the region
    result = var_result_def()

    def verify_(self) -> None:
        if len(self.srcs) != len(self.result) or not self.srcs:
            raise VerifyException(f"'{self.name}' needs as many results as (>0) operands")
        rank = len(_shape(self.srcs[0].type))
        if not 0 <= self.axis.value.data < rank:
            raise VerifyException(f"'{self.name}' axis {self.axis.value.data} of a rank {rank}")


@irdl_op_definition
class ReduceOp(_CombineOp):
    name = "tt.reduce"


@irdl_op_definition
class ScanOp(_CombineOp):
    name = "tt.scan"
    reverse = opt_prop_def(BoolAttr)


@irdl_op_definition
class BarrierOp(IRDLOperation):
    """``ttg.barrier all`` (or ``local|global_read|...``): what ``tl.debug_barrier()``
    emits in triton >= 3.6; a workgroup barrier over the named address spaces."""

    name = "ttg.barrier"
    spaces = prop_def(StringAttr)

    @classmethod
    def parse(cls, parser: Parser) -> BarrierOp:
        words = [parser.parse_identifier()]
        while parser.parse_optional_punctuation("|"):
            words.append(parser.parse_identifier())
        return cls.create(properties={"spaces": StringAttr("|".join(words))})

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {self.spaces.data}")
