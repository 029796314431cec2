"""nvptx kernels on a real NVIDIA GPU through the CUDA runtime (cuda-bindings): the
conformance suite, large dynamic shared memory and the libdevice-less math library
against numpy.  Skipped, with the reason, where no GPU is found."""

import numpy as np
import pytest

import xpuc
import xpuc.targets.nvptx as nvptx
from xpuc import conformance
from xpuc.runtime.cuda import device_arch, missing_reason
from xpuc.targets.registry import variants

ARCH = device_arch()
pytestmark = pytest.mark.skipif(ARCH is None, reason=f"needs a CUDA GPU: {missing_reason()}")


def target() -> str:
    """The newest nvptx variant whose cubins run on device 0 (sm_90 on an H100/H200)."""
    ok = [v for v in variants("nvptx") if nvptx.cubin_runs_on(v, ARCH)]
    return f"nvptx:{max(ok, key=lambda v: int(v[3:]))}" if ok else f"nvptx:{ARCH}"


def test_the_conformance_suite_runs_and_matches_numpy():
    results = conformance.run(target(), write=lambda s: None)
    bad = [f"{r.case.name}: {r.problem}" for r in results if not r.passed]
    assert not bad, "\n".join(bad)
    assert all(r.steps.get("run") == "ok" for r in results)


def test_dynamic_shared_memory_over_48_kib():
    src = """__global__ void k(const int *x, int *out) {
        extern __shared__ int d[];
        for (int i = threadIdx.x; i < 20000; i += blockDim.x) d[i] = x[i];
        __syncthreads();
        if (threadIdx.x == 0) { int s = 0; for (int i = 0; i < 20000; i++) s += d[i]; out[0] = s; }
    }"""
    mod = xpuc.load(xpuc.compile(src, target()))
    x, out = np.arange(20000, dtype=np.int32), np.zeros(1, np.int32)
    mod.k[1, 256, 20000 * 4](x, out)
    assert out[0] == x.sum()


def test_math_without_libdevice_is_close_to_numpy(monkeypatch):
    monkeypatch.setattr(nvptx, "find_libdevice", lambda: None)
    src = """__global__ void k(const float *x, float *o, int n) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i >= n) return;
        float v = x[i], w = v + 4.0f; float *p = o + 12 * i;
        p[0] = sinf(v); p[1] = cosf(v); p[2] = tanf(v * 0.4f); p[3] = expf(v);
        p[4] = exp2f(v); p[5] = logf(w); p[6] = log2f(w); p[7] = log10f(w);
        p[8] = powf(w, 1.5f); p[9] = tanhf(v); p[10] = sinhf(v); p[11] = coshf(v);
    }"""
    x = np.linspace(-3, 3, 1000, dtype=np.float32)
    out = np.zeros(12 * x.size, np.float32)
    xpuc.load(xpuc.compile(src, target())).k[4, 256](x, out, x.size)
    v, w = x.astype(np.float64), x.astype(np.float64) + 4
    fs = [np.sin(v), np.cos(v), np.tan(v * 0.4), np.exp(v), np.exp2(v), np.log(w), np.log2(w),
          np.log10(w), w**1.5, np.tanh(v), np.sinh(v), np.cosh(v)]  # fmt: skip
    want = np.stack(fs, 1)
    np.testing.assert_allclose(out.reshape(-1, 12), want, rtol=1e-3, atol=2e-5)
