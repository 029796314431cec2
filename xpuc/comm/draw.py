"""A topology as text and as an SVG picture (written by hand: no dependencies).

Large machines stay readable by folding: runs of identical nodes or racks print as
one line, and the picture draws at most ``MAX_RACKS`` racks and ``MAX_NODES`` nodes
per rack, with a box saying how many more there are.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from xpuc.comm.topology import Node, Topology

MAX_RACKS = 3
MAX_NODES = 4
PALETTE = ("#76b900", "#c7000b", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _kinds(topo: Topology, node: Node) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for d in node.devices:
        k = topo.devices[d].kind
        if out and out[-1][0] == k:
            out[-1] = (k, out[-1][1] + 1)
        else:
            out.append((k, 1))
    return out


def _node_text(topo: Topology, node: Node) -> str:
    devs = " + ".join(f"{c}x {k}" for k, c in _kinds(topo, node))
    link = f" over {node.link}" if node.link else ""
    nics = f", {node.nics} nics" if node.nics != len(node.devices) else ""
    return f"{devs}{link}{nics}"


def _runs(items: list, key) -> list[tuple[int, int]]:
    """(first, last) index of each run of consecutive items with an equal key."""
    runs: list[tuple[int, int]] = []
    for i, it in enumerate(items):
        if runs and key(items[runs[-1][0]]) == key(it):
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def describe(topo: Topology) -> str:
    lines = []
    kinds = Counter(d.kind for d in topo.devices)
    lines.append(
        f"topology {topo.name}: {topo.size} devices "
        f"({', '.join(f'{c}x {k}' for k, c in kinds.items())}), "
        f"{counted(len(topo.node_list), 'node')}, {counted(len(topo.racks), 'rack')}"
    )
    mem = sum(d.memory_gib for d in topo.devices)
    flops = sum(d.peak_tflops for d in topo.devices)
    lines.append(f"  memory {mem:g} GiB, peak {flops / 1000:g} PFLOPS")
    lines.append("link classes:")
    for c in topo.link_classes.values():
        peer = f" ({c.peer_bandwidth / 1e9:g} GB/s to one peer)" if c.peer_bandwidth else ""
        lines.append(
            f"  {c.name:<10} alpha {c.alpha * 1e6:g} us  bandwidth {c.bandwidth / 1e9:g} GB/s{peer}"
        )
    lines.append("device kinds:")
    for k in topo.device_kinds.values():
        red = f", reduce {1 / k.gamma / 1e9:g} GB/s" if k.gamma else ""
        lines.append(f"  {k.name:<10} {k.vendor or '-'}, {k.memory_gib:g} GiB, "
                     f"{k.peak_tflops:g} TFLOPS{red}")  # fmt: skip
    if topo.inter_rack_link:
        lines.append(f"racks over {topo.inter_rack_link}:")
    else:
        lines.append("racks:")

    def rack_key(r):
        return (r.link, tuple(_node_text(topo, topo.node_list[i]) for i in r.nodes))

    for a, b in _runs(topo.racks, rack_key):
        rack = topo.racks[a]
        name = rack.name if a == b else f"{rack.name} .. {topo.racks[b].name} ({b - a + 1} racks)"
        link = f" over {rack.link}" if rack.link else ""
        lines.append(f"  {name}: {len(rack.nodes)} nodes{link}")
        nodes = [topo.node_list[i] for i in rack.nodes]
        for na, nb in _runs(nodes, lambda nd: _node_text(topo, nd)):
            nm = nodes[na].name if na == nb else f"{nodes[na].name} .. {nodes[nb].name}"
            count = "" if na == nb else f" ({nb - na + 1} nodes)"
            lines.append(f"    {nm}{count}: {_node_text(topo, nodes[na])}")
    if topo.native:
        lines.append("native collectives (calibrated):")
        for kind, (fixed, per_byte) in topo.native.items():
            bw = f"{1 / per_byte / 1e9:g} GB/s" if per_byte else "inf"
            lines.append(f"  {kind:<15} {fixed * 1e6:g} us + bytes / {bw}")
    return "\n".join(lines) + "\n"


def svg(topo: Topology) -> str:
    """The topology as an SVG document."""
    colour = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(topo.device_kinds)}
    sq, gap, per_row = 14, 4, 8
    node_w = per_row * (sq + gap) + gap + 16
    rack_w = node_w + 24
    parts: list[str] = []

    def text(x, y, s, size=12, anchor="start", weight="normal"):
        parts.append(f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}" '
                     f'font-weight="{weight}">{escape(str(s))}</text>')  # fmt: skip

    def rect(x, y, w, h, fill, stroke="#444", dash=False):
        d = ' stroke-dasharray="4 3"' if dash else ""
        parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}" '
                     f'stroke="{stroke}"{d} rx="4"/>')  # fmt: skip

    racks = list(range(len(topo.racks)))
    shown = racks if len(racks) <= MAX_RACKS else racks[: MAX_RACKS - 1]
    x0, y0 = 20, 60
    heights = []
    for col, ri in enumerate(shown):
        rack = topo.racks[ri]
        x = x0 + col * (rack_w + 20)
        y = y0 + 24
        nodes = rack.nodes if len(rack.nodes) <= MAX_NODES else rack.nodes[: MAX_NODES - 1]
        for ni in nodes:
            node = topo.node_list[ni]
            rows = (len(node.devices) + per_row - 1) // per_row
            h = 24 + rows * (sq + gap) + gap
            rect(x + 12, y, node_w, h, "#f4f4f4")
            text(x + 18, y + 14, f"{node.name}" + (f"  ({node.link})" if node.link else ""), 11)
            for j, d in enumerate(node.devices):
                dx = x + 12 + gap + 8 + (j % per_row) * (sq + gap)
                dy = y + 20 + (j // per_row) * (sq + gap)
                kind = topo.devices[d].kind
                parts.append(f'<rect x="{dx}" y="{dy}" width="{sq}" height="{sq}" '
                             f'fill="{colour[kind]}"><title>{escape(topo.devices[d].name)} '
                             f'{escape(kind)}</title></rect>')  # fmt: skip
            y += h + 8
        if len(nodes) < len(rack.nodes):
            more = len(rack.nodes) - len(nodes)
            rect(x + 12, y, node_w, 28, "#ffffff", dash=True)
            text(x + 12 + node_w / 2, y + 18, f"... {more} more nodes like these", 11, "middle")
            y += 36
        link = f"nodes over {rack.link}" if rack.link else "one node"
        heights.append((x, y - y0 + 4, rack.name, link))
    height = max(h for _, h, _, _ in heights)
    body = parts
    parts = []
    for x, _h, name, link in heights:
        rect(x, y0, rack_w, height, "none", "#222")
        text(x + 8, y0 + 16, f"{name}: {link}", 12, weight="bold")
    rack_frames = parts
    parts = []
    width = x0 + len(shown) * (rack_w + 20)
    if len(shown) < len(racks):
        more = len(racks) - len(shown)
        x = width
        rect(x, y0, rack_w, height, "#ffffff", "#222", dash=True)
        text(x + rack_w / 2, y0 + height / 2, f"... {counted(more, 'more rack')}", 13, "middle")
        text(x + rack_w / 2, y0 + height / 2 + 18, f"(last: {topo.racks[-1].name})", 11, "middle")
        width += rack_w + 20
    kinds = Counter(d.kind for d in topo.devices)
    nodes, racks = counted(len(topo.node_list), "node"), counted(len(topo.racks), "rack")
    title = f"{topo.name}: {counted(topo.size, 'device')}, {nodes}, {racks}"
    text(x0, 24, title, 16, weight="bold")
    if topo.inter_rack_link:
        text(x0, 44, f"racks over {topo.inter_rack_link}", 12)
    ly = y0 + height + 24
    for i, (k, c) in enumerate(kinds.items()):
        parts.append(f'<rect x="{x0 + i * 180}" y="{ly}" width="{sq}" height="{sq}" '
                     f'fill="{colour[k]}"/>')  # fmt: skip
        text(x0 + i * 180 + sq + 6, ly + 12, f"{k} x{c}", 12)
    ly += 30
    for c in topo.link_classes.values():
        text(x0, ly, f"{c.name}: alpha {c.alpha * 1e6:g} us, {c.bandwidth / 1e9:g} GB/s", 12)
        ly += 18
    width = max(width, 420)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{ly + 10}" '
        f'font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n'
        + "\n".join(rack_frames + body + parts)
        + "\n</svg>\n"
    )
