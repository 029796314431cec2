"""Acme X1: an example vendor plug-in for xpuc (the whole of it).

The Acme X1 is an x86-64-v3 server CPU (AVX2, FMA) whose vendor caps blocks at 512
threads and shared memory at 32 KiB.  It joins xpuc's ``cpu`` family as the variant
``cpu:acme-x1`` (chip tag ``acme/x1``): code generation, launch wrapper and runtime
are the cpu family's; the plug-in brings its description, one pass of its own, and
says when this machine can run its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import llvmlite.binding as llvm
from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.passes import ModulePass

from xpuc.targets.base import TargetDesc
from xpuc.targets.cpu import CPUTarget

# x86-64-v3's features; the X1 runs x86-64-v3 code
_V3 = {"avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave"}


@dataclass(frozen=True)
class AcmeAnnotate(ModulePass):
    """Mark each kernel with the Acme chip it was built for (a vendor pass, for show)."""

    name = "acme-annotate"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for f in op.walk():
            if isinstance(f, func.FuncOp) and "xpu.kernel" in f.attributes:
                f.attributes["acme.chip"] = builtin.StringAttr("x1")


def acme_x1() -> TargetDesc:
    return TargetDesc(
        family="cpu", variant="acme-x1", triple="x86_64-unknown-linux-gnu", cpu="x86-64-v3",
        warp_size=32, max_threads_per_block=512, max_shared_memory=32 * 1024,
        binary_format="elf", description="Acme X1 (x86-64-v3, 512 threads, 32 KiB shared)",
    )  # fmt: skip


class AcmeTarget(CPUTarget):
    family: ClassVar[str] = "cpu"  # joins the cpu family: subclasses its Target
    variants: ClassVar[dict] = {"acme-x1": acme_x1}
    tags: ClassVar[dict] = {"acme/x1": ("acme-x1", "Acme X1 server CPU")}
    passes: ClassVar[dict] = {"acme-annotate": lambda: AcmeAnnotate}

    def lowering_passes(self) -> list[str]:
        return [*super().lowering_passes(), "acme-annotate"]

    def can_run(self) -> bool:
        """Runs here on an x86-64 CPU with every x86-64-v3 feature."""
        if not llvm.get_process_triple().startswith("x86_64"):
            return False
        host = {k for k, on in llvm.get_host_cpu_features().items() if on}
        return _V3 <= host
