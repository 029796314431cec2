"""PolyBench-ACC (CUDA) benchmarks as data, for ``tests/conformance/polybench.py``.

Each :class:`Benchmark` names its ``.cu`` file, the ``-D`` sizes it is compiled with, how
its host code initialises the arrays, and the host's launch sequence: every kernel
launch with the grid and block the host computes and the arguments in its order.  Each
:class:`Launch` carries a numpy reference of the stage it implements, written from the
benchmark's CPU reference function; the harness checks every launch against it, from
the arrays that launch saw, so a wrong kernel does not make the kernels after it look
wrong too.

Where the host's grid does not cover every element the CPU reference updates (a few
benchmarks compute grids from the wrong size), the reference updates only what the
launched threads reach, because that is what the kernel computes; each such place says
so.  Sizes are chosen so that the benchmark's own host and CPU code agree with each
other (several assume square sizes), and small enough to run in seconds on a CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

State = dict[str, np.ndarray]
"""Arrays by name; float32 on the device side, float64 copies for the reference."""
Sizes = dict[str, int]
Arg = str | int | float
"""A kernel argument: a ``str`` names an array of the state; numbers are scalars."""

RTOL = 5e-4
"""The benchmarks' own threshold (0.05 percent) for most of them; one launch's float32
rounding stays far below it."""


@dataclass(frozen=True)
class Launch:
    """One ``kernel<<<grid, block>>>(args)`` of the host code.

    ``reference`` updates a float64 copy of the arrays, in place, as the stage of the
    CPU reference function that this launch implements.
    """

    kernel: str
    grid: tuple[int, ...]
    block: tuple[int, ...]
    args: tuple[Arg, ...]
    reference: Callable[[State], None]


@dataclass(frozen=True)
class HostStep:
    """Something the host does to device memory between launches (a ``cudaMemcpy``)."""

    apply: Callable[[State], None]


Step = Launch | HostStep


@dataclass(frozen=True)
class Benchmark:
    name: str
    source: str
    """The ``.cu`` file, relative to the PolyBench-ACC ``CUDA`` folder."""
    kernels: tuple[str, ...]
    sizes: Sizes
    """Macros passed as ``-D``: problem sizes, time steps."""
    init: Callable[[Sizes], State]
    steps: Callable[[Sizes], Iterable[Step]]
    notes: tuple[str, ...] = field(default=())
    """Where this harness departs from the benchmark's own code, and why."""
    rtol: float = RTOL
    """Largest relative error accepted for a launch."""

    @property
    def defines(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.sizes.items()}


def ceil_grid(n: int, b: int) -> int:
    """``(size_t)ceil((float)n / (float)b)``, the usual host grid computation."""
    return math.ceil(n / b)


def floor_grid(n: int, b: int) -> int:
    """``(size_t)(ceil((float)n) / (float)b)``: the ceil is taken before the division,
    so the grid rounds down; a few hosts write it that way."""
    return n // b


def index_grids(*shape: int) -> tuple[np.ndarray, ...]:
    """Index arrays as float64, for the ``((DATA_TYPE) i*j) / N`` init formulas."""
    return tuple(np.indices(shape, dtype=np.float64))


def as_device(**arrays: np.ndarray) -> State:
    """The arrays as the device sees them: float32, C-contiguous."""
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}


def all_benchmarks() -> tuple[Benchmark, ...]:
    from . import datamining, linalg, solvers, stencils

    return datamining.BENCHMARKS + linalg.BENCHMARKS + solvers.BENCHMARKS + stencils.BENCHMARKS


__all__ = [
    "Arg",
    "Benchmark",
    "HostStep",
    "Launch",
    "RTOL",
    "Sizes",
    "State",
    "Step",
    "all_benchmarks",
    "as_device",
    "ceil_grid",
    "floor_grid",
    "index_grids",
]
