"""What a target is: a description (fields) and a few hooks on a shared base.

A chip of an existing family is a field override (``sm_80`` vs ``sm_90``); a family
adds its LLVM hooks and the passes that take shared IR to what its code generator
consumes.  ``compiler/`` drives the stages and knows no target by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, ClassVar

import llvmlite.binding as llvm
import llvmlite.ir as ir

from xpuc.compiler.diagnostics import TargetError
from xpuc.targets.llvm.translate import LLVMHooks

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp

    from xpuc.compiler.artifact import Artifact


@cache
def init_llvm() -> None:
    """Register every LLVM back end llvmlite ships (NVPTX, AMDGPU, X86, AArch64, ...)."""
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()


ALL_ELEMENT_TYPES = ("i1", "i8", "i16", "i32", "i64", "f16", "f32", "f64")

# Address spaces as LLVM numbers them for the family (memref memory space -> LLVM).
GENERIC_SPACES = (("global", 0), ("shared", 0), ("constant", 0), ("private", 0))
NVPTX_SPACES = (("global", 1), ("shared", 3), ("constant", 4), ("private", 5))


@dataclass(frozen=True)
class TargetDesc:
    """The data that tells chips apart.  A chip of a known family is one of these;
    what a family does differently lives in its :class:`Target` subclass's hooks."""

    family: str
    variant: str
    triple: str
    cpu: str = ""
    features: str = ""
    warp_size: int = 32
    max_threads_per_block: int = 1024
    max_shared_memory: int = 48 * 1024  # bytes of static + dynamic shared memory a block
    max_static_shared_memory: int = 0  # of it, static __shared__ at most (0: all of it)
    max_private_memory: int = 0  # bytes of local arrays a thread may have (0: no limit)
    max_registers: int = 0  # 32-bit registers a thread may use (0: no such limit)
    binary_format: str = "elf"  # what --emit=bin writes
    element_types: tuple[str, ...] = ALL_ELEMENT_TYPES
    address_spaces: tuple[tuple[str, int], ...] = GENERIC_SPACES
    math_library: str = "libm"  # where math functions come from
    intrinsics: tuple[tuple[str, str], ...] = ()  # what ids/barriers/shuffles become
    description: str = ""

    @property
    def name(self) -> str:
        return f"{self.family}:{self.variant}" if self.variant else self.family

    @property
    def static_shared_limit(self) -> int:
        return min(self.max_static_shared_memory or self.max_shared_memory,
                   self.max_shared_memory)  # fmt: skip

    def address_space(self, kind: str) -> int:
        return dict(self.address_spaces)[kind]


@dataclass
class Target:
    """Base of every target family.  Subclasses set ``family``, ``variants`` (variant
    name -> a function returning its :class:`TargetDesc`) and ``tags`` (named chips),
    and override the hooks below.  A vendor plug-in is such a subclass, found through
    the ``xpuc.targets`` entry-point group (see ``targets/registry.py``)."""

    desc: TargetDesc
    family: ClassVar[str] = ""
    variants: ClassVar[dict[str, Callable[[], TargetDesc]]] = {}
    default_variant: ClassVar[str] = ""
    tags: ClassVar[dict[str, tuple[str, str]]] = {}
    """Named chips: ``"nvidia/h100": ("sm_90", "NVIDIA H100 (Hopper)")``."""
    passes: ClassVar[dict[str, Callable[[], type]]] = {}
    """Passes the family brings (a plug-in's own), by name, as the pass registry has them."""
    emits: ClassVar[tuple[str, ...]] = ("mlir", "llvm", "asm", "obj")
    default_emit: ClassVar[str] = "llvm"
    renders_source: ClassVar[bool] = False
    """True for a target that prints source (OpenCL C) from the lowered shared IR
    instead of going through LLVM; it then implements :meth:`render`."""
    hooks: LLVMHooks = field(default_factory=LLVMHooks)

    @property
    def name(self) -> str:
        return self.desc.name

    # ---- limits, checked on the shared IR before lowering
    def check_limits(self, module: ModuleOp) -> None:
        """Reject kernels this chip cannot run: too much shared memory, a missing type."""
        from xpuc.targets.limits import check_limits

        check_limits(self.desc, module)

    # ---- source targets
    def render(self, module: ModuleOp) -> str:
        raise TargetError(f"target {self.name} does not print source")

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
        pto.loop_vectorization = opt_level >= 2 and getattr(self, "loop_vectorize", True)
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

    def validate(self, artifact: Artifact) -> str:
        """Have the real tool accept the artifact's binary; return what checked it.
        Raises TargetError when rejected, ToolNotFoundError when the tool is missing."""
        from xpuc.compiler.diagnostics import ToolNotFoundError

        raise ToolNotFoundError(f"no tool validates {self.name} binaries here")

    def can_run(self) -> bool:
        """Whether kernels compiled for this target can be launched on this machine."""
        return False

    def load(self, artifact: Artifact):
        """Callable kernels for an artifact of this target (see ``xpuc.load``)."""
        raise TargetError(f"no runtime for target '{self.name}' on this machine")

    def capabilities(self) -> str:
        """What this target can do on this machine: compile / validate / run."""
        return "compile + run" if self.can_run() else "compile"
