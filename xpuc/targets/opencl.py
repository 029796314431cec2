"""The ``opencl`` family (skeleton; being written)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from xpuc.targets.base import Target, TargetDesc


@dataclass
class OpenCLTarget(Target):
    family: ClassVar[str] = "opencl"
    renders_source: ClassVar[bool] = True
    emits: ClassVar[tuple[str, ...]] = ("mlir", "asm")
    default_emit: ClassVar[str] = "asm"


OpenCLTarget.variants = {"": lambda: TargetDesc("opencl", "", "", binary_format="OpenCL C")}
