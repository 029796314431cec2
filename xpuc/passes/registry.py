"""Lazy registry of passes: xpuc's own and the xDSL passes the pipelines use."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xdsl.passes import ModulePass

_PASSES = {
    # xpuc
    "convert-simt-to-loops": "xpuc.passes.convert_simt_to_loops:ConvertSimtToLoops",
    "convert-scf-to-cf": "xpuc.passes.convert_scf_to_cf:ConvertScfToCf",
    "forward-slot-stores": "xpuc.passes.forward_slot_stores:ForwardSlotStores",
    "map-parallel-loops": "xpuc.passes.map_parallel_loops:MapParallelLoops",
    "sharding-propagation": "xpuc.passes.comm.sharding_propagation:ShardingPropagation",
    "shard-partition": "xpuc.passes.comm.shard_partition:ShardPartition",
    "shard-simplify": "xpuc.passes.comm.shard_simplify:ShardSimplify",
    "comm-bucketing": "xpuc.passes.comm.comm_bucketing:CommBucketing",
    "comm-overlap": "xpuc.passes.comm.comm_overlap:CommOverlap",
    "comm-select-algorithms": "xpuc.passes.comm.comm_select_algorithms:CommSelectAlgorithms",
    "comm-lower-p2p": "xpuc.passes.comm.comm_lower_p2p:CommLowerP2P",
    # xDSL
    "canonicalize": "xdsl.transforms.canonicalize:CanonicalizePass",
    "cse": "xdsl.transforms.common_subexpression_elimination:CommonSubexpressionElimination",
    "licm": "xdsl.transforms.loop_invariant_code_motion:LoopInvariantCodeMotionPass",
    "dce": "xdsl.transforms.dead_code_elimination:DeadCodeElimination",
}


def _loader(path: str) -> Callable[[], type[ModulePass]]:
    def load() -> type[ModulePass]:
        module, attr = path.split(":")
        if module.startswith("xdsl."):
            from xpuc.passes.xdsl_fixes import install

            install()
        return getattr(importlib.import_module(module), attr)

    return load


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Pass name -> loader of its class.  Every key equals the class's ``name`` (tested).

    Target families (vendor plug-ins among them) add their own passes through
    ``Target.passes``; one that reuses a known pass name is an error."""
    from xpuc.compiler.diagnostics import TargetError
    from xpuc.targets.registry import families

    out = {name: _loader(path) for name, path in _PASSES.items()}
    for fam in families().values():
        sources = {(fam.cls, fam.origin)} | {(c, o) for c, _, o in fam.variants.values()}
        for cls, origin in sources:
            for name, load in cls.__dict__.get("passes", {}).items():
                if name in out and out[name] is not load:
                    raise TargetError(f"pass '{name}' of target family {fam.name} "
                                      f"({origin}) clashes with a known pass")  # fmt: skip
                out[name] = load
    return out
