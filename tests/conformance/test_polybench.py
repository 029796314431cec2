"""PolyBench-ACC conformance, one test per benchmark (see polybench.py).

cpu and opencl: every kernel of the benchmark runs its host launch sequence and matches
the numpy reference (opencl skips, with the reason, without an OpenCL device).  nvptx
(sm_90): every kernel is a PTX entry and ptxas accepts the file.
Skipped, with the reason, when the conformance data is not beside the repository.
"""

from pathlib import Path

import pytest
from polybench import KernelResult, check_cpu, check_nvptx, format_table
from polybench_specs import Benchmark, all_benchmarks

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
DATA = CONFORMANCE / "polybench-acc" / "CUDA"
BENCHMARKS = all_benchmarks()

pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"PolyBench-ACC conformance data not found at {DATA}"
)


def _assert_all_pass(rows: list[KernelResult], target: str) -> None:
    failed = [r.kernel for r in rows if not r.passed]
    assert not failed, f"{', '.join(failed)} failed:\n{format_table(rows, target)}"


@pytest.mark.parametrize("bench", BENCHMARKS, ids=lambda b: b.name)
def test_cpu(bench: Benchmark) -> None:
    _assert_all_pass(check_cpu(bench, DATA), "cpu")


# Benchmarks whose outcome on opencl differs for a reason outside xpuc (STYLE.md rule 7).
OPENCL_XFAIL = {
    "atax": "kernel2 races (8 threads zero, then add into each y[j]); the reference is the cpu "
    "target's lockstep outcome (8 times the product), PoCL runs the threads one by one (once)",
}


@pytest.mark.parametrize("bench", BENCHMARKS, ids=lambda b: b.name)
def test_opencl(bench: Benchmark, request: pytest.FixtureRequest) -> None:
    from xpuc.runtime.opencl import find_device, missing_reason

    if find_device() is None:
        pytest.skip(f"opencl: {missing_reason()}")
    if bench.name in OPENCL_XFAIL:
        request.applymarker(pytest.mark.xfail(reason=OPENCL_XFAIL[bench.name], strict=True))
    _assert_all_pass(check_cpu(bench, DATA, "opencl"), "opencl")


@pytest.mark.ptxas
@pytest.mark.parametrize("bench", BENCHMARKS, ids=lambda b: b.name)
def test_nvptx_sm90(bench: Benchmark) -> None:
    _assert_all_pass(check_nvptx(bench, DATA, "nvptx:sm_90"), "nvptx")
