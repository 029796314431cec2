"""Finding optional external tools (ptxas, ld.lld, ...): detected, never assumed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
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


@cache
def ptxas_archs(ptxas: str) -> frozenset[str]:
    """The ``sm_XX`` names this ptxas accepts (read from its --help)."""
    try:
        text = subprocess.run([ptxas, "--help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    start = text.find("--gpu-name")
    section = text[start : text.find("\n--", start + 10)] if start >= 0 else ""
    return frozenset(re.findall(r"'(sm_\d+)'", section))
