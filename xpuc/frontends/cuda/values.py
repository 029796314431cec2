"""Values and lvalues of the device language while it is being lowered to shared IR.

A pointer is a pair (base memref, index offset): CUDA pointers into kernel arguments
and local arrays become ``memref<?xT>`` plus an offset, which keeps every access a
``memref.load``/``memref.store`` that the interpreter and every target understand.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.ir import SSAValue

from xpuc.frontends.cuda.ctypes_ import CType


@dataclass
class Val:
    """An rvalue.  For a pointer, ``v`` is the base memref and ``off`` the index offset."""

    v: SSAValue
    t: CType
    off: SSAValue | None = None


@dataclass
class Var:
    """A named object.

    kind ``scalar``: ``mem`` is a 0-d memref alloca holding the value.
    kind ``ptr``: ``base`` is the memref pointed into, ``mem`` a 0-d index alloca with the offset.
    kind ``array``: ``mem`` is the array memref itself (a local array decays to a pointer).
    """

    kind: str
    t: CType
    mem: SSAValue
    base: SSAValue | None = None


@dataclass
class LValue:
    """A place that can be loaded from and stored to: ``mem[idx]`` (idx empty for 0-d)."""

    mem: SSAValue
    idx: list[SSAValue]
    t: CType
    ptr_base: SSAValue | None = None  # set when the place holds a pointer's offset
