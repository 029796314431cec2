"""TVM frontend: ``te.extern`` stages.  Known BLAS calls (``call_packed`` of
``tvm.contrib.cblas.matmul``...) and caller-defined ``call_extern`` functions become
stages over the same buffers; run on cpu and opencl against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from tvm import te, tirx  # noqa: E402
from tvm_common import TARGETS, skip_without  # first: skips

from xpuc.compiler.diagnostics import XpucError  # noqa: E402
from xpuc.frontends import tvm as xt  # noqa: E402


def packed(name, shapes, out_shape, *flags):
    ins = [te.placeholder(s, name=f"X{i}") for i, s in enumerate(shapes)]
    out = te.extern(out_shape, ins, lambda i, o: tirx.call_packed(name, *i, o[0], *flags),
                    name="Y")  # fmt: skip
    return te.create_prim_func([*ins, out])


@TARGETS
@pytest.mark.parametrize(("ta", "tb"), [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_cblas_matmul_with_transposes(target, ta, tb):
    skip_without(target)
    m, n, k = 13, 9, 21
    sa, sb = ((k, m) if ta else (m, k)), ((n, k) if tb else (k, n))
    func = packed("tvm.contrib.cblas.matmul", [sa, sb], (m, n), ta, tb)
    rng = np.random.default_rng(ta * 2 + tb)
    a, b = rng.standard_normal(sa, np.float32), rng.standard_normal(sb, np.float32)
    c = np.zeros((m, n), np.float32)
    xt.load(xt.compile(func, target))(a, b, c)
    np.testing.assert_allclose(c, (a.T if ta else a) @ (b.T if tb else b), rtol=1e-5, atol=1e-5)


@TARGETS
def test_cublas_batch_matmul_broadcasts_a_batch_of_one(target):
    skip_without(target)
    func = packed("tvm.contrib.cublas.batch_matmul", [(1, 6, 5), (3, 5, 7)], (3, 6, 7), 0, 0)
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((1, 6, 5), np.float32), rng.standard_normal((3, 5, 7), np.float32)
    c = np.zeros((3, 6, 7), np.float32)
    xt.load(xt.compile(func, target))(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


def scaled_add():
    A, B = te.placeholder((8, 8), name="A"), te.placeholder((8, 8), name="B")
    P = te.placeholder((2,), name="P")
    C = te.extern((8, 8), [A, B, P], lambda i, o: tirx.call_extern(
        "", "axpby", i[0].data, i[1].data, o[0].data, i[2][0], i[2][1]), name="C")  # fmt: skip
    D = te.compute((8, 8), lambda i, j: C[i, j] + 1, name="D")
    return te.create_prim_func([A, B, P, D])


def axpby(a, b, c, alpha, beta):
    return {c: te.compute(c.shape, lambda i, j: a[i, j] * alpha + b[i, j] * beta)}


@TARGETS
def test_a_call_extern_defined_by_the_caller_feeds_a_later_stage(target):
    """``C`` is an intermediate: the extern writes it, the next stage reads it; the
    scalars come from elements of ``P``."""
    skip_without(target)
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((8, 8), np.float32), rng.standard_normal((8, 8), np.float32)
    p, d = np.array([2.0, -0.5], np.float32), np.zeros((8, 8), np.float32)
    xt.load(xt.compile(scaled_add(), target, externs={"axpby": axpby}))(a, b, p, d)
    np.testing.assert_allclose(d, a * 2 - b * 0.5 + 1, rtol=1e-6)


def test_an_extern_without_a_definition_is_a_clear_error():
    with pytest.raises(XpucError, match=r"call_extern 'axpby': xpuc has no definition .*externs="):
        xt.compile(scaled_add(), "cpu")


def test_a_definition_that_writes_no_argument_is_a_clear_error():
    def wrong(a, b, c, alpha, beta):
        return {"c": te.compute((8, 8), lambda i, j: a[i, j])}

    with pytest.raises(XpucError, match="writes c, not one of its array arguments"):
        xt.compile(scaled_add(), "cpu", externs={"axpby": wrong})
    with pytest.raises(XpucError, match="must return"):
        xt.compile(scaled_add(), "cpu", externs={"axpby": lambda *a: None})


@TARGETS
def test_an_int8_matmul_accumulates_in_its_output_type(target):
    from tvm.contrib import cublas

    skip_without(target)
    A, B = te.placeholder((5, 7), "int8", name="A"), te.placeholder((7, 3), "int8", name="B")
    func = te.create_prim_func([A, B, cublas.matmul(A, B, dtype="int32")])
    rng = np.random.default_rng(5)
    a, b = rng.integers(-100, 100, (5, 7), np.int8), rng.integers(-100, 100, (7, 3), np.int8)
    c = np.zeros((5, 3), np.int32)
    xt.load(xt.compile(func, target))(a, b, c)
    np.testing.assert_array_equal(c, a.astype(np.int32) @ b.astype(np.int32))


@pytest.mark.parametrize(("define", "message"), [
    (lambda a, b, c, x, y: {c: te.compute((8, 8), lambda i, j: a[i, j].astype("float64"))},
     r"writes C \(shape \[8, 8\], float32\) with a tensor of shape \[8, 8\], float64"),
    (lambda a, b, c, x, y: {c: te.compute((4,), lambda i: a[i, i])}, "tensor of shape \\[4\\]"),
    (lambda a, b, c, x, y: {c: te.compute((8, 8), lambda i, j: c[i, j] + a[i, j])},
     "may read an argument it writes"),
])  # fmt: skip
def test_a_definition_that_does_not_fit_its_output_is_a_clear_error(define, message):
    with pytest.raises(XpucError, match=message):
        xt.compile(scaled_add(), "cpu", externs={"axpby": define})
