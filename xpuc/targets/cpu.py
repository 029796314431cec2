"""The ``cpu`` family: SIMT kernels as loops, compiled by LLVM for the host or a CPU triple.

``convert-simt-to-loops`` turns each kernel into a function that runs one thread block.
A launch wrapper (``__xpuc_launch_<kernel>``) with a fixed C signature runs blocks
until none is left; the runtime calls it from a thread pool, once per core.  Its
arguments:

    void __xpuc_launch_K(void **params, int64 *next_block, int64 end_block, int64 chunk,
                         int64 grid_x, grid_y, grid_z, block_x, block_y, block_z,
                         void *dynamic_shared)

``params`` holds one pointer per kernel argument, pointing at the argument's value,
as CUDA's ``cuLaunchKernel`` takes them.  Each call takes ``chunk`` blocks at a time
from the shared counter ``*next_block`` (an atomic add), so cores that finish early
take more (blocks of triangular loops differ in work).  ``dynamic_shared`` is the
calling worker's buffer for ``extern __shared__`` memory (its blocks run one at a
time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import llvmlite.binding as llvm
import llvmlite.ir as ir

from xpuc.compiler.diagnostics import TargetError
from xpuc.targets.base import Target, TargetDesc
from xpuc.targets.llvm.translate import I64, LLVMHooks, Translator

LAUNCH_PREFIX = "__xpuc_launch_"
STACK_PREFIX = "__xpuc_stack_"
"""``[2 x i64]``: the stack a kernel's block needs, in bytes: fixed, and per thread."""


class CPUHooks(LLVMHooks):
    def int_binary(self, t: Translator, name: str, lhs: ir.Value, rhs: ir.Value) -> ir.Value:
        # A CPU traps on x / 0 and INT_MIN / -1 (SIGFPE ends the process); a GPU gives an
        # unspecified value.  Divide by 1 instead: INT_MIN / -1 gives INT_MIN, as PTX.
        if name in ("sdiv", "srem", "udiv", "urem"):
            b, ty = t.b, lhs.type
            bad = b.icmp_unsigned("==", rhs, ir.Constant(ty, 0))
            if name[0] == "s":
                low = ir.Constant(ty, -(1 << (ty.width - 1)))
                ovf = b.and_(
                    b.icmp_signed("==", lhs, low), b.icmp_signed("==", rhs, ir.Constant(ty, -1))
                )
                bad = b.or_(bad, ovf)
            rhs = b.select(bad, ir.Constant(ty, 1), rhs)
        return super().int_binary(t, name, lhs, rhs)

    def function(self, t: Translator, fn: ir.Function, op) -> None:
        if "xpu.kernel" in op.attributes:
            fn.attributes.add("nounwind")
            # Optimized on its own, called once per block by the launch wrapper: LLVM's
            # loop vectorizer miscompiled some kernels inlined into the wrapper (a load
            # b[tid % 8] after a[tid] read as b[tid]; tests/e2e/test_cpu_vectorize.py).
            fn.attributes.add("noinline")
            stack = op.attributes.get("xpu.stack_bytes")
            if stack is not None:  # [per block, per thread], for the runtime
                arr = ir.ArrayType(I64, 2)
                g = ir.GlobalVariable(t.module, arr, STACK_PREFIX + fn.name)
                g.initializer = ir.Constant(arr, [a.value.data for a in stack.data])
                g.global_constant = True
        else:
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")


@dataclass
class CPUTarget(Target):
    family: ClassVar[str] = "cpu"
    emits: ClassVar[tuple[str, ...]] = ("mlir", "llvm", "asm", "obj", "bin")

    @property
    def default_emit(self) -> str:  # type: ignore[override]
        # The runtime JIT-compiles LLVM IR; another CPU gets a shared library (an
        # object when no ld.lld links one).
        from xpuc.targets.tools import find_lld

        return "llvm" if self.can_run() else "bin" if find_lld() else "obj"

    def binary(self, asm: str, obj: bytes | None) -> bytes:
        """A shared library exporting the launch wrappers (``ld.lld -shared``)."""
        from xpuc.targets.tools import link_shared

        if obj is None:
            raise TargetError(f"target {self.name} produced no object to link")
        return link_shared(obj, self.name)

    def __init__(self, desc: TargetDesc):
        super().__init__(desc, CPUHooks())

    def lowering_passes(self) -> list[str]:
        return [
            f"convert-simt-to-loops{{warp-size={self.desc.warp_size}}}",
            *super().lowering_passes(),
        ]

    def finalize_llvm(self, module: ir.Module, kernels: list[str]) -> None:
        for name in kernels:
            _launch_wrapper(module, module.get_global(name))

    def can_run(self) -> bool:
        # Only the host variant is JIT-run: a cross variant's code is for another CPU
        # (even an x86-64 level may use instructions this one lacks).
        return self.desc.triple == llvm.get_process_triple() and self.desc.variant == ""

    def load(self, artifact):
        from xpuc.runtime.cpu import CPUModule

        return CPUModule(artifact)

    def validate(self, artifact) -> str:
        from xpuc.targets.tools import check_elf

        obj = artifact.stages.get("bin") or artifact.stages.get("obj")
        if not isinstance(obj, bytes):
            raise TargetError(f"{self.name}: the artifact holds no object to check (emit obj)")
        symbols = [LAUNCH_PREFIX + k.link_name for k in artifact.kernels]
        return check_elf(obj, self.desc.triple.split("-")[0], symbols)

    def capabilities(self) -> str:
        from xpuc.targets.tools import elf_tool

        if self.can_run():
            return "compile + run"
        return "compile + validate (readelf)" if elf_tool() else "compile"


def _launch_wrapper(module: ir.Module, kernel: ir.Function) -> None:
    ptr = ir.PointerType()
    fnty = ir.FunctionType(ir.VoidType(), [ptr, ptr, *[I64] * 8, ptr])
    fn = ir.Function(module, fnty, name=LAUNCH_PREFIX + kernel.name)
    fn.attributes.add("nounwind")
    params, counter, end, chunk, gx, gy, gz, bx, by, bz, smem = fn.args
    entry = fn.append_basic_block("entry")
    grab = fn.append_basic_block("grab")
    run = fn.append_basic_block("run")
    body = fn.append_basic_block("body")
    done = fn.append_basic_block("done")
    b = ir.IRBuilder(entry)
    nuser = len(kernel.args) - 10
    args = []
    for i in range(nuser):
        slot = b.load(b.gep(params, [ir.Constant(I64, i)], source_etype=ptr), typ=ptr)
        args.append(b.load(slot, typ=kernel.args[i].type))
    b.branch(grab)
    b.position_at_end(grab)  # the next `chunk` blocks nobody has taken
    first = b.atomic_rmw("add", counter, chunk, "monotonic")
    b.cbranch(b.icmp_signed("<", first, end), run, done)
    b.position_at_end(run)
    upto = b.add(first, chunk)
    last = b.select(b.icmp_signed("<", upto, end), upto, end)
    b.branch(body)
    b.position_at_end(body)
    blk = b.phi(I64)
    blk.add_incoming(first, run)
    bxid = b.urem(blk, gx)
    rest = b.udiv(blk, gx)
    byid = b.urem(rest, gy)
    bzid = b.udiv(rest, gy)
    b.call(kernel, [*args, bxid, byid, bzid, gx, gy, gz, bx, by, bz, smem])
    nxt = b.add(blk, ir.Constant(I64, 1))
    blk.add_incoming(nxt, body)
    b.cbranch(b.icmp_signed("<", nxt, last), body, grab)
    b.position_at_end(done)
    b.ret_void()


_CPU_INTRINSICS = (
    ("thread ids", "thread-loop induction variables (convert-simt-to-loops)"),
    ("barrier", "loop fission"), ("shuffle, vote", "per-lane arrays across a warp"),
    ("atomics", "LLVM atomicrmw/cmpxchg"),
)  # fmt: skip


def host_desc() -> TargetDesc:
    return TargetDesc(
        family="cpu", variant="", triple=llvm.get_process_triple(),
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
        warp_size=32, max_threads_per_block=1024, max_shared_memory=48 * 1024,
        binary_format="elf", description="this machine's CPU (JIT-compiled, all cores)",
        intrinsics=_CPU_INTRINSICS,
    )  # fmt: skip


def cross_desc(variant: str, triple: str, cpu: str, features: str, note: str) -> TargetDesc:
    """Another CPU, compiled for and not run here (``--emit asm``/``obj``)."""
    return TargetDesc(
        family="cpu", variant=variant, triple=triple, cpu=cpu, features=features,
        warp_size=32, max_threads_per_block=1024, max_shared_memory=48 * 1024,
        binary_format="elf", description=note, intrinsics=_CPU_INTRINSICS,
    )  # fmt: skip


_X86_64 = "x86_64-unknown-linux-gnu"
_AARCH64 = "aarch64-unknown-linux-gnu"
_RISCV64 = "riscv64-unknown-linux-gnu"
_LOONGARCH64 = "loongarch64-unknown-linux-gnu"
_RV64GC = "+m,+a,+f,+d,+c"

# variant -> (triple, LLVM CPU name, LLVM features, description)
_CROSS = {
    "x86_64": (_X86_64, "x86-64", "", "x86-64 baseline (SSE2)"),
    "x86_64-v2": (_X86_64, "x86-64-v2", "", "x86-64-v2 (SSE4.2, POPCNT)"),
    "x86_64-v3": (_X86_64, "x86-64-v3", "", "x86-64-v3 (AVX2, FMA, BMI2)"),
    "x86_64-v4": (_X86_64, "x86-64-v4", "", "x86-64-v4 (AVX-512 F/BW/CD/DQ/VL)"),
    "aarch64": (_AARCH64, "generic", "", "AArch64, generic Armv8-A (NEON)"),
    "kunpeng920": (_AARCH64, "tsv110", "", "Huawei Kunpeng 920 (TaiShan V110, Armv8.2-A)"),
    # LLVM has no model of Phytium's FTC66x cores: "generic" is its plain Armv8-A CPU,
    # which every Phytium chip implements (tuning is generic, not Phytium's).
    "phytium": (_AARCH64, "generic", "", "Phytium FT-2000/S2500 (Armv8-A, generic tuning)"),
    "riscv64": (_RISCV64, "generic-rv64", _RV64GC, "RISC-V rv64gc"),
    "riscv64v": (_RISCV64, "generic-rv64", _RV64GC + ",+v", "RISC-V rv64gcv (vector 1.0)"),
    "loongarch64": (_LOONGARCH64, "la464", "+f,+d,+lsx,+lasx",
                    "LoongArch64 LA464 (Loongson 3A5000 and later, LSX/LASX)"),
}  # fmt: skip

VARIANTS = {
    "": host_desc,
    **{v: (lambda v=v, spec=spec: cross_desc(v, *spec)) for v, spec in _CROSS.items()},
}

# Named chips -> variant.  Sources: each vendor's published ISA level.
TAGS = {
    "intel/sapphire-rapids": ("x86_64-v4", "Intel Xeon 4th gen (AVX-512)"),
    "amd/epyc-genoa": ("x86_64-v4", "AMD EPYC 9004 (Zen 4, AVX-512)"),
    "hygon/c86-7285": ("x86_64-v3", "Hygon C86 7285 (Dhyana, AVX2, no AVX-512)"),
    "huawei/kunpeng-920": ("kunpeng920", "Huawei Kunpeng 920 (TaiShan V110)"),
    "phytium/ft-2000plus": ("phytium", "Phytium FT-2000+/64 (Armv8-A)"),
    "phytium/s2500": ("phytium", "Phytium S2500 (Armv8-A)"),
    "loongson/3a5000": ("loongarch64", "Loongson 3A5000 (LA464)"),
    "loongson/3a6000": ("loongarch64", "Loongson 3A6000 (LA664, runs LA464 code)"),
    "loongson/3c5000": ("loongarch64", "Loongson 3C5000 server (LA464)"),
    # SG2042's C920 cores implement the RVV 0.7.1 draft, which LLVM's +v (1.0) is not.
    "sophgo/sg2042": ("riscv64", "Sophgo SG2042 (XuanTie C920, rv64gc; RVV 0.7 unused)"),
    "spacemit/k1": ("riscv64v", "SpacemiT K1 (X60 cores, RVV 1.0)"),
}
CPUTarget.variants = VARIANTS
CPUTarget.tags = TAGS
