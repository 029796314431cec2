"""The two examples run on cpu and opencl and match numpy; their PTX passes ptxas for sm_90."""

from functools import cache
from pathlib import Path

import numpy as np
import pytest

import xpuc

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@cache
def example(name: str, target: str):
    return xpuc.load(xpuc.compile_file(EXAMPLES / name, target))


@pytest.fixture
def vector_add(target):
    return example("vector_add.cu", target)


@pytest.fixture
def saxpy(target):
    return example("saxpy.cu", target)


@pytest.mark.parametrize("n,block", [(1, 32), (1000, 128), (4097, 256), (100_003, 1024)])
def test_vector_add_cpu(vector_add, n, block):
    rng = np.random.default_rng(n)
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    c = np.full(n + 7, -1.0, np.float32)  # extra tail must stay untouched
    vector_add.vector_add[(n + block - 1) // block, block](a, b, c, n)
    np.testing.assert_array_equal(c[:n], a + b)
    assert (c[n:] == -1.0).all()


@pytest.mark.parametrize("n,block", [(1, 64), (999, 256), (65_537, 512)])
def test_saxpy_cpu(saxpy, n, block):
    rng = np.random.default_rng(n)
    x, y = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    expect = np.float32(2.5) * x + y
    saxpy.saxpy[(n + block - 1) // block, block](n, 2.5, x, y)
    np.testing.assert_allclose(y, expect, rtol=1e-6)


def test_wrong_arguments_are_clear_errors(vector_add):
    a = np.zeros(4, np.float64)
    with pytest.raises(xpuc.XpucError, match="dtype float32"):
        vector_add.vector_add[1, 4](a, a, a, 4)
    with pytest.raises(xpuc.XpucError, match="takes 4 arguments"):
        vector_add.vector_add[1, 4](a)
    with pytest.raises(xpuc.XpucError, match="exceeds the limit"):
        f = np.zeros(4, np.float32)
        vector_add.vector_add[1, 2048](f, f, f, 4)


@pytest.mark.ptxas
@pytest.mark.parametrize("name", ["vector_add", "saxpy"])
def test_ptx_accepted_by_ptxas_sm90(name):
    art = xpuc.compile_file(EXAMPLES / f"{name}.cu", "nvptx:sm_90", emit="bin")
    assert ".target sm_90" in art.asm
    assert f".entry {name}(" in art.asm
    assert art.binary[:4] == b"\x7fELF"  # ptxas wrote a cubin
