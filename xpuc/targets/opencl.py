"""The ``opencl`` family: OpenCL C printed from the SIMT-level shared IR.

No LLVM: the optimized shared IR is printed as OpenCL C 1.2 (``--emit asm``) and the
OpenCL driver compiles it when the program is loaded (on this machine PoCL, through
pyopencl; see ``runtime/opencl.py``).  A kernel becomes a ``__kernel`` whose
work-items are CUDA's threads; kernels with warp operations or with barriers part
of a block may skip run one work-item per block, as loops (``opencl_modes.py``).
``docs/opencl.md`` describes the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from xdsl.dialects import func, gpu
from xdsl.dialects.builtin import ModuleOp

from xpuc.compiler.diagnostics import TargetError, ToolNotFoundError
from xpuc.targets.base import Target, TargetDesc
from xpuc.targets.limits import element_code
from xpuc.targets.opencl_c import OpenCLRenderer
from xpuc.targets.opencl_modes import device_functions, loop_reason
from xpuc.targets.opencl_program import Program


def render_program(module: ModuleOp) -> str:
    """The OpenCL C text of every kernel of a module (and the device functions they call)."""
    program = Program()
    program.layout(module)
    kernels = [op for op in module.walk() if isinstance(op, gpu.FuncOp) and op.kernel is not None]
    funcs = device_functions(module)
    reasons = {k.sym_name.data: loop_reason(k, funcs) for k in kernels}
    if any(element_code(v.type) == "f64" for op in module.walk() for v in (*op.results,
           *op.operands)):  # fmt: skip
        program.extensions.add("cl_khr_fp64")
    program.analyze(module, "")
    simt = OpenCLRenderer(funcs, program, loops=False)
    for k in kernels:
        if reasons[k.sym_name.data] is None:
            simt.kernel(k, None)
    if any(reasons.values()):
        lowered = _as_loops(module, {n for n, r in reasons.items() if r})
        program.analyze(lowered, "l")
        loops = OpenCLRenderer(device_functions(lowered), program, loops=True)
        for f in lowered.walk():
            if isinstance(f, func.FuncOp) and "xpu.kernel" in f.attributes:
                loops.kernel(f, reasons[f.sym_name.data])
    while program.pending:
        renderer, name, spaces = program.pending.pop(0)
        renderer.device_function(name, spaces)
    return program.text()


def _as_loops(module: ModuleOp, names: set[str]) -> ModuleOp:
    """A copy of the module holding only the named kernels, each lowered to a function
    that runs one block as loops (the cpu target's ``convert-simt-to-loops``)."""
    from xdsl.utils.exceptions import DiagnosticException

    from xpuc.dialects.registry import make_context
    from xpuc.passes.convert_simt_to_loops import ConvertSimtToLoops

    copy = module.clone()
    for op in list(copy.walk()):
        if isinstance(op, gpu.FuncOp) and op.kernel is not None and op.sym_name.data not in names:
            op.parent_block().erase_op(op)
    try:
        ConvertSimtToLoops(warp_size=32).apply(make_context(), copy)
    except DiagnosticException as e:
        raise TargetError(f"opencl: {e}") from None
    return copy


@dataclass
class OpenCLTarget(Target):
    family: ClassVar[str] = "opencl"
    renders_source: ClassVar[bool] = True
    emits: ClassVar[tuple[str, ...]] = ("mlir", "asm")
    default_emit: ClassVar[str] = "asm"

    def lowering_passes(self) -> list[str]:
        return []  # the renderer prints structured control flow as it is

    def render(self, module: ModuleOp) -> str:
        return render_program(module)

    def can_run(self) -> bool:
        from xpuc.runtime.opencl import find_device

        return find_device() is not None

    def load(self, artifact):
        from xpuc.runtime.opencl import OpenCLModule

        return OpenCLModule(artifact)

    def validate(self, artifact) -> str:
        """Build the program with the OpenCL driver; return which driver built it."""
        from xpuc.runtime.opencl import build, device_label, find_device, missing_reason

        if "asm" not in artifact.stages:
            raise TargetError(f"{self.name}: the artifact holds no OpenCL C (emit asm)")
        device = find_device()
        if device is None:
            raise ToolNotFoundError(f"no OpenCL device to build with: {missing_reason()}")
        build(str(artifact.stages["asm"]))
        return device_label(device)

    def capabilities(self) -> str:
        from xpuc.runtime.opencl import find_device, platform_label

        device = find_device()
        return f"compile + run ({platform_label(device)})" if device else "compile"


_INTRINSICS = (
    ("thread ids", "get_local_id/get_group_id/get_local_size/get_num_groups"),
    ("barrier", "barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)"),
    ("shuffle, vote", "a block run as loops by one work-item (no sub-groups needed)"),
    ("atomics", "atomic_*/atom_*, compare-and-swap loops for floats"),
    ("printf", "OpenCL printf"),
)  # fmt: skip

OpenCLTarget.variants = {
    "": lambda: TargetDesc(
        "opencl",
        "",
        "",
        warp_size=32,
        max_threads_per_block=1024,
        max_shared_memory=48 * 1024,
        binary_format="OpenCL C",
        math_library="OpenCL C built-ins",
        intrinsics=_INTRINSICS,
        description="OpenCL C 1.2 source, built by the OpenCL driver at load (PoCL here)",
    )  # fmt: skip
}
