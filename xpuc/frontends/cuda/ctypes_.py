"""C types of the device language and their shared-IR types."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    Float32Type,
    Float64Type,
    IndexType,
    IntegerType,
    MemRefType,
    f16,
    f32,
    f64,
)
from xdsl.ir import Attribute


@dataclass(frozen=True)
class CType:
    """kind is one of void, bool, int, float, ptr, array, struct.

    ``pointee`` is the pointed-to type of a ptr and the element type of an array
    (``count`` elements).  A struct has ``fields`` (name, type) in order.  Arrays and
    structs live in memory as a run of scalar "leaves" of one IR type (see ``leaves``).
    """

    kind: str
    bits: int = 0
    signed: bool = True
    pointee: CType | None = None
    name: str = ""
    count: int = 0
    fields: tuple[tuple[str, CType], ...] = ()
    alignment: int = 0  # over-alignment (CUDA vector types); 0: the natural one
    volatile: bool = False  # a pointer to volatile: its stores are warp-visible at once

    def __str__(self) -> str:
        if self.kind == "ptr":
            return f"{self.pointee}*"
        if self.kind == "array":
            return f"{self.pointee}[{self.count}]"
        return self.name or self.kind

    @property
    def is_aggregate(self) -> bool:
        return self.kind in ("array", "struct")

    @property
    def size(self) -> int:
        """Number of scalar leaves (1 for a scalar or pointer)."""
        if self.kind == "array":
            assert self.pointee is not None
            return self.count * self.pointee.size
        if self.kind == "struct":
            return sum(t.size for _, t in self.fields)
        return 1

    def leaves(self) -> list[CType]:
        """The scalar (or pointer) types of the leaves, in memory order."""
        if self.kind == "array":
            assert self.pointee is not None
            return self.pointee.leaves() * self.count
        if self.kind == "struct":
            return [leaf for _, t in self.fields for leaf in t.leaves()]
        return [self]

    def field(self, name: str) -> tuple[int, CType] | None:
        """(leaf offset, type) of a struct field."""
        off = 0
        for n, t in self.fields:
            if n == name:
                return off, t
            off += t.size
        return None

    @property
    def align(self) -> int:
        """C alignment in bytes (CUDA's vector types are over-aligned, as float4 is)."""
        if self.alignment:
            return self.alignment
        if self.kind == "array":
            assert self.pointee is not None
            return self.pointee.align
        if self.kind == "struct":
            return max((t.align for _, t in self.fields), default=1)
        if self.kind == "ptr":
            return 8
        return max(self.bits, 8) // 8

    @property
    def bytes(self) -> int:
        """C ``sizeof``: fields at their aligned offsets, the size rounded to the alignment."""
        if self.kind == "array":
            assert self.pointee is not None
            return self.count * self.pointee.bytes
        if self.kind == "struct":
            end = 0
            for _, t in self.fields:
                end = -(-end // t.align) * t.align + t.bytes
            return -(-end // self.align) * self.align
        if self.kind == "ptr":
            return 8
        return max(self.bits, 8) // 8

    def byte_offset(self, name: str) -> int:
        """Offset of a struct field in bytes, with C's padding."""
        end = 0
        for n, t in self.fields:
            start = -(-end // t.align) * t.align
            if n == name:
                return start
            end = start + t.bytes
        raise KeyError(name)

    @property
    def is_int(self) -> bool:
        return self.kind in ("int", "bool")

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def is_arith(self) -> bool:
        return self.kind in ("int", "bool", "float")

    @property
    def is_ptr(self) -> bool:
        return self.kind == "ptr"

    def code(self) -> str:
        """Signature code as in Triton's: ``*f32``, ``i32``, ``u64``, ``f64``, ``i1``."""
        if self.kind == "ptr":
            assert self.pointee is not None
            leaf = leaf_type(self.pointee) if self.pointee.is_aggregate else self.pointee
            return "*" + (leaf.code() if leaf is not None and leaf.kind != "void" else "u8")
        if self.kind == "bool":
            return "i1"
        if self.kind == "int":
            return f"{'i' if self.signed else 'u'}{self.bits}"
        if self.kind == "float":
            return f"f{self.bits}"
        return "void"

    def ir(self) -> Attribute:
        """The shared-IR type of a value of this type (a pointer is a memref)."""
        if self.kind == "bool":
            return IntegerType(1)
        if self.kind == "int":
            return IntegerType(self.bits)
        if self.kind == "float":
            return {16: f16, 32: f32}.get(self.bits, f64)
        if self.kind == "ptr":
            assert self.pointee is not None
            leaf = leaf_type(self.pointee) if self.pointee.is_aggregate else self.pointee
            if leaf is None or leaf.kind == "void":
                leaf = UCHAR  # void* and pointers to mixed structs: bytes
            return MemRefType(leaf.ir(), [DYNAMIC_INDEX])
        raise ValueError(f"no IR type for {self}")


VOID = CType("void", name="void")
BOOL = CType("bool", 1, False, name="bool")
CHAR = CType("int", 8, True, name="char")
UCHAR = CType("int", 8, False, name="unsigned char")
SHORT = CType("int", 16, True, name="short")
USHORT = CType("int", 16, False, name="unsigned short")
INT = CType("int", 32, True, name="int")
UINT = CType("int", 32, False, name="unsigned int")
LONG = CType("int", 64, True, name="long")
ULONG = CType("int", 64, False, name="unsigned long")
FLOAT = CType("float", 32, name="float")
DOUBLE = CType("float", 64, name="double")
HALF = CType("float", 16, name="__half")
AUTO = CType("auto", name="auto")  # deduced from the initializer
NULLPTR = CType("int", 64, True, name="nullptr_t")  # `nullptr` (and a literal 0 as a pointer)

_FIXED = {
    "size_t": ULONG, "ptrdiff_t": LONG,
    "int8_t": CHAR, "uint8_t": UCHAR, "int16_t": SHORT, "uint16_t": USHORT,
    "int32_t": INT, "uint32_t": UINT, "int64_t": LONG, "uint64_t": ULONG,
}  # fmt: skip


# Bare pointers carry no size: a typed view of bytes whose size is unknown (dynamic
# shared memory, void*) gets this nominal extent in bytes.
NOMINAL_EXTENT_BYTES = 1 << 30


def ptr(t: CType, volatile: bool = False) -> CType:
    return CType("ptr", 64, False, pointee=t, volatile=volatile)


def as_volatile(t: CType) -> CType:
    """``volatile T *``: the pointer type with its pointee volatile."""
    return ptr(t.pointee, volatile=True) if t.is_ptr and t.pointee is not None else t


def array(t: CType, n: int) -> CType:
    return CType("array", pointee=t, count=n)


def struct(name: str, fields: list[tuple[str, CType]]) -> CType:
    return CType("struct", name=name, fields=tuple(fields))


def has_pointer(t: CType) -> bool:
    if t.kind == "array":
        assert t.pointee is not None
        return has_pointer(t.pointee)
    if t.kind == "struct":
        return any(has_pointer(f) for _, f in t.fields)
    return t.is_ptr or t.kind == "cg"


def first_leaf(t: CType) -> CType:
    while t.kind in ("array", "struct"):
        t = t.pointee if t.kind == "array" else t.fields[0][1]  # type: ignore[assignment]
    return t


def is_mixed(t: CType) -> bool:
    """An aggregate whose leaves differ in type: it lives in memory as bytes."""
    return t.is_aggregate and leaf_type(t) is None


def leaf_type(t: CType) -> CType | None:
    """The one scalar type all leaves of ``t`` share, or None when they differ (or are
    pointers).  Recursive, so a huge array costs nothing."""
    if t.kind == "array":
        assert t.pointee is not None
        return leaf_type(t.pointee)
    if t.kind == "struct":
        found = {leaf_type(f) for _, f in t.fields}
        if len(found) != 1:
            return None
        return found.pop()
    if t.is_ptr or t.kind in ("void", "cg"):
        return None
    return t


_VEC_ELEMS = {"char": "CHAR", "uchar": "UCHAR", "short": "SHORT", "ushort": "USHORT",
              "int": "INT", "uint": "UINT", "long": "LONG", "ulong": "ULONG",
              "longlong": "LONG", "ulonglong": "ULONG",
              "float": "FLOAT", "double": "DOUBLE"}  # fmt: skip


def vector_type(name: str) -> CType | None:
    """CUDA's built-in vector types: ``float4``, ``int2``, ``uint3``, ``double2`` ..."""
    m = name[:-1]
    if name[-1:] not in "1234" or m not in _VEC_ELEMS:
        return None
    elem = globals()[_VEC_ELEMS[m]]
    n = int(name[-1])
    t = struct(name, [(f, elem) for f in "xyzw"[:n]])
    if n in (2, 4):  # float2 is 8-byte aligned, float4 and double2 16-byte (at most 16)
        return CType("struct", name=name, fields=t.fields, alignment=min(16, n * elem.bytes))
    return t


def from_words(words: list[str]) -> CType | None:
    """The type named by declaration-specifier words (qualifiers already removed)."""
    if not words:
        return None
    if len(words) == 1 and words[0] in _FIXED:
        return _FIXED[words[0]]
    ws = sorted(words)
    unsigned = "unsigned" in ws
    rest = [w for w in ws if w not in ("unsigned", "signed")]
    if rest == ["void"]:
        return VOID
    if rest == ["auto"]:
        return AUTO
    if rest == ["bool"]:
        return BOOL
    if rest == ["float"]:
        return FLOAT
    if rest in (["double"], ["double", "long"]):
        return DOUBLE
    if rest == ["char"]:
        return UCHAR if unsigned else CHAR
    if rest in (["short"], ["int", "short"]):
        return USHORT if unsigned else SHORT
    if rest in ([], ["int"]):
        return UINT if unsigned else INT
    if rest in (["long"], ["int", "long"], ["long", "long"], ["int", "long", "long"]):
        return ULONG if unsigned else LONG
    return None


def promote(t: CType) -> CType:
    """C integer promotion."""
    if t.is_int and t.bits < 32:
        return INT
    return t


def common_type(a: CType, b: CType) -> CType:
    """The usual arithmetic conversions of C."""
    if a.is_float or b.is_float:
        if a == DOUBLE or b == DOUBLE:
            return DOUBLE
        if a == HALF and b == HALF:
            return HALF
        return FLOAT
    a, b = promote(a), promote(b)
    if a == b:
        return a
    if a.signed == b.signed:
        return a if a.bits >= b.bits else b
    u, s = (a, b) if not a.signed else (b, a)
    if u.bits >= s.bits:
        return u
    return s


def is_index(t: Attribute) -> bool:
    return isinstance(t, IndexType)


def is_float_ir(t: Attribute) -> bool:
    return isinstance(t, Float32Type | Float64Type)


def flat_types(t: CType, kernel: bool) -> list[Attribute]:
    """IR types of a by-value argument: struct leaves in order, a pointer as a pair."""
    if t.kind == "struct":
        return [x for _, f in t.fields for x in flat_types(f, kernel)]
    if t.kind == "cg":
        return []
    if t.is_ptr and not kernel:
        return [t.ir(), IndexType()]
    return [t.ir()]
