"""What the conformance scripts share: a target's family, and why a target cannot be
checked on this machine (its tool or device missing)."""

from __future__ import annotations


def family(target: str) -> str:
    return target.split(":")[0]


def target_missing(target: str) -> str:
    """Why ``target``'s check cannot run here ('' when it can): ptxas for nvptx, an
    OpenCL device for opencl."""
    if family(target) == "nvptx":
        from xpuc.targets.tools import find_ptxas

        if find_ptxas() is None:
            return "ptxas not found (PATH, $CUDA_HOME/bin, triton)"
    if family(target) == "opencl":
        import xpuc.runtime.opencl as rt

        if rt.missing_reason():
            return f"opencl: {rt.missing_reason()}"
    return ""
