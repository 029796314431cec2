"""Loading compiled artifacts as callable kernels over numpy arrays."""

from __future__ import annotations

from xpuc.compiler.artifact import Artifact
from xpuc.compiler.diagnostics import XpucError


def load(artifact: Artifact):
    """Callable kernels for an artifact: ``mod.kernel[grid, block](*args)``."""
    family = artifact.target.partition(":")[0]
    if family == "cpu":
        from xpuc.runtime.cpu import CPUModule

        return CPUModule(artifact)
    raise XpucError(
        f"no runtime for target '{artifact.target}' on this machine (runnable here: cpu)"
    )
