"""Rank pools shared by the tests of a session (one set per xdist worker).

A failing run tears its cluster down; the function-scoped fixtures restart it, so
one test's failure does not spill into the next."""

import pytest

from xpuc.runtime.distributed import Cluster


@pytest.fixture(scope="session")
def _clusters():
    clusters: dict[int, Cluster] = {}
    yield clusters
    for cluster in clusters.values():
        cluster.close()


def _get(clusters: dict, n: int) -> Cluster:
    if n not in clusters:
        clusters[n] = Cluster(n, timeout=60.0)
    clusters[n].start()  # no-op while alive
    return clusters[n]


@pytest.fixture
def cluster2(_clusters) -> Cluster:
    return _get(_clusters, 2)


@pytest.fixture
def cluster4(_clusters) -> Cluster:
    return _get(_clusters, 4)


@pytest.fixture(params=[2, 4], ids=["2ranks", "4ranks"])
def cluster(request, _clusters) -> Cluster:
    return _get(_clusters, request.param)
