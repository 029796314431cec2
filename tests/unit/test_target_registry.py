"""Target descriptions, chip tags, compile-time limits and the plug-in contract."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, distribution

import pytest

import xpuc
import xpuc.conformance
from xpuc.compiler.diagnostics import CompileError, TargetError
from xpuc.targets import registry
from xpuc.targets.base import TargetDesc
from xpuc.targets.cpu import CPUTarget
from xpuc.targets.limits import check_limits
from xpuc.targets.nvptx import NVPTXTarget, cubin_runs_on
from xpuc.targets.registry import all_tags, families, get_target


@pytest.fixture
def plugins(monkeypatch):
    """Replace the installed plug-ins with the given (origin, class) pairs."""

    def use(*pairs):
        families.cache_clear()
        monkeypatch.setattr(registry, "_plugins", lambda: [(o, lambda c=c: c) for o, c in pairs])

    yield use
    families.cache_clear()


def test_tags_resolve_to_targets():
    assert get_target("nvidia/h100").name == "nvptx:sm_90"
    assert get_target("huawei/kunpeng-920").name == "cpu:kunpeng920"
    assert get_target("loongson/3a6000").desc.triple.startswith("loongarch64")
    tags = all_tags()
    for tag, (target, note) in tags.items():
        assert "/" in tag and note, tag
        assert get_target(target).name == target


def test_unknown_tag_is_a_clear_error():
    with pytest.raises(TargetError, match=r"unknown target 'nvidia/x9000' \(a chip tag\?"):
        get_target("nvidia/x9000")


def test_descriptions_hold_limits_and_spaces():
    d = get_target("nvptx:sm_80").desc
    assert d.max_shared_memory == 163 * 1024 and d.max_registers == 255
    assert d.address_space("shared") == 3 and d.address_space("global") == 1
    assert "libdevice" in d.math_library and dict(d.intrinsics)["barrier"]
    assert cubin_runs_on("sm_80", "sm_86") and not cubin_runs_on("sm_90", "sm_80")
    assert not cubin_runs_on("sm_80", "sm_90")  # another major version: PTX JIT needed


BIG_SHARED = """
__global__ void k(float *x) {
    __shared__ float s[20000];              // 80000 bytes
    s[threadIdx.x] = x[threadIdx.x];
    __syncthreads();
    x[threadIdx.x] = s[threadIdx.x ^ 1];
}
"""


def test_shared_memory_over_the_chip_limit_is_rejected_at_the_kernel():
    xpuc.compile(BIG_SHARED.replace("20000", "12000"), "nvptx:sm_90", emit="asm")  # fits
    with pytest.raises(CompileError) as e:  # CUDA: static __shared__ up to 48 KiB
        xpuc.compile(BIG_SHARED, "nvptx:sm_90", emit="asm", filename="big.cu")
    assert str(e.value).startswith("big.cu:2:1: error: kernel 'k' needs 80000 bytes of shared")
    assert "nvptx:sm_90 has 49152 per block for static __shared__" in str(e.value)
    with pytest.raises(CompileError, match="opencl has 49152 per block"):
        xpuc.compile(BIG_SHARED, "opencl")


def test_limits_count_what_device_functions_use():
    src = """
    __device__ float f(int i) { __shared__ float s[20000]; s[i] = 1; __syncthreads(); return s[i]; }
    __device__ double g(double x) { double big[40000]; big[0] = x; return big[0] * 2.0; }
    __global__ void k(float *o) { o[threadIdx.x] = f(threadIdx.x) + (float)g(o[0]); }
    """
    with pytest.raises(CompileError, match="kernel 'k' needs 80000 bytes of shared memory"):
        xpuc.compile(src, "amdgpu:gfx942", emit="asm")
    small = src.replace("20000", "2000")
    assert xpuc.compile(small, "cpu").kernel("k").shared_memory_bytes == 8000
    with pytest.raises(CompileError, match=r"needs 3200\d\d bytes of local arrays per thread; "
                       "amdgpu:gfx942 has 131056"):  # fmt: skip
        xpuc.compile(small, "amdgpu:gfx942", emit="asm")
    module = xpuc.compiler.driver.frontend(
        small, "d.cu", "cuda", xpuc.compiler.driver.CompileOptions()
    )
    no_f64 = replace(get_target("cpu").desc, element_types=("i1", "i32", "i64", "f32"))
    with pytest.raises(CompileError, match="kernel 'k' uses f64"):
        check_limits(no_f64, module)


def test_cli_reports_a_limit_with_exit_code_1(tmp_path):
    src = tmp_path / "big.cu"
    src.write_text(BIG_SHARED)
    proc = subprocess.run([sys.executable, "-m", "xpuc.compiler.cli", "compile", str(src),
                           "--target", "nvidia/t4", "--emit", "asm"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 1
    assert f"{src}:2:1: error: kernel 'k' needs 80000 bytes" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_type_the_chip_lacks_is_rejected():
    src = "__global__ void k(double *x) { x[threadIdx.x] *= 2.0; }"
    module = xpuc.compiler.driver.frontend(
        src, "d.cu", "cuda", xpuc.compiler.driver.CompileOptions()
    )
    no_f64 = replace(get_target("cpu").desc, element_types=("i1", "i8", "i32", "i64", "f32"))
    with pytest.raises(CompileError, match=r"d.cu:1:1: error: kernel 'k' uses f64, which cpu"):
        check_limits(no_f64, module)
    check_limits(get_target("cpu").desc, module)


# ---- plug-ins


def _desc(variant: str, family: str = "cpu") -> TargetDesc:
    return replace(get_target("cpu").desc, family=family, variant=variant)


class ExtraCPU(CPUTarget):
    variants = {"extra": lambda: _desc("extra")}
    tags = {"vendor/extra": ("extra", "an extra CPU")}


class OwnFamily(CPUTarget):
    family = "npu"
    variants = {"n1": lambda: _desc("n1", "npu")}
    tags = {}


def test_a_plugin_adds_a_variant_a_tag_and_a_family(plugins):
    plugins(("plug-in 'extra'", ExtraCPU), ("plug-in 'npu'", OwnFamily))
    t = get_target("vendor/extra")
    assert isinstance(t, ExtraCPU) and t.name == "cpu:extra"
    assert get_target("npu").name == "npu:n1"  # a family's only variant is its default
    assert "cpu:extra" in [f"cpu:{v}" for v in families()["cpu"].variants]
    art = xpuc.compile("__global__ void k(int *x) { x[threadIdx.x] += 1; }", "cpu:extra")
    assert art.target == "cpu:extra"


class Clash(CPUTarget):
    variants = {"aarch64": lambda: _desc("aarch64")}
    tags = {}


class TagClash(CPUTarget):
    variants = {"other": lambda: _desc("other")}
    tags = {"nvidia/h100": ("other", "not an H100")}


class Stranger(NVPTXTarget):  # claims the cpu family without subclassing CPUTarget
    family = "cpu"
    variants = {"odd": lambda: _desc("odd")}
    tags = {}


class TagLikeATarget(CPUTarget):
    variants = {"evil": lambda: _desc("evil")}
    tags = {"opencl": ("evil", "not opencl")}


class CommaFamily(CPUTarget):
    family = "a,b"


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (TagLikeATarget, r"chip tag 'opencl' from plug-in 'p' is not 'vendor/chip'"),
        (CommaFamily, r"family name 'a,b' from plug-in 'p' is not"),
    ],
)
def test_names_that_could_shadow_targets_are_errors(plugins, plugin, message):
    plugins(("plug-in 'p'", plugin))
    with pytest.raises(TargetError, match=message):
        get_target("opencl")


class Liar(CPUTarget):
    variants = {"liar": lambda: _desc("truth"), "boom": lambda: 1 / 0}


class HooksOnly(CPUTarget):  # overrides a hook, brings no chips: inherits none either
    def can_run(self) -> bool:
        return False


def test_broken_descriptions_name_their_plugin(plugins):
    plugins(("plug-in 'p'", Liar), ("plug-in 'h'", HooksOnly))
    with pytest.raises(
        TargetError, match="cpu:liar from plug-in 'p' describes itself as cpu:truth"
    ):
        get_target("cpu:liar")
    with pytest.raises(TargetError, match="cpu:boom from plug-in 'p' failed to build its desc"):
        get_target("cpu:boom")
    assert get_target("cpu:aarch64").name == "cpu:aarch64"  # HooksOnly added no clash


def _broken():
    raise ImportError("No module named 'vendor_sdk'")


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (Clash, r"target cpu:aarch64 from plug-in 'p' clashes with the one from xpuc"),
        (TagClash, r"chip tag 'nvidia/h100' from plug-in 'p' clashes with the one from xpuc"),
        (Stranger, r"target family 'cpu' from plug-in 'p' clashes .* subclass CPUTarget"),
        (object, r"plug-in 'p' is not a Target subclass"),
    ],
)
def test_plugin_clashes_are_errors(plugins, plugin, message):
    plugins(("plug-in 'p'", plugin))
    with pytest.raises(TargetError, match=message):
        get_target("cpu")


def test_a_broken_plugin_is_named_and_the_rest_still_work(plugins, monkeypatch):
    families.cache_clear()
    monkeypatch.setattr(registry, "_plugins", lambda: [("plug-in 'sdk' (vendor:T)", _broken)])
    assert get_target("cpu").name == "cpu"
    with pytest.raises(TargetError, match=r"plug-in 'sdk' \(vendor:T\) failed to load: Import"):
        get_target("npu:v2")
    from xpuc.compiler.cli import main

    assert main(["targets"]) == 0


def test_a_plugin_pass_that_reuses_a_name_is_an_error(plugins):
    class PassClash(CPUTarget):
        variants = {"pc": lambda: _desc("pc")}
        tags = {}
        passes = {"cse": lambda: object}

    from xpuc.passes.registry import get_all_passes

    plugins(("plug-in 'p'", PassClash))
    with pytest.raises(TargetError, match="pass 'cse' of target family cpu"):
        get_all_passes()


# ---- the example plug-in under tests/plugins (CI installs it)


def _acme_installed() -> bool:
    try:
        distribution("xpuc-acme")
    except PackageNotFoundError:
        return False
    return True


needs_acme = pytest.mark.skipif(
    not _acme_installed(),
    reason="the example plug-in is not installed: pip install -e tests/plugins/xpuc-acme",
)


@needs_acme
def test_the_example_plugin_is_found_through_its_entry_point():
    t = get_target("acme/x1")
    assert t.name == "cpu:acme-x1" and type(t).__module__ == "xpuc_acme"
    assert t.desc.max_threads_per_block == 512
    art = xpuc.compile("__global__ void k(int *x) { x[threadIdx.x] += 1; }", "acme/x1")
    assert 'acme.chip = "x1"' in art.stages["lowered"]  # its own pass ran


@needs_acme
def test_the_example_plugin_passes_conformance():
    proc = subprocess.run([sys.executable, "-m", "xpuc.compiler.cli", "conformance",
                           "--target", "acme/x1"], capture_output=True, text=True)  # fmt: skip
    last = proc.stdout.strip().splitlines()[-1]
    n = len(xpuc.conformance.CASES)
    assert last == f"conformance cpu:acme-x1: {n}/{n} passed", proc.stdout + proc.stderr
    assert proc.returncode == 0


@needs_acme
def test_the_example_plugin_enforces_its_limits():
    import numpy as np

    src = "__global__ void k(int *x) { __shared__ int s[10000]; s[0] = 1; x[0] = s[0]; }"
    with pytest.raises(CompileError, match="needs 40000 bytes of shared memory; cpu:acme-x1"):
        xpuc.compile(src, "acme/x1")
    if get_target("acme/x1").can_run():
        mod = xpuc.load(xpuc.compile("__global__ void k(int *x) { x[0] = 1; }", "acme/x1"))
        with pytest.raises(xpuc.XpucError, match="block of 1024 threads exceeds the limit of 512"):
            mod.k[1, 1024](np.zeros(1, np.int32))


# ---- __launch_bounds__

BOUNDED = """
#define BS 128
__global__ void __launch_bounds__(BS, 2) k(float *x) { x[threadIdx.x] += 1.0f; }
"""


def test_launch_bounds_over_the_chip_limit_is_a_compile_error():
    src = "__global__ void __launch_bounds__(2048) k(float *x) { x[0] = 1.0f; }"
    with pytest.raises(
        CompileError,
        match=r"lb.cu:1:1: error: kernel 'k' asks for blocks of "
        r"2048 threads \(__launch_bounds__\); nvptx:sm_90 has at most 1024",
    ):
        xpuc.compile(src, "nvptx:sm_90", emit="asm", filename="lb.cu")
    for bad in ("0", "4294967297"):
        with pytest.raises(
            CompileError, match=f"__launch_bounds__ must be 1 to 2\\^31-1, not {bad}"
        ):
            xpuc.compile(src.replace("2048", bad), "cpu")


def test_launch_bounds_cap_the_block_at_launch():
    import numpy as np

    art = xpuc.compile(BOUNDED, "cpu")
    assert art.kernel("k").max_threads_per_block == 128
    mod = xpuc.load(art)
    x = np.zeros(128, np.float32)
    mod.k[1, 128](x)
    assert (x == 1).all()
    with pytest.raises(xpuc.XpucError, match="block of 256 threads exceeds the limit of 128"):
        mod.k[1, 256](np.zeros(256, np.float32))
