"""Running pass pipelines over a module: verify after each pass, time, print.

Pipelines are written as in ``mlir-opt``/``xdsl-opt``: ``"canonicalize,cse"`` or
``"convert-simt-to-loops{warp-size=32}"``.  xDSL parses the text; names resolve
through xpuc's pass registry.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.printer import Printer
from xdsl.utils.arg_spec import parse_pipeline
from xdsl.utils.exceptions import DiagnosticException, VerifyException

from xpuc.compiler.diagnostics import XpucError
from xpuc.passes.registry import get_all_passes


class PipelineError(XpucError):
    """A pipeline could not be parsed, or a pass failed or broke the IR."""


@dataclass
class PipelineOptions:
    verify_each: bool = True
    print_ir_after_all: bool = False
    print_ir_after: frozenset[str] = frozenset()
    timing: bool = False
    out: TextIO = field(default_factory=lambda: sys.stderr)


@dataclass
class PassTiming:
    name: str
    seconds: float


def build_passes(text: str) -> list[ModulePass]:
    if not text.strip():
        return []
    registry = get_all_passes()
    passes: list[ModulePass] = []
    try:
        specs = list(parse_pipeline(text))
    except Exception as e:  # xDSL raises its own parse errors for bad pipeline text
        raise PipelineError(f"invalid pipeline '{text}': {e}") from None
    for spec in specs:
        if spec.name not in registry:
            raise PipelineError(
                f"unknown pass '{spec.name}' (known: {', '.join(sorted(registry))})"
            )
        cls = registry[spec.name]()
        try:
            passes.append(cls.from_pass_spec(spec))
        except Exception as e:
            raise PipelineError(f"bad options for pass '{spec.name}': {e}") from None
    return passes


def print_module(module: ModuleOp, out: TextIO) -> None:
    Printer(stream=out).print_op(module)
    out.write("\n")


def run_passes(
    ctx: Context,
    module: ModuleOp,
    passes: list[ModulePass],
    opts: PipelineOptions | None = None,
    timings: list[PassTiming] | None = None,
) -> ModuleOp:
    opts = opts or PipelineOptions()
    for p in passes:
        start = time.perf_counter()
        try:
            p.apply(ctx, module)
        except DiagnosticException as e:
            raise PipelineError(
                str(e).splitlines()[0] if str(e) else f"pass {p.name} failed"
            ) from None
        elapsed = time.perf_counter() - start
        if opts.verify_each:
            try:
                module.verify()
            except VerifyException as e:
                raise PipelineError(f"IR does not verify after pass '{p.name}': {e}") from None
        if timings is not None:
            timings.append(PassTiming(p.name, elapsed))
        if opts.print_ir_after_all or p.name in opts.print_ir_after:
            opts.out.write(f"// -----// IR Dump After {p.name} //----- //\n")
            print_module(module, opts.out)
    return module
