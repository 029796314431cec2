"""What a target is: a description (fields) and a few hooks on a shared base.

A chip of an existing family is a field override (``sm_80`` vs ``sm_90``); a family
adds its LLVM hooks and the passes that take shared IR to what its code generator
consumes.  ``compiler/`` drives the stages and knows no target by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar

import llvmlite.binding as llvm
import llvmlite.ir as ir

from xpuc.compiler.diagnostics import TargetError
from xpuc.targets.llvm.translate import LLVMHooks


@cache
def init_llvm() -> None:
    """Register every LLVM back end llvmlite ships (NVPTX, AMDGPU, X86, AArch64, ...)."""
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()


@dataclass(frozen=True)
class TargetDesc:
    """The data that tells chips apart."""

    family: str
    variant: str
    triple: str
    cpu: str = ""
    features: str = ""
    warp_size: int = 32
    max_threads_per_block: int = 1024
    max_shared_memory: int = 48 * 1024
    binary_format: str = "elf"  # what --emit=bin writes
    element_types: tuple[str, ...] = ("i1", "i8", "i16", "i32", "i64", "f32", "f64")
    description: str = ""

    @property
    def name(self) -> str:
        return f"{self.family}:{self.variant}" if self.variant else self.family


@dataclass
class Target:
    """Base of every target family.  Subclasses set ``family`` and override hooks."""

    desc: TargetDesc
    family: ClassVar[str] = ""
    emits: ClassVar[tuple[str, ...]] = ("mlir", "llvm", "asm", "obj")
    hooks: LLVMHooks = field(default_factory=LLVMHooks)

    @property
    def name(self) -> str:
        return self.desc.name

    # ---- shared IR -> what the code generator consumes
    def lowering_passes(self) -> list[str]:
        """Passes from optimized shared IR to IR the LLVM translator accepts."""
        return ["convert-scf-to-cf"]

    # ---- LLVM
    def target_machine(self, opt_level: int, reloc: str = "pic") -> llvm.TargetMachine:
        init_llvm()
        try:
            tgt = llvm.Target.from_triple(self.desc.triple)
        except RuntimeError as e:
            raise TargetError(f"LLVM here has no back end for {self.desc.triple}: {e}") from None
        return tgt.create_target_machine(
            cpu=self.desc.cpu, features=self.desc.features, opt=min(opt_level, 3),
            reloc=reloc, codemodel="default",
        )  # fmt: skip

    def finalize_llvm(self, module: ir.Module, kernels: list[str]) -> None:
        """Add target glue (launch wrappers, annotations) to the translated module."""

    def link(self, mod: llvm.ModuleRef) -> None:
        """Link the target's device libraries into the module (nvptx: libdevice)."""

    def optimize(self, mod: llvm.ModuleRef, opt_level: int) -> None:
        if opt_level <= 0:
            return
        tm = self.target_machine(opt_level)
        pto = llvm.create_pipeline_tuning_options(speed_level=min(opt_level, 3))
        pto.loop_vectorization = opt_level >= 2
        pto.slp_vectorization = opt_level >= 2
        pb = llvm.create_pass_builder(tm, pto)
        pm = pb.getModulePassManager()
        pm.run(mod, pb)

    def assemble(self, mod: llvm.ModuleRef, opt_level: int) -> str:
        return self.target_machine(opt_level).emit_assembly(mod)

    def object(self, mod: llvm.ModuleRef, opt_level: int) -> bytes:
        return self.target_machine(opt_level).emit_object(mod)

    def binary(self, asm: str, obj: bytes | None) -> bytes:
        """The file the chip's driver loads (``--emit bin``)."""
        if obj is None:
            raise TargetError(f"target {self.name} produces no binary")
        return obj

    def capabilities(self) -> str:
        """What this target can do on this machine: compile / validate / run."""
        return "compile"
