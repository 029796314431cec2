import pytest

from xpuc.targets.tools import find_ptxas


def pytest_collection_modifyitems(config, items):
    if find_ptxas() is None:
        skip = pytest.mark.skip(
            reason="needs ptxas: not found on PATH, $CUDA_HOME/bin or in the triton wheel"
        )
        for item in items:
            if "ptxas" in item.keywords:
                item.add_marker(skip)
