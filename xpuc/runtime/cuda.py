"""Run nvptx kernels through the CUDA driver API (cuda-bindings) (skeleton)."""

from __future__ import annotations


def device_arch() -> str | None:
    """``sm_XY`` of CUDA device 0, or None without cuda-bindings, a driver or a GPU."""
    return None


class CUDAModule:
    def __init__(self, artifact):
        raise NotImplementedError
