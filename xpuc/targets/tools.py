"""Finding optional external tools (ptxas, ld.lld, ...): detected, never assumed."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path


def find_ptxas() -> str | None:
    """ptxas from $PTXAS, PATH, $CUDA_HOME/bin, or the copy inside the triton wheel."""
    env = os.environ.get("PTXAS")
    if env and Path(env).is_file():
        return env
    found = shutil.which("ptxas")
    if found:
        return found
    for var in ("CUDA_HOME", "CUDA_PATH"):
        home = os.environ.get(var)
        if home and (Path(home) / "bin" / "ptxas").is_file():
            return str(Path(home) / "bin" / "ptxas")
    try:
        import importlib.util

        spec = importlib.util.find_spec("triton")
        if spec and spec.origin:
            cand = Path(spec.origin).parent / "backends" / "nvidia" / "bin" / "ptxas"
            if cand.is_file():
                return str(cand)
    except (ImportError, ValueError):
        pass
    return None


def find_libdevice() -> str | None:
    """NVIDIA's libdevice bitcode (the CUDA math library) from $CUDA_HOME, the usual
    install folders, or the triton wheel."""
    cands = [os.environ.get("XPUC_LIBDEVICE")]
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var):
            cands.append(str(Path(os.environ[var]) / "nvvm" / "libdevice" / "libdevice.10.bc"))
    ptxas = find_ptxas()
    if ptxas:  # .../bin/ptxas -> .../nvvm/libdevice
        root = Path(ptxas).resolve().parent.parent
        cands.append(str(root / "nvvm" / "libdevice" / "libdevice.10.bc"))
    cands.append("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc")
    try:
        import importlib.util

        spec = importlib.util.find_spec("triton")
        if spec and spec.origin:
            lib = Path(spec.origin).parent / "backends" / "nvidia" / "lib" / "libdevice.10.bc"
            cands.append(str(lib))
    except (ImportError, ValueError):
        pass
    return next((c for c in cands if c and Path(c).is_file()), None)


@cache
def ptxas_archs(ptxas: str) -> frozenset[str]:
    """The ``sm_XX`` names this ptxas accepts (read from its --help)."""
    try:
        text = subprocess.run([ptxas, "--help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    start = text.find("--gpu-name")
    section = text[start : text.find("\n--", start + 10)] if start >= 0 else ""
    return frozenset(re.findall(r"'(sm_\d+)'", section))


def find_tool(*names: str) -> str | None:
    """The first of ``names`` on PATH (``ld.lld``, ``ld.lld-19``, ...)."""
    return next((p for p in map(shutil.which, names) if p), None)


LLD_NAMES = ("ld.lld", "ld.lld-22", "ld.lld-21", "ld.lld-20", "ld.lld-19")
LLD_HINT = ("ld.lld was not found (looked at $XPUC_LLD, PATH for ld.lld and ld.lld-19..22, "
            "$ROCM_PATH/llvm/bin, /opt/rocm/llvm/bin and the iree-base-compiler wheel's "
            "iree-lld); Debian: apt-get install lld-19, or use --emit obj")  # fmt: skip


def wheel_file(package: str, *parts: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if not (spec and spec.submodule_search_locations):
        return None
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    return path if path.is_file() else None


def rocm_roots() -> list[Path]:
    roots = [os.environ.get(v) for v in ("ROCM_PATH", "ROCM_HOME", "HIP_PATH")]
    return [Path(r) for r in roots if r] + [Path("/opt/rocm")]


def find_lld() -> list[str] | None:
    """The command that runs an ELF ``ld.lld`` (iree's multi-flavor lld needs a flag)."""
    env = os.environ.get("XPUC_LLD")
    if env:
        return [env] if Path(env).is_file() else None
    found = find_tool(*LLD_NAMES)
    if found:
        return [found]
    for root in rocm_roots():
        if (root / "llvm" / "bin" / "ld.lld").is_file():
            return [str(root / "llvm" / "bin" / "ld.lld")]
    iree = wheel_file("iree.compiler", "_mlir_libs", "iree-lld")
    return [str(iree), "-flavor", "gnu"] if iree else None


def link_shared(obj: bytes, what: str) -> bytes:
    """``ld.lld -shared``: a relocatable object becomes a shared library (any ELF
    machine lld knows).  Undefined symbols (libm) stay for the loader to resolve."""
    import tempfile

    from xpuc.compiler.diagnostics import TargetError, ToolNotFoundError

    lld = find_lld()
    if lld is None:
        raise ToolNotFoundError(LLD_HINT)
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "k.o", Path(d) / "k.so"
        src.write_bytes(obj)
        proc = subprocess.run([*lld, "-shared", str(src), "-o", str(out)],
                              capture_output=True, text=True)  # fmt: skip
        if proc.returncode != 0:
            raise TargetError(f"ld.lld could not link the {what} object:\n{proc.stderr.strip()}")
        return out.read_bytes()


def elf_tool() -> str | None:
    return find_tool("readelf", "llvm-readelf", "llvm-readelf-19")


# readelf's "Machine:" text for the first part of each triple
_ELF_MACHINE = {"x86_64": "X86-64", "aarch64": "AArch64", "riscv64": "RISC-V",
                "loongarch64": "LoongArch", "amdgcn": "AMD GPU"}  # fmt: skip


def check_elf(data: bytes, arch: str, symbols: list[str]) -> str:
    """Have readelf read an ELF file: its machine must be ``arch``'s and it must define
    ``symbols``.  Returns the tool's name; raises TargetError/ToolNotFoundError."""
    import tempfile

    from xpuc.compiler.diagnostics import TargetError, ToolNotFoundError

    tool = elf_tool()
    if tool is None:
        raise ToolNotFoundError("readelf was not found (Debian: binutils or llvm)")
    with tempfile.NamedTemporaryFile(suffix=".o") as f:
        f.write(data)
        f.flush()
        proc = subprocess.run([tool, "-h", "-s", "-W", f.name], capture_output=True, text=True)
    if proc.returncode != 0:
        raise TargetError(f"{Path(tool).name} rejected the object: {proc.stderr.strip()}")
    m = re.search(r"Machine:\s+(.*)", proc.stdout)
    machine = m.group(1).strip() if m else "?"
    want = _ELF_MACHINE.get(arch, arch)
    if want.lower() not in machine.lower():
        raise TargetError(f"{Path(tool).name}: the object is for '{machine}', not {want}")
    defined = {line.split()[-1] for line in proc.stdout.splitlines()
               if re.match(r"\s*\d+:", line) and " UND " not in line}  # fmt: skip
    missing = [s for s in symbols if s not in defined]
    if missing:
        raise TargetError(f"{Path(tool).name}: the object lacks {', '.join(missing)}")
    return Path(tool).name
