"""Loading compiled artifacts as callable kernels over numpy arrays."""

from __future__ import annotations

from xpuc.compiler.artifact import Artifact
from xpuc.compiler.diagnostics import XpucError
from xpuc.compiler.fat import FatArtifact


def load(artifact: Artifact | FatArtifact):
    """Callable kernels for an artifact: ``mod.kernel[grid, block](*args)``.

    A fat artifact loads the first of its binaries whose target runs here, in the
    order of :data:`xpuc.compiler.fat.PREFERENCE` (GPUs before the host CPU)."""
    from xpuc.targets.registry import get_target

    if isinstance(artifact, FatArtifact):
        artifact = artifact.pick()
    target = get_target(artifact.target)
    if not target.can_run():
        raise XpucError(
            f"cannot run {artifact.target} code on this machine "
            f"(it can: {target.capabilities()})"
        )
    return target.load(artifact)
