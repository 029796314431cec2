"""The multi-card pipeline and ``xpuc plan``.

:func:`partition` runs the comm passes in order — ``shard-partition`` (which
starts with ``sharding-propagation``), ``shard-simplify``, optionally ``comm-bucketing`` and
``comm-overlap``, ``comm-select-algorithms`` and, for running, ``comm-lower-p2p`` —
over a module (text or xDSL).  ``xpuc plan program.mlir --topology T`` prints what
the planner chose for each collective: the algorithm, its predicted time and the
runners-up.
"""

from __future__ import annotations

import sys
import time
from math import prod

from xdsl.dialects import builtin
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, StringAttr

from xpuc.compiler.diagnostics import CompileError, XpucError


def partition(
    module,
    topology: str | None = None,
    *,
    bucket_bytes: int | None = None,
    overlap_chunks: int | None = None,
    algorithms: str = "",
    lower: bool = True,
) -> builtin.ModuleOp:
    """The per-device program of ``module``; with a ``topology`` its collectives get
    algorithms (and, with ``lower``, their point-to-point schedules)."""
    from xpuc.compiler.driver import parse_mlir
    from xpuc.dialects.registry import make_context
    from xpuc.passes.comm.comm_bucketing import CommBucketing
    from xpuc.passes.comm.comm_lower_p2p import CommLowerP2P
    from xpuc.passes.comm.comm_overlap import CommOverlap
    from xpuc.passes.comm.comm_select_algorithms import CommSelectAlgorithms
    from xpuc.passes.comm.shard_partition import ShardPartition
    from xpuc.passes.comm.shard_simplify import ShardSimplify

    m = parse_mlir(module, "<program>") if isinstance(module, str) else module
    # shard-partition begins with sharding-propagation (so it also works alone)
    passes: list = [ShardPartition(), ShardSimplify()]
    if bucket_bytes:
        passes.append(CommBucketing(bucket_bytes))
    if overlap_chunks:
        passes.append(CommOverlap(overlap_chunks))
    if topology is not None:
        passes.append(CommSelectAlgorithms(topology, algorithms))
        if lower:
            passes.append(CommLowerP2P(topology))
    ctx = make_context()
    for p in passes:
        p.apply(ctx, m)
        m.verify()
    return m


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _time(s: float) -> str:
    if s == float("inf"):
        return "(no model)"
    return f"{s * 1e6:.1f} us" if s < 1e-3 else f"{s * 1e3:.3f} ms"


def report(m: builtin.ModuleOp) -> list[str]:
    from xpuc.comm.sharding import grids
    from xpuc.passes.comm.comm_select_algorithms import KIND, buffer_bytes, collectives

    shapes = grids(m)
    lines = []
    total = 0.0
    for i, c in enumerate(collectives(m), 1):
        shape = shapes[c.grid.root_reference.data]  # type: ignore[attr-defined]
        axes = tuple(c.grid_axes.get_values())  # type: ignore[attr-defined]
        n = prod(shape[a] for a in axes)
        groups = prod(shape) // n
        t = c.operands[0].type
        alg = c.attributes.get("xpu.algorithm")
        pred = c.attributes.get("xpu.predicted_s")
        head = (
            f"#{i} {KIND[type(c)]} of {t} over grid axes {list(axes)} "
            f"({groups} group{'s' if groups > 1 else ''} of {n}), "
            f"buffer {_size(buffer_bytes(c))}"
        )
        lines.append(head)
        if not isinstance(alg, StringAttr) or not isinstance(pred, FloatAttr):
            lines.append("   (no algorithm chosen)")
            continue
        total += pred.value.data
        lines.append(f"   chosen: {alg.data:<20} {_time(pred.value.data)}")
        ups = c.attributes.get("xpu.runners_up")
        if isinstance(ups, DictionaryAttr):
            best = pred.value.data
            ranked = sorted((v.value.data, k) for k, v in ups.data.items())  # type: ignore[attr-defined]
            for s, k in ranked:
                rel = f"+{(s / best - 1) * 100:.1f}%" if best > 0 else ""
                lines.append(f"   then:   {k:<20} {_time(s)}  {rel}")
    lines.append(
        f"predicted communication time: {_time(total)} over {len(collectives(m))} collectives"
    )
    return lines


def add_parser(sub) -> None:
    p = sub.add_parser("plan", help="plan the collectives of a multi-card program on a topology")
    p.add_argument("file", help="a .mlir program with shard annotations")
    p.add_argument("--topology", "-t", required=True, help="preset name or topology JSON file")
    p.add_argument("--bucket", type=int, default=0, metavar="BYTES",
                   help="bucket all-reduces up to BYTES (comm-bucketing)")  # fmt: skip
    p.add_argument("--overlap", type=int, default=0, metavar="CHUNKS",
                   help="chunk matmul + collective pairs (comm-overlap)")  # fmt: skip
    p.add_argument("--algorithms", default="", help="comma-separated candidates (default: all)")
    p.add_argument("-o", "--output", help="write the planned program (.mlir) here")
    p.set_defaults(func=cmd_plan)


def cmd_plan(args) -> int:
    from pathlib import Path

    from xpuc.comm.topology import Topology
    from xpuc.compiler.driver import parse_mlir

    start = time.perf_counter()
    try:
        text = Path(args.file).read_text()
        m = parse_mlir(text, args.file)
        topo = Topology.load(args.topology)
        m = partition(
            m,
            args.topology,
            bucket_bytes=args.bucket or None,
            overlap_chunks=args.overlap or None,
            algorithms=args.algorithms,
            lower=False,
        )
    except CompileError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    except (XpucError, ValueError, OSError) as e:
        sys.stderr.write(f"xpuc plan: error: {e}\n")
        return 1
    print(f"topology: {topo.name} ({topo.size} devices)")
    for line in report(m):
        print(line)
    if args.output:
        Path(args.output).write_text(str(m) + "\n")
    print(f"planned in {time.perf_counter() - start:.3f} s")
    return 0
