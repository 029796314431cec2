"""Triton frontend, import step: tutorial kernels -> verified ``tt`` modules with locations."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from xpuc.compiler.diagnostics import CompileError
from xpuc.frontends.triton import TritonImportError, check_version, parse_ttir, require_triton

TUTORIALS = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "triton-tutorials"
)

triton = pytest.importorskip("triton", reason="the Triton frontend needs triton installed")
tl = pytest.importorskip("triton.language")
pytestmark = pytest.mark.filterwarnings("ignore:TRITON_DEFAULT_FP_FUSION")

from xpuc.frontends.triton import import_kernel, load_kernel  # noqa: E402

needs_tutorials = pytest.mark.skipif(
    not TUTORIALS.is_dir(), reason=f"conformance data absent: {TUTORIALS.resolve()}"
)

_F32 = "*fp32"
_MM = {
    **dict.fromkeys(["a_ptr", "b_ptr", "c_ptr"], "*fp16"),
    **dict.fromkeys("M N K stride_am stride_ak stride_bk stride_bn stride_cm stride_cn".split(),
                    "i32"),
    **dict.fromkeys("BLOCK_SIZE_M BLOCK_SIZE_N BLOCK_SIZE_K GROUP_SIZE_M ACTIVATION".split(),
                    "constexpr"),
}  # fmt: skip
_MM_C = {"BLOCK_SIZE_M": 64, "BLOCK_SIZE_N": 64, "BLOCK_SIZE_K": 32, "GROUP_SIZE_M": 8}

# file, kernel, signature, constexprs, ops that must appear
KERNELS = [
    ("01-vector-add.py", "add_kernel",
     {**dict.fromkeys(["x_ptr", "y_ptr", "output_ptr"], _F32), "n_elements": "i32",
      "BLOCK_SIZE": "constexpr"}, {"BLOCK_SIZE": 1024}, {"tt.load", "tt.store", "tt.addptr"}),
    ("02-fused-softmax.py", "softmax_kernel",
     {"output_ptr": _F32, "input_ptr": _F32, **dict.fromkeys(
         ["input_row_stride", "output_row_stride", "n_rows", "n_cols"], "i32"),
      "BLOCK_SIZE": "constexpr", "num_stages": "constexpr"},
     {"BLOCK_SIZE": 1024, "num_stages": 2}, {"tt.reduce", "tt.get_num_programs", "math.exp"}),
    ("03-matrix-multiplication.py", "matmul_kernel", _MM, {**_MM_C, "ACTIVATION": ""},
     {"tt.dot", "tt.expand_dims", "tt.broadcast"}),
    ("03-matrix-multiplication.py", "matmul_kernel", _MM, {**_MM_C, "ACTIVATION": "leaky_relu"},
     {"tt.dot", "arith.select"}),
    ("05-layer-norm.py", "_layer_norm_fwd_fused",
     {**dict.fromkeys("X Y W B Mean Rstd".split(), _F32), "stride": "i32", "N": "i32",
      "eps": "fp32", "BLOCK_SIZE": "constexpr"}, {"BLOCK_SIZE": 1024},
     {"tt.reduce", "math.sqrt", "scf.for"}),
    ("05-layer-norm.py", "_layer_norm_bwd_dx_fused",
     {**dict.fromkeys("DX DY DW DB X W Mean Rstd".split(), _F32), "Lock": "*i32",
      "stride": "i32", "N": "i32", "GROUP_SIZE_M": "constexpr", "BLOCK_SIZE_N": "constexpr"},
     {"GROUP_SIZE_M": 64, "BLOCK_SIZE_N": 1024},
     {"tt.atomic_cas", "tt.atomic_rmw", "ttg.barrier", "scf.while"}),
    ("05-layer-norm.py", "_layer_norm_bwd_dwdb",
     {**dict.fromkeys("DW DB FINAL_DW FINAL_DB".split(), _F32), "M": "i32", "N": "i32",
      "BLOCK_SIZE_M": "constexpr", "BLOCK_SIZE_N": "constexpr"},
     {"BLOCK_SIZE_M": 32, "BLOCK_SIZE_N": 128}, {"tt.reduce", "tt.expand_dims"}),
]  # fmt: skip


def _line_of(path: Path, start: int, pattern: str) -> int:
    """First line at or after ``start`` (1-based) whose text matches ``pattern``."""
    lines = path.read_text().splitlines()
    return next(i + 1 for i in range(start - 1, len(lines)) if re.search(pattern, lines[i]))


@needs_tutorials
@pytest.mark.parametrize(("file", "name", "sig", "consts", "ops"), KERNELS)
def test_tutorial_kernel_imports(file, name, sig, consts, ops):
    path = (TUTORIALS / file).resolve()
    fn = load_kernel(path, name)
    module, info = import_kernel(fn, sig, consts)
    module.verify()
    names = {op.name for op in module.walk()}
    assert ops <= names, ops - names
    assert "tt.func" in names and "tt.get_program_id" in names
    s = info.signature
    assert s.name == name and [p for p, _ in s.params] == list(fn.arg_names)
    assert dict(s.params) == sig and dict(s.constexprs) == consts
    assert s.runtime_params == tuple((n, c) for n, c in sig.items() if c != "constexpr")
    assert Path(s.file) == path
    # The program id is located at the kernel's `tl.program_id(` call, in its own file.
    pid = next(op for op in module.walk() if op.name == "tt.get_program_id")
    loc = info.location(pid)
    assert loc is not None and Path(loc.file) == path
    assert loc.line == _line_of(path, s.line, r"tl\.program_id\(")
    assert path.read_text().splitlines()[loc.line - 1][loc.col - 1 :].startswith("tl.program_id")
    # Every tt op has a location in the kernel's file (folded constants may have none).
    for op in module.walk():
        if op.name.startswith("tt."):
            got = info.location(op)
            assert got is not None and Path(got.file) == path, op.name


@needs_tutorials
def test_load_kernel_runs_no_driver_code():
    # The tutorials query the GPU driver at module level; loading only defines kernels.
    fn = load_kernel(TUTORIALS / "03-matrix-multiplication.py", "matmul_kernel")
    assert isinstance(fn, triton.runtime.JITFunction)  # @triton.autotune was dropped
    with pytest.raises(TritonImportError, match=r"no @triton.jit function 'nope'.*leaky_relu"):
        load_kernel(TUTORIALS / "03-matrix-multiplication.py", "nope")


def test_load_kernel_missing_file(tmp_path):
    with pytest.raises(TritonImportError, match="cannot read kernels from"):
        load_kernel(tmp_path / "absent.py", "k")


@triton.jit
def _copy(src, dst, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(dst + offs, tl.load(src + offs, mask=offs < n), mask=offs < n)


@triton.jit
def _histogram(src, dst, BLOCK: tl.constexpr):
    x = tl.load(src + tl.arange(0, BLOCK))
    h = tl.histogram(x, 8)  # xpuc's tt dialect has no tt.histogram
    tl.store(dst + tl.arange(0, 8), h)


@triton.jit
def _broken(src, BLOCK: tl.constexpr):
    tl.store(src + tl.arange(0, BLOCK), undefined_name)  # noqa: F821


_COPY_SIG = {"src": _F32, "dst": _F32, "n": "i32", "BLOCK": "constexpr"}


def test_kernel_defined_in_python_imports():
    module, info = import_kernel(_copy, _COPY_SIG, {"BLOCK": 128}, num_warps=2)
    assert info.num_warps == 2 and info.signature.file == __file__
    pid = next(op for op in module.walk() if op.name == "tt.get_program_id")
    assert info.location(pid).line == _copy.fn.__code__.co_firstlineno + 2


def test_unsupported_op_is_located():
    with pytest.raises(CompileError) as e:
        import_kernel(
            _histogram, {"src": "*i32", "dst": "*i32", "BLOCK": "constexpr"}, {"BLOCK": 64}
        )
    line = _histogram.fn.__code__.co_firstlineno + 3
    assert e.value.loc.file == __file__ and e.value.loc.line == line
    assert "'tt.histogram' is not supported" in str(e.value)
    assert str(e.value).startswith(f"{__file__}:{line}:")
    assert "tl.histogram(x, 8)" in str(e.value)  # the source line is quoted


def test_unsupported_op_in_text_is_located():
    text = 'module {\n  %0 = tt.frobnicate loc("k.py":3:7)\n}\n'
    with pytest.raises(CompileError, match=r"^k\.py:3:7: error: TTIR op 'tt.frobnicate'"):
        parse_ttir(text, "k.py")


def test_triton_compile_error_is_reported():
    with pytest.raises(TritonImportError, match="triton could not compile '_broken'"):
        import_kernel(_broken, {"src": _F32, "BLOCK": "constexpr"}, {"BLOCK": 16})


@pytest.mark.parametrize(
    ("sig", "consts", "message"),
    [
        ({**_COPY_SIG, "extra": "i32"}, {"BLOCK": 8}, "has no parameter 'extra'"),
        ({"src": _F32, "dst": _F32, "BLOCK": "constexpr"}, {"BLOCK": 8}, "no type for 'n'"),
        ({**_COPY_SIG, "n": "int"}, {"BLOCK": 8}, "'n' has type code 'int'"),
        (_COPY_SIG, {}, "constexpr 'BLOCK' needs a value"),
        ({**_COPY_SIG, "n": "i32"}, {"BLOCK": 8, "n": 3}, "'n' has a value but is not"),
        ({"src": 1}, {}, "signature must map parameter names"),
    ],
)
def test_bad_signature(sig, consts, message):
    with pytest.raises(TritonImportError, match=re.escape(message)):
        import_kernel(_copy, sig, consts)


def test_bad_num_warps_and_not_a_kernel():
    with pytest.raises(TritonImportError, match="num_warps must be a power of two"):
        import_kernel(_copy, _COPY_SIG, {"BLOCK": 8}, num_warps=3)
    with pytest.raises(TritonImportError, match="is not a @triton.jit function"):
        import_kernel(_copy.fn, _COPY_SIG, {"BLOCK": 8})


@pytest.mark.parametrize("version", ["3.3.1", "3.10.0", "4.0.0", "2.1.0"])
def test_version_outside_pin(version):
    with pytest.raises(TritonImportError, match=re.escape(f"triton {version} is not supported")):
        check_version(version)


def test_version_inside_pin_and_installed():
    for version in ("3.4.0", "3.9.0", "3.9.0+git1234"):
        check_version(version)
    assert require_triton() is triton


def test_installed_version_outside_pin(monkeypatch):
    monkeypatch.setattr(triton, "__version__", "3.2.0")
    with pytest.raises(TritonImportError, match=r"triton>=3\.4,<3\.10"):
        import_kernel(_copy, _COPY_SIG, {"BLOCK": 8})


def test_triton_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "triton", None)  # makes `import triton` fail
    with pytest.raises(TritonImportError, match=re.escape("pip install 'xpuc[triton]'")):
        require_triton()
