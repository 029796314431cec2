"""PolyBench-ACC stencils: adi, convolution-2d, convolution-3d, fdtd-2d, jacobi-1d-imper,
jacobi-2d-imper."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import Benchmark, Launch, Sizes, State, Step, as_device, ceil_grid, index_grids

STENCILS = "stencils"


def _adi_init(z: Sizes) -> State:
    n = z["N"]
    i, j = index_grids(n, n)
    return as_device(A=((i - 1) * (j + 4) + 2) / n, B=((i + 3) * (j + 7) + 3) / n,
                     X=(i * (j + 1) + 1) / n)  # fmt: skip


def _adi_steps(z: Sizes) -> Iterator[Step]:
    n, tsteps = z["N"], z["TSTEPS"]
    grid, block = (ceil_grid(n, 256), 1), (256, 1)
    args = (n, "A", "B", "X")

    # Kernels 1-3 sweep along each row (one thread per row), 4-6 along the columns
    # (one launch per row, one thread per column).
    def rows_forward(s: State) -> None:
        a, b, x = s["A"], s["B"], s["X"]
        for c in range(1, n):
            x[:, c] -= x[:, c - 1] * a[:, c] / b[:, c - 1]
            b[:, c] -= a[:, c] * a[:, c] / b[:, c - 1]

    def rows_last(s: State) -> None:
        s["X"][:, n - 1] /= s["B"][:, n - 1]

    def rows_backward(s: State) -> None:
        a, b, x = s["A"], s["B"], s["X"]
        for c in range(n - 2, 0, -1):  # the C loop's N-2-i2
            x[:, c] = (x[:, c] - x[:, c - 1] * a[:, c - 1]) / b[:, c - 1]

    def cols_forward(s: State, r: int) -> None:
        a, b, x = s["A"], s["B"], s["X"]
        x[r] -= x[r - 1] * a[r] / b[r - 1]
        b[r] -= a[r] * a[r] / b[r - 1]

    def cols_last(s: State) -> None:
        s["X"][n - 1] /= s["B"][n - 1]

    def cols_backward(s: State, r: int) -> None:
        a, b, x = s["A"], s["B"], s["X"]
        x[r] = (x[r] - x[r - 1] * a[r - 1]) / b[r]

    for _ in range(tsteps):
        yield Launch("adi_kernel1", grid, block, args, rows_forward)
        yield Launch("adi_kernel2", grid, block, args, rows_last)
        yield Launch("adi_kernel3", grid, block, args, rows_backward)
        for i1 in range(1, n):
            yield Launch("adi_kernel4", grid, block, (*args, i1),
                         lambda s, r=i1: cols_forward(s, r))  # fmt: skip
        yield Launch("adi_kernel5", grid, block, args, cols_last)
        for i1 in range(n - 2):
            yield Launch("adi_kernel6", grid, block, (*args, i1),
                         lambda s, r=n - 2 - i1: cols_backward(s, r))  # fmt: skip


# convolution-2d's weights: C2[a][b] multiplies A[i + a - 1][j + b - 1]
C2 = np.array([[0.2, 0.5, -0.8], [-0.3, 0.6, -0.9], [0.4, 0.7, 0.10]])


def _conv2d_init(z: Sizes) -> State:
    ni, nj = z["NI"], z["NJ"]
    # rand()/RAND_MAX: any uniform numbers in [0, 1) will do, fixed for repeatability
    a = np.random.default_rng(2012).random((ni, nj))
    return as_device(A=a, B=np.zeros((ni, nj)))


def _conv2d_steps(z: Sizes) -> Iterator[Step]:
    ni, nj = z["NI"], z["NJ"]

    def convolve(s: State) -> None:
        a = s["A"]
        acc = np.zeros((ni - 2, nj - 2))
        for di in range(3):
            for dj in range(3):
                acc += C2[di, dj] * a[di : di + ni - 2, dj : dj + nj - 2]
        s["B"][1:-1, 1:-1] = acc

    # The host takes the grid's x from NI although the kernel's x index is j: the
    # sizes here keep every element covered.
    yield Launch("convolution2D_kernel", (ceil_grid(ni, 32), ceil_grid(nj, 8)), (32, 8),
                 (ni, nj, "A", "B"), convolve)  # fmt: skip


# convolution-3d's weights, as (di, dj, dk, weight) for A[i+di][j+dj][k+dk]; the CPU
# reference uses c11, c21 and c31 on the same element (and c13, c23, c33 on another).
C11, C12, C13, C21, C22, C23, C31, C32, C33 = 2, -3, 4, 5, 6, 7, -8, -9, 10
C3 = ((-1, -1, -1, C11 + C21 + C31), (1, -1, -1, C13 + C23 + C33), (0, -1, 0, C12),
      (0, 0, 0, C22), (0, 1, 0, C32), (-1, -1, 1, C11), (1, -1, 1, C13), (-1, 0, 1, C21),
      (1, 0, 1, C23), (-1, 1, 1, C31), (1, 1, 1, C33))  # fmt: skip


def _conv3d_init(z: Sizes) -> State:
    ni, nj, nk = z["NI"], z["NJ"], z["NK"]
    i, j, k = np.indices((ni, nj, nk))
    a = i % 12 + 2 * (j % 7) + 3 * (k % 13)
    return as_device(A=a, B=np.zeros((ni, nj, nk)))


def _conv3d_steps(z: Sizes) -> Iterator[Step]:
    ni, nj, nk = z["NI"], z["NJ"], z["NK"]

    def convolve_plane(s: State, i: int) -> None:
        a = s["A"]
        acc = np.zeros((nj - 2, nk - 2))
        for di, dj, dk, w in C3:
            acc += w * a[i + di, 1 + dj : nj - 1 + dj, 1 + dk : nk - 1 + dk]
        s["B"][i, 1:-1, 1:-1] = acc

    grid = (ceil_grid(nk, 32), ceil_grid(nj, 8))
    for i in range(1, ni - 1):
        yield Launch("convolution3D_kernel", grid, (32, 8), (ni, nj, nk, "A", "B", i),
                     lambda s, i=i: convolve_plane(s, i))  # fmt: skip


def _fdtd_init(z: Sizes) -> State:
    tmax, nx, ny = z["TMAX"], z["NX"], z["NY"]
    i, j = index_grids(nx, ny)
    return as_device(fict=np.arange(tmax), ex=(i * (j + 1) + 1) / nx,
                     ey=((i - 1) * (j + 2) + 2) / nx, hz=((i - 9) * (j + 4) + 3) / nx)  # fmt: skip


def _fdtd_steps(z: Sizes) -> Iterator[Step]:
    tmax, nx, ny = z["TMAX"], z["NX"], z["NY"]
    grid, block = (ceil_grid(ny, 32), ceil_grid(nx, 8)), (32, 8)

    def step_ey(s: State, t: int) -> None:
        ey, hz = s["ey"], s["hz"]
        ey[1:] -= 0.5 * (hz[1:] - hz[:-1])
        ey[0] = s["fict"][t]

    def step_ex(s: State) -> None:
        ex, hz = s["ex"], s["hz"]
        ex[:, 1:] -= 0.5 * (hz[:, 1:] - hz[:, :-1])

    def step_hz(s: State) -> None:
        ex, ey, hz = s["ex"], s["ey"], s["hz"]
        hz[:-1, :-1] -= 0.7 * (ex[:-1, 1:] - ex[:-1, :-1] + ey[1:, :-1] - ey[:-1, :-1])

    for t in range(tmax):
        yield Launch("fdtd_step1_kernel", grid, block, (nx, ny, "fict", "ex", "ey", "hz", t),
                     lambda s, t=t: step_ey(s, t))  # fmt: skip
        yield Launch("fdtd_step2_kernel", grid, block, (nx, ny, "ex", "ey", "hz", t), step_ex)
        yield Launch("fdtd_step3_kernel", grid, block, (nx, ny, "ex", "ey", "hz", t), step_hz)


def _jacobi1d_init(z: Sizes) -> State:
    i = np.arange(z["N"], dtype=np.float64)
    return as_device(A=(4 * i + 10) / z["N"], B=(7 * i + 11) / z["N"])


def _jacobi1d_steps(z: Sizes) -> Iterator[Step]:
    n = z["N"]
    grid, block = (ceil_grid(n, 256), 1), (256, 1)

    def average(s: State) -> None:
        a = s["A"]
        s["B"][2 : n - 1] = 0.33333 * (a[1 : n - 2] + a[2 : n - 1] + a[3:n])

    def copy_back(s: State) -> None:
        s["A"][2 : n - 1] = s["B"][2 : n - 1]

    for _ in range(z["TSTEPS"]):
        yield Launch("runJacobiCUDA_kernel1", grid, block, (n, "A", "B"), average)
        yield Launch("runJacobiCUDA_kernel2", grid, block, (n, "A", "B"), copy_back)


def _jacobi2d_init(z: Sizes) -> State:
    n = z["N"]
    i, j = index_grids(n, n)
    return as_device(A=(i * (j + 2) + 10) / n, B=((i - 4) * (j - 1) + 11) / n)


def _jacobi2d_steps(z: Sizes) -> Iterator[Step]:
    n = z["N"]
    grid, block = (ceil_grid(n, 32), ceil_grid(n, 8)), (32, 8)

    def average(s: State) -> None:
        a = s["A"]
        s["B"][1:-1, 1:-1] = 0.2 * (a[1:-1, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:]
                                    + a[2:, 1:-1] + a[:-2, 1:-1])  # fmt: skip

    def copy_back(s: State) -> None:
        s["A"][1:-1, 1:-1] = s["B"][1:-1, 1:-1]

    for _ in range(z["TSTEPS"]):
        yield Launch("runJacobiCUDA_kernel1", grid, block, (n, "A", "B"), average)
        yield Launch("runJacobiCUDA_kernel2", grid, block, (n, "A", "B"), copy_back)


BENCHMARKS = (
    Benchmark("adi", f"{STENCILS}/adi/adi.cu",
              tuple(f"adi_kernel{i}" for i in range(1, 7)),
              {"N": 64, "TSTEPS": 2}, _adi_init, _adi_steps,
              ("errors may reach adi's own threshold (2.5 percent): the row sweeps divide "
               "by elements of B near zero, which magnifies float32 rounding about 1000 "
               "times",), rtol=2.5e-2),
    Benchmark("convolution-2d", f"{STENCILS}/convolution-2d/2DConvolution.cu",
              ("convolution2D_kernel",), {"NI": 64, "NJ": 60}, _conv2d_init, _conv2d_steps,
              ("A is seeded numpy uniform numbers in place of rand()/RAND_MAX; B starts at "
               "zero (the host leaves the device copy uninitialised)",)),
    Benchmark("convolution-3d", f"{STENCILS}/convolution-3d/3DConvolution.cu",
              ("convolution3D_kernel",), {"NI": 24, "NJ": 40, "NK": 72},
              _conv3d_init, _conv3d_steps),
    Benchmark("fdtd-2d", f"{STENCILS}/fdtd-2d/fdtd2d.cu",
              ("fdtd_step1_kernel", "fdtd_step2_kernel", "fdtd_step3_kernel"),
              {"TMAX": 4, "NX": 60, "NY": 72}, _fdtd_init, _fdtd_steps),
    Benchmark("jacobi-1d-imper", f"{STENCILS}/jacobi-1d-imper/jacobi1D.cu",
              ("runJacobiCUDA_kernel1", "runJacobiCUDA_kernel2"),
              {"N": 300, "TSTEPS": 4}, _jacobi1d_init, _jacobi1d_steps),
    Benchmark("jacobi-2d-imper", f"{STENCILS}/jacobi-2d-imper/jacobi2D.cu",
              ("runJacobiCUDA_kernel1", "runJacobiCUDA_kernel2"),
              {"N": 60, "TSTEPS": 4}, _jacobi2d_init, _jacobi2d_steps),
)  # fmt: skip
