"""What the amdgpu target needs outside LLVM: ``ld.lld`` (object -> hsaco) and ROCm's
ocml math library (bitcode).  Both are detected, never assumed.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import llvmlite.binding as llvm

from xpuc.compiler.diagnostics import TargetError, ToolNotFoundError
from xpuc.targets.tools import LLD_HINT, find_lld, rocm_roots, wheel_file


def link_hsaco(obj: bytes, variant: str) -> bytes:
    """``ld.lld -shared``: the relocatable object becomes the code object HIP loads."""
    lld = find_lld()
    if lld is None:
        raise ToolNotFoundError(LLD_HINT)
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "k.o", Path(d) / "k.hsaco"
        src.write_bytes(obj)
        proc = subprocess.run([*lld, "-shared", "--no-undefined", str(src), "-o", str(out)],
                              capture_output=True, text=True)  # fmt: skip
        if proc.returncode != 0:
            raise TargetError(f"ld.lld rejected the {variant} object:\n{proc.stderr.strip()}")
        return out.read_bytes()


# EF_AMDGPU_MACH_* (the low byte of e_flags), from LLVM's llvm/BinaryFormat/ELF.h
MACH = {"gfx906": 0x2F, "gfx908": 0x30, "gfx90a": 0x3F, "gfx942": 0x4C, "gfx1030": 0x36,
        "gfx1100": 0x41}  # fmt: skip
EM_AMDGPU, ET_DYN = 224, 3


def check_hsaco(data: bytes, variant: str) -> None:
    """The ELF header of a code object: a shared object for the AMDGPU chip ``variant``."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise TargetError(f"the {variant} code object is not a 64-bit ELF file")
    e_type = int.from_bytes(data[16:18], "little")
    machine = int.from_bytes(data[18:20], "little")
    flags = int.from_bytes(data[48:52], "little")
    if machine != EM_AMDGPU or e_type != ET_DYN:
        raise TargetError(f"the code object is not an AMDGPU shared object "
                          f"(e_machine {machine}, e_type {e_type})")  # fmt: skip
    if variant in MACH and flags & 0xFF != MACH[variant]:
        raise TargetError(f"the code object is for machine 0x{flags & 0xFF:x}, "
                          f"not {variant} (0x{MACH[variant]:x})")  # fmt: skip


# ---- ocml: the ROCm device math library
def find_ocml() -> str | None:
    """``ocml.bc`` from $XPUC_OCML, a ROCm install, or the triton / iree wheels."""
    cands = [os.environ.get("XPUC_OCML")]
    if cands[0]:
        return cands[0] if Path(cands[0]).is_file() else None
    for root in rocm_roots():
        cands += [str(root / "amdgcn" / "bitcode" / "ocml.bc"),
                  str(root / "lib" / "llvm" / "amdgcn" / "bitcode" / "ocml.bc")]  # fmt: skip
    for wheel in (
        ("triton", "backends", "amd", "lib", "ocml.bc"),
        ("iree.compiler", "_mlir_libs", "iree_platform_libs", "rocm", "ocml.bc"),
    ):
        cands.append(str(wheel_file(*wheel) or ""))
    return next((c for c in cands if c and Path(c).is_file()), None)


@cache
def _ocml_bitcode(path: str) -> bytes:
    return Path(path).read_bytes()


def isa_version(variant: str) -> int:
    """``__oclc_ISA_version``: gfx90a -> 9010, gfx942 -> 9402, gfx1100 -> 11000."""
    digits = variant.removeprefix("gfx")
    major, minor, step = int(digits[:-2]), int(digits[-2]), int(digits[-1], 16)
    return major * 1000 + minor * 100 + step


def _controls(variant: str, wave64: bool) -> dict[str, tuple[str, int]]:
    """The ``__oclc_*`` constants ocml reads (ROCm's oclc_*.bc files, which we do not
    link, define them): IEEE-exact math, no finite-only or unsafe shortcuts."""
    return {
        "__oclc_ISA_version": ("i32", isa_version(variant)),
        "__oclc_ABI_version": ("i32", 500),
        "__oclc_finite_only_opt": ("i8", 0),
        "__oclc_unsafe_math_opt": ("i8", 0),
        "__oclc_daz_opt": ("i8", 0),
        "__oclc_correctly_rounded_sqrt32": ("i8", 1),
        "__oclc_wavefrontsize64": ("i8", int(wave64)),
    }


def link_ocml(mod: llvm.ModuleRef, variant: str, wave64: bool) -> None:
    """Link ocml when the module calls ``__ocml_*``; keep only what is used."""
    wanted = [f.name for f in mod.functions if f.is_declaration and f.name.startswith("__ocml_")]
    if not wanted:
        return
    path = find_ocml()
    if path is None:
        raise ToolNotFoundError(f"{wanted[0]} comes from ROCm's ocml.bc, which was not found")
    lib = llvm.parse_bitcode(_ocml_bitcode(path))
    lib.triple, lib.data_layout = mod.triple, mod.data_layout
    controls = _controls(variant, wave64)
    needed = [g.name for g in lib.global_variables
              if g.is_declaration and g.name.startswith("__oclc_")]  # fmt: skip
    unknown = [n for n in needed if n not in controls]
    if unknown:
        raise TargetError(f"{path} reads {', '.join(unknown)}, which xpuc does not define")
    text = "".join(f"@{n} = addrspace(4) constant {controls[n][0]} {controls[n][1]}\n"
                   for n in needed)  # fmt: skip
    consts = llvm.parse_assembly(f'target triple = "{mod.triple}"\n'
                                 f'target datalayout = "{mod.data_layout}"\n{text}')  # fmt: skip
    mod.link_in(lib)
    mod.link_in(consts)
    for f in mod.functions:
        if not f.is_declaration and f.name.startswith("__ocml_"):
            f.linkage = llvm.Linkage.internal
    for g in mod.global_variables:
        if g.name.startswith("__oclc_") or g.name.startswith("__ocml_"):
            g.linkage = llvm.Linkage.internal


def uses_ocml(mod: llvm.ModuleRef) -> bool:
    return any(f.name.startswith("__ocml_") for f in mod.functions)
