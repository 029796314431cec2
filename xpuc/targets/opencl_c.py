"""OpenCL C: the C renderer (``c_render.py``) with OpenCL's address spaces, work-item
functions, barriers, atomics, ``printf`` and half-precision storage.

One renderer prints the kernels of one module.  Pointer parameters of device
functions take the address space of what each call passes (OpenCL C 1.2 has no
generic address space), so a device function is printed once per combination
(``f_get_l`` takes a ``__local`` pointer).  ``__shared__`` variables are ``__local``
arrays of the kernel, and device functions that use them (or the dynamic shared
memory, or ``__device__`` variables) get them as extra trailing parameters.
``__device__`` and ``__constant__`` variables live in one ``__global`` buffer the
runtime passes to each kernel that needs it (OpenCL C 1.2 allows no writable
program-scope variables).  ``half`` values compute in ``float``, rounded to half after
every operation, and are stored with ``vstore_half_rte`` (PoCL lacks cl_khr_fp16).
"""

from __future__ import annotations

import re

from xdsl.dialects import arith, func, gpu, memref
from xdsl.dialects.builtin import Float16Type, IntegerAttr, IntegerType, MemRefType
from xdsl.ir import Block, BlockArgument, Operation, SSAValue

from xpuc.compiler.diagnostics import TargetError
from xpuc.dialects.gpu_ext import DynamicSharedMemoryOp, PrintfOp
from xpuc.dialects.xpu import AtomicCASOp, FenceOp, ReinterpretOp
from xpuc.targets.c_arith import UNSIGNED, is_bool, width
from xpuc.targets.c_render import CRenderer
from xpuc.targets.opencl_program import Program

SHARED = IntegerAttr(3, 64)
_IDS = {gpu.ThreadIdOp: "get_local_id", gpu.BlockIdOp: "get_group_id",
        gpu.BlockDimOp: "get_local_size", gpu.GridDimOp: "get_num_groups",
        gpu.GlobalIdOp: "get_global_id"}  # fmt: skip
_FENCE = "CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE"
_SAME_SPACE = (memref.CastOp, memref.ViewOp, memref.MemorySpaceCastOp, ReinterpretOp)
# memref.atomic_rmw kind (upstream AtomicRMWKind) -> OpenCL built-in, for integers
_NATIVE_ATOMIC = {1: "add", 2: "xchg", 4: "max", 5: "max", 7: "min", 8: "min", 11: "or",
                  12: "and", 15: "xor"}  # fmt: skip
_SIGNED_ATOMIC = {4, 7}
# kinds done with a compare-and-swap loop: the new value from the old (a) and v (b)
_CAS_ATOMIC = {0: "{a} + {b}", 1: "{a} + {b}", 2: "{b}", 3: "fmax({a}, {b})",
               6: "fmin({a}, {b})", 13: "fmax({a}, {b})", 14: "fmin({a}, {b})"}  # fmt: skip
_PRINTF_LENGTH = re.compile(r"%([-+ #0]*\d*(?:\.\d+)?)(ll|z|j|t)([diouxX])")
_LOOP_IDS = (
    [f"(ulong)get_group_id({d})" for d in range(3)]
    + [f"(ulong)get_num_groups({d})" for d in range(3)]
    + ["xpuc_bx", "xpuc_by", "xpuc_bz"]
)


class OpenCLRenderer(CRenderer):
    language = "OpenCL C"
    float_types = {16: "float", 32: "float", 64: "double"}  # half computes in float

    def __init__(self, funcs: dict[str, func.FuncOp], program: Program, loops: bool):
        self.funcs, self.program, self.loops = funcs, program, loops
        self.prefix = "l" if loops else ""
        self.entry: Block | None = None
        super().__init__()
        self.handlers.update({
            **{k: lambda op: f"(ulong){_IDS[type(op)]}({'xyz'.index(op.dimension.data.value)})"
               for k in _IDS},
            gpu.SubgroupSizeOp: lambda op: "32ul",
            gpu.BarrierOp: lambda op: self.line(f"barrier({_FENCE});"),
            FenceOp: lambda op: self.line(f"mem_fence({_FENCE});"),
            ReinterpretOp: self._view, memref.GetGlobalOp: self._get_global,
            DynamicSharedMemoryOp: lambda op: self.alias(op.results[0], "xpuc_dyn"),
            memref.AtomicRMWOp: self._atomic_rmw, AtomicCASOp: self._atomic_cas,
            PrintfOp: self._printf, memref.DimOp: self._dim,
            memref.ExtractAlignedPointerAsIndexOp: lambda op: self.cast(op.operands[0], "ulong"),
        })  # fmt: skip

    def begin(self, fn: Operation | None = None) -> None:
        super().begin()
        self.spaces: dict[SSAValue, str] = {}
        self.entry = fn.regions[0].blocks[0] if fn is not None else None
        self.scratch_allocas = 0

    # ---- address spaces, found from where a pointer comes from
    def space(self, v: SSAValue) -> str:
        if v not in self.spaces:
            self.spaces[v] = self._space(v)
        return self.spaces[v]

    def _space(self, v: SSAValue) -> str:
        op = v.owner
        if isinstance(op, memref.AllocaOp):  # dynamic: loop mode's per-thread storage
            local = op.memref.type.memory_space == SHARED or op.dynamic_sizes
            return "__local" if local else "__private"
        if isinstance(op, memref.GetGlobalOp):
            return "__local" if v.type.memory_space == SHARED else "__global"
        if isinstance(op, DynamicSharedMemoryOp):
            return "__local"
        if isinstance(op, _SAME_SPACE):
            return self.space(op.operands[0])
        if isinstance(op, memref.LoadOp):  # a pointer kept in memory (loop mode's spills)
            return self.element_space(op.memref)
        sources: list[SSAValue] = []
        if isinstance(op, arith.SelectOp):
            sources = [op.lhs, op.rhs]
        elif isinstance(op, Operation) and op.regions and v in op.results:
            k = list(op.results).index(v)
            sources = [r.blocks[0].last_op.operands[k] for r in op.regions if r.blocks]
        found = {self.space(s) for s in sources}
        if len(found) != 1:
            what = "a pointer a loop carries" if isinstance(v, BlockArgument) else f"'{op.name}'"
            raise TargetError(f"cannot tell the OpenCL address space of {what}")
        return found.pop()

    def element_space(self, ref: SSAValue) -> str:
        """The address space of the pointers an array of pointers holds (from its stores)."""
        stores = [u.operation for u in ref.uses if isinstance(u.operation, memref.StoreOp)]
        found = {self.space(st.value) for st in stores if st.memref is ref}
        if len(found) > 1:
            raise TargetError("an array holds pointers to different OpenCL address spaces")
        return found.pop() if found else "__global"

    def ptype(self, v: SSAValue) -> str:
        if isinstance(v.type.element_type, MemRefType):  # pointers to pointers: two spaces
            return f"{self.pointer(v.type.element_type, self.element_space(v))}{self.space(v)} *"
        return super().ptype(v)

    # ---- half: float in registers, half in memory
    def memory_type(self, t) -> str:
        return "half" if isinstance(t, Float16Type) else super().memory_type(t)

    def rounded(self, op: Operation, expr: str) -> str:
        if op.results and isinstance(op.results[0].type, Float16Type):
            self.program.helper("half")
            return f"xpuc_rh({expr})"
        return expr

    def _float_binary(self, op: Operation) -> str:
        return self.rounded(op, super()._float_binary(op))

    def _math(self, op: Operation) -> str:
        return self.rounded(op, super()._math(op))

    def _cast(self, op: Operation) -> str:
        src, dst = op.operands[0], op.results[0].type
        if isinstance(op, arith.ExtFOp) and isinstance(src.type, Float16Type):
            return self.cast(src, self.ctype(dst))
        if isinstance(dst, Float16Type) and isinstance(op, arith.TruncFOp) and width(src.type) > 32:
            self.program.helper("half")
            return f"xpuc_rhd({self.val(src)})"  # straight from double: no double rounding
        return self.rounded(op, super()._cast(op))

    def _bitcast(self, op: Operation) -> str:
        src, dst = op.operands[0], op.results[0].type
        if isinstance(src.type, Float16Type) or isinstance(dst, Float16Type):
            self.program.helper("half")
            fn = "xpuc_h2u" if isinstance(src.type, Float16Type) else "xpuc_u2h"
            return f"{fn}({self.val(src)})"
        return f"as_{self.ctype(dst)}({self.val(src)})"

    def _load(self, op: memref.LoadOp) -> str:
        if isinstance(op.memref.type.element_type, Float16Type):
            return f"vload_half({self.index(op.memref, op.indices)}, {self.val(op.memref)})"
        return super()._load(op)

    def _store(self, op: memref.StoreOp) -> None:
        if isinstance(op.value.type, Float16Type):
            at = self.index(op.memref, op.indices)
            self.line(f"vstore_half_rte({self.val(op.value)}, {at}, {self.val(op.memref)});")
        else:
            super()._store(op)

    # ---- memory
    def align(self, op: memref.AllocaOp) -> str:
        return f" __attribute__((aligned({op.alignment.value.data if op.alignment else 16})))"

    def _alloca(self, op: memref.AllocaOp) -> None:
        mt = op.memref.type
        at_entry = op.parent_block() is self.entry
        if op.dynamic_sizes:  # loop mode's per-thread storage: from the block's scratch
            if not (self.loops and at_entry):
                raise TargetError("a stack array sized at run time outside a kernel's entry")
            elem = mt.element_type
            size = f"sizeof({self.ptype(op.memref)[:-1]})" if isinstance(elem, MemRefType) \
                else str(max(width(elem), 8) // 8)  # fmt: skip
            n = f"{self.val(op.dynamic_sizes[0])} * {max(1, mt.element_count())} * {size}"
            self.declare(op.memref, f"({self.ptype(op.memref)})xpuc_sp")
            self.line(f"xpuc_sp += ({n} + 63) & ~(ulong)63;")
            self.scratch_allocas += 1
        elif self.space(op.memref) == "__local" and not at_entry:
            raise TargetError("OpenCL declares __local arrays only at a kernel's outermost scope")
        elif isinstance(mt.element_type, Float16Type):  # no half variables: ushort storage
            store = f"h{len(self.arrays)}"
            self.arrays.append(f"  {self.space(op.memref)} ushort {store}"
                               f"[{max(1, mt.element_count())}]{self.align(op)};")  # fmt: skip
            self.declare(op.memref, f"({self.ptype(op.memref)}){store}")
        elif isinstance(mt.element_type, MemRefType):  # pointers: no space before the type
            self.arrays.append(f"  {self.ptype(op.memref)[:-1]}{self.fresh(op.memref)}"
                               f"[{max(1, mt.element_count())}];")  # fmt: skip
        else:
            super()._alloca(op)

    def _get_global(self, op: memref.GetGlobalOp) -> str | None:
        name = op.name_.string_value()
        if op.memref.type.memory_space == SHARED:
            self.alias(op.memref, self.program.shared_name(name))
            return None
        return f"({self.ptype(op.memref)})(xpuc_g + {self.program.globals[name][0]})"

    def _dim(self, op: memref.DimOp) -> str:
        shape = op.source.type.get_shape()
        k = op.index.owner.value.value.data if isinstance(op.index.owner, arith.ConstantOp) else 0
        if shape[k] < 0:
            raise TargetError("memref.dim of a dynamic size: OpenCL pointers carry no sizes")
        return f"{shape[k]}ul"

    # ---- atomics and printf
    def _atomic_rmw(self, op: memref.AtomicRMWOp) -> str:
        kind, t = op.kind.value.data, op.value.type
        space, bits = self.space(op.memref), width(t)
        at = "&" + self.element(op.memref, op.indices)
        if bits < 32:
            raise TargetError(f"OpenCL has no atomics on {bits}-bit values ({t})")
        if kind in _NATIVE_ATOMIC and isinstance(t, IntegerType):
            it = self.ctype(t, signed=kind in _SIGNED_ATOMIC)
            if bits == 64:
                self.program.extensions.add(
                    "cl_khr_int64_" + ("base" if kind in (1, 2) else "extended") + "_atomics"
                )
            fn = ("atomic_" if bits == 32 else "atom_") + _NATIVE_ATOMIC[kind]
            call = f"{fn}((volatile {space} {it} *){at}, ({it}){self.val(op.value)})"
            return f"({self.ctype(t)}){call}"
        if kind == 2 and bits == 32:  # a float exchange is native
            return f"atomic_xchg((volatile {space} float *){at}, {self.val(op.value)})"
        if kind not in _CAS_ATOMIC:
            raise TargetError(f"atomic kind {kind} of {t} has no OpenCL equivalent")
        fn = self.program.cas_helper(kind, self.ctype(t), bits, space, _CAS_ATOMIC[kind])
        return f"{fn}({at}, {self.val(op.value)})"

    def _atomic_cas(self, op: AtomicCASOp) -> str:
        t, bits = self.ctype(op.compare.type), width(op.compare.type)
        if bits not in (32, 64):
            raise TargetError(f"OpenCL has no {bits}-bit compare-and-swap")
        if bits == 64:
            self.program.extensions.add("cl_khr_int64_base_atomics")
        ut, space = UNSIGNED[bits], self.space(op.memref)
        cmp, new = self.val(op.compare), self.val(op.value)
        if t != ut:  # floats compare and swap their bits
            cmp, new = f"as_{ut}({cmp})", f"as_{ut}({new})"
        fn = "atomic_cmpxchg" if bits == 32 else "atom_cmpxchg"
        at = "&" + self.element(op.memref, op.indices)
        call = f"{fn}((volatile {space} {ut} *){at}, {cmp}, {new})"
        return call if t == ut else f"as_{t}({call})"

    def _printf(self, op: PrintfOp) -> None:
        fmt = _PRINTF_LENGTH.sub(r"%\1l\3", op.format.data)  # OpenCL's long is 64-bit
        self.line(f"printf({c_string(fmt)}{''.join(f', {self.val(a)}' for a in op.args)});")

    # ---- functions
    def _call(self, op: func.CallOp) -> None:
        name = op.callee.root_reference.data
        spaces = tuple(self.space(a) for a in op.arguments if isinstance(a.type, MemRefType))
        args = [self.val(a) for a in op.arguments]
        args += self.program.extra_names(self.prefix + name)
        self.call_results(op, f"{self.request(name, spaces)}({', '.join(args)})")

    def request(self, name: str, spaces: tuple[str, ...]) -> str:
        """The name of a device function's version for pointers into ``spaces``."""
        key = (self.prefix + name, spaces)
        if key not in self.program.names:
            self.program.names[key] = self.program.function_symbol(self.prefix, name, spaces)
            self.program.pending.append((self, name, spaces))
        return self.program.names[key]

    def result_type(self, values: list[SSAValue]) -> str:
        name = super().result_type(values)
        self.program.helpers.update(self.structs)
        return name

    def param(self, a: SSAValue, space: str = "__global", restrict: bool = False) -> str:
        if isinstance(a.type, MemRefType):
            self.spaces[a] = "__local" if a.type.memory_space == SHARED else space
            return f"{self.ptype(a)}{'restrict ' * restrict}{self.fresh(a)}"
        return f"{self.ctype(a.type)} {self.fresh(a)}"

    def device_function(self, name: str, spaces: tuple[str, ...]) -> None:
        f = self.funcs[name]
        self.begin(f)
        it = iter(spaces)
        params = [self.param(a, next(it) if isinstance(a.type, MemRefType) else "")
                  for a in self.entry.args]  # fmt: skip
        params += self.program.extra_params(self.prefix + name)
        ret = next(o for o in f.walk() if isinstance(o, func.ReturnOp))
        head = f"{self.result_type(list(ret.operands))} {self.request(name, spaces)}"
        self.body(f.body)
        self.program.functions.append((f"{head}({', '.join(params) or 'void'})", self.finish()))

    def kernel(self, k: Operation, reason: str | None) -> None:
        """A ``__kernel``: SIMT (a ``gpu.func``), or loop mode (the ``func.func`` of
        ``convert-simt-to-loops``, whose trailing arguments are the block's ids, the grid
        and block sizes and the dynamic shared memory)."""
        self.begin(k)
        name, args = k.sym_name.data, list(self.entry.args)
        noalias = {a.value.data for a in k.attributes["xpu.noalias"].data} \
            if "xpu.noalias" in k.attributes else set()  # fmt: skip
        params, converted = [], []
        for i, a in enumerate(args[:-10] if self.loops else args):
            if is_bool(a.type) or isinstance(a.type, Float16Type):  # no such kernel arguments
                half = isinstance(a.type, Float16Type)
                params.append(f"{'ushort' if half else 'uchar'} p{i}")
                value = f"vload_half(0, (__private half *)&p{i})" if half else f"p{i}"
                converted.append((a, value))
            else:
                params.append(self.param(a, restrict=i in noalias))
        extra = []
        if self.loops:  # one work-item runs the block: ids as arguments, scratch for it
            params += ["ulong xpuc_bx", "ulong xpuc_by", "ulong xpuc_bz",
                       "__local uchar *xpuc_scratch"]  # fmt: skip
            extra += ["bdim", "scratch"]
            for a, e in zip(args[-10:], [*_LOOP_IDS, "xpuc_dyn"], strict=True):
                self.alias(a, e)
            self.spaces[args[-1]] = "__local"
            self.arrays.append("  __local uchar *xpuc_sp = xpuc_scratch;")
        needs = self.program.needs[self.prefix + name]
        if needs.dyn or (self.loops and args[-1].uses):
            params.append("__local uchar *xpuc_dyn")
            extra.append("dyn")
        if needs.globals:
            params.append("__global uchar *xpuc_g")
            extra.append("globals")
        for s in sorted(needs.shared):
            self._shared_array(s)
        for a, value in converted:
            self.declare(a, value)
        self.body(k.regions[0])
        head = f"__kernel void {self.program.kernel_symbol(name)}({', '.join(params)})"
        self.program.kernel(k, head, self.finish(), reason, extra, self.scratch_allocas)

    def _shared_array(self, s: str) -> None:
        """A ``__shared__`` variable: a ``__local`` array; a half one is ``ushort`` storage
        (no half variables without cl_khr_fp16) seen through a ``__local half *``."""
        t, name = self.program.shared[s].type, self.program.shared_name(s)
        n, aligned = max(1, t.element_count()), "__attribute__((aligned(16)))"
        if isinstance(t.element_type, Float16Type):
            self.arrays.append(f"  __local ushort h{name}[{n}] {aligned};")
            self.arrays.append(f"  __local half *{name} = (__local half *)h{name};")
        else:
            elem = self.memory_type(t.element_type)
            self.arrays.append(f"  __local {elem} {name}[{n}] {aligned};")


def c_string(text: str) -> str:
    """A C string literal (``?`` escaped too: no trigraphs)."""
    escapes = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}
    out = [escapes.get(ch, ch if " " <= ch <= "~" and ch != "?" else
                       "".join(f"\\{b:03o}" for b in ch.encode())) for ch in text]  # fmt: skip
    return '"' + "".join(out) + '"'
