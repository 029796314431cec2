"""PolyBench-ACC conformance, one test per benchmark (see polybench.py).

cpu: every kernel of the benchmark runs its host launch sequence and matches the numpy
reference.  nvptx (sm_90): every kernel is a PTX entry and ptxas accepts the file.
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


@pytest.mark.ptxas
@pytest.mark.parametrize("bench", BENCHMARKS, ids=lambda b: b.name)
def test_nvptx_sm90(bench: Benchmark) -> None:
    _assert_all_pass(check_nvptx(bench, DATA, "nvptx:sm_90"), "nvptx")
