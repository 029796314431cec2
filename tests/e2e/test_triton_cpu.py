"""Triton frontend, elementwise lowering: ``@triton.jit`` kernels compiled and run by xpuc."""

from __future__ import annotations

import re

import numpy as np
import pytest
from triton_common import (  # first: skips the module without triton
    IGNORE_FP_FUSION,
    TUTORIALS,
    needs_tutorials,
    skip_unless_runs,
    tl,
    triton,
)

from xpuc.compiler.diagnostics import CompileError
from xpuc.frontends.triton import TritonKernel, compile, load_kernel, lower_kernel

pytestmark = IGNORE_FP_FUSION
libdevice = pytest.importorskip("triton.language.extra.libdevice")

ADD_SIG = {**dict.fromkeys(["x_ptr", "y_ptr", "output_ptr"], "*fp32"), "n_elements": "i32",
           "BLOCK_SIZE": "constexpr"}  # fmt: skip


@needs_tutorials
@pytest.mark.parametrize("target", ["cpu", "opencl"])
@pytest.mark.parametrize("block,num_warps", [(1024, 4), (64, 2)])
def test_tutorial_vector_add(target, block, num_warps):
    skip_unless_runs(target)
    fn = load_kernel(TUTORIALS / "01-vector-add.py", "add_kernel")
    consts = {"BLOCK_SIZE": block}
    art = compile(fn, ADD_SIG, consts, target=target, num_warps=num_warps)
    k = TritonKernel.load(art, num_warps, consts)
    rng = np.random.default_rng(0)
    n = 3 * block + 37
    x, y = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    out = np.full(n, -1.0, np.float32)
    k[lambda meta: (triton.cdiv(n, meta["BLOCK_SIZE"]),)](x, y, out, n, BLOCK_SIZE=block)
    np.testing.assert_allclose(out, x + y, rtol=1e-6)


@triton.jit
def _masked_math(x_ptr, y_ptr, out_ptr, n, scale, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=-1.0)
    y = tl.load(y_ptr + offs, mask=mask & (offs % 3 != 0), other=2.0)
    r = tl.where(x > 0.5, tl.exp(x) * scale, y - x)
    tl.store(out_ptr + offs, r + tl.num_programs(0), mask=mask)


def _masked_math_ref(x, y, scale, n, programs):
    idx = np.arange(n)
    y = np.where(idx % 3 != 0, y, np.float32(2.0))
    return np.where(x > 0.5, np.exp(x) * scale, y - x) + programs


@pytest.mark.parametrize("target", ["cpu", "opencl"])
def test_masks_other_and_math(target):
    skip_unless_runs(target)
    sig = {"x_ptr": "*fp32", "y_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32", "scale": "fp32",
           "BLOCK": "constexpr"}  # fmt: skip
    art = compile(_masked_math, sig, {"BLOCK": 256}, target=target, num_warps=4)
    k = TritonKernel.load(art, 4)
    rng = np.random.default_rng(1)
    n = 1000
    x, y = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    out = np.zeros(n + 5, np.float32)  # past n stays untouched
    k[4](x, y, out, n, np.float32(1.5))
    np.testing.assert_allclose(out[:n], _masked_math_ref(x, y, 1.5, n, 4), rtol=1e-5)
    assert not out[n:].any()


def test_lowered_ir_is_simt():
    sig = {"x_ptr": "*fp32", "y_ptr": "*fp32", "out_ptr": "*fp32", "n": "i32", "scale": "fp32",
           "BLOCK": "constexpr"}  # fmt: skip
    module, _ = lower_kernel(_masked_math, sig, {"BLOCK": 256}, num_warps=2)
    text = str(module)
    assert "tt." not in text and "tensor<" not in text
    assert "gpu.thread_id" in text and "scf.for" in text and "memref<?xf32>" in text
    assert 'xpu.arg_names = ["x_ptr", "y_ptr", "out_ptr", "n", "scale"]' in text
    assert "arith.constant 64 : index" in text  # 2 warps of 32 threads stride the tile


@needs_tutorials
@pytest.mark.ptxas
def test_vector_add_ptx_accepted_by_ptxas():
    fn = load_kernel(TUTORIALS / "01-vector-add.py", "add_kernel")
    art = compile(fn, ADD_SIG, {"BLOCK_SIZE": 1024}, target="nvptx:sm_90", emit="bin")
    assert ".entry add_kernel" in str(art.stages["asm"])
    assert art.stages["bin"][:4] == b"\x7fELF"


@triton.jit
def _tiny_matmul(a_ptr, b_ptr, c_ptr, BLOCK: tl.constexpr):
    r = tl.arange(0, BLOCK)
    a = tl.load(a_ptr + r[:, None] * BLOCK + r[None, :])
    b = tl.load(b_ptr + r[:, None] * BLOCK + r[None, :])
    c = tl.dot(a, b)
    tl.store(c_ptr + r[:, None] * BLOCK + r[None, :], c)


@pytest.mark.parametrize("target", ["cpu", "opencl"])
def test_tiny_matmul_and_the_xpuc_triton_names(target):
    """``xpuc.compile`` takes a ``@triton.jit`` function; ``xpuc.triton`` is the API."""
    import xpuc
    import xpuc.triton

    skip_unless_runs(target)
    sig = {"a_ptr": "*fp32", "b_ptr": "*fp32", "c_ptr": "*fp32", "BLOCK": "constexpr"}
    art = xpuc.compile(_tiny_matmul, target, signature=sig, constexprs={"BLOCK": 16})
    a, b = np.random.default_rng(3).standard_normal((2, 16, 16), dtype=np.float32)
    c = np.zeros_like(a)
    xpuc.triton.TritonKernel.load(art)[(1,)](a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)
    with pytest.raises(xpuc.XpucError, match="needs its signature"):
        xpuc.compile(_tiny_matmul, target)


@triton.jit
def _libdevice_pow(x_ptr, o_ptr, B: tl.constexpr):
    r = tl.arange(0, B)
    tl.store(o_ptr + r, libdevice.pow(tl.load(x_ptr + r), 2.5))


def test_unsupported_op_is_a_located_error():
    sig = {"x_ptr": "*fp32", "o_ptr": "*fp32", "B": "constexpr"}
    with pytest.raises(CompileError) as e:
        compile(_libdevice_pow, sig, {"B": 16}, target="cpu")
    msg = str(e.value)
    line = _libdevice_pow.fn.__code__.co_firstlineno + 3  # the decorator line + 3
    assert re.match(rf".*test_triton_cpu\.py:{line}:\d+: error: 'tt\.extern_elementwise' "
                    r"\(calls into a device library\) is not supported", msg), msg  # fmt: skip
    assert "libdevice.pow(" in msg


@triton.jit
def _shifted_sqrt(x_ptr, o_ptr, n, shift, B: tl.constexpr):
    offs = tl.program_id(0) * B + tl.arange(0, B)
    m = offs < n
    tl.store(o_ptr + offs, tl.sqrt(tl.load(x_ptr + shift + offs, mask=m)) - 1, mask=m)


@triton.jit
def _scalar_only(x_ptr, o_ptr, v):
    tl.store(o_ptr, tl.load(x_ptr + 1) + v)


def test_i64_offsets_and_a_kernel_without_tiles():
    sig = {"x_ptr": "*fp32", "o_ptr": "*fp32", "n": "i32", "shift": "i64", "B": "constexpr"}
    k = TritonKernel.load(compile(_shifted_sqrt, sig, {"B": 128}, target="cpu"), 4)
    x, out = np.arange(310, dtype=np.float32), np.zeros(300, np.float32)
    k[3](x, out, 300, np.int64(10))
    np.testing.assert_allclose(out, np.sqrt(x[10:]) - 1, rtol=1e-6)
    sig = {"x_ptr": "*fp32", "o_ptr": "*fp32", "v": "fp32"}
    k = TritonKernel.load(compile(_scalar_only, sig, target="cpu"), 4)
    out = np.zeros(2, np.float32)
    k[3](x, out, np.float32(10))
    assert out.tolist() == [11.0, 0.0]


@triton.jit
def _casts(x_ptr, o_ptr, n, B: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * B + tl.arange(0, B)  # a 64-bit offset tile
    m = offs < n
    x = tl.load(x_ptr + offs, mask=m)
    tl.store(o_ptr + offs, (x * 3).to(tl.float32) + offs.to(tl.float32), mask=m)


@pytest.mark.parametrize("target", ["cpu", "opencl"])
def test_casts_of_tiles(target):
    skip_unless_runs(target)
    sig = {"x_ptr": "*i32", "o_ptr": "*fp32", "n": "i32", "B": "constexpr"}
    art = compile(_casts, sig, {"B": 128}, target=target)
    x, o = np.arange(300, dtype=np.int32), np.zeros(300, np.float32)
    TritonKernel.load(art, 4, {"B": 128})[(3,)](x, o, 300)
    np.testing.assert_array_equal(o, (x * 3).astype(np.float32) + np.arange(300))


@needs_tutorials
def test_the_cli_compiles_and_runs_a_triton_file(tmp_path):
    import subprocess
    import sys

    path = str(TUTORIALS / "01-vector-add.py")
    cli = [sys.executable, "-m", "xpuc.compiler.cli"]
    common = ["--kernel", "add_kernel", "--signature", "*fp32,*fp32,*fp32,i32",
              "--constexpr", "BLOCK_SIZE=256"]  # fmt: skip
    ptx = tmp_path / "k.ptx"
    proc = subprocess.run([*cli, "compile", path, *common, "--target", "nvptx:sm_90", "-o",
                           str(ptx)], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert ".visible .entry add_kernel(" in ptx.read_text()
    run = [*cli, "run", path, *common, "--target", "cpu", "--grid", "4", "--out", str(tmp_path)]
    args = ["rand:1000", "rand:1000", "zeros:1000", "1000"]
    proc = subprocess.run([*run, "--block", "128", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    x, y, out = (np.load(tmp_path / f"{n}.npy") for n in ("x_ptr", "y_ptr", "output_ptr"))
    np.testing.assert_allclose(out, x + y, rtol=1e-6)
    bad = subprocess.run([*run, "--block", "256", *args], capture_output=True, text=True)
    assert bad.returncode == 1 and "give --block 128" in bad.stderr
    bad = subprocess.run([*cli, "compile", path, "--kernel", "add_kernel", "--signature",
                          "*fp32", "--constexpr", "BLOCK_SIZE=256"], capture_output=True,
                         text=True)  # fmt: skip
    assert bad.returncode == 1 and "takes 4 non-constexpr arguments" in bad.stderr
    assert "Traceback" not in bad.stderr
