"""The ``spirv`` family: OpenCL-flavoured SPIR-V modules from LLVM's SPIR-V back end.

Kernels are ``spir_kernel`` entry points with ``CrossWorkgroup`` buffer parameters
(``spirv-kernel-abi``, ``targets/spirv_abi.py``); ids, barriers and sub-group
operations are the OpenCL built-ins the back end turns into SPIR-V built-in variables
and instructions; math is the ``OpenCL.std`` extended instruction set.  ``spirv`` is
SPIR-V 1.2 (OpenCL 2.2), raised to 1.3 for a module with warp shuffles or votes
(``GroupNonUniform*`` came with 1.3); ``spirv:1.2`` ... ``spirv:1.6`` pin a version.
``spirv-val`` checks every module (``Target.validate``).
"""

from __future__ import annotations

import re
import subprocess
import sys
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
from xpuc.targets.base import Target, TargetDesc
from xpuc.targets.llvm.memory import as_opaque, string_constant
from xpuc.targets.llvm.translate import I32, I64, MATH_INTRINSICS, MATH_LIBCALLS, LLVMHooks
from xpuc.targets.spirv_warp import shuffle, vote
from xpuc.targets.tools import find_tool

# memref memory space (NVVM's numbers, as the shared IR has them) -> SPIR-V's LLVM
# address space: 1 CrossWorkgroup, 3 Workgroup, 0 Function, 4 Generic.  __constant__
# data goes to CrossWorkgroup: UniformConstant (2) pointers cannot become generic ones.
_SPACES = {1: 1, 3: 3, 4: 1, 5: 0}
GENERIC = 4
# OpenCL memory scopes and semantics (SequentiallyConsistent | WorkgroupMemory |
# CrossWorkgroupMemory) for barriers and fences
_SCOPE = {"system": 0, "device": 1, "block": 2, "warp": 3}
_SEMANTICS = 0x10 | 0x100 | 0x200
_IDS = {
    gpu.ThreadIdOp: "_Z12get_local_idj",
    gpu.BlockIdOp: "_Z12get_group_idj",
    gpu.BlockDimOp: "_Z14get_local_sizej",
    gpu.GridDimOp: "_Z14get_num_groupsj",
}
# LLVM intrinsics the back end has no lowering for: OpenCL built-ins by name
_OPENCL_MATH = {"llvm.minimum": "fmin", "llvm.maximum": "fmax"}
_MANGLED = {"float": "f", "double": "d", "half": "Dh"}
# capabilities spirv-val's OpenCL environment rejects because OpenCL devices announce
# them as extensions (cl_khr_fp16, cl_khr_int64_base_atomics), not SPIR-V ones
_OPTIONAL = {"Float16", "Int64Atomics"}
NO_SPIRV_VAL = "spirv-val was not found (Debian/Ubuntu: apt-get install spirv-tools)"
EXTENSIONS = ("+SPV_EXT_shader_atomic_float_add,+SPV_EXT_shader_atomic_float_min_max,"
              "+SPV_EXT_shader_atomic_float16_add")  # fmt: skip


def _float_suffix(ty: ir.Type) -> str:
    return {"float": "f32", "double": "f64", "half": "f16"}[str(ty)]


class SPIRVHooks(LLVMHooks):
    uses_subgroups = False
    """Set when a kernel uses lane numbers (shuffles, votes, warpSize)."""

    def pointer_type(self, memory_space: Attribute) -> ir.PointerType:
        if isinstance(memory_space, IntegerAttr):
            space = memory_space.value.data
            if space not in _SPACES:
                raise TargetError(f"memory space {space} has no SPIR-V storage class here")
            return ir.PointerType(addrspace=_SPACES[space])
        return ir.PointerType(addrspace=GENERIC)

    def special(self, t, op: Operation):
        if type(op) in _IDS:
            dim = ir.Constant(I32, "xyz".index(op.dimension.data.value))
            return t.call_decl(_IDS[type(op)], I64, [I32], [dim])
        if isinstance(op, gpu.BarrierOp):
            _control_barrier(t, _SCOPE["block"])
            return []
        if isinstance(op, WarpSyncOp):
            _control_barrier(t, _SCOPE["warp"])
            return []
        if isinstance(op, FenceOp):
            scope, sem = ir.Constant(I32, _SCOPE[op.scope.data]), ir.Constant(I32, _SEMANTICS)
            t.call_decl("_Z21__spirv_MemoryBarrierii", ir.VoidType(), [I32, I32], [scope, sem])
            return []
        if isinstance(op, ShuffleOp | VoteOp | LaneMaskOp | gpu.SubgroupSizeOp):
            self.uses_subgroups = True
            if isinstance(op, gpu.SubgroupSizeOp):
                return ir.Constant(I64, 32)  # pinned: see SPIRVTarget.finalize_llvm
            return shuffle(t, op) if isinstance(op, ShuffleOp) else vote(t, op)
        if isinstance(op, PrintfOp):
            return _printf(t, op)
        if isinstance(op, DynamicSharedMemoryOp):
            raise TargetError("gpu.dynamic_shared_memory must be lowered by spirv-kernel-abi")
        return None

    def math(self, t, op: Operation, args: list[ir.Value]) -> ir.Value:
        ty = args[0].type
        base = MATH_INTRINSICS.get(type(op))
        if base is not None and base not in _OPENCL_MATH:
            name = f"{base}.{_float_suffix(ty)}"
            return t.call_decl(name, ty, [ty] * len(args), args)
        if isinstance(op, math.RsqrtOp):
            name = "rsqrt"
        elif base is not None:
            name = _OPENCL_MATH[base]
        elif type(op) in MATH_LIBCALLS:
            name = MATH_LIBCALLS[type(op)]
        else:
            raise TargetError(f"{op.name} is not supported by the spirv target")
        mangled = f"_Z{len(name)}{name}" + _MANGLED[str(ty)] * len(args)
        return t.call_decl(mangled, ty, [ty] * len(args), args)

    def function(self, t, fn: ir.Function, op) -> None:
        if isinstance(op, gpu.FuncOp) and op.kernel is not None:
            fn.calling_convention = "spir_kernel"
        elif op.body.blocks:  # device functions; a declaration stays external
            fn.linkage = "internal"


def _control_barrier(t, scope: int) -> None:
    c = [ir.Constant(I32, v) for v in (scope, scope, _SEMANTICS)]
    t.call_decl("_Z22__spirv_ControlBarrieriii", ir.VoidType(), [I32] * 3, c)


def _printf(t, op: PrintfOp) -> list:
    """OpenCL's printf (the ``printf`` extended instruction); the format is ``__constant``.
    The mangled name tells the back end its parameter is a ``char`` pointer."""
    fmt = as_opaque(t, string_constant(t, op.format.data, addrspace=2))
    name = "_Z6printfPU3AS2Kcz"
    fn = t.module.globals.get(name)
    if fn is None:
        fnty = ir.FunctionType(I32, [ir.PointerType(addrspace=2)], var_arg=True)
        fn = ir.Function(t.module, fnty, name)
    t.b.call(fn, [fmt, *[t.v(a) for a in op.args]])
    return []


def _set_atomic_scopes(module: ir.Module) -> None:
    """CUDA's atomics are device-wide (``atomicAdd``), shared-memory ones block-wide:
    LLVM's default (system) scope would be SPIR-V's CrossDevice."""
    for fn in module.functions:
        for block in fn.blocks:
            for ins in block.instructions:
                if isinstance(ins, ir.instructions.AtomicRMW | ir.instructions.CmpXchg):
                    space = ins.operands[0].type.addrspace
                    scope = "workgroup" if space == _SPACES[3] else "device"
                    ins.ordering = f'syncscope("{scope}") {ins.ordering}'


_CODEGEN = """
import sys
import llvmlite.binding as llvm
src, out, kind, ext, opt = sys.argv[1:]
llvm.initialize_all_targets()
llvm.initialize_all_asmprinters()
llvm.set_option("xpuc", "--spirv-ext=" + ext)
m = llvm.parse_assembly(open(src).read())
tm = llvm.Target.from_triple(m.triple).create_target_machine(opt=int(opt))
if kind == "asm":
    open(out, "w").write(tm.emit_assembly(m))
else:
    open(out, "wb").write(tm.emit_object(m))
"""


def run_backend(llvm_ir: str, opt_level: int = 0) -> tuple[str, bytes]:
    """SPIR-V text and binary for a module.  LLVM's SPIR-V back end ends the process on
    some input it cannot lower (``LLVM ERROR: ...``), so it runs in child processes: one
    for the text, one for the binary, as a second run in one process reuses the back
    end's static module analysis and now and then duplicates ids (llvm-project#160613).

    The module arrives optimized; code generation runs at ``opt_level`` 0 by default:
    the driver that loads the module optimizes it again, and LLVM 22's codegen-level
    passes (loop strength reduction) lead the back end to mix 32- and 64-bit operands
    that spirv-val rejects."""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "k.ll"
        src.write_text(llvm_ir)
        outs = {"asm": Path(d) / "k.spvasm", "obj": Path(d) / "k.spv"}
        procs = {kind: subprocess.Popen(
            [sys.executable, "-c", _CODEGEN, str(src), str(out), kind, EXTENSIONS,
             str(min(opt_level, 3))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for kind, out in outs.items()}  # fmt: skip
        errors = {kind: proc.communicate(timeout=600)[1] for kind, proc in procs.items()}
        for kind, err in errors.items():
            if procs[kind].returncode != 0 or not outs[kind].is_file():
                lines = [ln for ln in err.strip().splitlines() if ln.strip()]
                why = next((ln for ln in lines if "LLVM ERROR" in ln), lines[-1] if lines else "")
                raise TargetError(f"LLVM's SPIR-V back end failed: {why or 'no output'}")
        return outs["asm"].read_text(), outs["obj"].read_bytes()


def _bitreverse(bits: int) -> str:
    """``llvm.bitreverse.iN`` as shifts and masks (swap halves, then quarters, ...)."""
    ty, body, x, width = f"i{bits}", [], "%x", bits // 2

    def signed(v: int) -> int:  # LLVM IR writes constants signed
        return v - (1 << bits) if v >> (bits - 1) else v

    while width:
        low = sum(((1 << width) - 1) << s for s in range(0, bits, 2 * width))
        high = ((1 << bits) - 1) ^ low
        k = len(body)
        body += [f"%l{k} = and {ty} {x}, {signed(low)}", f"%a{k} = shl {ty} %l{k}, {width}",
                 f"%h{k} = and {ty} {x}, {signed(high)}", f"%b{k} = lshr {ty} %h{k}, {width}",
                 f"%r{k} = or {ty} %a{k}, %b{k}"]  # fmt: skip
        x, width = f"%r{k}", width // 2
    lines = "\n  ".join(body)
    return (
        f"define internal {ty} @__xpuc_bitreverse_{ty}({ty} %x) {{\n  {lines}\n  ret {ty} {x}\n}}\n"
    )


def portable_bit_ops(llvm_ir: str) -> str:
    """LLVM's optimizer recognises bit-reversal idioms (CUDA's ``__brev``) as
    ``llvm.bitreverse``, which the back end lowers only with SPV_KHR_bit_instructions,
    an extension OpenCL drivers rarely have: spell it out again."""
    widths = sorted(set(re.findall(r"@llvm\.bitreverse\.i(\d+)\(", llvm_ir)), key=int)
    for w in widths:
        llvm_ir = re.sub(rf"declare [^\n]*@llvm\.bitreverse\.i{w}\([^\n]*\n", "", llvm_ir)
        llvm_ir = llvm_ir.replace(f"@llvm.bitreverse.i{w}(", f"@__xpuc_bitreverse_i{w}(")
        llvm_ir += "\n" + _bitreverse(int(w))
    return llvm_ir


def check_imports(asm: str) -> None:
    """An OpenCL built-in the back end does not know stays an imported function, which
    no driver resolves: name it instead of shipping the module."""
    for name in re.findall(r'LinkageAttributes "([^"]+)" Import', asm):
        if not name.startswith("__spirv_BuiltIn"):
            raise TargetError(
                f"the SPIR-V module calls '{name}', which LLVM's SPIR-V back end does not "
                "lower (it would be left to a link step no OpenCL driver does)"
            )


def spirv_version(module: bytes) -> tuple[int, int]:
    """The version in a SPIR-V binary's header."""
    if len(module) < 8 or module[:4] != b"\x03\x02\x23\x07":
        raise TargetError("not a SPIR-V module (bad magic number)")
    word = int.from_bytes(module[4:8], "little")
    return (word >> 16) & 0xFF, (word >> 8) & 0xFF


def spirv_val(module: bytes) -> str:
    """Validate with spirv-val under the OpenCL 2.2 environment (SPIR-V 1.2, the newest
    OpenCL environment it knows) or the universal rules of a later version.  Returns
    the command that accepted it; raises TargetError with spirv-val's message."""
    tool = find_tool("spirv-val")
    if tool is None:
        raise ToolNotFoundError(NO_SPIRV_VAL)
    major, minor = spirv_version(module)
    env = "opencl2.2" if (major, minor) <= (1, 2) else f"spv{major}.{minor}"
    with tempfile.NamedTemporaryFile(suffix=".spv") as f:
        f.write(module)
        f.flush()
        proc = subprocess.run([tool, "--target-env", env, f.name], capture_output=True, text=True)
        m = re.search(r"Capability (\w+) is not allowed by OpenCL", proc.stderr)
        if proc.returncode != 0 and m and m.group(1) in _OPTIONAL:
            env = f"spv{major}.{minor}"  # an optional OpenCL feature: the universal rules
            proc = subprocess.run([tool, "--target-env", env, f.name], capture_output=True,
                                  text=True)  # fmt: skip
    if proc.returncode != 0:
        raise TargetError(f"spirv-val rejected the module:\n{(proc.stderr + proc.stdout).strip()}")
    return f"spirv-val {env}"


@dataclass
class SPIRVTarget(Target):
    family: ClassVar[str] = "spirv"
    emits: ClassVar[tuple[str, ...]] = ("mlir", "llvm", "asm", "bin")
    default_emit: ClassVar[str] = "bin"
    passes: ClassVar[dict] = {"spirv-kernel-abi": lambda: _abi_pass()}

    def __init__(self, desc: TargetDesc):
        super().__init__(desc, SPIRVHooks())
        self._spv: bytes | None = None

    def lowering_passes(self) -> list[str]:
        return ["spirv-kernel-abi", "convert-scf-to-cf"]

    def finalize_llvm(self, module: ir.Module, kernels: list[str]) -> None:
        _set_atomic_scopes(module)
        if self.hooks.uses_subgroups:  # lanes numbered as CUDA's: 32 a sub-group
            size = module.add_metadata([ir.Constant(I32, 32)])
            for name in kernels:
                module.get_global(name).set_metadata("intel_reqd_sub_group_size", size)
            if self.desc.variant == "1.2":
                raise TargetError(
                    "warp shuffles and votes need SPIR-V 1.3 (GroupNonUniform instructions); "
                    "compile for spirv (1.3 where needed) or spirv:1.3 and later"
                )
            if self.desc.variant == "":
                module.triple = "spirv64v1.3-unknown-unknown"

    def optimize(self, mod: llvm.ModuleRef, opt_level: int) -> None:
        if opt_level <= 0:
            return
        # no loop or SLP vectorization: each work-item is one lane of the device already
        pto = llvm.create_pipeline_tuning_options(speed_level=min(opt_level, 3))
        pto.loop_vectorization = pto.slp_vectorization = False
        pb = llvm.create_pass_builder(self.target_machine(opt_level), pto)
        pb.getModulePassManager().run(mod, pb)

    def assemble(self, mod: llvm.ModuleRef, opt_level: int) -> str:
        asm, self._spv = run_backend(portable_bit_ops(str(mod)))
        check_imports(asm)
        return asm

    def binary(self, asm: str, obj: bytes | None) -> bytes:
        """The module ``assemble`` made with the text (the back end runs once per module)."""
        if self._spv is None:
            raise TargetError("no SPIR-V binary: the module was not assembled")
        return self._spv

    def validate(self, artifact) -> str:
        if find_tool("spirv-val") is None:
            raise ToolNotFoundError(NO_SPIRV_VAL)
        module = artifact.stages.get("bin")
        if not isinstance(module, bytes):
            raise TargetError("the artifact has no SPIR-V binary (compile with emit='bin')")
        return spirv_val(module)

    def can_run(self) -> bool:
        return False  # no OpenCL here takes SPIR-V (PoCL 3.1 in Debian reports no IL)

    def capabilities(self) -> str:
        return "compile + validate (spirv-val)" if find_tool("spirv-val") else "compile"


def _abi_pass():
    from xpuc.targets.spirv_abi import SPIRVKernelABI

    return SPIRVKernelABI


_INTRINSICS = (
    ("thread ids", "get_local_id, get_group_id, get_local_size, get_num_groups"),
    ("barrier", "__spirv_ControlBarrier (OpControlBarrier)"),
    ("shuffle", "sub_group_shuffle (OpGroupNonUniformShuffle)"),
    ("vote", "sub_group_ballot, sub_group_non_uniform_any/all"),
    ("atomics", "LLVM atomicrmw/cmpxchg (OpAtomic*, device or workgroup scope)"),
    ("printf", "OpenCL.std printf"),
)  # fmt: skip


def _desc(version: str) -> TargetDesc:
    v = version or "1.2"
    note = ("SPIR-V 1.2 for OpenCL 2.2 (1.3 with sub-group operations)" if not version
            else f"SPIR-V {v}")  # fmt: skip
    return TargetDesc(
        family="spirv", variant=version, triple=f"spirv64v{v}-unknown-unknown",
        warp_size=32, binary_format="spv", math_library="OpenCL.std extended instructions",
        address_spaces=(("global", 1), ("shared", 3), ("constant", 1), ("private", 0),
                        ("generic", GENERIC)),
        intrinsics=_INTRINSICS, description=note,
    )  # fmt: skip


SPIRVTarget.variants = {v: (lambda v=v: _desc(v)) for v in ("", "1.2", "1.3", "1.4", "1.5", "1.6")}
