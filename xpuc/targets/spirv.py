"""The ``spirv`` family (skeleton; being written)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from xpuc.targets.base import Target, TargetDesc


@dataclass
class SPIRVTarget(Target):
    family: ClassVar[str] = "spirv"


SPIRVTarget.variants = {
    "": lambda: TargetDesc("spirv", "", "spirv64-unknown-unknown", binary_format="spv")
}
