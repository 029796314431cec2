"""CUDA built-ins on nvptx: the PTX holds the native instructions and ptxas accepts it."""

import pytest

import xpuc

KERNELS = {
    "shared memory and barriers": (
        """
        __global__ void k(const float *in, float *out) {
            __shared__ float tile[8][33];
            extern __shared__ float dyn[];
            tile[threadIdx.y][threadIdx.x] = in[threadIdx.y * 32 + threadIdx.x];
            dyn[threadIdx.x] = 1.0f;
            __syncthreads();
            out[threadIdx.x * 8 + threadIdx.y] = tile[threadIdx.y][threadIdx.x] + dyn[0];
        }""",
        [
            ".shared .align 16 .b8 __shared_k_tile[1056]",
            ".extern .shared .align 16 .b8",
            "bar.sync",
            "st.shared.b32",
            "ld.shared.b32",
        ],
    ),
    "warp intrinsics": (
        """
        __global__ void k(int *a, unsigned *b, double *d) {
            int v = a[threadIdx.x];
            v += __shfl_down_sync(0xffffffff, v, 1);
            v += __shfl_xor_sync(0xffffffff, v, 2, 16);
            v += __shfl_up_sync(0xffffffff, v, 4);
            v += __shfl_sync(0xffffffff, v, 0);
            d[threadIdx.x] = __shfl_down_sync(0xffffffff, d[threadIdx.x], 1);
            b[threadIdx.x] = __ballot_sync(0xffffffff, v > 0) + __any_sync(__activemask(), v)
                             + __all_sync(0xffffffff, v);
            a[threadIdx.x] = v;
        }""",
        [
            "shfl.sync.down.b32",
            "shfl.sync.bfly.b32",
            "shfl.sync.up.b32",
            "shfl.sync.idx.b32",
            "vote.sync.ballot.b32",
            "vote.sync.any.pred",
            "vote.sync.all.pred",
            "activemask.b32",
        ],
    ),
    "warp sync and fences": (
        """
        __global__ void k(int *a) {
            a[threadIdx.x] = 1;
            __syncwarp();
            __threadfence_block(); __threadfence(); __threadfence_system();
            a[threadIdx.x + 32] = a[threadIdx.x ^ 1];
        }""",
        ["bar.warp.sync", "membar.cta", "membar.gl", "membar.sys"],
    ),
    "atomics": (
        """
        __global__ void k(int *i, float *f, unsigned long long *c, unsigned *u) {
            __shared__ int s[4];
            atomicAdd(&s[0], 1);
            atomicAdd(i, 2); atomicMax(i + 1, 3); atomicExch(i + 2, 4);
            atomicAdd(f, 1.5f);
            atomicCAS(c, 0ull, 1ull);
            atomicInc(u, 7u);
            __syncthreads();
            i[3] = s[0];
        }""",
        [
            "atom.shared.add.u32",
            "atom.global.add.u32",
            "atom.global.max.s32",
            "atom.global.exch.b32",
            "atom.global.add.f32",
            "global.cas.b64",
        ],
    ),
}


@pytest.mark.ptxas
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_ptx_has_native_instructions_and_ptxas_accepts(name):
    src, wanted = KERNELS[name]
    art = xpuc.compile(src, "nvptx:sm_90", emit="bin")
    ptx = str(art.stages["asm"])
    for w in wanted:
        assert w in ptx, f"{w!r} not in PTX:\n{ptx}"
    assert art.stages["bin"][:4] == b"\x7fELF"


@pytest.mark.ptxas
@pytest.mark.parametrize("opt_level", [0, 3])
def test_math_library_links_libdevice(opt_level):
    from xpuc.targets.tools import find_libdevice

    if find_libdevice() is None:
        pytest.skip("needs libdevice: not found in $CUDA_HOME/nvvm, beside ptxas or in triton")
    names = ["sinf", "cosf", "expf", "logf", "powf", "tanhf", "erff", "sqrtf", "__expf", "fmodf"]
    body = "".join(
        f"o[{k}] = {n}(x[{k}]{', x[0]' if n in ('powf', 'fmodf') else ''});"
        f"d[{k}] = {n.strip('_')[:-1]}(y[{k}]{', y[0]' if n in ('powf', 'fmodf') else ''});"
        for k, n in enumerate(names)
    )
    src = f"__global__ void k(const float *x, float *o, const double *y, double *d) {{{body}}}"
    art = xpuc.compile(src, "nvptx:sm_90", emit="bin", opt_level=opt_level)
    ptx = str(art.stages["asm"])
    assert "__nv_" not in ptx and "__nvvm_reflect" not in ptx  # inlined, reflected away
    assert "sqrt.rn.f32" in ptx and "ex2.approx" in ptx


def _sources(name: str) -> list[str]:
    """The kernels of a cpu test file, to compile them for nvptx too."""
    import importlib.util
    import re
    from pathlib import Path

    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    found = [m.group(1) for m in re.finditer(r'src = r?"""(.*?)"""', path.read_text(), re.S)]
    return [getattr(mod, "TEMPLATED", ""), *found]


@pytest.mark.ptxas
@pytest.mark.parametrize("name", ["test_cuda_cxx_cpu.py", "test_cuda_parallel_cpu.py"])
def test_cpu_tested_kernels_are_accepted_by_ptxas(name):
    for src in filter(None, _sources(name)):
        art = xpuc.compile(src, "nvptx:sm_90", emit="bin")
        assert art.stages["bin"][:4] == b"\x7fELF"


@pytest.mark.ptxas
def test_printf_becomes_vprintf():
    src = '__global__ void k(int *a) { printf("%d %f\\n", a[0], 1.0f); }'
    art = xpuc.compile(src, "nvptx:sm_90", emit="bin")
    assert "call.uni (retval0), vprintf" in str(art.stages["asm"])
