"""amdgpu: kernels become GCN/CDNA/RDNA machine code with the native instructions,
ld.lld links the code object (hsaco) and readelf reads it; what the target cannot do
is a clear error.  No AMD GPU is needed (none runs here)."""

import re
from pathlib import Path

import pytest

import xpuc
from xpuc.compiler.diagnostics import CompileError, TargetError
from xpuc.targets.amdgpu_lib import check_hsaco, find_lld, find_ocml, isa_version
from xpuc.targets.registry import get_target

ROOT = Path(__file__).resolve().parents[2]
needs_lld = pytest.mark.skipif(
    find_lld() is None, reason="needs ld.lld: not found ($XPUC_LLD, ld.lld[-19..22], ROCm, iree)"
)
needs_ocml = pytest.mark.skipif(
    find_ocml() is None, reason="needs ROCm's ocml.bc: not found (pip install triton provides it)"
)

# name -> (source, ISA text every chip has, LLVM IR text)
KERNELS = {
    "elementwise f32/f16/f64/i64": (
        """
        #include <cuda_fp16.h>
        __global__ void k(const float *x, float *y, __half *h, double *d, long long *l, int n) {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) {
                y[i] = 2.0f * x[i] + y[i];
                h[i] = h[i] + h[i + n];
                d[i] = d[i] * 3.0 + 1.0;
                l[i] = l[i] * (long long)i + 7;
            }
        }""",
        ["global_load_dword", "global_store_dword", "v_add_f32", "v_add_f16", "v_mul_f64",
            "v_add_f64", "v_mad_u64_u32",
         "global_load_dwordx2", "global_store_short"],
        ["llvm.amdgcn.workitem.id.x", "llvm.amdgcn.dispatch.ptr"],
    ),
    "barrier and shared-memory reduction": (
        """
        __global__ void k(const float *in, float *out) {
            __shared__ float s[256];
            extern __shared__ float dyn[];
            s[threadIdx.x] = in[blockIdx.x * 256 + threadIdx.x];
            dyn[threadIdx.x] = 1.0f;
            __syncthreads();
            for (int w = 128; w > 0; w >>= 1) {
                if (threadIdx.x < w) s[threadIdx.x] += s[threadIdx.x + w];
                __syncthreads();
            }
            if (threadIdx.x == 0) out[blockIdx.x] = s[0] + dyn[gridDim.x & 7];
        }""",
        ["s_barrier", "ds_write_b32", "ds_read_b32", ".amdhsa_group_segment_fixed_size 1024"],
        ['fence syncscope("workgroup") release', "call void @llvm.amdgcn.s.barrier()",
         'fence syncscope("workgroup") acquire', "@__xpuc_dynamic_shared = external"],
    ),
    "shuffles": (
        """
        __global__ void k(int *a, double *d, float *f) {
            int v = a[threadIdx.x];
            v += __shfl_down_sync(0xffffffff, v, 1);
            v += __shfl_xor_sync(0xffffffff, v, 2, 16);
            v += __shfl_up_sync(0xffffffff, v, 4);
            v += __shfl_sync(0xffffffff, v, 0);
            d[threadIdx.x] = __shfl_down_sync(0xffffffff, d[threadIdx.x], 1);
            f[threadIdx.x] = __shfl_xor_sync(0xffffffff, f[threadIdx.x], 8);
            a[threadIdx.x] = v;
        }""",
        ["ds_bpermute_b32", "v_mbcnt_lo_u32_b32", "v_mbcnt_hi_u32_b32"],
        ["@llvm.amdgcn.ds.bpermute(", "@llvm.amdgcn.mbcnt.hi("],
    ),
    "votes and active mask": (
        """
        __global__ void k(const int *a, unsigned *b) {
            int v = a[threadIdx.x];
            b[threadIdx.x] = __ballot_sync(0xffffffff, v > 0) + __any_sync(__activemask(), v)
                             + __all_sync(0xffffffff, v) + warpSize;
        }""",
        ["v_cmp_"],
        ["@llvm.amdgcn.ballot.i64(i1 true)", "@llvm.amdgcn.ballot.i64(i1 %"],
    ),
    "atomics": (
        """
        __global__ void k(int *i, float *f, unsigned long long *c, unsigned *u) {
            __shared__ int s[4];
            if (threadIdx.x < 4) s[threadIdx.x] = 0;
            __syncthreads();
            atomicAdd(&s[threadIdx.x & 3], 1);
            atomicAdd(i, 2); atomicMax(i + 1, (int)threadIdx.x); atomicExch(i + 2, 4);
            atomicAdd(f, 1.5f);
            atomicCAS(c, 0ull, 1ull);
            atomicAdd(c + 1, 5ull);
            atomicInc(u, 7u);
            __syncthreads();
            i[3] = s[0];
        }""",
        ["ds_add_u32", "global_atomic_add", "global_atomic_swap", "global_atomic_cmpswap_x2",
         "global_atomic_add_x2", "global_atomic_cmpswap"],
        ['syncscope("agent") monotonic', 'atomicrmw add ptr addrspace(3)',
         'syncscope("workgroup") monotonic'],
    ),
    "fences and __syncwarp": (
        """
        __global__ void k(int *a) {
            a[threadIdx.x] = 1;
            __syncwarp();
            __threadfence_block(); __threadfence(); __threadfence_system();
            a[threadIdx.x + 64] = a[threadIdx.x ^ 1];
        }""",
        ["global_store_dword"],
        ['fence syncscope("wavefront") release', "@llvm.amdgcn.wave.barrier()",
         'fence syncscope("workgroup") seq_cst', 'fence syncscope("agent") seq_cst',
         "fence seq_cst"],
    ),
    "private arrays and device functions": (
        """
        __device__ float pick(const float *t, int i) { return t[i & 15]; }
        __global__ void k(const float *x, float *y, int n) {
            float t[16];
            for (int j = 0; j < 16; j++) t[j] = x[j * n + threadIdx.x];
            y[threadIdx.x] = pick(t, n) + pick(t, n + 1);
        }""",
        ["global_load_dword", "global_store_dword"],
        ["define amdgpu_kernel void @k("],
    ),
}  # fmt: skip


@needs_lld
@pytest.mark.parametrize("variant", ["gfx90a", "gfx942"])
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_native_instructions_and_ld_lld_accepts(name, variant):
    src, isa, llir = KERNELS[name]
    art = xpuc.compile(src, f"amdgpu:{variant}", emit="bin")
    asm, ll = str(art.stages["asm"]), str(art.stages["llir"])
    for w in isa:
        assert w in asm, f"{w!r} not in {variant} ISA:\n{asm}"
    for w in llir:
        assert w in ll, f"{w!r} not in LLVM IR:\n{ll}"
    assert f'.amdgcn_target "amdgcn-amd-amdhsa--{variant}"' in asm
    assert get_target(f"amdgpu:{variant}").validate(art) == "ld.lld + readelf"
    assert art.stages["bin"][:4] == b"\x7fELF"


@pytest.mark.parametrize("opt_level", [0, 3])
def test_wave32_chips_have_one_warp_a_wavefront(opt_level):
    src, _, _ = KERNELS["votes and active mask"]
    art = xpuc.compile(src, "amdgpu:gfx1100", emit="asm", opt_level=opt_level)
    assert "@llvm.amdgcn.ballot.i32(" in str(art.stages["llir"])
    assert "mbcnt.hi" not in str(art.stages["llir"])
    assert ".amdhsa_wavefront_size32 1" in str(art.stages["asm"])


def test_block_and_grid_sizes_come_from_the_dispatch_packet():
    src = "__global__ void k(int *o) { o[0] = blockDim.y; o[1] = gridDim.z; }"
    ll = str(xpuc.compile(src, "amdgpu:gfx90a", emit="llvm").stages["llir"])
    # hsa_kernel_dispatch_packet_t: workgroup_size_y at 6, grid_size_z at 20 (work-items)
    assert re.search(r"getelementptr inbounds nuw i8, ptr addrspace\(4\) %\S+, i64 6", ll)
    assert re.search(r"getelementptr inbounds nuw i8, ptr addrspace\(4\) %\S+, i64 20", ll)
    assert "udiv i32" in ll


@needs_lld
@needs_ocml
@pytest.mark.parametrize("opt_level", [0, 3])
def test_math_library_links_ocml(opt_level):
    names = ["sinf", "cosf", "tanf", "powf", "erff", "tanhf", "expf", "logf", "sqrtf", "fmodf",
             "atan2f", "cbrtf", "log1pf"]  # fmt: skip
    two = ("powf", "fmodf", "atan2f")
    body = "".join(
        f"o[{k}] = {n}(x[{k}]{', x[0]' if n in two else ''});"
        f"d[{k}] = {n[:-1]}(y[{k}]{', y[0]' if n in two else ''});"
        for k, n in enumerate(names)
    )
    src = f"__global__ void k(const float *x, float *o, const double *y, double *d) {{{body}}}"
    art = xpuc.compile(src, "amdgpu:gfx942", emit="bin", opt_level=opt_level)
    asm = str(art.stages["asm"])
    assert "__ocml" not in asm and "__oclc" not in asm  # inlined, control constants folded
    assert "s_swappc_b64" not in asm  # no calls left
    get_target("amdgpu:gfx942").validate(art)


def test_native_math_needs_no_library_and_the_rest_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("XPUC_OCML", str(tmp_path / "missing.bc"))
    assert find_ocml() is None
    ok = "__global__ void k(float *x) { x[0] = sqrtf(x[1]) + expf(x[2]) + floorf(x[3]); }"
    ll = str(xpuc.compile(ok, "amdgpu:gfx90a", emit="llvm").stages["llir"])
    assert "__ocml" not in ll and "@llvm.sqrt.f32" in ll
    bad = "__global__ void k(double *x) { x[0] = sin(x[1]); }"
    with pytest.raises(TargetError, match=r"'sin' \(math.sin on f64\).*ocml.*pip install triton"):
        xpuc.compile(bad, "amdgpu:gfx90a", emit="llvm")


def test_shared_memory_over_the_lds_limit_is_an_error():
    src = "__global__ void k(float *o) {\n  __shared__ float s[17000];\n  o[0] = s[threadIdx.x];\n}"
    with pytest.raises(
        CompileError, match=r"needs 68000 bytes of shared memory; amdgpu:gfx942 has 65536"
    ):
        xpuc.compile(src, "amdgpu:gfx942", emit="llvm")


def test_printf_is_a_clear_error_at_the_kernel():
    src = '__global__ void k(int *a) {\n  printf("%d\\n", a[0]);\n}'
    with pytest.raises(CompileError, match=r"printf is not supported on amdgpu") as e:
        xpuc.compile(src, "amdgpu:gfx90a", emit="llvm")
    assert ":1:" in str(e.value)


def test_tags_and_variants():
    assert get_target("amd/mi300x").desc.variant == "gfx942"
    assert get_target("amd/mi250x").desc.variant == "gfx90a"
    assert get_target("hygon/z100").desc.variant == "gfx906"
    assert get_target("amd/rx-7900-xtx").desc.warp_size == 32
    t = get_target("amdgpu")
    assert t.name == "amdgpu:gfx942" and t.desc.warp_size == 64 and not t.can_run()
    assert t.desc.max_shared_memory == 65536 and t.desc.binary_format == "hsaco"
    assert t.default_emit == ("bin" if find_lld() else "obj")
    assert [isa_version(v) for v in ("gfx906", "gfx90a", "gfx942", "gfx1030", "gfx1100")] == [
        9006,
        9010,
        9402,
        10300,
        11000,
    ]


@needs_lld
def test_validate_links_an_object_and_checks_the_chip():
    art = xpuc.compile_file(ROOT / "examples/saxpy.cu", "amdgpu:gfx90a", emit="obj")
    assert "bin" not in art.stages
    assert get_target("amdgpu:gfx90a").validate(art) == "ld.lld + readelf"
    check_hsaco(art.stages["bin"], "gfx90a")
    with pytest.raises(TargetError, match=r"not gfx942"):
        check_hsaco(art.stages["bin"], "gfx942")


@needs_lld
@pytest.mark.parametrize("variant", ["gfx90a", "gfx942"])
def test_reference_kernels_compile_and_validate(variant):
    from xpuc.conformance import run

    results = run(f"amdgpu:{variant}", write=lambda s: None)
    failed = [f"{r.case.name}: {r.problem}" for r in results if not r.passed]
    assert not failed and all(r.steps["validate"].startswith("ok") for r in results), failed


@needs_lld
@pytest.mark.parametrize(
    "cu", sorted((ROOT / "tests/e2e/programs").glob("*.cu")), ids=lambda p: p.stem
)
def test_programs_are_accepted_by_ld_lld(cu):
    art = xpuc.compile_file(cu, "amdgpu:gfx942", emit="bin")
    assert art.kernels and get_target("amdgpu:gfx942").validate(art)


def test_a_fatal_back_end_error_is_an_error_not_the_end_of_the_process(monkeypatch):
    """With the stack check out of the way, LLVM's AMDGPU back end reports the frame as
    fatal; code generation runs in a forked child, so the caller gets a TargetError."""
    from dataclasses import replace

    import xpuc.targets.amdgpu as amdgpu
    from xpuc.targets.registry import families

    desc = amdgpu.VARIANTS["gfx942"]
    unchecked = {**amdgpu.VARIANTS, "gfx942": lambda: replace(desc(), max_private_memory=0)}
    monkeypatch.setattr(amdgpu.AMDGPUTarget, "variants", unchecked)
    families.cache_clear()
    try:
        src = """__global__ void k(const int *idx, float *o) {
            float a[300000];
            for (int i = 0; i < 300000; ++i) a[i] = i * o[0];
            o[threadIdx.x] = a[idx[threadIdx.x]]; }"""
        with pytest.raises(TargetError, match=r"stack frame size \(\d+\) exceeds limit"):
            xpuc.compile(src, "amdgpu:gfx942", emit="obj")
    finally:
        monkeypatch.undo()
        families.cache_clear()
