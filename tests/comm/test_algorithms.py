"""Collective algorithms: numpy results, predict == simulate, choice, applicability."""

import numpy as np
import pytest

from xpuc.comm.algorithms import (
    ALGORITHMS,
    NotApplicable,
    algorithms,
    choose,
    choose_concurrent,
    predict,
    predict_concurrent,
    predict_plan,
    schedule,
)
from xpuc.comm.schedule import RECV, RECV_REDUCE, SEND
from xpuc.comm.simulate import REDUCTIONS, execute_numpy, simulate, simulate_concurrent
from xpuc.comm.topology import Topology, uniform

CASES = [(kind, alg) for kind, table in ALGORITHMS.items() for alg in table]
NS = [1, 2, 3, 4, 5, 6, 8]
H100 = Topology.load("h100x8")
MIXED = Topology.load("mixed2node")
CLUSTER = Topology.load("cluster1024")


def _reference(kind, xs, reduction, n):
    op = REDUCTIONS[reduction]
    total = xs[0].copy()
    for x in xs[1:]:
        total = op(total, x)
    if kind == "all_reduce":
        return [total] * n
    if kind == "all_gather":
        return [np.concatenate(xs)] * n
    if kind == "reduce_scatter":
        length = len(total)
        return [total[r * length // n : (r + 1) * length // n] for r in range(n)]
    per = len(xs[0]) // n
    return [np.concatenate([x[r * per : (r + 1) * per] for x in xs]) for r in range(n)]


def _check(kind, sched, n, length, reduction, seed=0):
    rng = np.random.default_rng(seed)
    # Small integers: every association order gives the exact same floats.
    xs = [rng.integers(1, 4, size=length).astype(np.float64) for _ in range(n)]
    out = execute_numpy(sched, xs, reduction)
    ref = _reference(kind, xs, reduction, n)
    for r in range(n):
        np.testing.assert_array_equal(out[r], ref[r], err_msg=f"rank {r}")


@pytest.mark.parametrize("kind, alg", CASES)
@pytest.mark.parametrize("n", NS)
def test_matches_numpy(kind, alg, n):
    # Two nodes when n is even: the hierarchical algorithms run across nodes.
    topo = uniform(n, 1e-6, 1e9, 1e-10, nodes=2 if n % 2 == 0 else 1)
    sched = schedule(kind, alg, list(range(n)), topo)
    assert (sched.kind, sched.algorithm, sched.nranks) == (kind, alg, n)
    lengths = [n, 3 * n, 7 * n] if kind == "all_to_all" else [1, 2, 7, 13, 100]
    for length in lengths:  # 1, 2: buffers shorter than the chunk count
        for reduction in REDUCTIONS if kind in ("all_reduce", "reduce_scatter") else ["sum"]:
            _check(kind, sched, n, length, reduction)


@pytest.mark.parametrize("segments", [1, 2, 3, 8])
@pytest.mark.parametrize("n", [2, 5, 7, 12])
def test_tree_segments(segments, n):
    sched = schedule("all_reduce", "tree", list(range(n)), uniform(n, 1e-6, 1e9, 0.0), segments)
    assert sched.chunks == 2 * segments
    for length in (5, 64):
        _check("all_reduce", sched, n, length, "sum")


def test_hierarchical_across_nodes_out_of_order():
    # Ranks alternate nodes: local indices follow group order within each node.
    group = [0, 8, 1, 9, 2, 10]
    for kind in ("all_reduce", "all_gather", "reduce_scatter"):
        sched = schedule(kind, "hierarchical", group, MIXED)
        _check(kind, sched, 6, 17 if kind != "all_gather" else 5, "sum")


def test_schedules_are_well_formed():
    for kind, alg in CASES:
        sched = schedule(kind, alg, list(range(6)), uniform(6, 1e-6, 1e9, 0.0, nodes=2))
        for step in sched.steps:
            sends = sorted((t.rank, t.peer, t.hi - t.lo) for t in step if t.op == SEND)
            recvs = sorted((t.peer, t.rank, t.hi - t.lo) for t in step if t.op != SEND)
            assert sends == recvs, (kind, alg)
            for t in step:
                assert 0 <= t.lo < t.hi <= sched.chunks and t.rank != t.peer
                assert t.op in (SEND, RECV, RECV_REDUCE)
        if kind == "all_gather":
            assert sched.chunks % 6 == 0


def _groups():
    u = uniform(16, 3e-6, 20e9, 2e-12, nodes=2)
    out = []
    for n in (2, 3, 4, 5, 8, 16):
        out.append((f"uniform-{n}", u, list(range(n))))
    for n in (2, 3, 4, 5, 8):
        out.append((f"h100x8-{n}", H100, list(range(n))))
    out += [
        ("mixed-h100-4", MIXED, [0, 1, 2, 3]),
        ("mixed-ascend-5", MIXED, [8, 9, 10, 11, 12]),
        ("mixed-span-4", MIXED, [6, 7, 8, 9]),
        ("mixed-span-interleaved-8", MIXED, [0, 8, 1, 9, 2, 10, 3, 11]),
        ("mixed-span-3", MIXED, [7, 8, 9]),
        ("mixed-16", MIXED, list(range(16))),
        ("cluster-span-racks-16", CLUSTER, [0, 1, 8, 9, 128, 129, 136, 137, *range(2, 8), 10, 11]),
    ]
    shared = uniform(8, 3e-6, 20e9, 2e-12, nodes=2)
    for node in shared.node_list:
        node.nics = 1  # one port per node: concurrent inter-node messages share it
    out.append(("shared-nic-8", shared, [0, 4, 1, 5, 2, 6, 3, 7]))
    return out


GROUPS = _groups()
# every algorithm of every kind at a latency-bound, a middle and a bandwidth-bound size
SIZED_CASES = [(k, a, nb) for k, a in CASES for nb in (8.0, 1e5, 1e9)]


@pytest.mark.parametrize("name, topo, group", GROUPS, ids=[g[0] for g in GROUPS])
def test_predict_equals_simulate(name, topo, group):
    checked = 0
    for kind, alg, nbytes in SIZED_CASES:
        plan = predict_plan(kind, alg, group, topo, nbytes)
        if plan is None:
            with pytest.raises(NotApplicable):
                schedule(kind, alg, group, topo)
            continue
        sched = schedule(kind, alg, group, topo, segments=plan.segments)
        sim = simulate(sched, group, topo, nbytes)
        assert plan.seconds == pytest.approx(sim, rel=1e-9), (kind, alg, nbytes)
        assert predict(kind, alg, group, topo, nbytes) == plan.seconds
        checked += 1
    assert checked > 20


def test_tree_segments_follow_size():
    group = list(range(8))
    small = predict_plan("all_reduce", "tree", group, H100, 1e3)
    large = predict_plan("all_reduce", "tree", group, H100, 1e9)
    assert small.segments < large.segments
    # The plan's count is the best power of two, and its schedule costs what predict said.
    costs = {}
    for seg in (1, 2, 4, 8, 16, 32, 64):
        sched = schedule("all_reduce", "tree", group, H100, segments=seg)
        costs[seg] = simulate(sched, group, H100, 1e9)
    assert min(costs, key=costs.get) == large.segments
    assert costs[large.segments] == pytest.approx(large.seconds, rel=1e-9)


def test_model_sanity():
    # Ring all-reduce on a uniform machine: 2(n-1) (alpha + nbytes/(n bw)) + (n-1) gamma
    # nbytes/n, the textbook formula.
    n, a, bw, g = 8, 5e-6, 10e9, 1e-10
    topo = uniform(n, a, bw, g)
    nb = 1e8
    want = 2 * (n - 1) * (a + nb / n / bw) + (n - 1) * g * nb / n
    assert predict("all_reduce", "ring", list(range(n)), topo, nb) == pytest.approx(want)
    # Small messages: log-depth algorithms beat the ring; large ones: bandwidth-optimal.
    tiny = dict(choose("all_reduce", list(range(n)), topo, 64))
    assert tiny["recursive_doubling"] < tiny["ring"]
    big = choose("all_reduce", list(range(n)), topo, 1e9)
    assert big[0][0] in ("ring", "rabenseifner", "hetero_ring", "hierarchical")


def test_hetero_ring_on_interleaved_group():
    group = [0, 8, 1, 9, 2, 10, 3, 11]  # crosses RoCE at every hop in group order
    # One NIC per card: every hop runs at RoCE speed either way, and a step is as slow
    # as its slowest hop, so crossing less often does not help.
    ring = predict("all_reduce", "ring", group, MIXED, 1e8)
    hetero = predict("all_reduce", "hetero_ring", group, MIXED, 1e8)
    assert hetero == pytest.approx(ring)
    # Hierarchical puts 1/4 of the data per rank on RoCE (but rings over HCCS's 28 GB/s
    # peer links inside the Ascend node).
    assert predict("all_reduce", "hierarchical", group, MIXED, 1e8) < hetero
    # One shared NIC per node: the ring's 4 crossings per node share it.
    shared = Topology.load("mixed2node")
    for node in shared.node_list:
        node.nics = 1
    ring = predict("all_reduce", "ring", group, shared, 1e8)
    hetero = predict("all_reduce", "hetero_ring", group, shared, 1e8)
    assert hetero < ring / 3


def test_shared_nic_slows_concurrent_inter_node_messages():
    topo = uniform(8, 3e-6, 20e9, 0.0, nodes=2)
    group = list(range(8))
    before = predict("all_to_all", "pairwise", group, topo, 1e8)
    topo2 = uniform(8, 3e-6, 20e9, 0.0, nodes=2)
    for node in topo2.node_list:
        node.nics = 1
    assert predict("all_to_all", "pairwise", group, topo2, 1e8) > 2 * before


def test_choose_and_native():
    topo = Topology.load("h100x8")
    group = list(range(8))
    ranked = choose("all_reduce", group, topo, 1e6)
    assert [a for a, _ in ranked] and "native" not in dict(ranked)
    assert [t for _, t in ranked] == sorted(t for _, t in ranked)
    assert predict("all_reduce", "native", group, topo, 1e6) is None
    topo.native["all_reduce"] = (1e-6, 1e-15)
    try:
        ranked = choose("all_reduce", group, topo, 1e6)
        assert ranked[0] == ("native", pytest.approx(1e-6 + 1e-9))
        assert choose("all_reduce", group, topo, 1e6, ["ring", "tree"])[0][0] in ("ring", "tree")
    finally:
        topo.native.clear()
    with pytest.raises(NotApplicable, match="no schedule"):
        schedule("all_reduce", "native", group, topo)
    assert algorithms("all_to_all") == ["pairwise", "native"]


def test_not_applicable_and_bad_names():
    group = [0, 1, 2, 8]  # 3 ranks on one node, 1 on the other
    assert predict("all_reduce", "hierarchical", group, MIXED, 1e6) is None
    assert "hierarchical" not in dict(choose("all_reduce", group, MIXED, 1e6))
    with pytest.raises(NotApplicable, match="same number of ranks on every node.*3, 1"):
        schedule("all_reduce", "hierarchical", group, MIXED)
    with pytest.raises(ValueError, match="unknown all_gather algorithm 'tree'"):
        schedule("all_gather", "tree", group, MIXED)
    with pytest.raises(ValueError, match="unknown collective kind 'allreduce'"):
        predict("allreduce", "ring", group, MIXED, 1.0)
    with pytest.raises(ValueError, match="twice"):
        schedule("all_reduce", "ring", [0, 0], MIXED)
    with pytest.raises(ValueError, match="outside topology"):
        schedule("all_reduce", "ring", [0, 99], MIXED)


def test_execute_numpy_errors():
    sched = schedule("all_to_all", "pairwise", [0, 1, 2], uniform(3, 1e-6, 1e9, 0.0))
    with pytest.raises(ValueError, match="rank 0 receives 3 elements from 2, which sends 2"):
        execute_numpy(sched, [np.arange(7.0)] * 3)
    with pytest.raises(ValueError, match="unknown reduction 'mean'"):
        execute_numpy(sched, [np.arange(6.0)] * 3, "mean")


def test_cluster1024_plans():
    # Every algorithm plans 1,024 ranks (cheaply: closed-form profiles; not timed here).
    group = list(range(1024))
    for kind in ALGORITHMS:
        ranked = choose(kind, group, CLUSTER, 1 << 26)
        assert ranked and all(t > 0 for _, t in ranked)
    best = dict(choose("all_reduce", group, CLUSTER, 1 << 26))
    assert best["hierarchical"] < best["ring"]


# -- groups running one collective at once ---------------------------------------------


def _four_nodes(nics: int):
    t = uniform(16, 3e-6, 20e9, 2e-12, nodes=4)
    for node in t.node_list:
        node.nics = nics
    return t


# A 4x4 grid (nodes x devices in a node): over axis 0, four groups, one device per
# node each (the DP groups of DP x TP); over axis 1, four groups inside the nodes.
ACROSS = [[r * 4 + c for r in range(4)] for c in range(4)]
INSIDE = [[r * 4 + c for c in range(4)] for r in range(4)]
SKEWED = [[0, 5, 10, 15], [1, 6, 11, 12], [2, 7, 8, 13], [3, 4, 9, 14]]


@pytest.mark.parametrize("nics", [1, 4])
@pytest.mark.parametrize("groups", [ACROSS, INSIDE, SKEWED], ids=["across", "inside", "skewed"])
def test_concurrent_predict_equals_simulating_the_union(groups, nics):
    topo = _four_nodes(nics)
    checked = 0
    for kind, alg, nbytes in SIZED_CASES:
        plan = predict_concurrent(kind, alg, groups, topo, nbytes)
        if plan is None:
            continue
        scheds = [schedule(kind, alg, g, topo, segments=plan.segments) for g in groups]
        sim = simulate_concurrent(scheds, groups, topo, nbytes)
        assert plan.seconds == pytest.approx(sim, rel=1e-9), (kind, alg, nbytes)
        checked += 1
    assert checked > 20


def test_groups_sharing_a_nic_are_charged_for_it():
    """Four DP groups cross the nodes at once: with one nic a node, every inter-node
    message shares it four ways; with a nic per device, nothing changes."""
    nb, n, a, bw, g = 1e9, 4, 3e-6, 20e9, 2e-12

    def ring(share):  # the textbook ring all-reduce, each message at bw / share
        return 2 * (n - 1) * (a + share * nb / (n * bw)) + (n - 1) * g * nb / n

    for nics, share in ((1, 4), (4, 1)):
        topo = _four_nodes(nics)
        assert predict("all_reduce", "ring", ACROSS[0], topo, nb) == pytest.approx(ring(1))
        together = predict_concurrent("all_reduce", "ring", ACROSS, topo, nb).seconds
        assert together == pytest.approx(ring(share), rel=1e-9), nics
    # groups inside the nodes share no nic: concurrency costs nothing
    topo = _four_nodes(1)
    alone = predict("all_reduce", "ring", INSIDE[0], topo, nb)
    assert predict_concurrent("all_reduce", "ring", INSIDE, topo, nb).seconds == alone


def test_contention_changes_the_choice():
    """Seen alone, a DP group's best all-reduce is not the best with its neighbours on
    the same nics; the planner uses the joint costs (comm-select-algorithms)."""
    from xpuc.passes.comm.comm_select_algorithms import rank_candidates

    topo = _four_nodes(1)
    changed = []
    for nb in (2.0**k for k in range(6, 30)):
        alone = choose("all_reduce", ACROSS[0], topo, nb)[0][0]
        joint = choose_concurrent("all_reduce", ACROSS, topo, nb)[0][0]
        assert rank_candidates("all_reduce", ACROSS, topo, int(nb), None)[0][0] == joint
        if alone != joint:
            changed.append((nb, alone, joint))
    assert changed
