"""``xpuc``: compile, run and list targets.  Argument parsing and a library call, no more."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xpuc.compiler.diagnostics import CompileError, XpucError


def _defines(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        out[name] = value or "1"
    return out


def _dim3(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X[,Y[,Z]] integers, got '{text}'") from None
    if not 1 <= len(dims) <= 3 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected 1 to 3 positive integers, got '{text}'")
    return dims


def _instance(kernel: str | list[str] | None) -> list[str]:
    names = kernel if isinstance(kernel, list) else [kernel] if kernel else []
    return [k for k in names if "<" in k]


def _add_source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="kernel source (.cu, .mlir, or .py with @triton.jit kernels "
                                "or TVM PrimFuncs)")  # fmt: skip
    p.add_argument("--target", "-t", default="cpu", help="target, e.g. cpu or nvptx:sm_90")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR")
    p.add_argument("-D", dest="define", action="append", default=[], metavar="NAME[=VAL]")
    for level in range(4):
        p.add_argument(f"-O{level}", dest="opt", action="store_const", const=level)
    p.add_argument("--print-ir-after-all", action="store_true")
    p.add_argument("--print-ir-after", action="append", default=[], metavar="PASS")
    p.add_argument("--no-verify-each", action="store_true", help="skip verification after passes")
    p.add_argument("--timing", action="store_true", help="print the time of each pass and stage")
    p.add_argument(
        "--signature",
        metavar="CODES",
        help="Triton: argument types of the kernel, e.g. '*fp32,*fp32,i32'",
    )
    p.add_argument(
        "--constexpr",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Triton: a tl.constexpr argument's value",
    )
    p.add_argument("--num-warps", type=int, default=4, help="Triton: warps per program")
    p.add_argument("--instantiate", action="append", default=[], metavar="NAME<ARGS>",
                   help="compile this kernel template instance, e.g. 'matrixMul<32>'")  # fmt: skip


def _constexpr(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise XpucError(f"--constexpr takes NAME=VALUE, not '{item}'")
        for cast in (int, float):
            try:
                out[name] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[name] = {"True": True, "False": False}.get(value, value)
    return out


def _compile_triton(args, emit: str | None):
    """A ``@triton.jit`` kernel of a .py file: --kernel NAME --signature CODES --constexpr."""
    from xpuc.frontends.triton import compile as triton_compile
    from xpuc.frontends.triton import load_kernel

    names = args.kernel if isinstance(args.kernel, list) else [args.kernel] if args.kernel else []
    if len(names) != 1:
        raise XpucError(f"{args.file}: a Triton file needs one --kernel NAME")
    fn = load_kernel(args.file, names[0])
    consts = _constexpr(args.constexpr)
    codes = [c.strip() for c in (args.signature or "").split(",") if c.strip()]
    runtime = [a for a in fn.arg_names if a not in consts]
    if len(codes) != len(runtime):
        raise XpucError(f"kernel {names[0]} takes {len(runtime)} non-constexpr arguments "
                        f"({', '.join(runtime)}): give --signature with as many codes, e.g. "
                        f"'*fp32,i32'")  # fmt: skip
    sig = {a: "constexpr" if a in consts else codes[runtime.index(a)] for a in fn.arg_names}
    return triton_compile(fn, sig, consts, target=args.target, num_warps=args.num_warps,
                          emit=emit, opt_level=3 if args.opt is None else args.opt)  # fmt: skip


def _compile_tvm(args, emit: str | None):
    """A PrimFunc (or IRModule) of a .py file that builds it with TVM: --kernel NAME."""
    import runpy

    from xpuc.frontends.tvm import compile as tvm_compile

    names = args.kernel if isinstance(args.kernel, list) else [args.kernel] if args.kernel else []
    if len(names) != 1:
        raise XpucError(f"{args.file}: a TVM file needs one --kernel NAME")
    try:
        scope = runpy.run_path(args.file)
    except Exception as e:  # the user's file: report, no traceback
        raise XpucError(f"{args.file}: running it failed: {type(e).__name__}: {e}") from None
    if names[0] not in scope:
        raise XpucError(f"{args.file} defines no '{names[0]}'")
    return tvm_compile(scope[names[0]], args.target, emit=emit,
                       opt_level=3 if args.opt is None else args.opt)  # fmt: skip


def _uses_tvm(path: str) -> bool:
    import re

    try:
        text = open(path).read()
    except OSError as e:
        raise XpucError(f"{path}: cannot read: {e.strerror}") from None
    return re.search(r"^\s*(import tvm|from tvm\b)", text, re.MULTILINE) is not None


def _compile(args, emit: str | None):
    if args.file.endswith(".py"):
        if args.signature is None and _uses_tvm(args.file):
            return _compile_tvm(args, emit)
        return _compile_triton(args, emit)
    from xpuc.compiler.driver import compile_file
    from xpuc.compiler.pipeline import PipelineOptions

    popts = PipelineOptions(
        verify_each=not args.no_verify_each,
        print_ir_after_all=args.print_ir_after_all,
        print_ir_after=frozenset(args.print_ir_after),
    )
    art = compile_file(
        args.file, args.target, emit=emit, opt_level=3 if args.opt is None else args.opt,
        include_dirs=args.include, defines=_defines(args.define), pipeline=popts,
        kernels=[*args.instantiate, *_instance(getattr(args, "kernel", None))],
    )  # fmt: skip
    if args.timing and not hasattr(art, "entries"):
        total = sum(secs for name, secs in art.timings if not name.startswith("pass "))
        sys.stderr.write("===-- xpuc timing --===\n")
        for name, secs in art.timings:
            sys.stderr.write(f"  {secs * 1000:9.3f} ms  {name}\n")
        sys.stderr.write(f"  {total * 1000:9.3f} ms  total (stages)\n")
    return art


_EXT = {".mlir": "mlir", ".ll": "llvm", ".ptx": "asm", ".s": "asm", ".o": "obj",
        ".cubin": "bin", ".so": "bin", ".bin": "bin", ".hsaco": "bin", ".spv": "bin",
        ".cl": "asm"}  # fmt: skip


def cmd_compile(args) -> int:
    emit = args.emit
    if emit is None and args.output:
        emit = _EXT.get(Path(args.output).suffix)
    from xpuc.compiler.driver import EMIT_TO_STAGE
    from xpuc.compiler.fat import FatArtifact

    if "," in args.target:  # a fat artifact: each target's own default output
        if args.output in (None, "-"):
            raise XpucError("several targets make a fat artifact: give -o FILE (e.g. k.xpuc)")
        fat = _compile(args, args.emit)
        assert isinstance(fat, FatArtifact)
        fat.save(args.output)
        return 0
    art = _compile(args, emit or "asm")

    stage = EMIT_TO_STAGE[emit or "asm"]
    out = art.stages[stage]
    if args.output in (None, "-"):
        if isinstance(out, bytes):
            raise XpucError(f"--emit {emit} is binary: give -o FILE")
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
    else:
        path = Path(args.output)
        if isinstance(out, bytes):
            path.write_bytes(out)
        else:
            path.write_text(out)
    return 0


def cmd_run(args) -> int:
    from xpuc.runtime import load
    from xpuc.runtime.args import make_args, save_outputs

    if "," in args.target:
        raise XpucError("xpuc run takes one target (several make a fat file: xpuc compile)")
    threads = args.num_warps * 32
    if args.file.endswith(".py") and tuple(args.block) not in ((threads,), (threads, 1, 1)):
        raise XpucError(f"a Triton program runs as a block of num_warps x 32 = {threads} "
                        f"threads: give --block {threads}")  # fmt: skip
    art = _compile(args, None)  # what the target's runtime loads
    info = art.kernel(args.kernel)
    mod = load(art)
    values = make_args(info, args.args, args.seed)
    mod[args.kernel][args.grid, args.block, args.shared](*values)
    written = save_outputs(info, values, Path(args.out))
    for p in written:
        print(p)
    return 0


def cmd_targets(args) -> int:
    from xpuc.targets.registry import BROKEN, all_tags, families, get_target

    caps: dict[str, str] = {}
    print(f"{'target':<18} {'here':<30} description")
    for fam in families().values():
        for v in fam.variants:
            t = get_target(f"{fam.name}:{v}" if v else fam.name)
            caps[t.name] = t.capabilities()
            origin = "" if fam.variants[v][2].startswith("xpuc") else "  [plug-in]"
            print(f"{t.name:<18} {caps[t.name]:<30} {t.desc.description}{origin}")
    print(f"\n{'chip':<24} {'target':<18} {'here':<30} name")
    for tag, (target, note) in sorted(all_tags().items()):
        print(f"{tag:<24} {target:<18} {caps.get(target, ''):<30} {note}")
    for why in BROKEN.values():
        sys.stderr.write(f"xpuc: warning: {why}\n")
    return 0


def cmd_conformance(args) -> int:
    from xpuc.conformance import run

    results = run(args.target, select=args.case, opt_level=3 if args.opt is None else args.opt)
    return 0 if results and all(r.passed for r in results) else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xpuc", description="cross-architecture kernel compiler")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compile", help="compile a kernel file for a target")
    _add_source_options(c)
    c.add_argument("-o", "--output", help="output file ('-' or none: stdout)")
    c.add_argument("--kernel", "-k", action="append", default=[], metavar="NAME<ARGS>",
                   help="same as --instantiate")  # fmt: skip
    c.add_argument("--emit", choices=["mlir", "llvm", "asm", "obj", "bin"],
                   help="what to write (default: from -o's suffix, else asm)")  # fmt: skip
    c.set_defaults(func=cmd_compile)

    r = sub.add_parser("run", help="compile and launch one kernel on a target that runs here")
    _add_source_options(r)
    r.add_argument("--kernel", "-k", required=True)
    r.add_argument("--grid", type=_dim3, required=True, metavar="X[,Y,Z]")
    r.add_argument("--block", type=_dim3, required=True, metavar="X[,Y,Z]")
    r.add_argument("--seed", type=int, default=0, help="seed of generated inputs")
    r.add_argument("--shared", type=int, default=0, metavar="BYTES",
                   help="dynamic shared memory per block (<<<grid, block, BYTES>>>)")  # fmt: skip
    r.add_argument("--out", default=".", help="folder for the output .npy files")
    r.add_argument("args", nargs="*", help="FILE.npy | rand:N | zeros:N | ones:N | scalar")
    r.set_defaults(func=cmd_run)

    t = sub.add_parser("targets", help="list targets and what each can do here")
    t.set_defaults(func=cmd_targets)

    k = sub.add_parser("conformance", help="compile, validate and run the reference kernels")
    k.add_argument("--target", "-t", default="cpu", help="target or chip tag")
    k.add_argument("--case", default="", metavar="TEXT", help="only cases whose name has TEXT")
    for level in range(4):
        k.add_argument(f"-O{level}", dest="opt", action="store_const", const=level)
    k.set_defaults(func=cmd_conformance)

    from xpuc.comm import plan, topo_cli

    plan.add_parser(sub)
    topo_cli.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # `xpuc run FILE --kernel K ... ARGS...`: kernel arguments follow the options, which
    # argparse cannot take as one positional list; collect the leftovers instead.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.command != "run" or any(e.startswith("--") for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.args = [*args.args, *extra]
    try:
        return args.func(args)
    except CompileError as e:
        sys.stderr.write(f"{e}\n" if e.loc else f"xpuc: {e}\n")
        return 1
    except XpucError as e:
        sys.stderr.write(f"xpuc: error: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
