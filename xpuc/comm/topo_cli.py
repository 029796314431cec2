"""``xpuc topo show SPEC [--draw out.svg]``: print a topology, optionally draw it."""

from __future__ import annotations

import argparse
import sys

from xpuc.comm.topology import Topology, TopologyError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("topo", help="show multi-card topologies (presets or JSON)")
    sub = p.add_subparsers(dest="topo_command", required=True)
    s = sub.add_parser("show", help="print a topology and optionally draw it as SVG")
    s.add_argument("spec", help="a preset (h100x8, ascend910bx8, mixed2node, cluster1024) "
                   "or a topology .json file")  # fmt: skip
    s.add_argument("--draw", metavar="OUT.svg", help="also write a picture")
    p.set_defaults(func=cmd)
    return p


def cmd(args) -> int:
    from xpuc.comm.draw import describe, svg

    try:
        topo = Topology.load(args.spec)
    except TopologyError as e:
        sys.stderr.write(f"xpuc: error: {e}\n")
        return 1
    sys.stdout.write(describe(topo))
    if args.draw:
        try:
            with open(args.draw, "w") as f:
                f.write(svg(topo))
        except OSError as e:
            sys.stderr.write(f"xpuc: error: {args.draw}: {e.strerror or e}\n")
            return 1
        print(f"wrote {args.draw}")
    return 0
