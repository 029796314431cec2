"""TVM TE conformance, one test per computation and target (see tvm_te.py).

Every computation on cpu; seven representative ones on opencl (skipped, with the reason,
without an OpenCL device).  Each must match TVM's own llvm build of the same PrimFunc
(or numpy, where TVM's build cannot run the case).
Skipped, with the reason, without apache-tvm 0.27 or the tvm-te folder beside the
repository.  What xpuc cannot do yet is in KNOWN_FAILURES, strict xfails: a fix fails
the suite until its entry is removed.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tvm_te import all_workloads, missing_reason, run_case  # noqa: E402

KNOWN_FAILURES: dict[tuple[str, str], str] = {}
"""(case, target) → why it fails today, one line."""

OPENCL_CASES = [
    "matmul",
    "conv2d",
    "topi_softmax",
    "topi_layer_norm",
    "topi_max_pool2d",
    "extern",
    "loop_aware_reducer_combiner",
]


def _params() -> list:
    reason = missing_reason("cpu")
    if reason:
        return [pytest.param("", "cpu", id="tvm-te", marks=pytest.mark.skip(reason=reason))]
    cases = [(name, "cpu") for name in all_workloads()]
    cases += [(name, "opencl") for name in OPENCL_CASES]
    return [pytest.param(name, target, id=f"{name}-{target}",
                         marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name, target])]
                         if (name, target) in KNOWN_FAILURES else [])
            for name, target in cases]  # fmt: skip


@pytest.mark.parametrize(("name", "target"), _params())
def test_tvm_te_computation(name: str, target: str) -> None:
    reason = missing_reason(target)
    if reason:
        pytest.skip(reason)
    ok, message = run_case(name, target)
    assert ok, f"{name} on {target}: {message}"


def test_known_failures_are_cases() -> None:
    """A renamed or removed case leaves no stale entry behind."""
    if missing_reason("cpu"):
        pytest.skip(missing_reason("cpu"))
    assert {name for name, _ in KNOWN_FAILURES} <= set(all_workloads())
