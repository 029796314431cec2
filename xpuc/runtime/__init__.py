"""Loading compiled artifacts as callable kernels over numpy arrays."""

from __future__ import annotations

from pathlib import Path

from xpuc.compiler.artifact import Artifact
from xpuc.compiler.diagnostics import XpucError
from xpuc.compiler.fat import FatArtifact, read_any


def load(artifact: Artifact | FatArtifact | str | Path):
    """Callable kernels for an artifact: ``mod.kernel[grid, block](*args)``.

    A path names a file written by ``xpuc compile --target a,b -o FILE`` (a fat
    artifact) or by ``Artifact.save``.  A fat artifact loads the first of its binaries
    whose target runs here, in the order of :data:`xpuc.compiler.fat.PREFERENCE`
    (GPUs before the host CPU)."""
    from xpuc.targets.registry import get_target

    if isinstance(artifact, str | Path):
        artifact = read_any(artifact)
    if isinstance(artifact, FatArtifact):
        artifact = artifact.pick()
    target = get_target(artifact.target)
    if not target.can_run():
        raise XpucError(
            f"cannot run {artifact.target} code on this machine (it can: {target.capabilities()})"
        )
    return target.load(artifact)
