"""The compile driver: an ordered set of named stages, as Triton's compiler has them.

    source -> mlir -> opt -> lowered -> llir -> asm -> obj -> bin

``mlir`` is the shared IR a frontend produced; ``opt`` the shared IR after the
target-independent passes; ``lowered`` after the target's lowering passes; ``llir``
the optimized LLVM IR; ``asm`` PTX or machine assembly; ``obj`` an object file;
``bin`` what the chip's driver loads (cubin, ELF).  Stage names double as the
``--emit`` vocabulary (``mlir`` -> opt, ``llvm`` -> llir) and as file extensions.
This module wires frontends, passes and targets together and holds no compiler
logic of its own.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import llvmlite.binding as llvm
from xdsl.dialects import func, gpu
from xdsl.dialects.builtin import ArrayAttr, IntegerAttr, ModuleOp, StringAttr
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError

from xpuc.compiler.artifact import Artifact, KernelInfo
from xpuc.compiler.diagnostics import CompileError, Location, TargetError, XpucError
from xpuc.compiler.fat import FatArtifact
from xpuc.compiler.pipeline import PipelineOptions, build_passes, print_module, run_passes
from xpuc.dialects.registry import make_context
from xpuc.passes.memory_effects import written_args
from xpuc.targets.limits import shared_bytes
from xpuc.targets.llvm.isolate import isolated
from xpuc.targets.llvm.translate import Translator, parallel_loop_metadata
from xpuc.targets.registry import get_target

STAGES = ("source", "mlir", "opt", "lowered", "llir", "asm", "obj", "bin")
EMIT_TO_STAGE = {"mlir": "opt", "llvm": "llir", "asm": "asm", "obj": "obj", "bin": "bin"}

# Target-independent optimization of the shared IR, per -O level.
_OPT = "forward-slot-stores,canonicalize,cse"
OPT_PIPELINES = {0: "", 1: _OPT, 2: _OPT, 3: _OPT}


@dataclass
class CompileOptions:
    opt_level: int = 3
    include_dirs: list[str] = field(default_factory=list)
    defines: dict[str, str] = field(default_factory=dict)
    pipeline: PipelineOptions = field(default_factory=PipelineOptions)
    kernels: list[str] = field(default_factory=list)  # template instances to compile


def _language(filename: str) -> str:
    suffix = Path(filename).suffix
    if suffix in (".cu", ".cuh"):
        return "cuda"
    if suffix == ".mlir":
        return "mlir"
    raise XpucError(f"{filename}: cannot tell the source language from '{suffix}' (.cu, .mlir)")


def parse_mlir(text: str, filename: str = "<mlir>") -> ModuleOp:
    ctx = make_context()
    try:
        module = Parser(ctx, text, filename).parse_module()
        module.verify()
    except ParseError as e:
        loc = e.span.get_location()
        line, col = loc.line, loc.col
        msg = e.msg
        raise CompileError(
            msg, Location(filename, line, col), text.splitlines()[line - 1]
        ) from None
    except Exception as e:  # VerifyException and friends: report without a traceback
        raise CompileError(
            f"invalid IR: {str(e).splitlines()[0]}", Location(filename, 1, 1)
        ) from None
    return module


def frontend(source: str | ModuleOp, filename: str, language: str, opts: CompileOptions,
             ) -> ModuleOp:  # fmt: skip
    if isinstance(source, ModuleOp):  # the shared IR, built by a frontend in this process
        return source.clone()
    if language == "cuda":
        from xpuc.frontends.cuda import parse_cuda

        return parse_cuda(source, filename, opts.include_dirs, opts.defines, opts.kernels)
    if language == "mlir":
        return parse_mlir(source, filename)
    raise XpucError(f"unknown source language '{language}'")


def kernel_infos(module: ModuleOp, max_threads: int) -> list[KernelInfo]:
    infos = []
    for op in module.walk():
        is_gpu_kernel = isinstance(op, gpu.FuncOp) and op.kernel is not None
        is_cpu_kernel = isinstance(op, func.FuncOp) and "xpu.kernel" in op.attributes
        if not (is_gpu_kernel or is_cpu_kernel):
            continue
        types = op.attributes.get("xpu.arg_types")
        names = op.attributes.get("xpu.arg_names")
        n = len(op.function_type.inputs) - (10 if is_cpu_kernel else 0)
        tlist = [s.data for s in types.data] if isinstance(types, ArrayAttr) else []
        if len(tlist) != n:
            tlist = [_code(t) for t in op.function_type.inputs.data[:n]]
        nlist = [s.data for s in names.data] if isinstance(names, ArrayAttr) else []
        if len(nlist) != n:
            nlist = [f"arg{i}" for i in range(n)]
        symbol = op.sym_name.data
        src = op.attributes.get("xpu.source_name")
        name = src.data if isinstance(src, StringAttr) else symbol
        bound = op.attributes.get("xpu.max_threads")  # __launch_bounds__
        limit = max_threads
        if isinstance(bound, IntegerAttr):
            limit = min(max_threads, bound.value.data)
        info = KernelInfo(name, tlist, nlist, shared_bytes(module, op), limit,
                          symbol if name != symbol else "")  # fmt: skip
        if is_gpu_kernel and len(op.function_type.inputs) == len(tlist):
            written = set(written_args(module, op))
            info.readonly_args = [i for i, c in enumerate(tlist)
                                  if c.startswith("*") and i not in written]  # fmt: skip
        infos.append(info)
    return infos


def _code(t) -> str:
    from xdsl.dialects.builtin import MemRefType

    if isinstance(t, MemRefType):
        return "*" + _code(t.element_type)
    return str(t)


class _Clock:
    def __init__(self, timings: list[tuple[str, float]]):
        self.timings = timings

    def __call__(self, name: str):
        clock = self

        class _Span:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                clock.timings.append((name, time.perf_counter() - self.start))

        return _Span()


def compile(  # noqa: A001 - the library's verb, as in triton.compile
    source: str | ModuleOp,
    target: str | list[str] = "cpu",
    *,
    filename: str | None = None,
    language: str | None = None,
    emit: str | None = None,
    opt_level: int = 3,
    include_dirs: list[str] | None = None,
    defines: dict[str, str] | None = None,
    pipeline: PipelineOptions | None = None,
    kernels: list[str] | None = None,
    signature: dict[str, str] | None = None,
    constexprs: dict | None = None,
    num_warps: int = 4,
) -> Artifact | FatArtifact:
    """Compile kernel source text for one target.  Returns an :class:`Artifact`.

    ``source`` may also be a shared-IR ``ModuleOp`` (a frontend's output; it is cloned,
    not changed), or a ``@triton.jit`` function, compiled with ``signature``,
    ``constexprs`` and ``num_warps`` (see :func:`xpuc.triton.compile`).

    ``emit`` names the last output wanted (mlir, llvm, asm, obj, bin); by default the
    CPU stops at LLVM IR (``xpuc.load`` JIT-compiles it) and nvptx at the cubin when
    ptxas is found, else at PTX.  ``kernels`` names kernel template instances to compile
    (``["matrixMul<32>"]``) besides those the source's host code launches.

    Several targets (``"nvptx:sm_90,amdgpu:gfx942,cpu"`` or a list) give a
    :class:`~xpuc.compiler.fat.FatArtifact` with one artifact per target.
    """
    if not isinstance(source, str | ModuleOp) and hasattr(source, "arg_names"):  # @triton.jit
        from xpuc.frontends.triton import compile as compile_triton

        if signature is None:
            raise XpucError("compiling a Triton kernel needs its signature= (name -> type code)")
        return compile_triton(source, signature, constexprs, target, num_warps, emit=emit,
                              opt_level=opt_level, pipeline=pipeline)  # fmt: skip
    targets = target if isinstance(target, list | tuple) else target.split(",")
    if len(targets) > 1:
        fat = FatArtifact()
        for t in targets:
            art = compile(source, t.strip(), filename=filename, language=language, emit=emit,
                          opt_level=opt_level, include_dirs=include_dirs, defines=defines,
                          pipeline=pipeline, kernels=kernels)  # fmt: skip
            if art.target in fat.entries:
                raise TargetError(f"target {art.target} is named twice")
            fat.entries[art.target] = art
        return fat
    target = targets[0].strip()
    filename = filename or ("<source>.cu" if language in (None, "cuda") else "<source>")
    language = language or _language(filename)
    if opt_level not in (0, 1, 2, 3):
        raise XpucError(f"optimization level must be 0..3, not {opt_level}")
    opts = CompileOptions(opt_level, list(include_dirs or []), dict(defines or {}),
                          pipeline or PipelineOptions(), list(kernels or []))  # fmt: skip
    tgt = get_target(target)
    emit = emit or tgt.default_emit
    if emit not in EMIT_TO_STAGE or emit not in tgt.emits:
        raise TargetError(
            f"target {tgt.name} cannot emit '{emit}' (it emits {', '.join(tgt.emits)})"
        )
    last = STAGES.index(EMIT_TO_STAGE[emit])

    art = Artifact(target=tgt.name, kernels=[], opt_level=opt_level)  # tags resolved
    clock = _Clock(art.timings)
    art.stages["source"] = _text(source) if isinstance(source, ModuleOp) else source
    ctx = make_context()
    pass_times: list = []

    with clock("frontend"):
        module = frontend(source, filename, language, opts)
    art.stages["mlir"] = _text(module)
    art.kernels = kernel_infos(module, tgt.desc.max_threads_per_block)
    for k in art.kernels:
        k.max_shared_memory = tgt.desc.max_shared_memory
    tgt.check_limits(module)

    with clock("optimize (shared IR)"):
        run_passes(ctx, module, build_passes(OPT_PIPELINES[opt_level]), opts.pipeline, pass_times)
    art.stages["opt"] = _text(module)
    if last <= STAGES.index("opt"):
        return _done(art, pass_times)

    with clock(f"lower ({tgt.family})"):
        run_passes(ctx, module, build_passes(",".join(tgt.lowering_passes())), opts.pipeline,
                   pass_times)  # fmt: skip
    art.stages["lowered"] = _text(module)
    if tgt.renders_source:  # OpenCL C: printed from the lowered shared IR, no LLVM
        with clock(f"render ({tgt.family})"):
            art.stages["asm"] = tgt.render(module)
        if last >= STAGES.index("bin"):
            art.stages["bin"] = tgt.binary(str(art.stages["asm"]), None)
        return _done(art, pass_times)

    with clock("translate to LLVM IR"):
        layout = str(tgt.target_machine(opt_level).target_data)
        llmod = Translator(tgt.hooks, tgt.desc.triple, layout).translate(module)
        tgt.finalize_llvm(llmod, [k.link_name for k in art.kernels])
        try:
            ref = llvm.parse_assembly(parallel_loop_metadata(str(llmod)))
            ref.verify()
        except RuntimeError as e:
            raise XpucError(f"internal error: generated LLVM IR is invalid: {e}") from None
    with clock("link device libraries"):
        tgt.link(ref)
    with clock(f"LLVM -O{opt_level}"):
        ref = optimize_isolated(tgt, ref, opt_level)
    art.stages["llir"] = str(ref)
    if last <= STAGES.index("llir"):
        return _done(art, pass_times)

    with clock("codegen (asm)"):
        art.stages["asm"] = tgt.assemble(ref, opt_level)
    obj = None
    if last >= STAGES.index("obj") and "obj" in tgt.emits:
        with clock("codegen (obj)"):
            obj = tgt.object(ref, opt_level)
            art.stages["obj"] = obj
    if last >= STAGES.index("bin"):
        with clock(f"binary ({tgt.desc.binary_format})"):
            art.stages["bin"] = tgt.binary(str(art.stages["asm"]), obj)
    return _done(art, pass_times)


def _done(art: Artifact, pass_times: list) -> Artifact:
    art.timings = [(f"pass {t.name}", t.seconds) for t in pass_times] + art.timings
    return art


def _text(module: ModuleOp) -> str:
    import io

    buf = io.StringIO()
    print_module(module, buf)
    return buf.getvalue()


def optimize_isolated(tgt, ref: llvm.ModuleRef, opt_level: int) -> llvm.ModuleRef:
    """``tgt.optimize`` in a forked child (:mod:`xpuc.targets.llvm.isolate`): LLVM's
    optimizer can abort the process on an internal assertion (its loop vectorizer's
    cost models disagreeing, seen on some reduction loops on the cpu target).  When the
    child dies, the optimization runs again without the loop vectorizer, which is what
    failed so far.  Only CPU targets, where loops are vectorized (a GPU module carries
    libdevice, too big to pass back and forth cheaply)."""
    if opt_level <= 0 or not hasattr(os, "fork") or tgt.family != "cpu":
        tgt.optimize(ref, opt_level)
        return ref
    text = str(ref)

    def run(vectorize: bool) -> str:
        mod = llvm.parse_assembly(text)
        tgt.loop_vectorize = vectorize
        tgt.optimize(mod, opt_level)
        return str(mod)

    try:
        out = isolated(lambda: run(True), "LLVM optimization")
    except TargetError:
        out = isolated(lambda: run(False), "LLVM optimization (loop vectorizer off)")
    return llvm.parse_assembly(out)


def compile_file(path: str | Path, target: str | list[str] = "cpu", **kwargs):
    """Compile a file; its suffix picks the frontend (.cu, .mlir)."""
    path = Path(path)
    try:
        source = path.read_text()
    except OSError as e:
        raise XpucError(f"{path}: cannot read: {e.strerror}") from None
    return compile(source, target, filename=str(path), **kwargs)


__all__ = ["STAGES", "CompileOptions", "compile", "compile_file"]
