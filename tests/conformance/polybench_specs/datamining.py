"""PolyBench-ACC datamining: correlation, covariance."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import Benchmark, HostStep, Launch, Sizes, State, Step, as_device, floor_grid, index_grids

DATAMINING = "datamining"
# Both benchmarks divide by this constant, not by N; as the kernels see it, in float.
FLOAT_N = float(np.float32(3214212.01))
EPS = float(np.float32(0.005))


def _data_init(z: Sizes) -> State:
    m, n = z["M"], z["N"]
    i, j = index_grids(m, n)
    # data is declared M x N and read by the kernels as N x M: the sizes here are equal
    return as_device(data=i * j / m, mean=np.zeros(m), symmat=np.zeros((m, m)))


def _column_means(s: State) -> None:
    s["mean"][...] = s["data"].sum(axis=0) / FLOAT_N


def _correlation_init(z: Sizes) -> State:
    return {**_data_init(z), "stddev": np.zeros(z["M"], np.float32)}


def _correlation_steps(z: Sizes) -> Iterator[Step]:
    m, n = z["M"], z["N"]

    def column_stddevs(s: State) -> None:
        sd = np.sqrt(((s["data"] - s["mean"]) ** 2).sum(axis=0) / FLOAT_N)
        s["stddev"][...] = np.where(sd <= EPS, 1.0, sd)

    def centre_and_scale(s: State) -> None:
        s["data"][...] = (s["data"] - s["mean"]) / (np.sqrt(FLOAT_N) * s["stddev"])

    def correlations(s: State) -> None:
        # every entry but the last diagonal one, which the host sets afterwards
        last = s["symmat"][m - 1, m - 1]
        s["symmat"][...] = s["data"].T @ s["data"]
        np.fill_diagonal(s["symmat"], 1.0)
        s["symmat"][m - 1, m - 1] = last

    def set_last_diagonal(s: State) -> None:
        s["symmat"][m - 1, m - 1] = 1.0

    yield Launch("mean_kernel", (floor_grid(m, 256), 1), (256, 1), (m, n, "mean", "data"),
                 _column_means)  # fmt: skip
    yield Launch("std_kernel", (floor_grid(m, 256), 1), (256, 1),
                 (m, n, "mean", "stddev", "data"), column_stddevs)  # fmt: skip
    yield Launch("reduce_kernel", (floor_grid(m, 32), floor_grid(n, 8)), (32, 8),
                 (m, n, "mean", "stddev", "data"), centre_and_scale)  # fmt: skip
    yield Launch("corr_kernel", (floor_grid(m, 256), 1), (256, 1), (m, n, "symmat", "data"),
                 correlations)  # fmt: skip
    yield HostStep(set_last_diagonal)


def _covariance_steps(z: Sizes) -> Iterator[Step]:
    m, n = z["M"], z["N"]
    # The host sizes reduce_kernel's grid y from N / 32 for blocks 8 threads high, so
    # only the first quarter of the rows is centred; the reference does the same.
    grid2 = (floor_grid(m, 32), floor_grid(n, 32))
    rows = min(n, grid2[1] * 8)

    def centre_covered_rows(s: State) -> None:
        s["data"][:rows] -= s["mean"]

    def covariances(s: State) -> None:
        s["symmat"][...] = s["data"].T @ s["data"]

    yield Launch("mean_kernel", (floor_grid(m, 256), 1), (256, 1), (m, n, "mean", "data"),
                 _column_means)  # fmt: skip
    yield Launch("reduce_kernel", grid2, (32, 8), (m, n, "mean", "data"), centre_covered_rows)
    yield Launch("covar_kernel", (floor_grid(m, 256), 1), (256, 1), (m, n, "symmat", "data"),
                 covariances)  # fmt: skip


BENCHMARKS = (
    Benchmark("correlation", f"{DATAMINING}/correlation/correlation.cu",
              ("mean_kernel", "std_kernel", "reduce_kernel", "corr_kernel"),
              {"M": 256, "N": 256}, _correlation_init, _correlation_steps,
              ("M is a multiple of 256: the host's grids round down",)),
    Benchmark("covariance", f"{DATAMINING}/covariance/covariance.cu",
              ("mean_kernel", "reduce_kernel", "covar_kernel"),
              {"M": 256, "N": 256}, _data_init, _covariance_steps,
              ("M is a multiple of 256: the host's grids round down",
               "the host's grid for reduce_kernel covers only N/4 rows; the reference "
               "centres those rows only",)),
)  # fmt: skip
