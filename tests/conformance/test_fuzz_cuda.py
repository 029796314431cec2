"""Mutated PolyBench kernels give located diagnostics, never a traceback (see fuzz_cuda.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fuzz_cuda import DATA, fuzz, summary  # noqa: E402

FILES = sorted(DATA.rglob("*.cu")) if DATA.is_dir() else []


@pytest.mark.skipif(not FILES, reason=f"conformance kernels not found at {DATA}")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_mutations_give_located_errors(path):
    results = fuzz(per_file=12, seed=0, files=[path])
    failures = [f"{r.mutation}: {r.detail}" for r in results if r.kind == "failure"]
    assert not failures, "\n".join(failures)
    print(summary(results))
