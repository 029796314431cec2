"""The ``nvptx`` family: NVIDIA GPUs.  PTX from LLVM's NVPTX back end, cubin from ptxas.

Variants differ only in fields (the SM version and the PTX ISA it needs).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import llvmlite.ir as ir
from xdsl.dialects import gpu
from xdsl.ir import Operation

from xpuc.compiler.diagnostics import TargetError, ToolNotFoundError
from xpuc.targets.base import Target, TargetDesc
from xpuc.targets.llvm.translate import I32, I64, MATH_INTRINSICS, LLVMHooks, Translator
from xpuc.targets.tools import find_ptxas, ptxas_archs

_SREG = {
    gpu.ThreadIdOp: "tid",
    gpu.BlockIdOp: "ctaid",
    gpu.BlockDimOp: "ntid",
    gpu.GridDimOp: "nctaid",
}
# Intrinsics the NVPTX back end selects natively; the rest of the math library needs
# libdevice, which the "CUDA frontend" and "device targets" issues bring in.
_NATIVE_MATH = {"llvm.sqrt", "llvm.fabs", "llvm.floor", "llvm.ceil", "llvm.trunc", "llvm.round",
                "llvm.roundeven", "llvm.fma", "llvm.minnum", "llvm.maxnum", "llvm.minimum",
                "llvm.maximum", "llvm.copysign"}  # fmt: skip


class NVPTXHooks(LLVMHooks):
    def special(self, t: Translator, op: Operation):
        if type(op) in _SREG:
            name = f"llvm.nvvm.read.ptx.sreg.{_SREG[type(op)]}.{op.dimension.data.value}"
            v = t.call_decl(name, I32, [], [])
            return t.b.zext(v, I64)
        if isinstance(op, gpu.SubgroupSizeOp):
            return ir.Constant(I64, 32)
        if isinstance(op, gpu.BarrierOp):
            t.call_decl("llvm.nvvm.barrier0", ir.VoidType(), [], [])
            return []
        return None

    def math(self, t: Translator, op: Operation, args):
        base = MATH_INTRINSICS.get(type(op))
        if base is not None and base not in _NATIVE_MATH:
            raise TargetError(
                f"{op.name} needs libdevice on nvptx, which this build does not link yet"
            )
        return super().math(t, op, args)

    def function(self, t: Translator, fn: ir.Function, op) -> None:
        if isinstance(op, gpu.FuncOp) and op.kernel is not None:
            fn.calling_convention = "ptx_kernel"
        else:
            fn.linkage = "internal"


@dataclass
class NVPTXTarget(Target):
    family: ClassVar[str] = "nvptx"
    emits: ClassVar[tuple[str, ...]] = ("mlir", "llvm", "asm", "bin")

    def __init__(self, desc: TargetDesc):
        super().__init__(desc, NVPTXHooks())

    def object(self, mod, opt_level: int) -> bytes | None:
        return None  # PTX is the assembly; the cubin comes from ptxas in binary()

    def binary(self, asm: str, obj: bytes | None) -> bytes:
        ptxas = find_ptxas()
        if ptxas is None:
            raise ToolNotFoundError(
                "ptxas was not found (looked at $PTXAS, PATH, $CUDA_HOME/bin and the triton "
                "wheel); install the CUDA toolkit or `pip install triton`, or use --emit asm "
                "to write PTX"
            )
        return run_ptxas(ptxas, asm, self.desc.variant)

    def capabilities(self) -> str:
        ptxas = find_ptxas()
        if ptxas is None:
            return "compile (no ptxas)"
        if self.desc.variant not in ptxas_archs(ptxas):
            return "compile (ptxas lacks arch)"
        return "compile + validate (ptxas)"


def run_ptxas(ptxas: str, ptx: str, arch: str) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "k.ptx", Path(d) / "k.cubin"
        src.write_text(ptx)
        proc = subprocess.run(
            [ptxas, f"-arch={arch}", str(src), "-o", str(out)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise TargetError(f"ptxas rejected the PTX for {arch}:\n{proc.stderr.strip()}")
        return out.read_bytes()


def _sm(sm: int, ptx: int, smem_kb: int, note: str) -> TargetDesc:
    return TargetDesc(
        family="nvptx", variant=f"sm_{sm}", triple="nvptx64-nvidia-cuda", cpu=f"sm_{sm}",
        features=f"+ptx{ptx}", warp_size=32, max_threads_per_block=1024,
        max_shared_memory=smem_kb * 1024, binary_format="cubin", description=note,
    )  # fmt: skip


# SM version -> (minimum PTX ISA LLVM must emit, max shared memory per block in KiB)
VARIANTS = {
    f"sm_{sm}": (lambda sm=sm, ptx=ptx, kb=kb, note=note: _sm(sm, ptx, kb, note))
    for sm, ptx, kb, note in [
        (70, 60, 96, "Volta (V100)"),
        (75, 63, 64, "Turing (T4)"),
        (80, 70, 163, "Ampere (A100)"),
        (86, 71, 99, "Ampere (RTX 30)"),
        (89, 78, 99, "Ada (L4, RTX 40)"),
        (90, 78, 227, "Hopper (H100, H200)"),
        (100, 86, 227, "Blackwell (B200)"),
    ]
}
