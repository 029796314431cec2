"""Which pointer arguments a kernel may write (passes/memory_effects.py), as runtimes see
it in ``KernelInfo.readonly_args``."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import xpuc
from xpuc.conformance.suite import CASES


def readonly(src: str) -> list[str]:
    info = xpuc.compile(src, "cpu").kernels[0]
    return [info.arg_names[i] for i in info.readonly_args]


def test_writes_through_calls_views_and_atomics_count():
    src = """
    struct P { float x; int tag; };
    __device__ void put(float *p, int i, float v) { p[i] = v; }
    __device__ float get(const float *p, int i) { return p[i]; }
    __global__ void k(const float *a, float *b, float *c, int *h, P *s, const P *t,
                      const float *u, int n) {
        int i = threadIdx.x;
        float *q = c + 1;
        put(b, i, get(a, i));
        q[i] = 2.0f;
        atomicAdd(&h[0], 1);
        s[i].tag = t[i].tag + (int)u[i];
    }"""
    assert readonly(src) == ["a", "t", "u"]


def test_what_it_cannot_follow_counts_as_written():
    src = """
    __global__ void k(float *a, float *b, int n) {
        float *p = n > 0 ? a : b;   // a pointer chosen at run time
        p[threadIdx.x] = 1.0f;
    }"""
    assert readonly(src) == []  # either may be written


def test_recursion_is_safe():
    src = """
    __device__ float f(const float *p, int d) { return d == 0 ? p[0] : f(p, d - 1); }
    __global__ void k(const float *a, float *o) { o[0] = f(a, 3); }"""
    assert "o" not in readonly(src)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_arguments_called_read_only_are_not_written(case):
    art = xpuc.compile_file(case.path, "cpu")
    info = art.kernel(case.kernel)
    args = case.make(np.random.default_rng(1))
    before = copy.deepcopy(args)
    for i in info.readonly_args:  # the runtime takes read-only arrays for these
        args[i].flags.writeable = False
    xpuc.load(art)[case.kernel][case.grid, case.block, case.shared](*args)
    for i in info.readonly_args:
        np.testing.assert_array_equal(args[i], before[i])
    written = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)
               and not np.array_equal(a, before[i])]  # fmt: skip
    assert not set(written) & set(info.readonly_args)
