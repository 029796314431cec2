"""Cross-compiling for other CPUs: every cpu variant writes a real ELF object for its CPU.

The objects are checked by parsing their bytes here and, where one is on PATH, by a real
ELF tool (llvm-readelf, readelf, llvm-objdump, objdump); nothing is run.
"""

import re
import shutil
import struct
import subprocess
import sys
from functools import cache
from pathlib import Path

import llvmlite.binding as llvm
import pytest

import xpuc
from xpuc.targets.registry import get_target, variants

ROOT = Path(__file__).resolve().parents[2]

EM_X86_64, EM_AARCH64, EM_RISCV, EM_LOONGARCH = 62, 183, 243, 258

# variant -> ELF e_machine of its objects
MACHINE = {
    "x86_64": EM_X86_64,
    "x86_64-v2": EM_X86_64,
    "x86_64-v3": EM_X86_64,
    "x86_64-v4": EM_X86_64,
    "aarch64": EM_AARCH64,
    "kunpeng920": EM_AARCH64,
    "phytium": EM_AARCH64,
    "riscv64": EM_RISCV,
    "riscv64v": EM_RISCV,
    "loongarch64": EM_LOONGARCH,
}
CROSS = sorted(MACHINE)

# What each tool calls the machine: readelf's "Machine:" line, objdump's "file format".
READELF_MACHINE = {EM_X86_64: "X86-64", EM_AARCH64: "AArch64", EM_RISCV: "RISC-V",
                   EM_LOONGARCH: "LoongArch"}  # fmt: skip
OBJDUMP_FORMAT = {EM_X86_64: "elf64-x86-64", EM_AARCH64: "elf64-littleaarch64",
                  EM_RISCV: "elf64-littleriscv", EM_LOONGARCH: "elf64-loongarch"}  # fmt: skip
TOOLS = ["llvm-readelf", "readelf", "llvm-objdump", "objdump"]

# Static and dynamic shared memory across barriers: the kernel is cut into thread loops.
BLOCK_SUM = """
__global__ void block_sum(const float *in, float *out, int n) {
    __shared__ float tile[256];
    extern __shared__ float scratch[];
    int t = threadIdx.x;
    int i = blockIdx.x * blockDim.x + t;
    tile[t] = i < n ? in[i] : 0.0f;
    scratch[t] = 2.0f * tile[t];
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {
        if (t < s) tile[t] += tile[t + s];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = tile[0] + scratch[0];
}
"""

# No bounds check: the thread loop vectorizes wherever the CPU has vectors.
SCALE = """
__global__ void scale(float *x, float a) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    x[i] = a * x[i];
}
"""

KERNELS = {
    "vector_add": (ROOT / "examples/vector_add.cu").read_text(),
    "block_sum": BLOCK_SUM,
    "scale": SCALE,
}


@cache
def compiled(variant: str, kernel: str, emit: str = "obj"):
    art = xpuc.compile(KERNELS[kernel], f"cpu:{variant}", filename=f"{kernel}.cu",
                       emit=emit)  # fmt: skip
    return art.stages[emit]


def elf_header(data: bytes) -> dict[str, int]:
    assert data[:4] == b"\x7fELF", data[:4]
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    return {"class": data[4], "data": data[5], "type": e_type, "machine": e_machine}


def elf_symbols(data: bytes) -> dict[str, tuple[int, int, int]]:
    """Symbol name -> (section index, binding, type), from the ELF64 little-endian .symtab."""
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
                for i in range(shnum)]  # fmt: skip
    symbols = {}
    for _, sh_type, _, _, offset, size, link, _, _, entsize in sections:
        if sh_type != 2:  # SHT_SYMTAB
            continue
        strtab = sections[link][4]
        for pos in range(offset, offset + size, entsize):
            name, info, _, shndx, _, _ = struct.unpack_from("<IBBHQQ", data, pos)
            end = data.index(b"\0", strtab + name)
            symbols[data[strtab + name : end].decode()] = (shndx, info >> 4, info & 0xF)
    return symbols


def test_variant_table_covers_every_cross_variant():
    from xpuc.targets.cpu import VARIANTS  # xpuc's own, not those plug-ins add

    assert sorted(v for v in VARIANTS if v) == CROSS
    assert set(CROSS) <= set(variants("cpu"))


def test_only_the_host_runs():
    assert get_target("cpu").capabilities() == "compile + run"
    for v in CROSS:
        assert "run" not in get_target(f"cpu:{v}").capabilities(), v


@pytest.mark.parametrize("variant", CROSS)
def test_llvm_knows_the_cpu_and_features(variant, capfd):
    # LLVM ignores an unknown CPU or feature with a warning on stderr: catch typos.
    target = get_target(f"cpu:{variant}")
    target.target_machine(3).emit_object(
        llvm.parse_assembly(f'target triple = "{target.desc.triple}"')
    )
    err = capfd.readouterr().err
    assert "not a recognized" not in err, err


@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("variant", CROSS)
def test_object_is_elf_for_the_cpu(variant, kernel):
    header = elf_header(compiled(variant, kernel))
    assert header == {"class": 2, "data": 1, "type": 1, "machine": MACHINE[variant]}


@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("variant", CROSS)
def test_object_defines_kernel_and_launch_wrapper(variant, kernel):
    symbols = elf_symbols(compiled(variant, kernel))
    for name in (kernel, f"__xpuc_launch_{kernel}"):
        shndx, bind, kind = symbols[name]
        assert shndx != 0 and bind == 1 and kind == 2, (name, symbols[name])  # defined FUNC


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        print(f"{name} not found on PATH: skipped")
        pytest.skip(f"{name} not found on PATH")
    return path


def _run_tool(name: str, variant: str, kernel: str, tmp_path: Path) -> str:
    tool = _tool(name)
    obj = tmp_path / f"{kernel}.o"
    obj.write_bytes(compiled(variant, kernel))
    args = ["-h", "-s", "-W"] if name.endswith("readelf") else ["-f", "-t"]
    proc = subprocess.run([tool, *args, str(obj)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("variant", CROSS)
@pytest.mark.parametrize("name", TOOLS)
def test_tool_names_the_machine(name, variant, tmp_path):
    out = _run_tool(name, variant, "vector_add", tmp_path)
    machine = MACHINE[variant]
    if name.endswith("readelf"):
        (line,) = [ln for ln in out.splitlines() if ln.strip().startswith("Machine:")]
        said, expected = line.partition(":")[2].strip(), READELF_MACHINE[machine]
        unknown = not any(c.isalpha() for c in said) or "unknown" in said.lower()
    else:
        (line,) = [ln for ln in out.splitlines() if "file format" in ln]
        said, expected = line.rpartition("file format")[2].strip(), OBJDUMP_FORMAT[machine]
        unknown = said in ("elf64-little", "elf64-unknown")
    if unknown:  # an older or single-target build: it reads the file, not the machine
        print(f"{name} does not know ELF machine {machine} (says '{said}'): skipped")
        pytest.skip(f"{name} here does not know ELF machine {machine} (says '{said}')")
    assert expected in said, line


@pytest.mark.parametrize("variant", CROSS)
@pytest.mark.parametrize("name", TOOLS)
def test_tool_sees_kernel_and_launch_wrapper(name, variant, tmp_path):
    out = _run_tool(name, variant, "block_sum", tmp_path)
    for symbol in ("block_sum", "__xpuc_launch_block_sum"):
        (line,) = [ln for ln in out.splitlines() if ln.split() and ln.split()[-1] == symbol]
        if name.endswith("readelf"):  # Num: Value Size Type Bind Vis Ndx Name
            fields = line.split()
            assert fields[3] == "FUNC" and fields[4] == "GLOBAL" and fields[6] != "UND", line
        else:  # Value flags section size name
            assert " g " in line and " F " in line and "*UND*" not in line, line


def test_riscv_vector_extension_vectorizes():
    assert "vsetvli" in compiled("riscv64v", "scale", "asm")
    assert "vsetvli" not in compiled("riscv64", "scale", "asm")


def test_x86_64_levels_choose_vector_width():
    v4 = compiled("x86_64-v4", "scale", "asm")
    assert "%zmm" in v4 or "%ymm" in v4
    base = compiled("x86_64", "scale", "asm")
    assert "%xmm" in base and "%ymm" not in base and "%zmm" not in base


def test_loading_a_foreign_cpu_artifact_is_a_clear_error():
    host = llvm.get_process_triple().split("-")[0]
    triples = {get_target(f"cpu:{v}").desc.triple: v for v in CROSS}
    triple = next(t for t in triples if t.split("-")[0] != host)
    art = xpuc.compile(SCALE, f"cpu:{triples[triple]}", emit="obj")
    with pytest.raises(xpuc.XpucError, match=f"cannot run cpu:{triples[triple]} code"):
        xpuc.load(art)
    # the module loader itself also refuses foreign code (a plug-in may call it directly)
    from xpuc.runtime.cpu import CPUModule

    with pytest.raises(xpuc.XpucError, match=f"cannot run {re.escape(triple)} code"):
        CPUModule(art)


def test_cli_writes_an_object_for_the_cpu(tmp_path):
    out = tmp_path / "k.o"
    proc = subprocess.run(
        [sys.executable, "-m", "xpuc.compiler.cli", "compile", str(ROOT / "examples/vector_add.cu"),
         "--target", "cpu:aarch64", "--emit", "obj", "-o", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert elf_header(out.read_bytes())["machine"] == EM_AARCH64
    assert "__xpuc_launch_vector_add" in elf_symbols(out.read_bytes())
