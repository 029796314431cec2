"""``--emit bin`` for the cpu family: a shared library (``ld.lld -shared``) exporting each
kernel's launch wrapper, which a C program (here ctypes) loads and calls directly."""

from __future__ import annotations

import ctypes
import subprocess

import numpy as np
import pytest

import xpuc
from xpuc.targets.cpu import LAUNCH_PREFIX, VARIANTS
from xpuc.targets.registry import get_target
from xpuc.targets.tools import check_elf, elf_tool, find_lld

pytestmark = pytest.mark.skipif(
    find_lld() is None, reason="needs ld.lld (Debian lld-19) to link shared libraries"
)

SAXPY = """
__global__ void saxpy(float a, const float *x, float *y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
"""
# void __xpuc_launch_K(void **params, int64 *next_block, int64 end_block, int64 chunk,
#                      int64 grid xyz, int64 block xyz, void *dynamic_shared)
LAUNCH = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, *[ctypes.c_int64] * 8,
                          ctypes.c_void_p)  # fmt: skip


def test_the_host_library_runs_through_its_c_abi(tmp_path):
    lib = tmp_path / "libsaxpy.so"
    lib.write_bytes(xpuc.compile(SAXPY, "cpu", emit="bin").binary)
    so = ctypes.CDLL(str(lib))
    launch = LAUNCH(ctypes.cast(getattr(so, LAUNCH_PREFIX + "saxpy"), ctypes.c_void_p).value)
    n, block = 1000, 128
    grid = (n + block - 1) // block
    x = np.arange(n, dtype=np.float32)
    y = np.ones(n, np.float32)
    cells = [ctypes.c_float(2.0), ctypes.c_void_p(x.ctypes.data), ctypes.c_void_p(y.ctypes.data),
             ctypes.c_int32(n)]  # fmt: skip
    params = (ctypes.c_void_p * 4)(*[ctypes.addressof(c) for c in cells])
    counter = ctypes.c_int64(0)
    launch(ctypes.addressof(params), ctypes.addressof(counter), grid, 2, grid, 1, 1, block, 1, 1,
           None)  # fmt: skip
    np.testing.assert_array_equal(y, 2 * np.arange(n, dtype=np.float32) + 1)
    assert counter.value >= grid  # every block was taken from the shared counter


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v])
def test_cross_libraries_are_shared_objects_for_their_machine(variant, tmp_path):
    art = xpuc.compile(SAXPY, f"cpu:{variant}")  # a cross CPU's default output
    data = art.binary
    assert data[:4] == b"\x7fELF" and int.from_bytes(data[16:18], "little") == 3  # ET_DYN
    if elf_tool() is None:
        pytest.skip("readelf not found")
    arch = get_target(art.target).desc.triple.split("-")[0]
    check_elf(data, arch, [LAUNCH_PREFIX + "saxpy"])
    (tmp_path / "k.so").write_bytes(data)
    out = subprocess.run([elf_tool(), "--dyn-syms", "-W", str(tmp_path / "k.so")],
                         capture_output=True, text=True).stdout  # fmt: skip
    assert LAUNCH_PREFIX + "saxpy" in out  # exported for dlopen
