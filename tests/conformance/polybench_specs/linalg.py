"""PolyBench-ACC linear-algebra kernels: 2mm, 3mm, atax, bicg, doitgen, gemm, gemver,
gesummv, mvt, syr2k, syrk."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from . import (
    Benchmark,
    Launch,
    Sizes,
    State,
    Step,
    as_device,
    ceil_grid,
    floor_grid,
    index_grids,
)

KERNELS = "linear-algebra/kernels"
# alpha and beta as the init functions set them
ALPHA_MM, BETA_MM = 32412.0, 2123.0
ALPHA_MV, BETA_MV = 43532.0, 12313.0


def _mm2_init(z: Sizes) -> State:
    ni, nj, nk, nl = z["NI"], z["NJ"], z["NK"], z["NL"]
    ai, ak = index_grids(ni, nk)
    bk, bj = index_grids(nk, nj)
    cl, cj = index_grids(nl, nj)  # declared NL x NJ, read by the kernel as NJ x NL
    di, dl = index_grids(ni, nl)
    return as_device(tmp=np.zeros((ni, nj)), A=ai * ak / ni, B=bk * (bj + 1) / nj,
                     C=cl * (cj + 3) / nl, D=di * (dl + 2) / nk)  # fmt: skip


def _mm2_steps(z: Sizes) -> Iterator[Step]:
    ni, nj, nk, nl = z["NI"], z["NJ"], z["NK"], z["NL"]
    scalars = (ni, nj, nk, nl, ALPHA_MM, BETA_MM)

    def tmp_is_alpha_ab(s: State) -> None:
        s["tmp"][...] = ALPHA_MM * s["A"] @ s["B"]

    def d_is_beta_d_plus_tmp_c(s: State) -> None:
        s["D"][...] = BETA_MM * s["D"] + s["tmp"] @ s["C"]

    yield Launch("mm2_kernel1", (ceil_grid(nj, 32), ceil_grid(ni, 8)), (32, 8),
                 (*scalars, "tmp", "A", "B"), tmp_is_alpha_ab)  # fmt: skip
    yield Launch("mm2_kernel2", (ceil_grid(nl, 32), ceil_grid(ni, 8)), (32, 8),
                 (*scalars, "tmp", "C", "D"), d_is_beta_d_plus_tmp_c)  # fmt: skip


def _mm3_init(z: Sizes) -> State:
    ni, nj, nk, nl, nm = z["NI"], z["NJ"], z["NK"], z["NL"], z["NM"]
    ai, ak = index_grids(ni, nk)
    bk, bj = index_grids(nk, nj)
    cj, cm = index_grids(nj, nm)
    dm, dl = index_grids(nm, nl)
    return as_device(A=ai * ak / ni, B=bk * (bj + 1) / nj, C=cj * (cm + 3) / nl,
                     D=dm * (dl + 2) / nk, E=np.zeros((ni, nj)), F=np.zeros((nj, nl)),
                     G=np.zeros((ni, nl)))  # fmt: skip


def _mm3_steps(z: Sizes) -> Iterator[Step]:
    ni, nj, nk, nl, nm = z["NI"], z["NJ"], z["NK"], z["NL"], z["NM"]
    sizes = (ni, nj, nk, nl, nm)

    def product(out: str, left: str, right: str) -> Callable[[State], None]:
        def stage(s: State) -> None:
            s[out][...] = s[left] @ s[right]

        return stage

    yield Launch("mm3_kernel1", (ceil_grid(nj, 32), ceil_grid(ni, 8)), (32, 8),
                 (*sizes, "A", "B", "E"), product("E", "A", "B"))  # fmt: skip
    yield Launch("mm3_kernel2", (ceil_grid(nl, 32), ceil_grid(nj, 8)), (32, 8),
                 (*sizes, "C", "D", "F"), product("F", "C", "D"))  # fmt: skip
    yield Launch("mm3_kernel3", (ceil_grid(nl, 32), ceil_grid(ni, 8)), (32, 8),
                 (*sizes, "E", "F", "G"), product("G", "E", "F"))  # fmt: skip


def _atax_init(z: Sizes) -> State:
    nx, ny = z["NX"], z["NY"]
    ai, aj = index_grids(nx, ny)
    return as_device(A=ai * aj / nx, x=np.arange(ny) * np.pi, y=np.zeros(ny), tmp=np.zeros(nx))


def _atax_steps(z: Sizes) -> Iterator[Step]:
    nx, ny = z["NX"], z["NY"]

    adders = 8  # threads per element: see the note

    def tmp_is_ax(s: State) -> None:
        s["tmp"][...] = s["A"] @ s["x"]

    def y_is_at_tmp(s: State) -> None:
        s["y"][...] = adders * (s["A"].T @ s["tmp"])

    # 32x8 blocks for a 1-D index: 8 threads zero each element, then add into it.
    yield Launch("atax_kernel1", (ceil_grid(nx, 32), 1), (32, 8), (nx, ny, "A", "x", "tmp"),
                 tmp_is_ax)  # fmt: skip
    yield Launch("atax_kernel2", (ceil_grid(ny, 32), 1), (32, 8), (nx, ny, "A", "y", "tmp"),
                 y_is_at_tmp)  # fmt: skip


def _bicg_init(z: Sizes) -> State:
    nx, ny = z["NX"], z["NY"]
    ai, aj = index_grids(nx, ny)
    return as_device(A=ai * aj / nx, r=np.arange(nx) * np.pi, p=np.arange(ny) * np.pi,
                     s=np.zeros(ny), q=np.zeros(nx))  # fmt: skip


def _bicg_steps(z: Sizes) -> Iterator[Step]:
    nx, ny = z["NX"], z["NY"]

    def s_is_at_r(s: State) -> None:
        s["s"][...] = s["A"].T @ s["r"]

    def q_is_ap(s: State) -> None:
        s["q"][...] = s["A"] @ s["p"]

    yield Launch("bicg_kernel1", (ceil_grid(ny, 256), 1), (256, 1), (nx, ny, "A", "r", "s"),
                 s_is_at_r)  # fmt: skip
    yield Launch("bicg_kernel2", (ceil_grid(nx, 256), 1), (256, 1), (nx, ny, "A", "p", "q"),
                 q_is_ap)  # fmt: skip


def _doitgen_init(z: Sizes) -> State:
    nr, nq, np_ = z["NR"], z["NQ"], z["NP"]
    r, q, p = index_grids(nr, nq, np_)
    ci, cj = index_grids(np_, np_)
    return as_device(sum=np.zeros((nr, nq, np_)), A=(r * q + p) / np_, C4=ci * cj / np_)


def _doitgen_steps(z: Sizes) -> Iterator[Step]:
    nr, nq, np_ = z["NR"], z["NQ"], z["NP"]
    # The host sizes the grid's y from nr while the kernel's y index is q: NR >= NQ here.
    grid = (ceil_grid(np_, 32), ceil_grid(nr, 8))
    for r in range(nr):

        def sum_is_a_c4(s: State, r: int = r) -> None:
            s["sum"][r] = s["A"][r] @ s["C4"]

        def a_is_sum(s: State, r: int = r) -> None:
            s["A"][r] = s["sum"][r]

        args = (nr, nq, np_, "sum", "A", "C4", r)
        yield Launch("doitgen_kernel1", grid, (32, 8), args, sum_is_a_c4)
        yield Launch("doitgen_kernel2", grid, (32, 8), args, a_is_sum)


def _gemm_init(z: Sizes) -> State:
    ni, nj, nk = z["NI"], z["NJ"], z["NK"]
    ai, ak = index_grids(ni, nk)
    bk, bj = index_grids(nk, nj)
    ci, cj = index_grids(ni, nj)
    return as_device(A=ai * ak / ni, B=bk * bj / ni, C=ci * cj / ni)


def _gemm_steps(z: Sizes) -> Iterator[Step]:
    ni, nj, nk = z["NI"], z["NJ"], z["NK"]

    def c_is_beta_c_plus_alpha_ab(s: State) -> None:
        s["C"][...] = BETA_MM * s["C"] + ALPHA_MM * s["A"] @ s["B"]

    # The host takes the grid's x from NI and y from NJ, the kernel's x index is j and
    # its y index i: the sizes here keep every element covered.
    yield Launch("gemm_kernel", (ceil_grid(ni, 32), ceil_grid(nj, 8)), (32, 8),
                 (ni, nj, nk, ALPHA_MM, BETA_MM, "A", "B", "C"),
                 c_is_beta_c_plus_alpha_ab)  # fmt: skip


def _gemver_init(z: Sizes) -> State:
    n = z["N"]
    i = np.arange(n)
    last = (i + 1) // n  # the init divides ints: (i+1)/N/2.0 is 0 but for i = N-1
    ai, aj = index_grids(n, n)
    return as_device(A=ai * aj / n, u1=i, u2=last / 2.0, v1=last / 4.0, v2=last / 6.0,
                     y=last / 8.0, z=last / 9.0, x=np.zeros(n), w=np.zeros(n))  # fmt: skip


def _gemver_steps(z: Sizes) -> Iterator[Step]:
    n = z["N"]
    head = (n, ALPHA_MV, BETA_MV)

    def a_plus_outer_products(s: State) -> None:
        s["A"] += np.outer(s["u1"], s["v1"]) + np.outer(s["u2"], s["v2"])

    def x_plus_beta_at_y_plus_z(s: State) -> None:
        s["x"] += BETA_MV * s["A"].T @ s["y"] + s["z"]

    def w_plus_alpha_ax(s: State) -> None:
        s["w"] += ALPHA_MV * s["A"] @ s["x"]

    yield Launch("gemver_kernel1", (floor_grid(n, 32), floor_grid(n, 8)), (32, 8),
                 (*head, "A", "v1", "v2", "u1", "u2"), a_plus_outer_products)  # fmt: skip
    yield Launch("gemver_kernel2", (floor_grid(n, 256), 1), (256, 1),
                 (*head, "A", "x", "y", "z"), x_plus_beta_at_y_plus_z)  # fmt: skip
    yield Launch("gemver_kernel3", (floor_grid(n, 256), 1), (256, 1),
                 (*head, "A", "x", "w"), w_plus_alpha_ax)  # fmt: skip


def _gesummv_init(z: Sizes) -> State:
    n = z["N"]
    ai, aj = index_grids(n, n)
    return as_device(A=ai * aj / n, B=ai * aj / n, tmp=np.zeros(n), x=np.arange(n) / n,
                     y=np.zeros(n))  # fmt: skip


def _gesummv_steps(z: Sizes) -> Iterator[Step]:
    n = z["N"]

    def y_is_alpha_ax_plus_beta_bx(s: State) -> None:
        s["tmp"] += s["A"] @ s["x"]
        s["y"][...] = ALPHA_MV * s["tmp"] + BETA_MV * (s["y"] + s["B"] @ s["x"])

    yield Launch("gesummv_kernel", (ceil_grid(n, 256), 1), (256, 1),
                 (n, ALPHA_MV, BETA_MV, "A", "B", "tmp", "x", "y"),
                 y_is_alpha_ax_plus_beta_bx)  # fmt: skip


def _mvt_init(z: Sizes) -> State:
    n = z["N"]
    i = np.arange(n)
    ai, aj = index_grids(n, n)
    return as_device(a=ai * aj / n, x1=i / n, x2=(i + 1) / n, y_1=(i + 3) / n, y_2=(i + 4) / n)


def _mvt_steps(z: Sizes) -> Iterator[Step]:
    n = z["N"]
    block = (32, 8)
    adders = block[1]  # threads per element: see the note

    def x1_plus_a_y1(s: State) -> None:
        s["x1"] += adders * (s["a"] @ s["y_1"])

    def x2_plus_at_y2(s: State) -> None:
        s["x2"] += adders * (s["a"].T @ s["y_2"])

    grid = (ceil_grid(n, 32), 1)
    yield Launch("mvt_kernel1", grid, block, (n, "a", "x1", "y_1"), x1_plus_a_y1)
    yield Launch("mvt_kernel2", grid, block, (n, "a", "x2", "y_2"), x2_plus_at_y2)


def _syr2k_init(z: Sizes) -> State:
    ni, nj = z["NI"], z["NJ"]
    ai, aj = index_grids(ni, nj)
    ci, cj = index_grids(ni, ni)
    return as_device(A=ai * aj / ni, B=ai * aj / ni, C=ci * cj / ni)


def _syr2k_steps(z: Sizes) -> Iterator[Step]:
    ni, nj = z["NI"], z["NJ"]

    def c_update(s: State) -> None:
        a, b = s["A"], s["B"]
        s["C"][...] = BETA_MM * s["C"] + ALPHA_MM * (a @ b.T + b @ a.T)

    yield Launch("syr2k_kernel", (ceil_grid(ni, 32), ceil_grid(ni, 8)), (32, 8),
                 (ni, nj, ALPHA_MM, BETA_MM, "A", "B", "C"), c_update)  # fmt: skip


def _syrk_init(z: Sizes) -> State:
    ni, nj = z["NI"], z["NJ"]
    ai, aj = index_grids(ni, nj)
    ci, cj = index_grids(ni, ni)
    return as_device(A=ai * aj / ni, C=ci * cj / ni)


def _syrk_steps(z: Sizes) -> Iterator[Step]:
    ni, nj = z["NI"], z["NJ"]

    def c_update(s: State) -> None:
        s["C"][...] = BETA_MM * s["C"] + ALPHA_MM * s["A"] @ s["A"].T

    yield Launch("syrk_kernel", (ceil_grid(ni, 32), ceil_grid(ni, 8)), (32, 8),
                 (ni, nj, ALPHA_MM, BETA_MM, "A", "C"), c_update)  # fmt: skip


BENCHMARKS = (
    Benchmark("2mm", f"{KERNELS}/2mm/2mm.cu", ("mm2_kernel1", "mm2_kernel2"),
              {"NI": 60, "NJ": 64, "NK": 40, "NL": 64}, _mm2_init, _mm2_steps,
              ("NJ == NL: the kernel reads C as NJ x NL, the host declares it NL x NJ",)),
    Benchmark("3mm", f"{KERNELS}/3mm/3mm.cu", ("mm3_kernel1", "mm3_kernel2", "mm3_kernel3"),
              {"NI": 60, "NJ": 48, "NK": 40, "NL": 56, "NM": 64}, _mm3_init, _mm3_steps,
              ("main() passes the arrays to mm3Cuda in the wrong parameter order (so the "
               "real run multiplies uninitialised memory); the kernels get A..D as "
               "init_array names them",)),
    Benchmark("atax", f"{KERNELS}/atax/atax.cu", ("atax_kernel1", "atax_kernel2"),
              {"NX": 72, "NY": 56}, _atax_init, _atax_steps,
              ("x has NY elements (init_array fills NX of them; the host allocates NY)",
               "the host launches 32x8 blocks for a 1-D index, so 8 threads zero and then "
               "add into each tmp[i] / y[j] (a race in the benchmark); xpuc's cpu target "
               "runs kernel2's loop in lockstep (8 times the product) and kernel1's, whose "
               "threads each walk a row of A, one thread after another (the product once)",)),
    Benchmark("bicg", f"{KERNELS}/bicg/bicg.cu", ("bicg_kernel1", "bicg_kernel2"),
              {"NX": 300, "NY": 200}, _bicg_init, _bicg_steps),
    Benchmark("doitgen", f"{KERNELS}/doitgen/doitgen.cu", ("doitgen_kernel1", "doitgen_kernel2"),
              {"NR": 40, "NQ": 32, "NP": 48}, _doitgen_init, _doitgen_steps),
    Benchmark("gemm", f"{KERNELS}/gemm/gemm.cu", ("gemm_kernel",),
              {"NI": 64, "NJ": 60, "NK": 40}, _gemm_init, _gemm_steps),
    Benchmark("gemver", f"{KERNELS}/gemver/gemver.cu",
              ("gemver_kernel1", "gemver_kernel2", "gemver_kernel3"),
              {"N": 256}, _gemver_init, _gemver_steps,
              ("N is a multiple of 256: the host's grids round down",)),
    Benchmark("gesummv", f"{KERNELS}/gesummv/gesummv.cu", ("gesummv_kernel",),
              {"N": 300}, _gesummv_init, _gesummv_steps,
              ("tmp and y start at zero (the host copies them uninitialised)",)),
    Benchmark("mvt", f"{KERNELS}/mvt/mvt.cu", ("mvt_kernel1", "mvt_kernel2"),
              {"N": 96}, _mvt_init, _mvt_steps,
              ("the host launches 32x8 blocks for a 1-D index, so 8 threads add into "
               "each x1[i] / x2[i] (a race in the benchmark); the reference is the "
               "outcome when they run one after another, as on a CPU: 8 times the sum",)),
    Benchmark("syr2k", f"{KERNELS}/syr2k/syr2k.cu", ("syr2k_kernel",),
              {"NI": 56, "NJ": 40}, _syr2k_init, _syr2k_steps),
    Benchmark("syrk", f"{KERNELS}/syrk/syrk.cu", ("syrk_kernel",),
              {"NI": 60, "NJ": 40}, _syrk_init, _syrk_steps),
)  # fmt: skip
