"""PolyBench-ACC linear-algebra solvers: gramschmidt, lu."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import Benchmark, Launch, Sizes, State, Step, as_device, ceil_grid, index_grids

SOLVERS = "linear-algebra/solvers"


def _gramschmidt_init(z: Sizes) -> State:
    ni, nj = z["NI"], z["NJ"]
    i, j = index_grids(ni, nj)
    ri, rj = index_grids(nj, nj)
    # init_array's A (i*j/ni) has rank one and a zero first column: R[0][0] = 0 and
    # Q = 0/0 make every later value NaN.  A diagonal term makes it full rank.
    a = i * j / ni + ni * (i == j)
    return as_device(A=a, R=ri * (rj + 2) / nj, Q=i * (j + 1) / nj)


def _gramschmidt_steps(z: Sizes) -> Iterator[Step]:
    ni, nj = z["NI"], z["NJ"]
    block = (256, 1)
    # The host sizes kernel 2's grid from NJ although it indexes rows (< NI): NI <= 256.
    grid_rows = (ceil_grid(nj, 256), 1)
    grid_cols = (ceil_grid(nj, 256), 1)
    for k in range(nj):

        def column_norm(s: State, k: int = k) -> None:
            s["R"][k, k] = np.sqrt(np.sum(s["A"][:, k] ** 2))

        def normalise(s: State, k: int = k) -> None:
            s["Q"][:, k] = s["A"][:, k] / s["R"][k, k]

        def project_out(s: State, k: int = k) -> None:
            q = s["Q"][:, k]
            s["R"][k, k + 1 :] = q @ s["A"][:, k + 1 :]
            s["A"][:, k + 1 :] -= np.outer(q, s["R"][k, k + 1 :])

        args = (ni, nj, "A", "R", "Q", k)
        yield Launch("gramschmidt_kernel1", (1, 1), block, args, column_norm)
        yield Launch("gramschmidt_kernel2", grid_rows, block, args, normalise)
        yield Launch("gramschmidt_kernel3", grid_cols, block, args, project_out)


def _lu_init(z: Sizes) -> State:
    n = z["N"]
    i, j = index_grids(n, n)
    # init_array's A ((i*j + 1)/N) has rank two: the third pivot is 0 (or rounding
    # noise) and the rest is inf/NaN.  A diagonal term makes it well conditioned.
    return as_device(A=(i * j + 1) / n + n * (i == j))


def _lu_steps(z: Sizes) -> Iterator[Step]:
    n = z["N"]
    for k in range(n):
        left = n - (k + 1)
        # The host shrinks the grids with k but the kernels index from 0, so late in
        # the factorisation the threads reach only part of the trailing matrix; the
        # reference updates what they reach.  At k = N-1 the grids are empty: CUDA
        # rejects those launches and the host ignores the error.
        grid1 = (ceil_grid(left, 256), 1)
        grid2 = (ceil_grid(left, 32), ceil_grid(left, 8))
        cols1 = min(n, grid1[0] * 256)
        rows2, cols2 = min(n, grid2[1] * 8), min(n, grid2[0] * 32)

        def scale_row(s: State, k: int = k, cols: int = cols1) -> None:
            a = s["A"]
            a[k, k + 1 : cols] /= a[k, k]

        def update_trailing(s: State, k: int = k, rows: int = rows2, cols: int = cols2) -> None:
            a = s["A"]
            a[k + 1 : rows, k + 1 : cols] -= np.outer(a[k + 1 : rows, k], a[k, k + 1 : cols])

        yield Launch("lu_kernel1", grid1, (256, 1), (n, "A", k), scale_row)
        yield Launch("lu_kernel2", grid2, (32, 8), (n, "A", k), update_trailing)


BENCHMARKS = (
    Benchmark("gramschmidt", f"{SOLVERS}/gramschmidt/gramschmidt.cu",
              ("gramschmidt_kernel1", "gramschmidt_kernel2", "gramschmidt_kernel3"),
              {"NI": 64, "NJ": 48}, _gramschmidt_init, _gramschmidt_steps,
              ("A gets NI on its diagonal: init_array's A makes every output NaN",)),
    Benchmark("lu", f"{SOLVERS}/lu/lu.cu", ("lu_kernel1", "lu_kernel2"),
              {"N": 64}, _lu_init, _lu_steps,
              ("A gets N on its diagonal: init_array's A has rank two, so the "
               "factorisation divides by zero",
               "the host's grids shrink with k while the kernels index from 0, so the "
               "trailing update misses elements late in the factorisation; the "
               "reference follows the launched threads",)),
)  # fmt: skip
