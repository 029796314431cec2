"""Machines for the collective cost model: devices, the links between them, hierarchy.

A topology is racks of nodes of devices.  Two distinct devices talk over exactly one
link class: the node's own link when they share a node, the rack's link when they
share a rack, else the inter-rack link.  Each link class has a latency ``alpha``
(seconds per message) and a bandwidth (bytes per second a device can push in one
direction, shared by its concurrent messages; ``peer_bandwidth`` caps one pair, for
full-mesh fabrics).  Nodes have ``nics`` network ports shared by their devices'
inter-node messages.  The JSON format is described in ``docs/topology.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xpuc.comm.schedule import KINDS
from xpuc.compiler.diagnostics import XpucError


class TopologyError(XpucError, ValueError):
    """Bad topology input; the message names the file and the JSON key path."""


@dataclass(frozen=True)
class LinkClass:
    name: str
    alpha: float  # seconds per message
    bandwidth: float  # bytes/s per device and direction, shared by concurrent messages
    peer_bandwidth: float | None = None  # bytes/s cap for one pair (full mesh); None: none


@dataclass(frozen=True)
class DeviceKind:
    name: str
    vendor: str = ""
    memory_gib: float = 0.0
    peak_tflops: float = 0.0
    gamma: float = 0.0  # seconds per reduced byte (1 / reduce bandwidth)
    reduce_GBps: float | None = None  # as written in the JSON (round trips exactly)


@dataclass(frozen=True)
class Device:
    id: int
    kind: str
    node: int
    rack: int
    name: str
    memory_gib: float
    peak_tflops: float


@dataclass
class Node:
    name: str
    rack: int
    link: str | None  # class between this node's devices (None: a single device)
    devices: list[int]
    nics: int


@dataclass
class Rack:
    name: str
    link: str | None  # class between this rack's nodes (None: a single node)
    nodes: list[int]


_TOP_KEYS = ("name", "link_classes", "device_kinds", "racks", "inter_rack_link", "native")
_LINK_KEYS = ("alpha_us", "bandwidth_GBps", "peer_GBps")
_KIND_KEYS = ("vendor", "memory_GiB", "peak_tflops", "reduce_GBps")
_RACK_KEYS = ("name", "link", "nodes", "repeat")
_NODE_KEYS = ("name", "link", "nics", "devices", "repeat")
_DEV_KEYS = ("kind", "count")
_NATIVE_KEYS = ("fixed_s", "per_byte_s")


class _Reader:
    """Checks one JSON document, naming ``source: key.path`` in every error."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, msg: str) -> TopologyError:
        return TopologyError(f"{self.source}: {path}: {msg}" if path else f"{self.source}: {msg}")

    def obj(self, v: Any, path: str, keys: tuple[str, ...], required=()) -> dict:
        if not isinstance(v, dict):
            raise self.fail(path, f"expected an object, got {type(v).__name__}")
        for k in v:
            if k not in keys:
                raise self.fail(_key(path, k), f"unknown key (expected one of {', '.join(keys)})")
        for k in required:
            if k not in v:
                raise self.fail(path, f"missing key '{k}'")
        return v

    def num(self, v: Any, path: str, positive=False) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(path, f"expected a number, got {json.dumps(v)}")
        if v < 0 or (positive and v == 0):
            raise self.fail(path, f"expected a {'positive' if positive else 'non-negative'} "
                            f"number, got {v}")  # fmt: skip
        return float(v)

    def count(self, v: Any, path: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise self.fail(path, f"expected a positive integer, got {json.dumps(v)}")
        return v

    def text(self, v: Any, path: str) -> str:
        if not isinstance(v, str) or not v:
            raise self.fail(path, f"expected a non-empty string, got {json.dumps(v)}")
        return v

    def link(self, v: Any, path: str, classes: dict) -> str:
        name = self.text(v, path)
        if name not in classes:
            known = ", ".join(sorted(classes)) or "none defined"
            raise self.fail(path, f"unknown link class '{name}' (known: {known})")
        return name


def _key(path: str, k: str | int) -> str:
    if isinstance(k, int):
        return f"{path}[{k}]"
    return f"{path}.{k}" if path else k


class Topology:
    def __init__(
        self,
        name: str,
        link_classes: dict[str, LinkClass],
        device_kinds: dict[str, DeviceKind],
        racks: list[Rack],
        nodes: list[Node],
        devices: list[Device],
        inter_rack_link: str | None = None,
        native: dict[str, tuple[float, float]] | None = None,
    ):
        self.name = name
        self.link_classes = link_classes
        self.device_kinds = device_kinds
        self.racks = racks
        self.node_list = nodes
        self.devices = devices
        self.inter_rack_link = inter_rack_link
        self.native: dict[str, tuple[float, float]] = dict(native or {})
        # Flat lookups so that link() is a few list indexings (planning 1,024 cards
        # asks for it millions of times through the cost model's arrays).
        self._node_of = [d.node for d in devices]
        self._rack_of = [d.rack for d in devices]
        self._node_link = [link_classes[n.link] if n.link else None for n in nodes]
        self._rack_link = [link_classes[r.link] if r.link else None for r in racks]
        self._inter = link_classes[inter_rack_link] if inter_rack_link else None
        self._gamma = [device_kinds[d.kind].gamma for d in devices]
        self.cache: dict = {}  # the cost model's per-topology memo (see cost.py)

    @property
    def size(self) -> int:
        return len(self.devices)

    def nodes(self) -> list[list[int]]:
        """Device ids per node, in node order."""
        return [list(n.devices) for n in self.node_list]

    def link(self, a: int, b: int) -> LinkClass:
        """The link class between two distinct devices."""
        if a == b:
            raise ValueError(f"link({a}, {b}): a device has no link to itself")
        na, nb = self._node_of[a], self._node_of[b]
        if na == nb:
            return self._node_link[na]  # type: ignore[return-value]  # set: >1 device
        ra = self._rack_of[a]
        if ra == self._rack_of[b]:
            return self._rack_link[ra]  # type: ignore[return-value]
        return self._inter  # type: ignore[return-value]

    def gamma(self, device_id: int) -> float:
        """Seconds per byte for a device to reduce received data into its buffer."""
        return self._gamma[device_id]

    def __repr__(self) -> str:
        return f"Topology({self.name!r}, {self.size} devices, {len(self.node_list)} nodes)"

    # -- JSON ------------------------------------------------------------------------

    @classmethod
    def load(cls, spec: str | Path) -> Topology:
        """A preset name (see ``presets.PRESETS``) or a path to a ``.json`` file."""
        from xpuc.comm.presets import PRESETS

        s = str(spec)
        if s in PRESETS:
            return cls.from_json(PRESETS[s](), source=f"preset '{s}'")
        if s.endswith(".json") or Path(s).exists():
            return cls.from_json(Path(s))
        raise TopologyError(
            f"unknown topology '{s}' (presets: {', '.join(PRESETS)}; or a path to a .json file)"
        )

    @classmethod
    def from_json(cls, spec: str | Path | dict, source: str | None = None) -> Topology:
        if isinstance(spec, dict):
            return _parse(spec, _Reader(source or "topology"))
        path = Path(spec)
        r = _Reader(source or str(path))
        try:
            text = path.read_text()
        except OSError as e:
            raise r.fail("", f"cannot read: {e.strerror or e}") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise TopologyError(f"{path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from None
        return _parse(doc, r)

    def to_json(self) -> dict:
        """The expanded JSON form (no ``repeat``); ``from_json`` reads it back."""
        links: dict[str, dict] = {}
        for c in self.link_classes.values():
            links[c.name] = {"alpha_us": c.alpha * 1e6, "bandwidth_GBps": c.bandwidth / 1e9}
            if c.peer_bandwidth is not None:
                links[c.name]["peer_GBps"] = c.peer_bandwidth / 1e9
        kinds: dict[str, dict] = {}
        for k in self.device_kinds.values():
            kinds[k.name] = {"vendor": k.vendor, "memory_GiB": k.memory_gib,
                             "peak_tflops": k.peak_tflops}  # fmt: skip
            if k.reduce_GBps is not None:
                kinds[k.name]["reduce_GBps"] = k.reduce_GBps
            elif k.gamma > 0:
                kinds[k.name]["reduce_GBps"] = 1 / k.gamma / 1e9
        racks = []
        for rack in self.racks:
            nodes = []
            for ni in rack.nodes:
                node = self.node_list[ni]
                devs: list[dict] = []
                for d in node.devices:
                    kind = self.devices[d].kind
                    if devs and devs[-1]["kind"] == kind:
                        devs[-1]["count"] += 1
                    else:
                        devs.append({"kind": kind, "count": 1})
                entry: dict[str, Any] = {"name": node.name}
                if node.link:
                    entry["link"] = node.link
                entry["nics"] = node.nics
                entry["devices"] = devs
                nodes.append(entry)
            r: dict[str, Any] = {"name": rack.name}
            if rack.link:
                r["link"] = rack.link
            r["nodes"] = nodes
            racks.append(r)
        doc: dict[str, Any] = {"name": self.name, "link_classes": links,
                               "device_kinds": kinds, "racks": racks}  # fmt: skip
        if self.inter_rack_link:
            doc["inter_rack_link"] = self.inter_rack_link
        if self.native:
            doc["native"] = {
                k: {"fixed_s": a, "per_byte_s": b} for k, (a, b) in self.native.items()
            }
        return doc


def _parse(doc: Any, r: _Reader) -> Topology:
    doc = r.obj(doc, "", _TOP_KEYS, required=("link_classes", "device_kinds", "racks"))
    name = r.text(doc.get("name", "topology"), "name")

    links: dict[str, LinkClass] = {}
    lc = doc["link_classes"]
    if not isinstance(lc, dict):
        raise r.fail("link_classes", "expected an object of link classes")
    for cname, c in lc.items():
        p = _key("link_classes", cname)
        c = r.obj(c, p, _LINK_KEYS, required=("alpha_us", "bandwidth_GBps"))
        peer = c.get("peer_GBps")
        links[cname] = LinkClass(
            cname,
            r.num(c["alpha_us"], _key(p, "alpha_us")) * 1e-6,
            r.num(c["bandwidth_GBps"], _key(p, "bandwidth_GBps"), positive=True) * 1e9,
            None if peer is None else r.num(peer, _key(p, "peer_GBps"), positive=True) * 1e9,
        )

    kinds: dict[str, DeviceKind] = {}
    dk = doc["device_kinds"]
    if not isinstance(dk, dict) or not dk:
        raise r.fail("device_kinds", "expected a non-empty object of device kinds")
    for kname, k in dk.items():
        p = _key("device_kinds", kname)
        k = r.obj(k, p, _KIND_KEYS)
        red = k.get("reduce_GBps")
        if red is not None:
            red = r.num(red, _key(p, "reduce_GBps"), positive=True)
        kinds[kname] = DeviceKind(
            kname,
            str(k.get("vendor", "")),
            r.num(k.get("memory_GiB", 0), _key(p, "memory_GiB")),
            r.num(k.get("peak_tflops", 0), _key(p, "peak_tflops")),
            0.0 if red is None else 1 / (red * 1e9),
            red,
        )

    racks_doc = doc["racks"]
    if not isinstance(racks_doc, list) or not racks_doc:
        raise r.fail("racks", "expected a non-empty list of racks")
    racks: list[Rack] = []
    nodes: list[Node] = []
    devices: list[Device] = []
    seen: dict[str, str] = {}
    for ri, rd in enumerate(racks_doc):
        rp = _key("racks", ri)
        rd = r.obj(rd, rp, _RACK_KEYS, required=("nodes",))
        nlist = rd["nodes"]
        if not isinstance(nlist, list) or not nlist:
            raise r.fail(_key(rp, "nodes"), "expected a non-empty list of nodes")
        rrep = r.count(rd.get("repeat", 1), _key(rp, "repeat"))
        rbase = r.text(rd["name"], _key(rp, "name")) if "name" in rd else None
        rlink = r.link(rd["link"], _key(rp, "link"), links) if "link" in rd else None
        for rj in range(rrep):
            if rbase is None:
                rname = f"rack{len(racks)}"
            else:
                rname = f"{rbase}{rj}" if rrep > 1 else rbase
            rack = Rack(rname, rlink, [])
            for ni, nd in enumerate(nlist):
                np_ = _key(_key(rp, "nodes"), ni)
                nd = r.obj(nd, np_, _NODE_KEYS, required=("devices",))
                nrep = r.count(nd.get("repeat", 1), _key(np_, "repeat"))
                nbase = r.text(nd["name"], _key(np_, "name")) if "name" in nd else None
                nlink = r.link(nd["link"], _key(np_, "link"), links) if "link" in nd else None
                dl = nd["devices"]
                if not isinstance(dl, list) or not dl:
                    raise r.fail(_key(np_, "devices"), "expected a non-empty list of devices")
                kinds_here: list[str] = []
                for di, dd in enumerate(dl):
                    dp = _key(_key(np_, "devices"), di)
                    dd = r.obj(dd, dp, _DEV_KEYS, required=("kind",))
                    kind = r.text(dd["kind"], _key(dp, "kind"))
                    if kind not in kinds:
                        raise r.fail(_key(dp, "kind"), f"unknown device kind '{kind}' (known: "
                                     f"{', '.join(sorted(kinds))})")  # fmt: skip
                    kinds_here += [kind] * r.count(dd.get("count", 1), _key(dp, "count"))
                if len(kinds_here) > 1 and nlink is None:
                    raise r.fail(np_, f"missing key 'link' (the node has {len(kinds_here)} "
                                 "devices)")  # fmt: skip
                nics = r.count(nd.get("nics", len(kinds_here)), _key(np_, "nics"))
                for nj in range(nrep):
                    if nbase is None:
                        nname = f"node{len(nodes)}"
                    else:
                        nname = f"{nbase}{nj}" if nrep > 1 else nbase
                        if rrep > 1:
                            nname = f"{rname}.{nname}"
                    if nname in seen:
                        raise r.fail(_key(np_, "name"), f"duplicate node name '{nname}' "
                                     f"(also {seen[nname]})")  # fmt: skip
                    seen[nname] = np_
                    node = Node(nname, len(racks), nlink, [], nics)
                    for li, kind in enumerate(kinds_here):
                        k = kinds[kind]
                        did = len(devices)
                        devices.append(
                            Device(
                                did,
                                kind,
                                len(nodes),
                                len(racks),
                                f"{nname}/{li}",
                                k.memory_gib,
                                k.peak_tflops,
                            )  # fmt: skip
                        )
                        node.devices.append(did)
                    rack.nodes.append(len(nodes))
                    nodes.append(node)
            if len(rack.nodes) > 1 and rlink is None:
                raise r.fail(rp, f"missing key 'link' (the rack has {len(rack.nodes)} nodes)")
            racks.append(rack)

    inter = None
    if "inter_rack_link" in doc:
        inter = r.link(doc["inter_rack_link"], "inter_rack_link", links)
    elif len(racks) > 1:
        raise r.fail("", f"missing key 'inter_rack_link' (there are {len(racks)} racks)")

    native: dict[str, tuple[float, float]] = {}
    nat = doc.get("native", {})
    if not isinstance(nat, dict):
        raise r.fail("native", "expected an object: collective kind -> {fixed_s, per_byte_s}")
    for kind, v in nat.items():
        p = _key("native", kind)
        if kind not in KINDS:
            raise r.fail(p, f"unknown collective kind (expected one of {', '.join(KINDS)})")
        v = r.obj(v, p, _NATIVE_KEYS, required=_NATIVE_KEYS)
        native[kind] = (r.num(v["fixed_s"], _key(p, "fixed_s")),
                        r.num(v["per_byte_s"], _key(p, "per_byte_s")))  # fmt: skip
    return Topology(name, links, kinds, racks, nodes, devices, inter, native)


def uniform(
    n: int, alpha: float, bandwidth: float, gamma: float, nodes: int = 1, name: str = "uniform"
) -> Topology:
    """``n`` identical devices on ``nodes`` equal nodes, every pair on one link class.

    For benchmarks: ``alpha`` [s], ``bandwidth`` [bytes/s] and ``gamma`` [s/byte] as
    measured on this machine.
    """
    if n < 1 or nodes < 1 or n % nodes:
        raise TopologyError(f"uniform: {n} devices do not split into {nodes} equal nodes")
    link = LinkClass("uniform", alpha, bandwidth)
    kind = DeviceKind("generic", gamma=gamma)
    per = n // nodes
    link_name = "uniform" if per > 1 else None
    node_list = [
        Node(f"node{i}", 0, link_name, list(range(i * per, (i + 1) * per)), per)
        for i in range(nodes)
    ]
    devices = [Device(d, "generic", d // per, 0, f"node{d // per}/{d % per}", 0.0, 0.0)
               for d in range(n)]  # fmt: skip
    rack = Rack("rack0", "uniform" if nodes > 1 else None, list(range(nodes)))
    return Topology(name, {"uniform": link}, {"generic": kind}, [rack], node_list, devices)


__all__ = ["Device", "DeviceKind", "LinkClass", "Topology", "TopologyError", "uniform"]
