"""The ``nvptx`` family: NVIDIA GPUs.  PTX from LLVM's NVPTX back end, cubin from ptxas.

Variants differ only in fields (the SM version and the PTX ISA it needs).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import llvmlite.binding as llvm
import llvmlite.ir as ir
from xdsl.dialects import gpu, math
from xdsl.dialects.builtin import IntegerAttr
from xdsl.ir import Attribute, Operation

from xpuc.compiler.diagnostics import TargetError, ToolNotFoundError
from xpuc.dialects.gpu_ext import DynamicSharedMemoryOp, PrintfOp
from xpuc.dialects.xpu import FenceOp, LaneMaskOp, ShuffleOp, VoteOp, WarpSyncOp
from xpuc.targets.base import NVPTX_SPACES, Target, TargetDesc
from xpuc.targets.llvm.memory import as_opaque, string_constant
from xpuc.targets.llvm.translate import (
    I32,
    I64,
    MATH_INTRINSICS,
    MATH_LIBCALLS,
    LLVMHooks,
    Translator,
)
from xpuc.targets.nvptx_math import nvvm_math
from xpuc.targets.tools import find_libdevice, find_ptxas, ptxas_archs

_SREG = {
    gpu.ThreadIdOp: "tid",
    gpu.BlockIdOp: "ctaid",
    gpu.BlockDimOp: "ntid",
    gpu.GridDimOp: "nctaid",
}
# Intrinsics the NVPTX back end selects natively; the rest of the math library needs
# libdevice, which the "CUDA frontend" and "device targets" issues bring in.
_NATIVE_MATH = {"llvm.sqrt", "llvm.fabs", "llvm.floor", "llvm.ceil", "llvm.trunc", "llvm.round",
                "llvm.roundeven", "llvm.fma", "llvm.minnum", "llvm.maxnum", "llvm.minimum",
                "llvm.maximum", "llvm.copysign"}  # fmt: skip


_SHFL = {"idx": "idx", "up": "up", "down": "down", "xor": "bfly"}


class NVPTXHooks(LLVMHooks):
    def pointer_type(self, memory_space: Attribute) -> ir.PointerType:
        if isinstance(memory_space, IntegerAttr):
            return ir.PointerType(addrspace=memory_space.value.data)
        return ir.PointerType()

    def special(self, t: Translator, op: Operation):
        if isinstance(op, PrintfOp):
            return _vprintf(t, op)
        if isinstance(op, ShuffleOp):
            return _shuffle(t, op)
        if isinstance(op, VoteOp):
            mode = op.mode.data
            ret = I32 if mode == "ballot" else ir.IntType(1)
            return t.call_decl(f"llvm.nvvm.vote.{mode}.sync", ret, [I32, ir.IntType(1)],
                               [t.v(op.mask), t.v(op.predicate)])  # fmt: skip
        if isinstance(op, WarpSyncOp):
            t.call_decl("llvm.nvvm.bar.warp.sync", ir.VoidType(), [I32], [t.v(op.mask)])
            return []
        if isinstance(op, FenceOp):
            level = {"block": "cta", "device": "gl", "system": "sys"}[op.scope.data]
            t.call_decl(f"llvm.nvvm.membar.{level}", ir.VoidType(), [], [])
            return []
        if isinstance(op, LaneMaskOp):
            return t.call_decl("llvm.nvvm.activemask", I32, [], [])
        if isinstance(op, DynamicSharedMemoryOp):
            g = t.module.globals.get(_DYN_SMEM)
            if g is None:
                g = ir.GlobalVariable(t.module, ir.ArrayType(ir.IntType(8), 0), _DYN_SMEM,
                                      addrspace=3)  # fmt: skip
                g.linkage = "external"
                g.align = 16
            return as_opaque(t, g)
        if type(op) in _SREG:
            name = f"llvm.nvvm.read.ptx.sreg.{_SREG[type(op)]}.{op.dimension.data.value}"
            v = t.call_decl(name, I32, [], [])
            return t.b.zext(v, I64)
        if isinstance(op, gpu.SubgroupSizeOp):
            return ir.Constant(I64, 32)
        if isinstance(op, gpu.BarrierOp):
            t.call_decl("llvm.nvvm.barrier0", ir.VoidType(), [], [])
            return []
        return None

    def __init__(self, sm: int = 90):
        self.sm = sm
        self._libdevice: bool | None = None

    def math(self, t: Translator, op: Operation, args):
        ty = args[0].type
        if isinstance(ty, ir.HalfType):  # no f16 library: computed in f32, rounded once
            wide = [t.b.fpext(a, ir.FloatType()) for a in args]
            return t.b.fptrunc(self.math(t, op, wide), ty)
        base = MATH_INTRINSICS.get(type(op)) or MATH_LIBCALLS.get(type(op))
        if base is not None and base in _NATIVE_MATH or isinstance(op, math.RsqrtOp):
            return super().math(t, op, args)
        name = (base or op.name.split(".")[-1]).removeprefix("llvm.")
        if self._libdevice is None:
            self._libdevice = find_libdevice() is not None
        if not self._libdevice:  # NVVM's approximate instructions, or a TargetError
            return nvvm_math(t, name, args, self.sm)
        # the rest of the math library: libdevice's __nv_* functions (linked later)
        fn = f"__nv_{_LIBDEVICE_NAMES.get(name, name)}{'f' if ty == ir.FloatType() else ''}"
        return t.call_decl(fn, ty, [a.type for a in args], args)

    def function(self, t: Translator, fn: ir.Function, op) -> None:
        if isinstance(op, gpu.FuncOp) and op.kernel is not None:
            fn.calling_convention = "ptx_kernel"
            bound = op.attributes.get("xpu.max_threads")
            if isinstance(bound, IntegerAttr):  # __launch_bounds__ -> .maxntid
                md = t.module.add_named_metadata("nvvm.annotations")
                n = ir.Constant(I32, bound.value.data)
                md.add(t.module.add_metadata([fn, ir.MetaDataString(t.module, "maxntidx"), n]))
        else:
            fn.linkage = "internal"


_DYN_SMEM = "__xpuc_dynamic_shared"


def _vprintf(t: Translator, op: PrintfOp) -> list:
    """CUDA's device printf: ``vprintf(format, packed arguments)``."""
    b = t.b
    g = string_constant(t, op.format.data, addrspace=1)
    fmt = b.addrspacecast(as_opaque(t, g), ir.PointerType())
    vals = [t.v(a) for a in op.args]
    buf: ir.Value = ir.Constant(ir.PointerType(), None)
    if vals:
        st = ir.LiteralStructType([v.type for v in vals])
        entry = t.fn.entry_basic_block
        saved = b.block
        b.position_at_start(entry)
        slot = b.alloca(st)
        b.position_at_end(saved)
        for k, v in enumerate(vals):
            field = b.gep(slot, [ir.Constant(I32, 0), ir.Constant(I32, k)], source_etype=st)
            field.type = ir.PointerType()  # llvmlite types it as the struct's pointer
            b.store(v, field)
        buf = slot
    fn = t.module.globals.get("vprintf")
    if fn is None:
        ptr = ir.PointerType()
        fn = ir.Function(t.module, ir.FunctionType(I32, [ptr, ptr]), "vprintf")
    b.call(fn, [fmt, buf])
    return []


def _shuffle(t: Translator, op: ShuffleOp) -> list[ir.Value]:
    """``shfl.sync`` on 32 bits; 64-bit values go as two halves."""
    b = t.b
    val = t.v(op.value)
    width = t.v(op.width)
    seg = b.shl(b.sub(ir.Constant(I32, 32), width), ir.Constant(I32, 8))
    clamp = seg if op.mode.data == "up" else b.or_(seg, ir.Constant(I32, 0x1F))
    name = f"llvm.nvvm.shfl.sync.{_SHFL[op.mode.data]}"
    i1 = ir.IntType(1)

    def one(v: ir.Value) -> tuple[ir.Value, ir.Value]:
        kind = "f32" if isinstance(v.type, ir.FloatType) else "i32"
        ret = ir.LiteralStructType([v.type, i1])
        pair = t.call_decl(f"{name}.{kind}p", ret, [I32, v.type, I32, I32],
                           [t.v(op.mask), v, t.v(op.offset), clamp])  # fmt: skip
        return b.extract_value(pair, 0), b.extract_value(pair, 1)

    if isinstance(val.type, ir.FloatType):
        r, ok = one(val)
        return [r, ok]
    if isinstance(val.type, ir.HalfType) or val.type in (ir.IntType(8), ir.IntType(16)):
        narrow = ir.IntType(16) if isinstance(val.type, ir.HalfType) else val.type
        as_int = b.bitcast(val, narrow) if narrow is not val.type else val
        r, ok = one(b.zext(as_int, I32))
        r = b.trunc(r, narrow)
        return [b.bitcast(r, val.type) if narrow is not val.type else r, ok]
    bits = val.type.width if isinstance(val.type, ir.IntType) else 64
    if bits == 32:
        r, ok = one(val)
        return [r, ok]
    as_int = b.bitcast(val, I64) if isinstance(val.type, ir.DoubleType) else val
    lo, ok = one(b.trunc(as_int, I32))
    hi, _ = one(b.trunc(b.lshr(as_int, ir.Constant(I64, 32)), I32))
    r = b.or_(b.zext(lo, I64), b.shl(b.zext(hi, I64), ir.Constant(I64, 32)))
    return [b.bitcast(r, val.type) if isinstance(val.type, ir.DoubleType) else r, ok]


_LIBDEVICE_NAMES = {"minnum": "fmin", "maxnum": "fmax"}


def _uses_libdevice(mod: llvm.ModuleRef) -> bool:
    return any(f.name.startswith("__nv_") for f in mod.functions)


def link_libdevice(mod: llvm.ModuleRef) -> None:
    """Link libdevice when the module calls ``__nv_*`` functions; keep only what is used."""
    wanted = [f.name for f in mod.functions if f.is_declaration and f.name.startswith("__nv_")]
    if not wanted:
        return
    path = find_libdevice()
    if path is None:
        raise ToolNotFoundError(
            f"{wanted[0]} comes from libdevice, which was not found (looked at $XPUC_LIBDEVICE, "
            "$CUDA_HOME/nvvm/libdevice, beside ptxas and in the triton wheel)"
        )
    lib = llvm.parse_bitcode(Path(path).read_bytes())
    lib.triple, lib.data_layout = mod.triple, mod.data_layout
    mod.link_in(lib)
    for f in mod.functions:
        if not f.is_declaration and f.name.startswith("__nv_"):
            f.linkage = llvm.Linkage.internal


@dataclass
class NVPTXTarget(Target):
    family: ClassVar[str] = "nvptx"
    emits: ClassVar[tuple[str, ...]] = ("mlir", "llvm", "asm", "bin")
    default_variant: ClassVar[str] = "sm_90"

    @property
    def default_emit(self) -> str:  # type: ignore[override]
        return "bin" if find_ptxas() else "asm"

    def __init__(self, desc: TargetDesc):
        super().__init__(desc, NVPTXHooks(int("".join(filter(str.isdigit, desc.cpu)) or 90)))

    def link(self, mod: llvm.ModuleRef) -> None:
        link_libdevice(mod)

    def optimize(self, mod: llvm.ModuleRef, opt_level: int) -> None:
        # -O0 still needs NVVMReflect (libdevice's __nvvm_reflect) and dead-code removal
        super().optimize(mod, max(opt_level, 1) if _uses_libdevice(mod) else opt_level)

    def object(self, mod, opt_level: int) -> bytes | None:
        return None  # PTX is the assembly; the cubin comes from ptxas in binary()

    def binary(self, asm: str, obj: bytes | None) -> bytes:
        ptxas = find_ptxas()
        if ptxas is None:
            raise ToolNotFoundError(
                "ptxas was not found (looked at $PTXAS, PATH, $CUDA_HOME/bin and the triton "
                "wheel); install the CUDA toolkit or `pip install triton`, or use --emit asm "
                "to write PTX"
            )
        return run_ptxas(ptxas, asm, self.desc.variant)

    def validate(self, artifact) -> str:
        if not isinstance(artifact.stages.get("bin"), bytes):
            artifact.stages["bin"] = self.binary(str(artifact.stages["asm"]), None)
        return "ptxas"

    def can_run(self) -> bool:
        from xpuc.runtime.cuda import device_arch

        arch = device_arch()
        return arch is not None and cubin_runs_on(self.desc.variant, arch)

    def load(self, artifact):
        from xpuc.runtime.cuda import CUDAModule

        return CUDAModule(artifact)

    def capabilities(self) -> str:
        ptxas = find_ptxas()
        if self.can_run():
            return "compile + run (CUDA)"
        if ptxas is None:
            return "compile (no ptxas)"
        if self.desc.variant not in ptxas_archs(ptxas):
            return "compile (ptxas lacks arch)"
        return "compile + validate (ptxas)"


def cubin_runs_on(built: str, device: str) -> bool:
    """A cubin for sm_XY runs on a GPU of the same major version and minor >= Y
    (sm_90a-style arch-specific cubins are not made here)."""
    b, d = int(built.removeprefix("sm_")), int(device.removeprefix("sm_"))
    return b // 10 == d // 10 and d >= b


def run_ptxas(ptxas: str, ptx: str, arch: str) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "k.ptx", Path(d) / "k.cubin"
        src.write_text(ptx)
        proc = subprocess.run(
            [ptxas, f"-arch={arch}", str(src), "-o", str(out)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise TargetError(f"ptxas rejected the PTX for {arch}:\n{proc.stderr.strip()}")
        return out.read_bytes()


_INTRINSICS = (
    ("thread ids", "llvm.nvvm.read.ptx.sreg.{tid,ctaid,ntid,nctaid}"),
    ("barrier", "llvm.nvvm.barrier0"), ("shuffle", "llvm.nvvm.shfl.sync.*"),
    ("vote", "llvm.nvvm.vote.*.sync"), ("atomics", "LLVM atomicrmw/cmpxchg"),
    ("printf", "vprintf"),
)  # fmt: skip


def _sm(sm: int, ptx: int, smem_kb: int, note: str) -> TargetDesc:
    return TargetDesc(
        family="nvptx", variant=f"sm_{sm}", triple="nvptx64-nvidia-cuda", cpu=f"sm_{sm}",
        features=f"+ptx{ptx}", warp_size=32, max_threads_per_block=1024,
        max_shared_memory=smem_kb * 1024, max_static_shared_memory=48 * 1024,
        max_registers=255, binary_format="cubin",
        address_spaces=NVPTX_SPACES, math_library="libdevice (else NVVM intrinsics)",
        intrinsics=_INTRINSICS, description=note,
    )  # fmt: skip


# SM version -> (minimum PTX ISA LLVM must emit, max shared memory per block in KiB)
VARIANTS = {
    f"sm_{sm}": (lambda sm=sm, ptx=ptx, kb=kb, note=note: _sm(sm, ptx, kb, note))
    for sm, ptx, kb, note in [
        (70, 60, 96, "Volta (V100)"),
        (75, 63, 64, "Turing (T4)"),
        (80, 70, 163, "Ampere (A100)"),
        (86, 71, 99, "Ampere (RTX 30)"),
        (89, 78, 99, "Ada (L4, RTX 40)"),
        (90, 78, 227, "Hopper (H100, H200)"),
        (100, 86, 227, "Blackwell (B200)"),
    ]
}

TAGS = {
    "nvidia/v100": ("sm_70", "NVIDIA V100"),
    "nvidia/t4": ("sm_75", "NVIDIA T4"),
    "nvidia/a100": ("sm_80", "NVIDIA A100"),
    "nvidia/a800": ("sm_80", "NVIDIA A800"),
    "nvidia/a10": ("sm_86", "NVIDIA A10"),
    "nvidia/rtx-3090": ("sm_86", "NVIDIA GeForce RTX 3090"),
    "nvidia/l4": ("sm_89", "NVIDIA L4"),
    "nvidia/l40s": ("sm_89", "NVIDIA L40S"),
    "nvidia/rtx-4090": ("sm_89", "NVIDIA GeForce RTX 4090"),
    "nvidia/h100": ("sm_90", "NVIDIA H100"),
    "nvidia/h800": ("sm_90", "NVIDIA H800"),
    "nvidia/h20": ("sm_90", "NVIDIA H20"),
    "nvidia/h200": ("sm_90", "NVIDIA H200"),
    "nvidia/b200": ("sm_100", "NVIDIA B200"),
}
NVPTXTarget.variants = VARIANTS
NVPTXTarget.tags = TAGS
