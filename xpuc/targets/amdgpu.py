"""The ``amdgpu`` family (skeleton; being written)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from xpuc.targets.base import Target, TargetDesc


@dataclass
class AMDGPUTarget(Target):
    family: ClassVar[str] = "amdgpu"
    default_variant: ClassVar[str] = "gfx942"


AMDGPUTarget.variants = {
    "gfx942": lambda: TargetDesc("amdgpu", "gfx942", "amdgcn-amd-amdhsa", cpu="gfx942",
                                 warp_size=64, max_shared_memory=64 * 1024)
}
