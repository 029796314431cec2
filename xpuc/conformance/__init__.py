"""``xpuc conformance --target T``: does a target compile, validate and run the reference
kernels?  A vendor runs this on a plug-in before shipping it.

Each case (``suite.CASES``) is compiled for the target.  Where the target runs here
(``Target.can_run``) the kernel is launched and its outputs are compared with numpy;
otherwise the binary is handed to the real tool that accepts or rejects it
(``Target.validate``: ptxas, ld.lld, spirv-val, readelf).  A case passes when every
step the target can do here succeeds and at least one step beyond compiling (a tool
or a run) judged it: a target that can only compile here passes nothing.  The table's
last line is ``conformance T: N/M passed``.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from xpuc.compiler.diagnostics import ToolNotFoundError, XpucError
from xpuc.conformance.suite import CASES, Case
from xpuc.targets.base import Target
from xpuc.targets.registry import get_target

SEED = 2026


@dataclass
class Result:
    case: Case
    steps: dict[str, str] = field(default_factory=dict)  # step -> "ok", "-", "FAIL"
    problem: str = ""

    @property
    def checked(self) -> bool:
        """Whether something beyond compiling judged the case (a tool or a run)."""
        return any(self.steps.get(s, "-") != "-" for s in ("validate", "run"))

    @property
    def passed(self) -> bool:
        return not self.problem and self.checked


def _emit(target: Target) -> str:
    """Run: what the runtime loads.  Otherwise the binary the real tool checks."""
    if target.can_run():
        return target.default_emit
    for e in ("bin", "obj"):
        if e in target.emits:
            return e
    return target.default_emit


def _compare(case: Case, before: list, after: list) -> str:
    for i, want in case.expect(before).items():
        got = np.asarray(after[i]).reshape(-1)[: want.size]
        want = want.reshape(-1)
        if want.dtype.kind == "f":
            bad = ~np.isclose(got.astype(np.float64), want.astype(np.float64),
                              rtol=case.rtol, atol=case.atol)  # fmt: skip
        else:
            bad = got != want
        if bad.any():
            k = int(np.argmax(bad))
            return (f"argument {i}: {int(bad.sum())} of {want.size} elements differ; "
                    f"first at [{k}]: got {got[k]}, want {want[k]}")  # fmt: skip
    return (case.check(after) or "") if case.check else ""


class _Runner:
    def __init__(self, target: Target, opt_level: int):
        self.target = target
        self.opt_level = opt_level
        self.emit = _emit(target)
        self.runs = target.can_run()
        self.compiled: dict[str, object] = {}  # file -> artifact or XpucError
        self.loaded: dict[str, object] = {}

    def artifact(self, case: Case):
        import xpuc

        if case.file not in self.compiled:
            try:
                self.compiled[case.file] = xpuc.compile_file(
                    case.path, self.target.name, emit=self.emit, opt_level=self.opt_level
                )
            except XpucError as e:
                self.compiled[case.file] = e
        return self.compiled[case.file]

    def run(self, case: Case) -> Result:
        res = Result(case)
        art = self.artifact(case)
        if isinstance(art, XpucError):
            res.steps["compile"] = "FAIL"
            res.problem = str(art).splitlines()[0]
            return res
        res.steps["compile"] = "ok"
        if not self.runs:
            try:
                res.steps["validate"] = f"ok ({self.target.validate(art)})"
            except ToolNotFoundError:
                res.steps["validate"] = "-"
            except XpucError as e:
                res.steps["validate"] = "FAIL"
                res.problem = str(e).strip().splitlines()[0]
            return res
        try:
            if case.file not in self.loaded:
                self.loaded[case.file] = self.target.load(art)
            mod = self.loaded[case.file]
            args = case.make(np.random.default_rng(SEED))
            before = copy.deepcopy(args)
            mod[case.kernel][case.grid, case.block, case.shared](*args)
        except XpucError as e:
            res.steps["run"] = "FAIL"
            res.problem = str(e).strip().splitlines()[0]
            return res
        res.problem = _compare(case, before, args)
        res.steps["run"] = "FAIL" if res.problem else "ok"
        return res


def run(
    target: str,
    *,
    select: str = "",
    opt_level: int = 3,
    write: Callable[[str], object] = sys.stdout.write,
) -> list[Result]:
    """Run the suite (cases whose name contains ``select``) and print the table."""
    tgt = get_target(target)
    runner = _Runner(tgt, opt_level)
    cases = [c for c in CASES if select in c.name or select in c.kernel]
    mode = "compile + run" if runner.runs else f"compile ({runner.emit}) + validate"
    write(f"xpuc conformance: {tgt.name} ({tgt.desc.description or tgt.family}); {mode}\n")
    steps = ["compile", "run"] if runner.runs else ["compile", "validate"]
    width = max(len(c.name) for c in cases) if cases else 10
    write(f"{'case':<{width}}  " + "  ".join(f"{s:<14}" for s in steps) + "  time\n")
    results = []
    for case in cases:
        start = time.perf_counter()
        r = runner.run(case)
        secs = time.perf_counter() - start
        cells = "  ".join(f"{r.steps.get(s, '-'):<14}" for s in steps)
        write(f"{case.name:<{width}}  {cells}  {secs:5.2f}s\n")
        if r.problem:
            write(f"{'':<{width}}    {r.problem}\n")
        results.append(r)
    unchecked = sum(not r.problem and not r.checked for r in results)
    if unchecked:
        write(
            f"note: {unchecked} case(s) compiled but not checked: {tgt.name} neither runs "
            "here nor has a tool here that validates its binaries (they do not pass)\n"
        )
    passed = sum(r.passed for r in results)
    write(f"conformance {tgt.name}: {passed}/{len(results)} passed\n")
    return results


__all__ = ["CASES", "Case", "Result", "run"]
