"""Finding optional external tools (ptxas, ld.lld, ...): detected, never assumed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def find_ptxas() -> str | None:
    """ptxas from $PTXAS, PATH, $CUDA_HOME/bin, or the copy inside the triton wheel."""
    env = os.environ.get("PTXAS")
    if env and Path(env).is_file():
        return env
    found = shutil.which("ptxas")
    if found:
        return found
    for var in ("CUDA_HOME", "CUDA_PATH"):
        home = os.environ.get(var)
        if home and (Path(home) / "bin" / "ptxas").is_file():
            return str(Path(home) / "bin" / "ptxas")
    try:
        import importlib.util

        spec = importlib.util.find_spec("triton")
        if spec and spec.origin:
            cand = Path(spec.origin).parent / "backends" / "nvidia" / "bin" / "ptxas"
            if cand.is_file():
                return str(cand)
    except (ImportError, ValueError):
        pass
    return None
