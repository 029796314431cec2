"""Lazy, checked registry of target families, their variants and named chips.

``get_target("nvptx:sm_90")`` builds a target from its family class and the variant's
description; ``get_target("nvidia/h100")`` finds the chip's tag first.  Built-in
families are listed here; vendor plug-ins arrive through the ``xpuc.targets``
entry-point group.  An entry point names a :class:`Target` subclass:

- with a new ``family``: the plug-in adds that family, its variants and tags;
- with the ``family`` of a known family, subclassing that family's class: its
  ``variants`` (and ``tags``) join the family, built with the plug-in's class.

A family, variant or tag that two sources both define is an error.  A plug-in that
fails to import does not take the other targets down: it is listed by ``xpuc targets``
and named in the error when a target it may provide is asked for.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points

from xpuc.compiler.diagnostics import TargetError
from xpuc.targets.base import Target, TargetDesc

ENTRY_POINT_GROUP = "xpuc.targets"

_BUILTIN = {
    "cpu": "xpuc.targets.cpu:CPUTarget",
    "nvptx": "xpuc.targets.nvptx:NVPTXTarget",
    "amdgpu": "xpuc.targets.amdgpu:AMDGPUTarget",
    "opencl": "xpuc.targets.opencl:OpenCLTarget",
    "spirv": "xpuc.targets.spirv:SPIRVTarget",
}


@dataclass
class Family:
    name: str
    cls: type[Target]
    origin: str  # "xpuc" or the plug-in's entry point, for error messages
    variants: dict[str, tuple[type[Target], Callable[[], TargetDesc], str]] = field(
        default_factory=dict
    )
    tags: dict[str, tuple[str, str]] = field(default_factory=dict)


def _import(spec: str) -> type[Target]:
    module, attr = spec.split(":")
    return getattr(importlib.import_module(module), attr)


_FAMILY_NAME = re.compile(r"[a-z][a-z0-9_]*")
_VARIANT_NAME = re.compile(r"[A-Za-z0-9_.+-]*")
_TAG_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*/[A-Za-z0-9_.+-]+")
"""A chip tag is ``vendor/chip``: never a family or ``family:variant`` name."""


def _own(cls: type[Target], attr: str) -> dict:
    """A class attribute the class itself sets (not one inherited from the family it
    extends: a plug-in adding hooks only adds none of its parent's chips again)."""
    return cls.__dict__.get(attr, {})


def _add_variants(fam: Family, cls: type[Target], origin: str) -> None:
    for v, make in _own(cls, "variants").items():
        if not _VARIANT_NAME.fullmatch(v):
            raise TargetError(f"variant name '{v}' from {origin} is not [A-Za-z0-9_.+-]*")
        if v in fam.variants:
            raise TargetError(
                f"target {fam.name}:{v or '(host)'} from {origin} clashes with the one from "
                f"{fam.variants[v][2]}"
            )
        fam.variants[v] = (cls, make, origin)


def _plugins() -> list[tuple[str, Callable[[], type[Target]]]]:
    return [(f"plug-in '{ep.name}' ({ep.value})", ep.load)
            for ep in entry_points(group=ENTRY_POINT_GROUP)]  # fmt: skip


BROKEN: dict[str, str] = {}
"""Plug-ins that failed to load: origin -> why."""


@cache
def families() -> dict[str, Family]:
    """Every family, built-in and from plug-ins, checked for clashes (loaded once)."""
    out: dict[str, Family] = {}
    tag_origin: dict[str, str] = {}
    BROKEN.clear()
    sources = [(f"xpuc ({spec})", lambda spec=spec: _import(spec)) for spec in _BUILTIN.values()]
    for origin, load in [*sources, *_plugins()]:
        try:
            cls = load()
        except Exception as e:  # a broken plug-in: remember which and why, no traceback
            why = f"{origin} failed to load: {type(e).__name__}: {e}"
            if origin.startswith("xpuc "):
                raise TargetError(why) from None
            BROKEN[origin] = why
            continue
        if not (isinstance(cls, type) and issubclass(cls, Target) and cls.family):
            raise TargetError(f"{origin} is not a Target subclass with a family name")
        if not _FAMILY_NAME.fullmatch(cls.family):
            raise TargetError(f"family name '{cls.family}' from {origin} is not [a-z][a-z0-9_]*")
        fam = out.get(cls.family)
        if fam is None:
            fam = out[cls.family] = Family(cls.family, cls, origin)
        elif not issubclass(cls, fam.cls):
            raise TargetError(
                f"target family '{cls.family}' from {origin} clashes with the one from "
                f"{fam.origin} (to add chips to it, subclass {fam.cls.__name__})"
            )
        _add_variants(fam, cls, origin)
        for tag, (variant, note) in _own(cls, "tags").items():
            if not _TAG_NAME.fullmatch(tag):
                raise TargetError(f"chip tag '{tag}' from {origin} is not 'vendor/chip'")
            if tag in tag_origin:
                raise TargetError(
                    f"chip tag '{tag}' from {origin} clashes with the one from {tag_origin[tag]}"
                )
            if variant not in fam.variants:
                raise TargetError(f"chip tag '{tag}' from {origin} names unknown variant "
                                  f"{fam.name}:{variant}")  # fmt: skip
            tag_origin[tag] = origin
            fam.tags[tag] = (variant, note)
    return out


def get_all_targets() -> dict[str, Callable[[], type[Target]]]:
    """Family name -> loader of its Target class.  Keys equal each class's ``family``."""
    return {name: (lambda f=f: f.cls) for name, f in families().items()}


def variants(family: str) -> list[str]:
    return list(families()[family].variants)


def all_tags() -> dict[str, tuple[str, str]]:
    """Chip tag -> (target name, description), over every family."""
    out = {}
    for fam in families().values():
        for tag, (variant, note) in fam.tags.items():
            out[tag] = (f"{fam.name}:{variant}" if variant else fam.name, note)
    return out


def resolve(spec: str) -> str:
    """A target name for a spec that may be a chip tag (``amd/mi300x``)."""
    tags = all_tags()
    return tags[spec][0] if spec in tags else spec


def get_target(spec: str) -> Target:
    spec = resolve(spec.strip())
    family, _, variant = spec.partition(":")
    fams = families()
    if family not in fams:
        hint = " (a chip tag? see `xpuc targets`)" if "/" in spec else ""
        broken = "".join(f"; {why}" for why in BROKEN.values())
        known = ", ".join(fams)
        raise TargetError(f"unknown target '{spec}'{hint} (known families: {known}){broken}")
    fam = fams[family]
    if not variant:  # the family's default, else its first variant
        default = fam.cls.default_variant
        variant = default if default in fam.variants else next(iter(fam.variants), "")
    if variant not in fam.variants:
        known = ", ".join(v or "(host)" for v in fam.variants)
        broken = "".join(f"; {why}" for why in BROKEN.values())
        raise TargetError(f"unknown {family} variant '{variant}' (known: {known}){broken}")
    cls, make, origin = fam.variants[variant]
    try:
        desc = make()
    except Exception as e:  # a plug-in's broken description: say whose
        raise TargetError(f"target {family}:{variant} from {origin} failed to build its "
                          f"description: {type(e).__name__}: {e}") from None  # fmt: skip
    if (desc.family, desc.variant) != (family, variant):
        raise TargetError(f"target {family}:{variant} from {origin} describes itself as "
                          f"{desc.name}")  # fmt: skip
    return cls(desc)
