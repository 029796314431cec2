"""Partitioned programs run on 2 and 4 gloo ranks against numpy: every algorithm,
bucketing, overlap, resharding, 2-D grids."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.comm import programs
from xpuc.comm.algorithms import ALGORITHMS
from xpuc.comm.plan import partition
from xpuc.comm.topology import uniform
from xpuc.runtime.program import run_program


@pytest.fixture(scope="module")
def topo_file(tmp_path_factory):
    """Two nodes per group size (so hierarchical really has two levels)."""
    paths = {}
    for n in (2, 4):
        t = uniform(n, 20e-6, 1e9, 1e-10, nodes=2, name=f"two-nodes-{n}")
        path = tmp_path_factory.mktemp("topo") / f"two_nodes_{n}.json"
        path.write_text(json.dumps(t.to_json()))
        paths[n] = str(path)
    return paths


def check(got, refs):
    assert len(got) == len(refs)
    for g, r in zip(got, refs, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)


def algorithms_used(m) -> set[str]:
    text = str(m)
    return {a for kind in ALGORITHMS.values() for a in kind if f'algorithm = "{a}"' in text}


@pytest.mark.parametrize("algorithm", [*ALGORITHMS["all_reduce"], "native"])
def test_tp_mlp(cluster, topo_file, algorithm):
    n = cluster.world_size
    module, args, refs = programs.tp_mlp(n)
    topo = None if algorithm == "native" else topo_file[n]
    m = partition(module, topo, algorithms=algorithm)
    if algorithm != "native":
        assert algorithms_used(m) == {algorithm}
        assert "xpu.p2p_schedule" in str(m)
    check(run_program(m, args, cluster), refs)


@pytest.mark.parametrize("bucket", [0, 64, 1 << 20])
def test_dp_bucketing(cluster, topo_file, bucket):
    n = cluster.world_size
    text, args, refs = programs.dp_grads(n)
    m = partition(text, topo_file[n], bucket_bytes=bucket or None)
    ir = str(m)
    # three gradients of 96, 48 and 80 bytes: one bucket of all three at 1 MiB; at 64
    # bytes only the 48-byte one fits, so nothing is bucketed
    assert ("xpu.bucket = 3" in ir) == (bucket == 1 << 20)
    assert ir.count("xpu.p2p_schedule") == (1 if bucket == 1 << 20 else 3)
    check(run_program(m, args, cluster), refs)


@pytest.mark.parametrize("algorithm", [*ALGORITHMS["all_gather"], "native"])
def test_all_gather(cluster, topo_file, algorithm):
    n = cluster.world_size
    module, args, refs = programs.reshard(n, [0], [])
    topo = None if algorithm == "native" else topo_file[n]
    m = partition(module, topo, algorithms=algorithm)
    assert "all_gather" in str(m)
    check(run_program(m, args, cluster), refs)


@pytest.mark.parametrize("algorithm", [*ALGORITHMS["all_to_all"], "native"])
def test_all_to_all(cluster, topo_file, algorithm):
    n = cluster.world_size
    module, args, refs = programs.reshard(n, [0], [None, 0])
    topo = None if algorithm == "native" else topo_file[n]
    m = partition(module, topo, algorithms=algorithm)
    assert "all_to_all" in str(m)
    check(run_program(m, args, cluster), refs)


@pytest.mark.parametrize("algorithm", [*ALGORITHMS["reduce_scatter"], "native"])
def test_reduce_scatter(cluster, topo_file, algorithm):
    n = cluster.world_size
    module, args, refs = programs.reduce_scatter(n)
    topo = None if algorithm == "native" else topo_file[n]
    m = partition(module, topo, algorithms=algorithm)
    assert "reduce_scatter" in str(m) and "all_reduce" not in str(m)
    check(run_program(m, args, cluster), refs)


@pytest.mark.parametrize("chunks", [2, 4])
def test_overlap(cluster, topo_file, chunks):
    n = cluster.world_size
    module, args, refs = programs.tp_mlp(n)
    m = partition(module, topo_file[n], overlap_chunks=chunks)
    assert str(m).count("xpu.async") == chunks
    check(run_program(m, args, cluster), refs)


def test_overlap_gather(cluster):
    """Sequence-parallel input: all-gather + matmul in chunks."""
    from xpuc.comm.builder import Program

    n = cluster.world_size
    p = Program("sp", grid=(n,))
    x = p.input("x", (4 * n, 8), split=[0])
    w = p.input("w", (8, 6))
    p.output(p.matmul(p.shard(x, [], for_users=True), w))
    rng = np.random.default_rng(5)
    a, b = programs.rand(rng, 4 * n, 8), programs.rand(rng, 8, 6)
    m = partition(p.module(), None, overlap_chunks=2)
    assert str(m).count("xpu.async") == 2
    check(run_program(m, [a, b], cluster), [a @ b])


def test_grid_2d(cluster4):
    module, args, refs = programs.grid2d()
    m = partition(module, "h100x8")
    check(run_program(m, args, cluster4), refs)


def test_every_algorithm_on_4_ranks_from_mlir(cluster4, topo_file):
    """The same program from .mlir text: each all-reduce algorithm by name."""
    text, args, refs = programs.dp_grads(4)
    for alg in ALGORITHMS["all_reduce"]:
        m = partition(text, topo_file[4], algorithms=alg, bucket_bytes=1 << 20)
        assert algorithms_used(m) == {alg}
        check(run_program(m, args, cluster4), refs)
