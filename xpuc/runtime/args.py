"""Kernel arguments for ``xpuc run``: from .npy files, generated, or literal scalars.

Spec per argument, in the kernel's parameter order:
  ``FILE.npy``            an array loaded from a file (dtype must match the parameter)
  ``rand:N`` / ``zeros:N`` / ``ones:N`` / ``arange:N``   an array of N elements of the
                          parameter's element type (rand: seeded, uniform in [0, 1))
  ``3``, ``2.5``          a scalar, converted to the parameter's type
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xpuc.compiler.artifact import KernelInfo
from xpuc.compiler.diagnostics import XpucError
from xpuc.runtime.cpu import dtype_of


def make_args(info: KernelInfo, specs: list[str], seed: int = 0) -> list:
    if len(specs) != len(info.arg_types):
        params = ", ".join(f"{n}: {t}" for n, t in zip(info.arg_names, info.arg_types, strict=True))
        raise XpucError(
            f"kernel {info.name} takes {len(info.arg_types)} arguments ({params}), "
            f"{len(specs)} given"
        )
    rng = np.random.default_rng(seed)
    values = []
    for spec, code, name in zip(specs, info.arg_types, info.arg_names, strict=True):
        dtype = dtype_of(code)
        if code.startswith("*"):
            values.append(_array(spec, dtype, name, rng))
        else:
            try:
                values.append(dtype.type(float(spec) if dtype.kind == "f" else int(spec, 0)))
            except ValueError:
                raise XpucError(
                    f"argument '{name}' ({code}) needs a number, not '{spec}'"
                ) from None
    return values


def _array(spec: str, dtype: np.dtype, name: str, rng: np.random.Generator) -> np.ndarray:
    if spec.endswith(".npy"):
        try:
            arr = np.load(spec)
        except OSError as e:
            raise XpucError(f"argument '{name}': cannot read {spec}: {e}") from None
        if arr.dtype != dtype:
            raise XpucError(
                f"argument '{name}': {spec} holds {arr.dtype}, the kernel takes {dtype}"
            )
        return np.ascontiguousarray(arr)
    kind, _, count = spec.partition(":")
    try:
        n = int(count)
    except ValueError:
        n = -1
    if kind not in ("rand", "zeros", "ones", "arange") or n < 0:
        raise XpucError(
            f"argument '{name}' is a pointer: give FILE.npy, rand:N, zeros:N, ones:N or arange:N,"
            f" not '{spec}'"
        )
    if kind == "rand":
        if dtype.kind == "f":
            return rng.random(n).astype(dtype)
        return rng.integers(0, 100, n).astype(dtype)
    if kind == "arange":
        return np.arange(n).astype(dtype)
    return (np.zeros if kind == "zeros" else np.ones)(n, dtype)


def save_outputs(info: KernelInfo, values: list, folder: Path) -> list[Path]:
    """Write every array argument after the launch as ``<param name>.npy``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for v, name in zip(values, info.arg_names, strict=True):
        if isinstance(v, np.ndarray):
            path = folder / f"{name}.npy"
            np.save(path, v)
            written.append(path)
    return written
