"""The alpha-beta-gamma cost model shared by ``predict`` and ``simulate``.

Times are per step: every rank's messages of a step run at once, so a step takes its
slowest message plus its slowest reduction.  One message is everything rank ``a``
SENDs to rank ``b`` in one step (several ranges cost one ``alpha``)::

    message  = alpha(link) + bytes / bw_eff
    bw_eff   = min(peer_bandwidth(link), bandwidth(link) / share)
    share    = max(messages the sender sends in the step on its intra- (or inter-) node
                   port, messages the receiver receives on that port,
                   inter-node messages leaving the sender's node / its nics,
                   inter-node messages entering the receiver's node / its nics, 1)
    step     = max over messages + max over ranks (gamma(device) * bytes it reduces)

``bytes`` of a transfer is ``units / chunks * nbytes`` (the model ignores how the
runtime rounds unit bounds to elements), so the time of a step is
``max_i(alpha_i + slope_i * nbytes) + gslope * nbytes``: a step is a few
``(alpha, slope)`` terms that do not depend on ``nbytes``, computed once per group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xpuc.comm.topology import Topology

Terms = tuple[tuple[tuple[float, float], ...], float]  # ((alpha, slope), ...), gslope
Profile = list[tuple[int, Terms]]  # (how many steps, their terms)


@dataclass
class Pattern:
    """``count`` steps with the same messages (rank positions ``src -> dst``).

    ``units`` per message; ``red`` the units of each message the receiver reduces
    (0 for plain receives).  Scalars broadcast.  ``merge``: the same pair may appear
    twice (two transfers of one message).
    """

    count: int
    src: np.ndarray
    dst: np.ndarray
    units: np.ndarray | int
    red: np.ndarray | int = 0
    merge: bool = False


class _Arrays:
    def __init__(self, topo: Topology):
        classes = list(topo.link_classes.values())
        idx = {c.name: i for i, c in enumerate(classes)}
        self.alpha = np.array([c.alpha for c in classes] + [0.0])
        self.bw = np.array([c.bandwidth for c in classes] + [1.0])
        self.peer = np.array(
            [np.inf if c.peer_bandwidth is None else c.peer_bandwidth for c in classes] + [1.0]
        )
        none = len(classes)
        self.node_of = np.array([d.node for d in topo.devices])
        self.rack_of = np.array([d.rack for d in topo.devices])
        self.node_cls = np.array([idx[n.link] if n.link else none for n in topo.node_list])
        self.rack_cls = np.array([idx[r.link] if r.link else none for r in topo.racks])
        self.inter_cls = idx[topo.inter_rack_link] if topo.inter_rack_link else none
        self.nics = np.array([float(n.nics) for n in topo.node_list])
        self.gamma = np.array([topo.gamma(d.id) for d in topo.devices])
        self.nnodes = len(topo.node_list)


def arrays(topo: Topology) -> _Arrays:
    a = topo.cache.get("arrays")
    if a is None:
        a = topo.cache["arrays"] = _Arrays(topo)
    return a


def share(ks: int, kr: int, inter: bool, out: float, inn: float) -> float:
    """How many messages a message shares its bandwidth with (see the module doc)."""
    s = float(max(ks, kr, 1))
    return max(s, out, inn) if inter else s


def slope(units: float, chunks: int, bw: float, peer: float, shared: float) -> float:
    """Seconds per byte of ``nbytes`` for a message of ``units`` of ``chunks``."""
    return units / chunks / min(peer, bw / shared)


def step_time(terms: Terms, nbytes: float) -> float:
    msgs, gslope = terms
    return max((a + s * nbytes for a, s in msgs), default=0.0) + gslope * nbytes


def evaluate(profile: Profile, nbytes: float) -> float:
    return sum(count * step_time(terms, nbytes) for count, terms in profile)


def pattern_terms(
    topo: Topology, devs: np.ndarray, chunks: int, p: Pattern, ar: _Arrays | None = None
) -> Terms:
    """The terms of one step of ``p`` for ranks on devices ``devs`` (vectorised)."""
    ar = ar or arrays(topo)
    n = len(devs)
    src, dst = p.src, p.dst
    units = np.broadcast_to(np.asarray(p.units, dtype=np.float64), src.shape)
    red = np.broadcast_to(np.asarray(p.red, dtype=np.float64), src.shape)
    if len(src) == 0:
        return ((), 0.0)
    red_at = np.bincount(dst, weights=red, minlength=n)
    gslope = float((ar.gamma[devs] * red_at).max()) / chunks
    if p.merge:
        key, inv = np.unique(src * n + dst, return_inverse=True)
        units = np.bincount(inv, weights=units)
        src, dst = key // n, key % n
    ds, dd = devs[src], devs[dst]
    sn, dn = ar.node_of[ds], ar.node_of[dd]
    inter = sn != dn
    sr = ar.rack_of[ds]
    cls = np.where(
        inter, np.where(sr == ar.rack_of[dd], ar.rack_cls[sr], ar.inter_cls), ar.node_cls[sn]
    )
    ikey_s = src * 2 + inter
    ikey_d = dst * 2 + inter
    ks = np.bincount(ikey_s, minlength=2 * n)[ikey_s]
    kr = np.bincount(ikey_d, minlength=2 * n)[ikey_d]
    shared = np.maximum(np.maximum(ks, kr), 1).astype(np.float64)
    if inter.any():
        out = np.bincount(sn[inter], minlength=ar.nnodes)[sn] / ar.nics[sn]
        inn = np.bincount(dn[inter], minlength=ar.nnodes)[dn] / ar.nics[dn]
        shared = np.where(inter, np.maximum(shared, np.maximum(out, inn)), shared)
    slopes = units / chunks / np.minimum(ar.peer[cls], ar.bw[cls] / shared)
    terms = []
    for c in np.unique(cls):
        terms.append((float(ar.alpha[c]), float(slopes[cls == c].max())))
    return (tuple(terms), gslope)


def permutation_terms(
    topo: Topology, devs: np.ndarray, chunks: int, dst: np.ndarray, units: float = 1
) -> list[Terms]:
    """``pattern_terms`` of many steps at once (row ``s``: rank ``r`` sends ``units`` to
    ``dst[s, r]``, no reduction), for steps where each rank sends one message and
    receives one (so only the nodes' nics are shared)."""
    ar = arrays(topo)
    steps, n = dst.shape
    sn = np.broadcast_to(ar.node_of[devs], dst.shape)
    dn = ar.node_of[devs[dst]]
    sr = np.broadcast_to(ar.rack_of[devs], dst.shape)
    inter = sn != dn
    cls = np.where(
        inter, np.where(sr == ar.rack_of[devs[dst]], ar.rack_cls[sr], ar.inter_cls), ar.node_cls[sn]
    )
    shared = np.ones(dst.shape)
    if inter.any():
        row = np.arange(steps)[:, None] * ar.nnodes
        nn = steps * ar.nnodes
        out = np.bincount((row + sn)[inter], minlength=nn)[row + sn] / ar.nics[sn]
        inn = np.bincount((row + dn)[inter], minlength=nn)[row + dn] / ar.nics[dn]
        shared = np.where(inter, np.maximum(shared, np.maximum(out, inn)), shared)
    slopes = units / chunks / np.minimum(ar.peer[cls], ar.bw[cls] / shared)
    per_class = []
    for c in np.unique(cls):
        m = np.where(cls == c, slopes, -np.inf).max(axis=1)
        per_class.append((float(ar.alpha[c]), m))
    return [
        (tuple((a, float(m[s])) for a, m in per_class if m[s] > -np.inf), 0.0) for s in range(steps)
    ]


def fold(profile: Profile) -> Profile:
    """Sum the counts of steps with equal terms (pairwise has ``n - 1`` steps)."""
    counts: dict[Terms, int] = {}
    for count, terms in profile:
        counts[terms] = counts.get(terms, 0) + count
    return [(c, t) for t, c in counts.items()]


def profile(topo: Topology, devs: np.ndarray, chunks: int, patterns: list[Pattern]) -> Profile:
    ar = arrays(topo)
    return fold(
        [(p.count, pattern_terms(topo, devs, chunks, p, ar)) for p in patterns if p.count > 0]
    )
