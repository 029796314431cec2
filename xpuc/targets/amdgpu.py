"""The ``amdgpu`` family: AMD Instinct and Radeon GPUs, and Hygon DCUs of the same ISA.

GCN/CDNA/RDNA machine code from LLVM's AMDGPU back end (through llvmlite), an ELF
object, and the code object (hsaco) HIP loads from ``ld.lld -shared``.  Variants
differ only in fields: the gfx processor, its wavefront size and limits.  How SIMT ops
become AMDGPU IR (ids, barriers, 32-lane warps on wave64 chips, atomics' scopes, the
math library) is in ``amdgpu_hooks.py``; ld.lld and ocml in ``amdgpu_lib.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import llvmlite.binding as llvm
import llvmlite.ir as ir
from xdsl.dialects import func, gpu
from xdsl.dialects.builtin import ModuleOp

from xpuc.compiler.diagnostics import CompileError, TargetError
from xpuc.dialects.gpu_ext import PrintfOp
from xpuc.targets.amdgpu_hooks import PRINTF_ERROR, AMDGPUHooks
from xpuc.targets.amdgpu_lib import (
    check_hsaco,
    find_lld,
    find_ocml,
    link_hsaco,
    link_ocml,
    uses_ocml,
)
from xpuc.targets.base import Target, TargetDesc
from xpuc.targets.limits import kernel_location
from xpuc.targets.llvm.isolate import isolated

AMDGPU_SPACES = (("global", 1), ("shared", 3), ("constant", 4), ("private", 5))
CODE_OBJECT_VERSION = 500  # HIP's default since ROCm 6.0; block/grid sizes come from the
# dispatch packet, which every version has, so the choice changes nothing else


@dataclass
class AMDGPUTarget(Target):
    family: ClassVar[str] = "amdgpu"
    emits: ClassVar[tuple[str, ...]] = ("mlir", "llvm", "asm", "obj", "bin")
    default_variant: ClassVar[str] = "gfx942"

    @property
    def default_emit(self) -> str:  # type: ignore[override]
        return "bin" if find_lld() else "obj"

    def __init__(self, desc: TargetDesc):
        hooks = AMDGPUHooks(desc.warp_size == 64, desc.max_threads_per_block,
                            has_ocml=lambda: find_ocml() is not None)  # fmt: skip
        super().__init__(desc, hooks)

    def check_limits(self, module: ModuleOp) -> None:
        super().check_limits(module)
        for op in module.walk():
            if isinstance(op, PrintfOp):  # reported at the function that prints
                fn = op.parent_op()
                while fn is not None and not isinstance(fn, gpu.FuncOp | func.FuncOp):
                    fn = fn.parent_op()
                loc = kernel_location(fn) if fn is not None else None
                raise CompileError(PRINTF_ERROR, loc) if loc else TargetError(PRINTF_ERROR)

    def finalize_llvm(self, module: ir.Module, kernels: list[str]) -> None:
        i32, name = ir.IntType(32), ir.MetaDataString(module, "amdhsa_code_object_version")
        flag = [ir.Constant(i32, 1), name, ir.Constant(i32, CODE_OBJECT_VERSION)]
        module.add_named_metadata("llvm.module.flags", flag)

    def link(self, mod: llvm.ModuleRef) -> None:
        link_ocml(mod, self.desc.variant, self.desc.warp_size == 64)

    def optimize(self, mod: llvm.ModuleRef, opt_level: int) -> None:
        # ocml is linked whole: -O0 still drops what the kernels do not call
        super().optimize(mod, max(opt_level, 1) if uses_ocml(mod) else opt_level)

    # AMDGPU code generation rewrites the IR it runs on (structurizer, control-flow
    # intrinsics): assembly and object are each made from a copy of the module.  The
    # back end ends the process on errors it reports as fatal (a resource over the
    # chip's limit the checks before it missed): it runs in a forked child.
    def assemble(self, mod: llvm.ModuleRef, opt_level: int) -> str:
        emit = super().assemble
        return isolated(lambda: emit(mod.clone(), opt_level), "AMDGPU code generation")

    def object(self, mod: llvm.ModuleRef, opt_level: int) -> bytes:
        emit = super().object
        return isolated(lambda: emit(mod.clone(), opt_level), "AMDGPU code generation")

    def binary(self, asm: str, obj: bytes | None) -> bytes:
        if obj is None:
            raise TargetError(f"{self.name}: no object to link into a code object")
        return link_hsaco(obj, self.desc.variant)

    def validate(self, artifact) -> str:
        """ld.lld linked the hsaco; its header names this chip; readelf reads it and finds
        each kernel's entry and its kernel descriptor (``<kernel>.kd``)."""
        from xpuc.targets.tools import check_elf

        data = artifact.stages.get("bin")
        if not isinstance(data, bytes):
            obj = artifact.stages.get("obj")
            if not isinstance(obj, bytes):
                raise TargetError(f"{self.name}: the artifact holds no object (emit obj or bin)")
            data = artifact.stages["bin"] = self.binary("", obj)
        check_hsaco(data, self.desc.variant)
        symbols = [s for k in artifact.kernels for s in (k.link_name, f"{k.link_name}.kd")]
        return f"ld.lld + {check_elf(data, 'amdgcn', symbols)}"

    def can_run(self) -> bool:
        return False  # launching needs a HIP runtime and an AMD GPU; xpuc has no HIP loader

    def capabilities(self) -> str:
        return "compile + validate (ld.lld)" if find_lld() else "compile (no ld.lld)"


_INTRINSICS = (
    ("thread ids", "llvm.amdgcn.workitem.id.*, llvm.amdgcn.workgroup.id.*"),
    ("block/grid sizes", "hsa_kernel_dispatch_packet_t via llvm.amdgcn.dispatch.ptr"),
    ("barrier", "workgroup fences around llvm.amdgcn.s.barrier"),
    ("shuffle", "llvm.amdgcn.ds.bpermute (32-lane warps)"),
    ("vote", "llvm.amdgcn.ballot"), ("atomics", "atomicrmw/cmpxchg, agent scope"),
    ("printf", "unsupported (needs HIP's hostcall buffer)"),
)  # fmt: skip


def _gfx(variant: str, wave: int, registers: int, note: str) -> TargetDesc:
    return TargetDesc(
        family="amdgpu", variant=variant, triple="amdgcn-amd-amdhsa", cpu=variant,
        features=f"+wavefrontsize{wave}", warp_size=wave, max_threads_per_block=1024,
        max_shared_memory=64 * 1024, max_private_memory=131056, max_registers=registers,
        binary_format="hsaco",
        address_spaces=AMDGPU_SPACES, math_library="ocml (else native LLVM intrinsics)",
        intrinsics=_INTRINSICS, description=note,
    )  # fmt: skip


# gfx processor -> (wavefront size, VGPRs a thread may use, what it is).  LDS: 64 KiB a
# workgroup on all of them.  CDNA's 512 count the accumulation registers (AGPRs) too.
VARIANTS = {
    v: (lambda v=v, w=w, r=r, n=n: _gfx(v, w, r, n))
    for v, w, r, n in [
        ("gfx906", 64, 256, "Vega 20 / GCN5 (MI50, MI60, Radeon VII; Hygon DCU Z100)"),
        ("gfx908", 64, 512, "CDNA1 (MI100)"),
        ("gfx90a", 64, 512, "CDNA2 (MI210, MI250, MI250X)"),
        ("gfx942", 64, 512, "CDNA3 (MI300A, MI300X, MI325X)"),
        ("gfx1030", 32, 256, "RDNA2 (Radeon RX 6800/6900, PRO W6800)"),
        ("gfx1100", 32, 256, "RDNA3 (Radeon RX 7900 XTX/XT, PRO W7900)"),
    ]
}

TAGS = {
    "amd/mi50": ("gfx906", "AMD Instinct MI50"),
    "amd/mi60": ("gfx906", "AMD Instinct MI60"),
    "amd/radeon-vii": ("gfx906", "AMD Radeon VII"),
    "amd/mi100": ("gfx908", "AMD Instinct MI100"),
    "amd/mi210": ("gfx90a", "AMD Instinct MI210"),
    "amd/mi250": ("gfx90a", "AMD Instinct MI250"),
    "amd/mi250x": ("gfx90a", "AMD Instinct MI250X"),
    "amd/mi300a": ("gfx942", "AMD Instinct MI300A"),
    "amd/mi300x": ("gfx942", "AMD Instinct MI300X"),
    "amd/mi325x": ("gfx942", "AMD Instinct MI325X"),
    "amd/rx-6800": ("gfx1030", "AMD Radeon RX 6800 / 6800 XT"),
    "amd/rx-6900-xt": ("gfx1030", "AMD Radeon RX 6900 XT"),
    "amd/pro-w6800": ("gfx1030", "AMD Radeon PRO W6800"),
    "amd/rx-7900-xtx": ("gfx1100", "AMD Radeon RX 7900 XTX"),
    "amd/rx-7900-xt": ("gfx1100", "AMD Radeon RX 7900 XT"),
    "amd/pro-w7900": ("gfx1100", "AMD Radeon PRO W7900"),
    # Hygon DCUs run HIP code objects for the gfx processor their runtime reports.
    # Z100 / Z100L (深算一号) report gfx906, a Vega 20 derivative: rocminfo of a Z100L in
    # github.com/gpustack/gpustack/issues/1508 and github.com/nlzy/vllm-gfx906/issues/61
    # ("海光Z100L dcu（gfx906）"); PaddlePaddle's DCU build compiles --offload-arch=gfx906
    # (github.com/PaddlePaddle/Paddle/pull/56424, cmake/hip.cmake); the Hygon DCU is a 7nm
    # Vega 20 (hardwaretimes.com/amd-radeon-7nm-vega-gpu-w-16gb-hbm2-spotted-in-chinese-hygon-dcu).
    "hygon/z100": ("gfx906", "Hygon DCU Z100"),
    "hygon/z100l": ("gfx906", "Hygon DCU Z100L"),
    # Left out: K100 (gfx926; Paddle#56424 adds "gfx926 for DCU"), K100-AI (gfx928;
    # github.com/kvcache-ai/ktransformers/issues/984 "海光DCU K100A (gfx928)") and BW1000
    # (gfx936; github.com/kokkos/kokkos/pull/9403) use Hygon-only ISAs that upstream LLVM
    # (and so llvmlite) does not know.  Hygon's own Triton fork gives them HCU-specific
    # instructions (__builtin_hcu_mmac_*), HIP loads a code object only for the exact gfx
    # it names, and no source we found says a gfx906/gfx90a/gfx942 object runs on them.
}
AMDGPUTarget.variants = VARIANTS
AMDGPUTarget.tags = TAGS
