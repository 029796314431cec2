"""The cpu target's vectorized thread loops on index patterns LLVM once got wrong.

With the kernel inlined into its launch wrapper, LLVM's loop vectorizer read
``b[threadIdx.x % 8]`` after a load of ``a[threadIdx.x]`` as ``b[threadIdx.x]``
(found by the TVM frontend's broadcast multiply).  Kernels are now ``noinline``.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpuc

BODIES = {
    "a[g] * b[g % 8]": lambda a, b, g: a * b[g % 8],
    "a[g] + b[g & 7]": lambda a, b, g: a + b[g & 7],
    "a[g] * b[g / 4]": lambda a, b, g: a * b[g // 4],
    "a[g % 8] * b[g % 8]": lambda a, b, g: a[g % 8] * b[g % 8],
}


@pytest.mark.parametrize("body", list(BODIES))
@pytest.mark.parametrize("index", ["threadIdx.x", "blockIdx.x * 256 + threadIdx.x"])
@pytest.mark.parametrize("opt", [2, 3])
def test_modular_indices_in_vectorized_thread_loops(body, index, opt):
    src = ("__global__ void k(float *a, float *b, float *c) {"
           f" unsigned g = {index}; if (g < 32) c[g] = {body}; }}")  # fmt: skip
    m = xpuc.load(xpuc.compile(src, "cpu", opt_level=opt))
    a = np.arange(32, dtype=np.float32) + 2
    b = np.arange(8, dtype=np.float32)
    c = np.zeros(32, np.float32)
    m.k[1, 32](a, b, c)
    g = np.arange(32)
    np.testing.assert_array_equal(c, BODIES[body](a, b, g))
