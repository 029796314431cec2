"""How the shared translator turns SIMT ops into AMDGPU LLVM IR (``amdgcn-amd-amdhsa``).

What CUDA calls a warp is 32 lanes here on every chip, as xpuc's shared IR has it
(``xpu.shuffle``/``xpu.vote`` carry 32-bit lane masks and ``warpSize`` is 32; the cpu
target and the interpreter use the same rule).  On a wave64 chip (gfx9: MI50 to MI300)
one wavefront holds two such warps, its lanes 0-31 and 32-63: a shuffle reads inside its
own half, a ballot returns its half's 32 bits.  HIP instead calls the whole wavefront the
warp (``warpSize`` 64, 64-bit ballots); CUDA code that assumes 32 (``lane = tid & 31``,
masks of ``0xffffffff``, reductions from offset 16) runs correctly only under xpuc's
choice.  On wave32 chips (gfx10+, RDNA) a wavefront is exactly one warp.
"""

from __future__ import annotations

import llvmlite.ir as ir
from xdsl.dialects import gpu, math
from xdsl.dialects.builtin import IntegerAttr
from xdsl.ir import Attribute, Operation

from xpuc.compiler.diagnostics import TargetError
from xpuc.dialects.gpu_ext import DynamicSharedMemoryOp, PrintfOp
from xpuc.dialects.xpu import FenceOp, LaneMaskOp, ShuffleOp, VoteOp, WarpSyncOp
from xpuc.targets.llvm.memory import as_opaque
from xpuc.targets.llvm.translate import (
    I1,
    I32,
    I64,
    MATH_INTRINSICS,
    MATH_LIBCALLS,
    LLVMHooks,
    Translator,
)

PRIVATE, LDS, CONSTANT = 5, 3, 4  # AMDGPU address spaces (LLVM's AMDGPUUsage numbering)
DYNAMIC_LDS = "__xpuc_dynamic_shared"

# Intrinsics the AMDGPU back end selects natively and accurately for every float type;
# exp/log for f32 and f16 only (f64 has no instruction).  The rest comes from ocml.
_NATIVE_MATH = {"llvm.sqrt", "llvm.fabs", "llvm.floor", "llvm.ceil", "llvm.trunc", "llvm.round",
                "llvm.roundeven", "llvm.fma", "llvm.minnum", "llvm.maxnum", "llvm.minimum",
                "llvm.maximum", "llvm.copysign"}  # fmt: skip
_NATIVE_SINGLE = {"llvm.exp", "llvm.exp2", "llvm.log", "llvm.log2", "llvm.log10"}
# hsa_kernel_dispatch_packet_t (hsa.h): workgroup_size_{x,y,z} u16 at 4, grid_size_{x,y,z}
# u32 (work-items) at 12; the packet is at llvm.amdgcn.dispatch.ptr in every code object.
_WG_SIZE, _GRID_SIZE = 4, 12
_SCOPES = {"block": "workgroup", "device": "agent", "system": None}


def _sfx(ty: ir.Type) -> str:
    return {ir.HalfType(): "f16", ir.FloatType(): "f32"}.get(ty, "f64")


class _PrivateAlloca(ir.AllocaInstr):
    """An alloca in the private address space (llvmlite prints no address space)."""

    def descr(self, buf) -> None:
        super().descr(buf)
        buf.append(f", addrspace({PRIVATE})")


class _Attributes(ir.values.FunctionAttributes):
    """Function attributes that may also be ``"key"="value"`` strings (llvmlite's may not)."""

    def add(self, name: str) -> None:
        if name.startswith('"'):
            set.add(self, name)
        else:
            super().add(name)


class AMDGPUHooks(LLVMHooks):
    def __init__(self, wave64: bool, max_threads: int, has_ocml=lambda: True):
        self.wave64 = wave64
        self.max_threads = max_threads
        self.has_ocml = has_ocml  # asked only when a kernel needs the library

    def pointer_type(self, memory_space: Attribute) -> ir.PointerType:
        if isinstance(memory_space, IntegerAttr):  # memref spaces use the same numbers
            return ir.PointerType(addrspace=memory_space.value.data)
        return ir.PointerType()

    def alloca(self, t: Translator, elem: ir.Type, size, align: int | None = None) -> ir.Value:
        if size is not None and not isinstance(size, ir.Value):
            size = ir.Constant(I32, size)
        slot = _PrivateAlloca(t.b.block, elem, size, "")
        t.b._insert(slot)  # llvmlite's builder has no way to make another alloca class
        slot.align = align
        slot.type = ir.PointerType(addrspace=PRIVATE)
        return t.b.addrspacecast(slot, ir.PointerType())  # memrefs are flat pointers

    def atomic(self, t: Translator, op: Operation, instr: ir.Instruction) -> None:
        # CUDA's atomics are device-wide (HIP: agent scope); LDS is the workgroup's only
        space = instr.operands[0].type.addrspace
        instr.ordering = f'syncscope("{"workgroup" if space == LDS else "agent"}") {instr.ordering}'

    def function(self, t: Translator, fn: ir.Function, op) -> None:
        if not (isinstance(op, gpu.FuncOp) and op.kernel is not None):
            fn.linkage = "internal"
            return
        fn.calling_convention = "amdgpu_kernel"
        fn.attributes = _Attributes(fn.attributes)
        bound = op.attributes.get("xpu.max_threads")  # __launch_bounds__ narrows it
        limit = self.max_threads
        if isinstance(bound, IntegerAttr):
            limit = min(limit, bound.value.data)
        fn.attributes.add(f'"amdgpu-flat-work-group-size"="1,{limit}"')
        fn.attributes.add('"uniform-work-group-size"="true"')  # CUDA grids are whole blocks

    def special(self, t: Translator, op: Operation):
        b = t.b
        if isinstance(op, gpu.ThreadIdOp | gpu.BlockIdOp):
            kind = "workitem" if isinstance(op, gpu.ThreadIdOp) else "workgroup"
            v = t.call_decl(f"llvm.amdgcn.{kind}.id.{op.dimension.data.value}", I32, [], [])
            return b.zext(v, I64)
        if isinstance(op, gpu.BlockDimOp):
            return b.zext(self._block_dim(t, op.dimension.data.value), I64)
        if isinstance(op, gpu.GridDimOp):
            d = op.dimension.data.value
            items = self._packet(t, _GRID_SIZE + 4 * "xyz".index(d), I32)
            return b.zext(b.udiv(items, self._block_dim(t, d)), I64)
        if isinstance(op, gpu.GlobalIdOp):
            d = op.dimension.data.value
            bid = t.call_decl(f"llvm.amdgcn.workgroup.id.{d}", I32, [], [])
            tid = t.call_decl(f"llvm.amdgcn.workitem.id.{d}", I32, [], [])
            return b.zext(b.add(b.mul(bid, self._block_dim(t, d)), tid), I64)
        if isinstance(op, gpu.SubgroupSizeOp):
            return ir.Constant(I64, 32)  # a CUDA warp (see the module's docstring)
        if isinstance(op, gpu.BarrierOp):  # as HIP's __syncthreads
            b.fence("release", "workgroup")
            t.call_decl("llvm.amdgcn.s.barrier", ir.VoidType(), [], [])
            b.fence("acquire", "workgroup")
            return []
        if isinstance(op, WarpSyncOp):  # as HIP's __syncwarp: lanes of a wave run together
            b.fence("release", "wavefront")
            t.call_decl("llvm.amdgcn.wave.barrier", ir.VoidType(), [], [])
            b.fence("acquire", "wavefront")
            return []
        if isinstance(op, FenceOp):
            b.fence("seq_cst", _SCOPES[op.scope.data])
            return []
        if isinstance(op, ShuffleOp):
            return self._shuffle(t, op)
        if isinstance(op, VoteOp):
            return self._vote(t, op)
        if isinstance(op, LaneMaskOp):
            return self._ballot(t, ir.Constant(I1, 1))
        if isinstance(op, DynamicSharedMemoryOp):
            g = t.module.globals.get(DYNAMIC_LDS)
            if g is None:  # AMDGPU places a zero-sized external LDS array after the static
                g = ir.GlobalVariable(t.module, ir.ArrayType(ir.IntType(8), 0), DYNAMIC_LDS,
                                      addrspace=LDS)  # fmt: skip
                g.linkage = "external"
                g.align = 16
            return as_opaque(t, g)
        if isinstance(op, PrintfOp):
            raise TargetError(PRINTF_ERROR)
        return None

    # ---- ids from the dispatch packet
    def _packet(self, t: Translator, offset: int, ty: ir.IntType) -> ir.Value:
        p = t.call_decl("llvm.amdgcn.dispatch.ptr", ir.PointerType(addrspace=CONSTANT), [], [])
        at = t.b.gep(p, [ir.Constant(I64, offset)], inbounds=True, source_etype=ir.IntType(8))
        v = t.b.load(at, typ=ty, align=ty.width // 8)
        v.set_metadata("invariant.load", t.module.add_metadata([]))
        return v

    def _block_dim(self, t: Translator, d: str) -> ir.Value:
        return t.b.zext(self._packet(t, _WG_SIZE + 2 * "xyz".index(d), ir.IntType(16)), I32)

    # ---- warp operations (32-lane warps; see the module's docstring)
    def _lane(self, t: Translator) -> tuple[ir.Value, ir.Value]:
        """(the lane inside its 32-lane warp, the warp's first lane in the wavefront)."""
        lo = t.call_decl("llvm.amdgcn.mbcnt.lo", I32, [I32, I32],
                         [ir.Constant(I32, -1), ir.Constant(I32, 0)])  # fmt: skip
        if not self.wave64:
            return lo, ir.Constant(I32, 0)
        hw = t.call_decl("llvm.amdgcn.mbcnt.hi", I32, [I32, I32], [ir.Constant(I32, -1), lo])
        return t.b.and_(hw, ir.Constant(I32, 31)), t.b.and_(hw, ir.Constant(I32, 32))

    def _ballot(self, t: Translator, pred: ir.Value, half: ir.Value | None = None) -> ir.Value:
        """The active lanes of this warp (32 bits) whose ``pred`` holds."""
        if not self.wave64:
            return t.call_decl("llvm.amdgcn.ballot.i32", I32, [I1], [pred])
        wave = t.call_decl("llvm.amdgcn.ballot.i64", I64, [I1], [pred])
        if half is None:
            half = self._lane(t)[1]
        return t.b.trunc(t.b.lshr(wave, t.b.zext(half, I64)), I32)

    def _vote(self, t: Translator, op: VoteOp) -> ir.Value:
        b = t.b
        mask = t.v(op.mask)
        votes = b.and_(self._ballot(t, t.v(op.predicate)), mask)
        if op.mode.data == "ballot":
            return votes
        if op.mode.data == "any":
            return b.icmp_unsigned("!=", votes, ir.Constant(I32, 0))
        members = b.and_(self._ballot(t, ir.Constant(I1, 1)), mask)
        return b.icmp_unsigned("==", votes, members)

    def _shuffle(self, t: Translator, op: ShuffleOp) -> list[ir.Value]:
        """``ds_bpermute`` with CUDA's rules, as the interpreter has them: the source lane
        stays inside the ``width``-lane segment (idx wraps; up/down/xor out of it, or
        onto an inactive lane, read the lane's own value, and ``valid`` is false)."""
        b = t.b
        lane, half = self._lane(t)
        off, width = t.v(op.offset), t.v(op.width)
        seg = b.sub(lane, b.urem(lane, width))
        end = b.add(seg, width)
        mode = op.mode.data
        valid: ir.Value = ir.Constant(I1, 1)
        if mode == "idx":
            src = b.add(seg, b.urem(off, width))
        elif mode == "up":
            src = b.sub(lane, off)
            valid = b.icmp_signed(">=", src, seg)
        elif mode == "down":
            src = b.add(lane, off)
            valid = b.icmp_signed("<", src, end)
        else:
            src = b.xor(lane, off)
            valid = b.and_(b.icmp_signed(">=", src, seg), b.icmp_signed("<", src, end))
        safe = b.and_(b.select(valid, src, lane), ir.Constant(I32, 31))
        active = self._ballot(t, ir.Constant(I1, 1), half)
        bit = b.and_(b.lshr(active, safe), ir.Constant(I32, 1))
        valid = b.and_(valid, b.trunc(bit, I1))
        addr = b.shl(b.or_(half, b.select(valid, safe, lane)), ir.Constant(I32, 2))
        return [_permute(t, addr, t.v(op.value)), valid]

    def math(self, t: Translator, op: Operation, args: list[ir.Value]) -> ir.Value:
        ty = args[0].type
        base = MATH_INTRINSICS.get(type(op)) or MATH_LIBCALLS.get(type(op))
        if base in _NATIVE_MATH or (base in _NATIVE_SINGLE and ty != ir.DoubleType()):
            return t.call_decl(f"{base}.{_sfx(ty)}", ty, [ty] * len(args), args)
        if isinstance(op, math.RsqrtOp):
            sqrt = t.call_decl(f"llvm.sqrt.{_sfx(ty)}", ty, [ty], args)
            return t.b.fdiv(ir.Constant(ty, 1.0), sqrt)
        name = (base or op.name.split(".")[-1]).removeprefix("llvm.")
        if not self.has_ocml():
            raise TargetError(
                f"'{name}' ({op.name} on {_sfx(ty)}) has no native instruction on amdgpu and "
                "comes from ROCm's ocml device library, which was not found (looked at "
                "$XPUC_OCML, $ROCM_PATH/amdgcn/bitcode, /opt/rocm and the triton and iree "
                "wheels); `pip install triton` provides it"
            )
        fn = f"__ocml_{name}_{_sfx(ty)}"  # linked from ocml.bc (amdgpu_lib.link_ocml)
        return t.call_decl(fn, ty, [a.type for a in args], args)


PRINTF_ERROR = ("printf is not supported on amdgpu: HIP's device printf writes to a hostcall "
           "buffer that a HIP runtime provides, and xpuc has none; compile for nvptx or cpu "
           "to print from a kernel")  # fmt: skip


def _permute(t: Translator, addr: ir.Value, val: ir.Value) -> ir.Value:
    """``ds_bpermute_b32`` of any scalar: narrow values widened, 64-bit ones in halves."""
    b = t.b

    def one(v: ir.Value) -> ir.Value:
        return t.call_decl("llvm.amdgcn.ds.bpermute", I32, [I32, I32], [addr, v])

    ty = val.type
    if isinstance(ty, ir.FloatType):
        return b.bitcast(one(b.bitcast(val, I32)), ty)
    if isinstance(ty, ir.HalfType) or ty in (I1, ir.IntType(8), ir.IntType(16)):
        narrow = ir.IntType(16) if isinstance(ty, ir.HalfType) else ty
        as_int = b.bitcast(val, narrow) if narrow is not ty else val
        r = b.trunc(one(b.zext(as_int, I32)), narrow)
        return b.bitcast(r, ty) if narrow is not ty else r
    if ty == I32:
        return one(val)
    as_int = b.bitcast(val, I64) if isinstance(ty, ir.DoubleType) else val
    lo = one(b.trunc(as_int, I32))
    hi = one(b.trunc(b.lshr(as_int, ir.Constant(I64, 32)), I32))
    r = b.or_(b.zext(lo, I64), b.shl(b.zext(hi, I64), ir.Constant(I64, 32)))
    return b.bitcast(r, ty) if isinstance(ty, ir.DoubleType) else r
