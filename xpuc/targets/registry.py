"""Lazy, checked registry of target families and their variants.

``get_target("nvptx:sm_90")`` builds a target from its family class and the variant's
description.  Vendor plug-ins arrive through the ``xpuc.targets`` entry-point group
(a later issue defines that contract); a name clash is an error.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xpuc.compiler.diagnostics import TargetError
from xpuc.targets.base import Target

_FAMILIES = {
    "cpu": "xpuc.targets.cpu:CPUTarget",
    "nvptx": "xpuc.targets.nvptx:NVPTXTarget",
}
_DEFAULT_VARIANT = {"cpu": "", "nvptx": "sm_90"}


def _family(name: str):
    module, attr = _FAMILIES[name].split(":")
    mod = importlib.import_module(module)
    return getattr(mod, attr), mod.VARIANTS


def get_all_targets() -> dict[str, Callable[[], type[Target]]]:
    """Family name -> loader of its Target class.  Keys equal each class's ``family``."""
    return {name: (lambda name=name: _family(name)[0]) for name in _FAMILIES}


def variants(family: str) -> list[str]:
    return list(_family(family)[1])


def get_target(spec: str) -> Target:
    family, _, variant = spec.partition(":")
    if family not in _FAMILIES:
        raise TargetError(f"unknown target '{spec}' (known families: {', '.join(_FAMILIES)})")
    cls, table = _family(family)
    variant = variant or _DEFAULT_VARIANT[family]
    if variant not in table:
        known = ", ".join(v or "(host)" for v in table)
        raise TargetError(f"unknown {family} variant '{variant}' (known: {known})")
    return cls(table[variant]())
