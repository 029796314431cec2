"""The ``cpu`` family: SIMT kernels as loops, compiled by LLVM for the host or a CPU triple.

``convert-simt-to-loops`` turns each kernel into a function that runs one thread block.
A launch wrapper (``__xpuc_launch_<kernel>``) with a fixed C signature runs a range of
blocks; the runtime calls it from a thread pool, one range per core.  Its arguments:

    void __xpuc_launch_K(void **params, int64 first_block, int64 end_block,
                         int64 grid_x, grid_y, grid_z, block_x, block_y, block_z,
                         void *dynamic_shared)

``params`` holds one pointer per kernel argument, pointing at the argument's value,
as CUDA's ``cuLaunchKernel`` takes them; ``dynamic_shared`` is the calling worker's
buffer for ``extern __shared__`` memory (the blocks of one range run one at a time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import llvmlite.binding as llvm
import llvmlite.ir as ir

from xpuc.targets.base import Target, TargetDesc
from xpuc.targets.llvm.translate import I64, LLVMHooks, Translator

LAUNCH_PREFIX = "__xpuc_launch_"


class CPUHooks(LLVMHooks):
    def function(self, t: Translator, fn: ir.Function, op) -> None:
        if "xpu.kernel" in op.attributes:
            fn.attributes.add("nounwind")
        else:
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")


@dataclass
class CPUTarget(Target):
    family: ClassVar[str] = "cpu"
    emits: ClassVar[tuple[str, ...]] = ("mlir", "llvm", "asm", "obj", "bin")

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

    def capabilities(self) -> str:
        host = llvm.get_process_triple().split("-")[0]
        return "compile + run" if self.desc.triple.split("-")[0] == host else "compile"


def _launch_wrapper(module: ir.Module, kernel: ir.Function) -> None:
    ptr = ir.PointerType()
    fnty = ir.FunctionType(ir.VoidType(), [ptr, *[I64] * 8, ptr])
    fn = ir.Function(module, fnty, name=LAUNCH_PREFIX + kernel.name)
    fn.attributes.add("nounwind")
    params, first, end, gx, gy, gz, bx, by, bz, smem = fn.args
    entry = fn.append_basic_block("entry")
    head = fn.append_basic_block("head")
    body = fn.append_basic_block("body")
    done = fn.append_basic_block("done")
    b = ir.IRBuilder(entry)
    nuser = len(kernel.args) - 10
    args = []
    for i in range(nuser):
        slot = b.load(b.gep(params, [ir.Constant(I64, i)], source_etype=ptr), typ=ptr)
        args.append(b.load(slot, typ=kernel.args[i].type))
    b.branch(head)
    b.position_at_end(head)
    blk = b.phi(I64)
    blk.add_incoming(first, entry)
    b.cbranch(b.icmp_signed("<", blk, end), body, done)
    b.position_at_end(body)
    bxid = b.urem(blk, gx)
    rest = b.udiv(blk, gx)
    byid = b.urem(rest, gy)
    bzid = b.udiv(rest, gy)
    b.call(kernel, [*args, bxid, byid, bzid, gx, gy, gz, bx, by, bz, smem])
    nxt = b.add(blk, ir.Constant(I64, 1))
    blk.add_incoming(nxt, body)
    b.branch(head)
    b.position_at_end(done)
    b.ret_void()


def host_desc() -> TargetDesc:
    return TargetDesc(
        family="cpu", variant="", triple=llvm.get_process_triple(),
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
        warp_size=32, max_threads_per_block=1024, max_shared_memory=48 * 1024,
        binary_format="elf", description="this machine's CPU (JIT-compiled, all cores)",
    )  # fmt: skip


VARIANTS = {"": host_desc}
