"""The spirv target: kernels compile to SPIR-V modules that spirv-val accepts, with the
instructions the CUDA built-ins should become; what it cannot do fails clearly."""

import ctypes
import random
import re
import subprocess
from pathlib import Path

import llvmlite.binding as llvm
import pytest

import xpuc
from xpuc.compiler.diagnostics import TargetError, ToolNotFoundError, XpucError
from xpuc.targets import spirv
from xpuc.targets.base import init_llvm
from xpuc.targets.registry import get_target
from xpuc.targets.tools import find_tool

ROOT = Path(__file__).resolve().parents[2]
needs_tools = pytest.mark.skipif(
    not (find_tool("spirv-val") and find_tool("spirv-dis")),
    reason="needs spirv-val and spirv-dis (Debian/Ubuntu: apt-get install spirv-tools)",
)


def dis(module: bytes) -> str:
    proc = subprocess.run(["spirv-dis", "-"], input=module, capture_output=True, check=True)
    return proc.stdout.decode()


def compiled(src: str, target: str = "spirv", **kw) -> tuple[xpuc.Artifact, str]:
    """Compile, have spirv-val accept the module, and return it with its disassembly."""
    art = xpuc.compile(src, target, emit="bin", **kw)
    assert get_target(target).validate(art).startswith("spirv-val")
    return art, dis(art.stages["bin"])


KERNELS = {
    "elementwise and ids": (
        """
        __global__ void k(const float *a, float *b, int n) {
            int i = blockIdx.y * gridDim.x * blockDim.x + blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) b[i] = a[i] * 2.0f + threadIdx.z + blockDim.y;
        }""",
        [
            "BuiltIn LocalInvocationId",
            "BuiltIn WorkgroupId",
            "BuiltIn WorkgroupSize",
            "BuiltIn NumWorkgroups",
            "OpFunctionParameter %_ptr_CrossWorkgroup_float",
            "OpFMul",
        ],
    ),
    "shared memory and barriers": (
        """
        __global__ void k(const float *in, float *out) {
            __shared__ float tile[8][33];
            tile[threadIdx.y][threadIdx.x] = in[threadIdx.y * 32 + threadIdx.x];
            __syncthreads();
            out[threadIdx.x * 8 + threadIdx.y] = tile[threadIdx.x % 8][threadIdx.y];
        }""",
        [
            "OpVariable %_ptr_Workgroup__arr_float_uint_264 Workgroup",
            "OpControlBarrier %uint_2 %uint_2 %uint_784",
        ],  # workgroup; SeqCst|Workgroup|Global
    ),
    "atomics": (
        """
        __global__ void k(int *i, float *f, unsigned long long *c, double *d) {
            __shared__ int s[4];
            atomicAdd(&s[0], 1);
            atomicAdd(i, 2); atomicMax(i + 1, 3); atomicExch(i + 2, 4); atomicOr(i + 3, 1);
            atomicAdd(f, 1.5f);
            atomicCAS(c, 0ull, 1ull);
            atomicAdd(d, 0.5);
            __syncthreads();
            i[3] = s[0];
        }""",
        [
            "OpAtomicIAdd %uint {} %uint_2",
            "OpAtomicIAdd %uint {} %uint_1",
            "OpAtomicSMax",
            "OpAtomicExchange",
            "OpAtomicOr",
            "OpAtomicFAddEXT %float",
            "OpAtomicFAddEXT %double",
            "OpAtomicCompareExchange %ulong",
            'OpExtension "SPV_EXT_shader_atomic_float_add"',
        ],
    ),
    "math": (
        """
        __global__ void k(const float *x, float *o, const double *y, double *d) {
            float v = x[threadIdx.x];
            o[0] = sinf(v) + cosf(v) + expf(v) + logf(v) + powf(v, 1.5f) + tanhf(v);
            o[1] = rsqrtf(v) + erff(v) + cbrtf(v) + atan2f(v, 2.0f) + fminf(v, 1.0f);
            double w = y[threadIdx.x];
            d[0] = exp(w) + log1p(w) + sqrt(w) + fma(w, w, 1.0) + floor(w);
        }""",
        [
            'OpExtInstImport "OpenCL.std"',
            "OpExtInst %float %1 sin",
            "OpExtInst %float %1 pow",
            "OpExtInst %float %1 rsqrt",
            "OpExtInst %float %1 erf",
            "OpExtInst %float %1 cbrt",
            "OpExtInst %float %1 fmin",
            "OpExtInst %double %1 log1p",
            "OpExtInst %double %1 fma",
        ],
    ),
    "f16, f64, i64 and small integers": (
        """
        #include <cuda_fp16.h>
        __global__ void k(const __half *h, __half *o, double *d, long long *l, char *c, short *s) {
            int i = threadIdx.x;
            o[i] = __float2half(__half2float(h[i]) * 2.0f);
            d[i] = d[i] * 3.0 + 1.0; l[i] = l[i] * l[i] >> 3; c[i] += 1; s[i] *= 3;
        }""",
        [
            "OpTypeFloat 16",
            "OpTypeFloat 64",
            "OpTypeInt 64 0",
            "OpTypeInt 8 0",
            "OpTypeInt 16 0",
            "OpLoad %half",
        ],
    ),
    "dynamic shared memory (a trailing __local parameter)": (
        """
        __device__ float at(int i) { extern __shared__ float buf[]; return buf[i]; }
        __global__ void k(float *out) {
            extern __shared__ float buf[];
            buf[threadIdx.x] = threadIdx.x;
            __syncthreads();
            out[threadIdx.x] = at(threadIdx.x ^ 1);
        }""",
        [
            "OpFunctionParameter %_ptr_CrossWorkgroup_float\n"
            "{} = OpFunctionParameter %_ptr_Workgroup_"
        ],
    ),
    "fences and __syncwarp": (
        """
        __global__ void k(int *a) {
            a[threadIdx.x] = 1;
            __syncwarp();
            __threadfence_block(); __threadfence(); __threadfence_system();
            a[threadIdx.x + 32] = a[threadIdx.x ^ 1];
        }""",
        [
            "OpControlBarrier %uint_3 %uint_3 %uint_784",
            "OpMemoryBarrier %uint_2 %uint_784",
            "OpMemoryBarrier %uint_1 %uint_784",
            "OpMemoryBarrier {} %uint_784",
        ],
    ),
    "printf": (
        '__global__ void k(int *a, float *f) { printf("%d %f\\n", a[0], f[0]); }',
        ["OpBitcast %_ptr_UniformConstant_uchar", "OpExtInst %uint %1 printf"],
    ),
    "bool parameter (a byte) and __brev": (
        """
        __global__ void k(bool flip, unsigned *x) {
            if (flip) x[threadIdx.x] = __brev(x[threadIdx.x]);
        }""",
        ["OpFunctionParameter %uchar", "OpShiftLeftLogical"],
    ),
}


def _matches(want: str, text: str) -> bool:
    """``want`` in ``text``, where ``{}`` stands for one id (``%12``, ``%name``) and a
    line break for any space."""
    parts = [re.escape(p).replace("\\\n", r"\s+") for p in want.split("{}")]
    return re.search(r"%[\w.]+".join(parts), text) is not None


@needs_tools
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_spirv_val_accepts_and_the_instructions_are_there(name):
    src, wanted = KERNELS[name]
    _, text = compiled(src)
    for w in wanted:
        assert _matches(w, text), f"{w!r} not in the module:\n{text}"


@needs_tools
def test_warp_operations_need_spirv_1_3_and_32_lane_subgroups():
    src = """
    __global__ void k(const double *x, double *o, unsigned *b, int *f) {
        int i = threadIdx.x;
        double v = x[i] + __shfl_sync(0xffffffffu, x[i], 5) + __shfl_up_sync(0xffffffffu, x[i], 1);
        v += __shfl_xor_sync(0xffffffffu, v, 2, 16) + __shfl_down_sync(0xffffffffu, v, 1);
        o[i] = v;
        b[i] = __ballot_sync(0xffffffffu, v > 0) & __activemask();
        f[i] = __any_sync(0xffffffffu, v > 1) + __all_sync(0xffffffffu, v > 2) + warpSize;
    }"""
    art, text = compiled(src)
    assert "; Version: 1.3" in text
    assert get_target("spirv").validate(art) == "spirv-val spv1.3"
    for w in ["OpCapability GroupNonUniformShuffle", "OpCapability GroupNonUniformBallot",
              "OpExecutionMode %k SubgroupSize 32", "BuiltIn SubgroupLocalInvocationId",
              "OpGroupNonUniformShuffle %double", "OpGroupNonUniformBallot %v4uint",
              "OpGroupNonUniformAny", "OpGroupNonUniformAll"]:  # fmt: skip
        assert w in text, w
    assert text.count("OpGroupNonUniformShuffle") == 4
    with pytest.raises(TargetError, match="need SPIR-V 1.3"):
        xpuc.compile(src, "spirv:1.2", emit="bin")


@needs_tools
@pytest.mark.parametrize("variant", ["", "1.2", "1.3", "1.4", "1.5", "1.6"])
def test_each_variant_emits_its_version(variant):
    target = f"spirv:{variant}" if variant else "spirv"
    art, text = compiled(KERNELS["shared memory and barriers"][0], target)
    assert f"; Version: {variant or '1.2'}" in text
    assert spirv.spirv_version(art.stages["bin"]) == tuple(map(int, (variant or "1.2").split(".")))


@needs_tools
@pytest.mark.parametrize("opt_level", [0, 1, 3])
def test_opt_levels(opt_level):
    compiled(KERNELS["atomics"][0], opt_level=opt_level)
    compiled(KERNELS["math"][0], opt_level=opt_level)


@needs_tools
def test_optional_opencl_capabilities_are_validated_by_the_universal_rules():
    art, _ = compiled(KERNELS["f16, f64, i64 and small integers"][0])
    assert get_target("spirv").validate(art) == "spirv-val spv1.2"  # Float16
    art, _ = compiled(KERNELS["shared memory and barriers"][0])
    assert get_target("spirv").validate(art) == "spirv-val opencl2.2"


@needs_tools
@pytest.mark.parametrize("path", sorted((ROOT / "tests/e2e/programs").glob("*.cu")),
                         ids=lambda p: p.name)  # fmt: skip
def test_programs_compile_and_validate(path):
    compiled(path.read_text(), filename=str(path), include_dirs=[str(path.parent)])


def test_llvm_ir_and_spirv_text_without_tools():
    src = KERNELS["elementwise and ids"][0]
    ll = xpuc.compile(src, "spirv", emit="llvm").llvm_ir
    assert 'target triple = "spirv64v1.2-unknown-unknown"' in ll
    assert "define spir_kernel void @k(ptr addrspace(1)" in ll
    asm = xpuc.compile(src, "spirv", emit="asm").asm
    assert "OpEntryPoint Kernel" in asm and "OpMemoryModel Physical64 OpenCL" in asm
    with pytest.raises(TargetError, match="cannot emit 'obj'"):
        xpuc.compile(src, "spirv", emit="obj")


def test_a_fatal_back_end_error_is_a_target_error():
    # llvm.bitreverse needs an extension: LLVM aborts, the child process dies, we say why
    text = """
    target triple = "spirv64v1.2-unknown-unknown"
    declare i32 @llvm.bitreverse.i32(i32)
    define spir_kernel void @k(ptr addrspace(1) %p) {
      %v = load i32, ptr addrspace(1) %p
      %r = call i32 @llvm.bitreverse.i32(i32 %v)
      store i32 %r, ptr addrspace(1) %p
      ret void
    }"""
    with pytest.raises(TargetError, match="SPIR-V back end failed: LLVM ERROR"):
        spirv.run_backend(text)
    _, module = spirv.run_backend(spirv.portable_bit_ops(text))
    assert spirv.spirv_version(module) == (1, 2)


@pytest.mark.parametrize("bits", [8, 16, 32, 64])
def test_portable_bitreverse_reverses_bits(bits):
    init_llvm()
    m = llvm.parse_assembly(spirv._bitreverse(bits).replace("define internal", "define"))
    tm = llvm.Target.from_default_triple().create_target_machine()
    engine = llvm.create_mcjit_compiler(m, tm)
    engine.finalize_object()
    ct = {8: ctypes.c_uint8, 16: ctypes.c_uint16, 32: ctypes.c_uint32, 64: ctypes.c_uint64}[bits]
    fn = ctypes.CFUNCTYPE(ct, ct)(engine.get_function_address(f"__xpuc_bitreverse_i{bits}"))
    rng = random.Random(bits)
    for v in [0, 1, 5, (1 << bits) - 1, *(rng.getrandbits(bits) for _ in range(50))]:
        assert fn(v) == int(format(v, f"0{bits}b")[::-1], 2)


def test_an_unknown_external_function_is_named():
    src = """
    builtin.module attributes {gpu.container_module} {
      "gpu.module"() <{sym_name = "kernels"}> ({
        func.func private @mystery(f32) -> f32
        "gpu.func"() <{function_type = (memref<?xf32>) -> (), kernel}> ({
        ^bb0(%a: memref<?xf32>):
          %c0 = arith.constant 0 : index
          %x = memref.load %a[%c0] : memref<?xf32>
          %y = func.call @mystery(%x) : (f32) -> f32
          memref.store %y, %a[%c0] : memref<?xf32>
          "gpu.return"() : () -> ()
        }) {sym_name = "k", xpu.arg_types = ["*f32"], xpu.arg_names = ["a"]} : () -> ()
      }) : () -> ()
    }"""
    with pytest.raises(TargetError, match="calls 'mystery', which LLVM's SPIR-V back end"):
        xpuc.compile(src, "spirv", language="mlir", emit="bin")


@needs_tools
def test_spirv_val_rejection_is_a_target_error():
    src = "__global__ void k(int *a) { a[threadIdx.x] = __shfl_xor_sync(~0u, a[0], 1); }"
    art, _ = compiled(src)
    bad = bytearray(art.stages["bin"])
    bad[4:8] = (0x00010200).to_bytes(4, "little")  # claim 1.2: it has 1.3's instructions
    art.stages["bin"] = bytes(bad)
    with pytest.raises(TargetError, match="spirv-val rejected the module"):
        get_target("spirv").validate(art)
    with pytest.raises(TargetError, match="not a SPIR-V module"):
        spirv.spirv_version(b"\x7fELF1234")


def test_validate_without_spirv_val_says_what_to_install(monkeypatch):
    monkeypatch.setattr(spirv, "find_tool", lambda *names: None)
    with pytest.raises(ToolNotFoundError, match="apt-get install spirv-tools"):
        get_target("spirv").validate(None)
    assert get_target("spirv").capabilities() == "compile"


def test_spirv_does_not_run_here():
    art = xpuc.compile(KERNELS["elementwise and ids"][0], "spirv", emit="asm")
    assert not get_target("spirv").can_run()
    with pytest.raises(XpucError, match="cannot run spirv code on this machine"):
        xpuc.load(art)
