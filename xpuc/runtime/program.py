r"""Run a partitioned multi-card program: one process per device of its grid.

``run_program(module, inputs, cluster)`` takes the program after ``shard-partition``
(and any later comm pass), gives every rank of ``cluster`` its shards of the global
``inputs``, runs the function on every rank, and assembles the global results from
the ranks' shards, checking that replicas agree.

Kernels (``xpuc.launch`` of a ``gpu.func`` in the module's ``gpu.module``\ s) are
compiled once here for each rank's target (``target=``: one for all ranks, or one per
rank) and run through that target's runtime on the rank's shards.

On a rank, whole-tensor ops (``linalg``, ``tensor``) run on torch; collectives run on
the rank's comm thread, in program order: an ``xpu.p2p_schedule`` as its own sends
and receives, a ``shard`` collective through the backend's own (``native``).  A
collective marked ``xpu.async`` is started and only waited for where its result is
first used, so the computation in between overlaps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np

from xpuc.comm.grid import block_index, group_of
from xpuc.compiler.diagnostics import XpucError

__all__ = ["ProgramError", "block_index", "group_of", "run_program"]


class ProgramError(XpucError):
    """A multi-card program that cannot run as given (inputs, shapes, replicas)."""


def local_part(x: np.ndarray, rank: int, shape, split) -> np.ndarray:
    sl = []
    for d, (i, n) in enumerate(block_index(rank, shape, split)):
        size = x.shape[d] // n
        sl.append(slice(i * size, (i + 1) * size))
    return np.ascontiguousarray(x[tuple(sl)])


def _signature(f):
    from xdsl.dialects.builtin import ArrayAttr

    def splits(key: str):
        attr = f.attributes.get(key)
        if not isinstance(attr, ArrayAttr):
            raise ProgramError(f"function @{f.sym_name.data} is not partitioned (no {key})")
        return [[tuple(a.get_values()) for a in s.axes.data] for s in attr.data]

    arg_split, res_split = splits("xpu.arg_shardings"), splits("xpu.res_shardings")
    types = [f.attributes.get(k) for k in ("xpu.arg_types", "xpu.res_types")]
    if not all(isinstance(t, ArrayAttr) for t in types):
        raise ProgramError(f"function @{f.sym_name.data} is not partitioned (no global types)")
    return arg_split, list(types[0].data), res_split, list(types[1].data)  # type: ignore[union-attr]


def _find(module, name: str | None):
    from xpuc.comm.sharding import functions, grids

    fs = functions(module)
    if name is not None:
        fs = [f for f in fs if f.sym_name.data == name]
    if len(fs) != 1:
        what = f"function @{name}" if name else "exactly one function"
        raise ProgramError(f"the program must contain {what}")
    (grid_shape,) = grids(module).values()
    return fs[0], grid_shape


def _parse(text: str):
    from xpuc.compiler.driver import parse_mlir

    return parse_mlir(text, "<program>")


def _rank_main(ctx, text: str, name: str | None, inputs: list[np.ndarray], kernels):
    from xpuc.runtime.program_exec import Interpreter

    module = _parse(text)
    f, shape = _find(module, name)
    arg_split, *_ = _signature(f)
    local = [
        local_part(x, ctx.rank, shape, _pad(s, x.ndim))
        for x, s in zip(inputs, arg_split, strict=True)
    ]
    arts = kernels[ctx.rank] if kernels else None
    return Interpreter(ctx, shape, load_kernels(arts)).run(f, local)


_LOADED: dict[tuple[str, int], dict] = {}


def load_kernels(arts: dict | None) -> dict | None:
    """The kernels of one rank's artifacts (one per ``gpu.module``), loaded in this
    process once per artifact, by ``(module, kernel)`` symbol, as ``xpu.launch``
    names them."""
    if arts is None:
        return None
    import xpuc

    out = {}
    for module, art in arts.items():
        key = (art.target, hash(str(art.stages.get("llir") or art.stages.get("asm"))))
        if key not in _LOADED:
            _LOADED[key] = {k.info.link_name: k for k in xpuc.load(art).kernels.values()}
        out.update({(module, name): k for name, k in _LOADED[key].items()})
    return out


def compile_kernels(module, targets: list[str]) -> list | None:
    r"""Per rank, its target's artifact of each of the module's ``gpu.module``\ s (a
    module is compiled once per target)."""
    from xdsl.dialects import gpu
    from xdsl.dialects.builtin import ModuleOp, UnitAttr

    import xpuc
    from xpuc.targets.registry import get_target

    mods = [op for op in module.ops if isinstance(op, gpu.ModuleOp)]
    if not mods:
        return None
    for t in dict.fromkeys(targets):
        tgt = get_target(t)
        if not tgt.can_run():
            raise ProgramError(f"the program's kernels cannot run as {tgt.name} code on this "
                               f"machine's ranks (it can: {tgt.capabilities()})")  # fmt: skip
    arts: dict[str, dict] = {t: {} for t in dict.fromkeys(targets)}
    for m in mods:
        kmod = ModuleOp([m.clone()])
        kmod.attributes["gpu.container_module"] = UnitAttr()
        name = m.sym_name.data
        for t in arts:
            arts[t][name] = xpuc.compile(kmod, t, filename=f"<{name}>", language="mlir")
    return [arts[t] for t in targets]


def _pad(split, rank: int):
    return list(split) + [()] * (rank - len(split))


def run_program(
    module,
    inputs: Sequence[np.ndarray],
    cluster,
    function: str | None = None,
    target: str | Sequence[str] = "cpu",
):
    """Run ``function`` of ``module`` (an xDSL module or its text) on every rank of
    ``cluster``; returns the global results as numpy arrays.  ``target`` is the xpuc
    target the program's kernels run on: one for every rank, or a list of one per rank
    (a cluster of mixed cards)."""
    text = module if isinstance(module, str) else str(module)
    mod = _parse(text)
    f, shape = _find(mod, function)
    if prod(shape) != cluster.world_size:
        n = cluster.world_size
        raise ProgramError(f"the program's grid has {prod(shape)} devices; the cluster has {n}")
    arg_split, arg_types, res_split, res_types = _signature(f)
    inputs = [np.asarray(x) for x in inputs]
    if len(inputs) != len(arg_types):
        raise ProgramError(f"@{f.sym_name.data} takes {len(arg_types)} inputs, not {len(inputs)}")
    for i, (x, t) in enumerate(zip(inputs, arg_types, strict=True)):
        want = tuple(t.get_shape())
        if x.shape != want:
            raise ProgramError(f"input {i} has shape {x.shape}; @{f.sym_name.data} takes {want}")
    targets = [target] * cluster.world_size if isinstance(target, str) else list(target)
    if len(targets) != cluster.world_size:
        n = cluster.world_size
        raise ProgramError(f"target= names {len(targets)} targets for a cluster of {n} ranks")
    kernels = compile_kernels(mod, targets)
    parts = cluster.run(_rank_main, text, function, inputs, kernels)
    return [
        _assemble([p[i] for p in parts], shape, _pad(res_split[i], len(t.get_shape())), t)
        for i, t in enumerate(res_types)
    ]


def _assemble(locals_: list[np.ndarray], shape, split, t) -> np.ndarray:
    gshape = tuple(t.get_shape())
    out = np.empty(gshape, dtype=locals_[0].dtype)
    seen: dict[tuple, int] = {}
    for r, part in enumerate(locals_):
        blocks = block_index(r, shape, split)
        key = tuple(i for i, _ in blocks)
        sl = tuple(
            slice(i * (g // n), (i + 1) * (g // n))
            for (i, n), g in zip(blocks, gshape, strict=True)
        )
        if key in seen:
            if not _agree(out[sl], part):
                raise ProgramError(f"ranks {seen[key]} and {r} disagree on a replicated result")
            continue
        seen[key] = r
        out[sl] = part
    return out


def _agree(a: np.ndarray, b: np.ndarray) -> bool:
    """Replicas are equal; floats up to rounding (ranks may sum in different orders)."""
    if np.issubdtype(a.dtype, np.floating):
        scale = float(np.max(np.abs(a), initial=0.0))
        return bool(np.allclose(a, b, rtol=1e-6, atol=1e-6 * scale, equal_nan=True))
    return bool(np.array_equal(a, b))
