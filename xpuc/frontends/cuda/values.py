"""Values and places of the device language while it is being lowered to shared IR.

A pointer is a pair (base memref, index offset): CUDA pointers into kernel arguments,
local and shared arrays become ``memref<?xT>`` (or the array's own memref) plus an
offset counted in scalar leaves, which keeps every access a ``memref.load`` /
``memref.store`` that the interpreter and every target understand.  Arrays and
structs in memory are runs of leaves of one scalar type; a struct held in local
variables or passed by value is split into its fields instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.ir import SSAValue

from xpuc.frontends.cuda.ctypes_ import CType


@dataclass
class Val:
    """An rvalue.

    For a pointer, ``v`` is the base memref and ``off`` the index offset.  A struct
    value has ``parts`` (one value per field, in order) and no ``v``.
    """

    v: SSAValue | None
    t: CType
    off: SSAValue | None = None
    parts: list[Val] | None = None


@dataclass
class LValue:
    """A place: ``mem[idx]`` (idx empty for 0-d slots).

    ``ptr_base`` is set when the place holds a pointer's offset (the pointer variable's
    base memref is fixed).  A split struct has ``fields`` instead of ``mem``.  A place
    of array type designates the array's first leaf at ``mem[idx]``.
    """

    mem: SSAValue | None
    idx: list[SSAValue]
    t: CType
    ptr_base: SSAValue | None = None
    fields: dict[str, LValue] | None = None
    volatile: bool = False  # reached through a pointer to volatile


@dataclass
class Var:
    """A named entity: ``place`` (variables, parameters, references), ``const`` (enum
    constants and template value parameters) or ``cg`` (a cooperative-groups handle)."""

    kind: str
    t: CType
    place: LValue | None = None
    value: float = 0  # of a const (an int, or a float for a float constant)
