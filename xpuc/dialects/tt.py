"""The ``tt`` (and ``ttg.barrier``) import dialect: Triton's TTIR as xDSL parses it.

Not part of the shared IR: it mirrors the TTIR that ``triton``'s own front end emits
(``xpuc/frontends/triton``) so that the text parses, verifies and keeps its source
locations; lowering to the shared tile level is a later pass.  Ops use the custom forms
triton prints (``tt.load %p, %m : T``); ``tt.reduce`` / ``tt.scan`` are generic, as in
triton.  Enum-like keywords (``cacheModifier = ca``, atomic kinds) are string attributes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    IntAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    UnitAttr,
    i32,
)
from xdsl.ir import Attribute, Dialect, Operation, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    param_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import IsTerminator
from xdsl.utils.exceptions import VerifyException

from xpuc.dialects.tt_regions import (
    BarrierOp,
    CallOp,
    FuncOp,
    ReduceOp,
    ScanOp,
)


@irdl_attr_definition
class PointerType(ParametrizedAttribute, TypeAttribute):
    """``!tt.ptr<T>`` or ``!tt.ptr<T, addrspace>``: a pointer to ``T`` (global is 1)."""

    name = "tt.ptr"
    pointee: Attribute = param_def()
    address_space: IntAttr = param_def()

    def __init__(self, pointee: Attribute, address_space: int = 1):
        super().__init__(pointee, IntAttr(address_space))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            pointee = parser.parse_type()
            space = parser.parse_integer() if parser.parse_optional_punctuation(",") else 1
        return (pointee, IntAttr(space))

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_attribute(self.pointee)
            if self.address_space.data != 1:
                printer.print_string(f", {self.address_space.data}")


def pointee_of(ptr: Attribute) -> Attribute:
    """What a load through ``ptr`` (a pointer or a tensor of pointers) yields."""
    if isinstance(ptr, TensorType) and isinstance(ptr.element_type, PointerType):
        return TensorType(ptr.element_type.pointee, ptr.get_shape())
    if isinstance(ptr, PointerType):
        return ptr.pointee
    raise VerifyException(f"expected a !tt.ptr or a tensor of them, got {ptr}")


def _is_word(a: Attribute) -> bool:
    return isinstance(a, StringAttr) and re.fullmatch(r"[A-Za-z_]\w*", a.data) is not None


def _shape(t: Attribute) -> tuple[int, ...]:
    return tuple(t.get_shape()) if isinstance(t, TensorType) else ()


class TTOp(IRDLOperation):
    """Base of the custom-format ``tt`` ops: ``operands [, key = value]* {attrs} : types``.

    ``FORMAT`` says what follows the colon: ``"ptr"`` (the first operand's type; the
    result is derived by ``_result``), ``"arrow"`` (``T -> R``), ``"same"`` (one type
    for all operands and the result), ``"func"`` (``(Ts) -> R``), ``"dot"``
    (``A * B -> C``), ``"result"`` (the result type only), ``"opt"`` (return-like:
    ``[%a : A]``, no results) or ``"none"`` (no colon).
    ``PREFIX`` names bare leading keywords (``tt.atomic_rmw exch, acq_rel, gpu, ...``).
    """

    args = var_operand_def()
    res = var_result_def()
    FORMAT: ClassVar[str] = "ptr"
    PREFIX: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def _result(cls, types: list[Attribute]) -> list[Attribute]:
        return [types[0]]

    @classmethod
    def parse(cls, parser: Parser) -> Operation:
        attrs: dict[str, Attribute] = {}
        for key in cls.PREFIX:
            attrs[key] = StringAttr(parser.parse_identifier())
            parser.parse_punctuation(",")
        operands = []
        while (operand := parser.parse_optional_unresolved_operand()) is not None:
            operands.append(operand)
            if parser.parse_optional_punctuation(",") is None:
                break
        # `key = value` keywords; a trailing `loc(...)` belongs to the op parser.
        while parser._current_token.text != "loc" and (key := parser.parse_optional_identifier()):
            if parser.parse_optional_punctuation("=") is None:  # a bare flag: allow_reorder
                attrs[key] = UnitAttr()
                parser.parse_optional_punctuation(",")
                continue
            value = parser.parse_optional_identifier()
            attrs[key] = StringAttr(value) if value else IntegerAttr(parser.parse_integer(), i32)
            parser.parse_optional_punctuation(",")
        attrs |= parser.parse_optional_attr_dict()
        types, results = cls._parse_types(parser, len(operands))
        return cls.create(
            operands=parser.resolve_operands(operands, types, parser.pos),
            result_types=results,
            attributes=attrs,
        )

    @classmethod
    def _parse_types(cls, parser: Parser, n: int) -> tuple[list[Attribute], list[Attribute]]:
        if cls.FORMAT == "none" or (cls.FORMAT == "opt" and n == 0):
            return [], []
        parser.parse_punctuation(":")
        if cls.FORMAT == "opt":  # return-like: `%a, %b : A, B`
            return parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type), []
        if cls.FORMAT == "func":
            ftype = parser.parse_function_type()
            return list(ftype.inputs), list(ftype.outputs)
        if cls.FORMAT == "result":
            return [], [parser.parse_type()]
        if cls.FORMAT == "dot":
            a = parser.parse_type()
            parser.parse_punctuation("*")
            b = parser.parse_type()
            parser.parse_punctuation("->")
            c = parser.parse_type()
            return [a, b, c], [c]
        first = parser.parse_type()
        if cls.FORMAT in ("arrow", "join", "split"):  # `%a[, %b] : T -> R`
            parser.parse_punctuation("->")
            result = parser.parse_type()
            return [first] * n, [result] * (2 if cls.FORMAT == "split" else 1)
        if cls.FORMAT == "same":
            return [first] * n, [first]
        types = [first]  # "ptr": `: T[, U]`; masks are i1 of T's shape, `other` is the pointee
        while parser.parse_optional_punctuation(","):
            types.append(parser.parse_type())
        if len(types) < n:
            shape = _shape(first)
            mask = TensorType(IntegerType(1), shape) if shape else IntegerType(1)
            types += cls._tail(first, mask)[: n - len(types)]
        return types, cls._result(types)

    @classmethod
    def _tail(cls, first: Attribute, mask: Attribute) -> list[Attribute]:
        """Types of operands the ``: T`` form leaves out (after the pointer): mask, other."""
        return [mask, pointee_of(first)]

    def print(self, printer: Printer) -> None:
        extra = {k: v for k, v in self.attributes.items() if k not in self.PREFIX}
        words = [self.attributes[k].data for k in self.PREFIX]  # pyright: ignore
        if words or self.args:
            printer.print_string(" " + "".join(f"{w}, " for w in words))
        printer.print_list(self.args, printer.print_operand)
        keywords = {k: v.data for k, v in extra.items() if _is_word(v)}  # pyright: ignore
        printer.print_string("".join(f", {k} = {v}" for k, v in keywords.items()))
        printer.print_op_attributes({k: v for k, v in extra.items() if k not in keywords})
        self._print_types(printer)

    def _print_types(self, printer: Printer) -> None:
        ins = [a.type for a in self.args]
        outs = [r.type for r in self.res]
        fmt = self.FORMAT
        if fmt == "none" or (fmt == "opt" and not ins):
            return
        printer.print_string(" : ")
        if fmt == "opt":
            printer.print_list(ins, printer.print_attribute)
        elif fmt == "func":
            printer.print_function_type(ins, outs)
        elif fmt == "result":
            printer.print_attribute(outs[0])
        elif fmt == "dot":
            printer.print_string(f"{ins[0]} * {ins[1]} -> {outs[0]}")
        elif fmt in ("arrow", "join", "split"):
            printer.print_string(f"{ins[0]} -> {outs[0]}")
        else:
            printer.print_attribute(ins[0])

    def verify_(self) -> None:
        if self.FORMAT == "ptr":
            pointee_of(self.args[0].type)
            want = self._result([a.type for a in self.args])
            if [r.type for r in self.res] != want:
                raise VerifyException(f"'{self.name}' result type must be {want}")
        if self.FORMAT == "same" and any(a.type != self.res[0].type for a in self.args):
            raise VerifyException(f"'{self.name}' operands and result must have one type")


@irdl_op_definition
class LoadOp(TTOp):
    """``tt.load %ptr[, %mask[, %other]]``: gather through a pointer (tensor)."""

    name = "tt.load"

    @classmethod
    def _result(cls, types: list[Attribute]) -> list[Attribute]:
        return [pointee_of(types[0])]


@irdl_op_definition
class StoreOp(TTOp):
    """``tt.store %ptr, %value[, %mask]``: scatter through a pointer (tensor)."""

    name = "tt.store"

    @classmethod
    def _tail(cls, first: Attribute, mask: Attribute) -> list[Attribute]:
        return [pointee_of(first), mask]

    @classmethod
    def _result(cls, types: list[Attribute]) -> list[Attribute]:
        return []


@irdl_op_definition
class AddPtrOp(TTOp):
    """``tt.addptr %ptr, %offset : P, I``: pointer (tensor) plus element offsets."""

    name = "tt.addptr"

    def _print_types(self, printer: Printer) -> None:
        printer.print_string(f" : {self.args[0].type}, {self.args[1].type}")

    def verify_(self) -> None:
        super().verify_()
        if _shape(self.args[0].type) != _shape(self.args[1].type):
            raise VerifyException("'tt.addptr' pointer and offset shapes differ")


def _op(name: str, fmt: str, doc: str, prefix: tuple[str, ...] = (), terminator=False):
    cls = type(
        name.split(".", 1)[1].title().replace(".", "").replace("_", "") + "Op",
        (TTOp,),
        {
            "name": name, "FORMAT": fmt, "PREFIX": prefix, "__doc__": doc,
            "__module__": __name__,
            "__annotations__": {"FORMAT": ClassVar[str], "PREFIX": ClassVar[tuple[str, ...]]},
            **({"traits": traits_def(IsTerminator())} if terminator else {}),
        },
    )  # fmt: skip
    return irdl_op_definition(cls)


_ARROW = "Shape/element change: ``%x : T -> R``."
SplatOp = _op("tt.splat", "arrow", "Broadcast a scalar to a tensor. " + _ARROW)
BroadcastOp = _op("tt.broadcast", "arrow", "Broadcast size-1 dimensions. " + _ARROW)
ExpandDimsOp = _op("tt.expand_dims", "arrow", "Insert a size-1 dimension at axis. " + _ARROW)
ReshapeOp = _op("tt.reshape", "arrow", "Reshape a tensor. " + _ARROW)
TransOp = _op("tt.trans", "arrow", "Permute dimensions by ``order``. " + _ARROW)
BitcastOp = _op("tt.bitcast", "arrow", "Reinterpret bits. " + _ARROW)
FpToFpOp = _op("tt.fp_to_fp", "arrow", "Float conversion with ``rounding``. " + _ARROW)
IntToPtrOp = _op("tt.int_to_ptr", "arrow", "Integer to pointer. " + _ARROW)
PtrToIntOp = _op("tt.ptr_to_int", "arrow", "Pointer to integer. " + _ARROW)
JoinOp = _op("tt.join", "join", "Pair two tiles along a new last dimension of 2.")
SplitOp = _op("tt.split", "split", "Split a last dimension of 2 into two tiles.")
CatOp = _op("tt.cat", "join", "Concatenate two tiles along the first dimension.")
MakeRangeOp = _op("tt.make_range", "result", "``{start, end} : tensor<Nxi32>``: start..end-1.")
DotOp = _op("tt.dot", "dot", "``%a, %b, %c : A * B -> C``: c + a @ b.")
PreciseSqrtOp = _op("tt.precise_sqrt", "same", "Correctly rounded square root.")
PreciseDivfOp = _op("tt.precise_divf", "same", "Correctly rounded division.")
MulhiuiOp = _op("tt.mulhiui", "same", "High half of an unsigned product.")
ClampfOp = _op("tt.clampf", "same", "Clamp between two bounds (``propagateNan``).")
ExternElementwiseOp = _op("tt.extern_elementwise", "func", "Call into a device library.")
_ATOMIC = "Atomic read-modify-write (``kind, sem, scope, %ptr, %val[, %mask]``)."
AtomicRMWOp = _op("tt.atomic_rmw", "func", _ATOMIC, ("atomic_rmw_op", "sem", "scope"))
AtomicCASOp = _op("tt.atomic_cas", "func", "``sem, scope, %p, %cmp, %v``: CAS.", ("sem", "scope"))
ReturnOp = _op("tt.return", "opt", "Return from a ``tt.func``.", terminator=True)
ReduceReturnOp = _op("tt.reduce.return", "opt", "Yield of a reduce body.", terminator=True)
ScanReturnOp = _op("tt.scan.return", "opt", "Yield of a scan body.", terminator=True)
DebugBarrierOp = _op("tt.debug_barrier", "none", "Barrier of the whole program instance.")


@irdl_op_definition
class GatherOp(TTOp):
    """``tt.gather %src[%idx] {axis} : (S, I) -> R``: ``src`` with the index along
    ``axis`` taken from ``idx``."""

    name = "tt.gather"

    @classmethod
    def parse(cls, parser: Parser) -> Operation:
        src = parser.parse_unresolved_operand()
        parser.parse_punctuation("[")
        idx = parser.parse_unresolved_operand()
        parser.parse_punctuation("]")
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        ftype = parser.parse_function_type()
        operands = parser.resolve_operands([src, idx], list(ftype.inputs), parser.pos)
        return cls.create(operands=operands, result_types=list(ftype.outputs), attributes=attrs)

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.args[0])
        printer.print_string("[")
        printer.print_operand(self.args[1])
        printer.print_string("]")
        printer.print_op_attributes(dict(self.attributes))
        printer.print_string(" : ")
        printer.print_function_type([a.type for a in self.args], [r.type for r in self.res])

    def verify_(self) -> None:
        pass


class _ProgramOp(TTOp):
    """``x : i32``: this program's id (number of programs) along grid axis x, y or z."""

    @classmethod
    def parse(cls, parser: Parser) -> Operation:
        axis = parser.parse_identifier()
        if axis not in ("x", "y", "z"):
            parser.raise_error(f"expected axis x, y or z, got '{axis}'")
        parser.parse_punctuation(":")
        return cls.create(result_types=[parser.parse_type()], attributes={"axis": StringAttr(axis)})

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {self.attributes['axis'].data} : {self.res[0].type}")  # pyright: ignore

    def verify_(self) -> None:
        if len(self.res) != 1 or self.res[0].type != i32 or self.args:
            raise VerifyException(f"'{self.name}' takes no operands and returns one i32")


def _program_op(cls_name: str, name: str) -> type[_ProgramOp]:
    return irdl_op_definition(type(cls_name, (_ProgramOp,), {"name": name, "__module__": __name__}))


GetProgramIdOp = _program_op("GetProgramIdOp", "tt.get_program_id")
GetNumProgramsOp = _program_op("GetNumProgramsOp", "tt.get_num_programs")


TT = Dialect(
    "tt",
    [
        FuncOp, ReturnOp, CallOp, JoinOp, SplitOp, CatOp, GatherOp, GetProgramIdOp,
        GetNumProgramsOp, MakeRangeOp, SplatOp,
        BroadcastOp, ExpandDimsOp, ReshapeOp, TransOp, BitcastOp, FpToFpOp, IntToPtrOp,
        PtrToIntOp, AddPtrOp, LoadOp, StoreOp, DotOp, ReduceOp, ReduceReturnOp, ScanOp,
        ScanReturnOp, AtomicRMWOp, AtomicCASOp, DebugBarrierOp, ExternElementwiseOp,
        PreciseSqrtOp, PreciseDivfOp, MulhiuiOp, ClampfOp,
    ],
    [PointerType],
)  # fmt: skip
TTG = Dialect("ttg", [BarrierOp], [])
