"""Preset topologies, from published figures (rounded; see docs/topology.md).

Each preset is a function returning the JSON document, so ``Topology.load("h100x8")``
goes through the same checks as a user's file.  Bandwidths are per device and
direction; alphas are per-message latencies of the collective libraries' protocols,
not of the raw fabric.
"""

from __future__ import annotations

from collections.abc import Callable

# NVLink 4 through NVSwitch: 900 GB/s bidirectional per H100 (450 per direction).
NVLINK = {"alpha_us": 2.0, "bandwidth_GBps": 450.0}
# HCCS on an 8-card Ascend 910B board: a full mesh, 7 links of 56 GB/s bidirectional
# (392 GB/s per card): 196 GB/s per direction in all, 28 to any one peer.
HCCS = {"alpha_us": 3.0, "bandwidth_GBps": 196.0, "peer_GBps": 28.0}
# PCIe 5.0 x16: 64 GB/s per direction (through a switch or the host).
PCIE = {"alpha_us": 5.0, "bandwidth_GBps": 64.0}
# 200 GbE RoCE v2, one port per card: 25 GB/s per direction.
ROCE = {"alpha_us": 8.0, "bandwidth_GBps": 25.0}
# InfiniBand NDR 400 Gb/s, one ConnectX-7 per GPU: 50 GB/s per direction.
IB = {"alpha_us": 5.0, "bandwidth_GBps": 50.0}
# A spine between racks with 2:1 oversubscription and one more switch hop.
SPINE = {"alpha_us": 8.0, "bandwidth_GBps": 25.0}

H100 = {"vendor": "nvidia", "memory_GiB": 80, "peak_tflops": 989, "reduce_GBps": 1100}
# Ascend 910B-class domestic accelerator: 64 GB HBM2e at ~1.6 TB/s, ~320 TFLOPS fp16.
ASCEND910B = {"vendor": "huawei", "memory_GiB": 64, "peak_tflops": 320, "reduce_GBps": 530}


def _node(name: str, kind: str, link: str, count: int = 8, repeat: int = 1) -> dict:
    node = {"name": name, "link": link, "devices": [{"kind": kind, "count": count}]}
    if repeat > 1:
        node["repeat"] = repeat
    return node


def h100x8() -> dict:
    return {
        "name": "h100x8",
        "link_classes": {"nvlink": NVLINK},
        "device_kinds": {"h100": H100},
        "racks": [{"nodes": [_node("dgx", "h100", "nvlink")]}],
    }


def ascend910bx8() -> dict:
    return {
        "name": "ascend910bx8",
        "link_classes": {"hccs": HCCS},
        "device_kinds": {"ascend910b": ASCEND910B},
        "racks": [{"nodes": [_node("atlas", "ascend910b", "hccs")]}],
    }


def mixed2node() -> dict:
    return {
        "name": "mixed2node",
        "link_classes": {"nvlink": NVLINK, "hccs": HCCS, "roce": ROCE},
        "device_kinds": {"h100": H100, "ascend910b": ASCEND910B},
        "racks": [
            {
                "link": "roce",
                "nodes": [_node("dgx", "h100", "nvlink"), _node("atlas", "ascend910b", "hccs")],
            }
        ],
    }


def cluster1024() -> dict:
    """8 racks of 16 DGX-H100-class nodes: NVLink in a node, IB in a rack, a spine."""
    return {
        "name": "cluster1024",
        "link_classes": {"nvlink": NVLINK, "ib": IB, "spine": SPINE},
        "device_kinds": {"h100": H100},
        "racks": [
            {
                "name": "rack",
                "repeat": 8,
                "link": "ib",
                "nodes": [_node("n", "h100", "nvlink", repeat=16)],
            }  # fmt: skip
        ],
        "inter_rack_link": "spine",
    }


PRESETS: dict[str, Callable[[], dict]] = {
    "h100x8": h100x8,
    "ascend910bx8": ascend910bx8,
    "mixed2node": mixed2node,
    "cluster1024": cluster1024,
}
