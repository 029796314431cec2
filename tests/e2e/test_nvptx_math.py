"""nvptx math without libdevice: NVVM's approximate instructions, ptxas accepts the PTX,
and what has no instruction is a TargetError naming the function."""

import pytest

import xpuc
import xpuc.targets.nvptx as nvptx
from xpuc.compiler.diagnostics import TargetError

FAST = """
__global__ void k(const float *x, float *o) {
    float v = x[threadIdx.x]; float *p = o + 16 * threadIdx.x;
    p[0] = sinf(v); p[1] = cosf(v); p[2] = tanf(v); p[3] = expf(v); p[4] = exp2f(v);
    p[5] = logf(v); p[6] = log2f(v); p[7] = log10f(v); p[8] = powf(v, 2.5f);
    p[9] = sqrtf(v); p[10] = rsqrtf(v); p[11] = tanhf(v); p[12] = sinhf(v);
    p[13] = coshf(v); p[14] = __expf(v); p[15] = fmodf(v, 2.0f) + fabsf(v) + floorf(v);
}"""


@pytest.fixture
def no_libdevice(monkeypatch):
    monkeypatch.setattr(nvptx, "find_libdevice", lambda: None)


@pytest.mark.ptxas
@pytest.mark.parametrize("arch", ["sm_75", "sm_80", "sm_90"])
def test_float_math_uses_nvvm_approximations(no_libdevice, arch):
    art = xpuc.compile(FAST, f"nvptx:{arch}", emit="bin")
    ptx = art.asm
    assert "__nv_" not in ptx and art.binary[:4] == b"\x7fELF"
    for insn in ["sin.approx.f32", "cos.approx.f32", "ex2.approx.f32", "lg2.approx.f32"]:
        assert insn in ptx, insn
    # tanh.approx.f32 needs PTX 7.0, which nvptx:sm_75 does not emit: e^2x there
    assert ("tanh.approx.f32" in ptx) == (arch != "sm_75")


def test_the_nvvm_intrinsics_are_in_the_llvm_ir(no_libdevice):
    ll = xpuc.compile(FAST, "nvptx:sm_90", emit="llvm", opt_level=0).llvm_ir
    for name in ["sin.approx.f", "cos.approx.f", "ex2.approx.f32", "lg2.approx.f"]:
        assert f"@llvm.nvvm.{name}(" in ll, name


def test_half_math_is_computed_in_float(no_libdevice):
    src = """
    builtin.module attributes {gpu.container_module} {
      "gpu.module"() <{sym_name = "kernels"}> ({
        "gpu.func"() <{function_type = (memref<?xf16>) -> (), kernel}> ({
        ^bb0(%a: memref<?xf16>):
          %c0 = arith.constant 0 : index
          %x = memref.load %a[%c0] : memref<?xf16>
          %y = math.exp %x : f16
          %z = math.sqrt %y : f16
          memref.store %z, %a[%c0] : memref<?xf16>
          "gpu.return"() : () -> ()
        }) {sym_name = "k", xpu.arg_types = ["*f16"], xpu.arg_names = ["a"]} : () -> ()
      }) : () -> ()
    }"""
    ll = xpuc.compile(src, "nvptx:sm_90", language="mlir", emit="llvm", opt_level=0).llvm_ir
    assert "fpext half" in ll and "@llvm.nvvm.ex2.approx.f32(" in ll and "fptrunc float" in ll


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("erff(v)", "erff needs libdevice"),
        ("atan2f(v, 1.0f)", "atan2f needs libdevice"),
        ("cbrtf(v)", "cbrtf needs libdevice"),
        ("(float)sin((double)v)", "sin on double needs libdevice"),
        ("(float)exp((double)v)", "exp on double needs libdevice"),
    ],
)
def test_functions_without_an_instruction_name_themselves(no_libdevice, call, message):
    src = f"__global__ void k(float *x) {{ float v = x[0]; x[1] = {call}; }}"
    with pytest.raises(TargetError, match=message):
        xpuc.compile(src, "nvptx:sm_90", emit="asm")


@pytest.mark.ptxas
def test_double_sqrt_and_friends_need_no_library(no_libdevice):
    src = """__global__ void k(double *x) {
        x[0] = sqrt(x[1]) + fabs(x[2]) + floor(x[3]) + fma(x[4], x[5], x[6]) + rsqrt(x[7])
               + fmin(x[8], x[9]) + fmod(x[10], 3.0); }"""
    art = xpuc.compile(src, "nvptx:sm_90", emit="bin")
    assert "sqrt.rn.f64" in art.asm and "__nv_" not in art.asm
