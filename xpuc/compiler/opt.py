"""``xpuc-opt``: run a pass pipeline over an MLIR file, as ``mlir-opt`` does."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xpuc.compiler.diagnostics import CompileError, XpucError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="xpuc-opt", description="run passes over shared IR")
    p.add_argument("file", nargs="?", default="-", help="input .mlir ('-' for stdin)")
    p.add_argument("-p", "--passes", default="", help="pipeline, e.g. 'canonicalize,cse'")
    p.add_argument("-o", "--output", default="-")
    p.add_argument("--print-ir-after-all", action="store_true")
    p.add_argument("--no-verify-each", action="store_true")
    p.add_argument(
        "--verify-diagnostics",
        action="store_true",
        help="print verifier errors to stdout and exit 0 (for invalid.mlir tests)",
    )
    p.add_argument("--list-passes", action="store_true")
    args = p.parse_args(argv)

    from xpuc.compiler.driver import parse_mlir
    from xpuc.compiler.pipeline import PipelineOptions, build_passes, print_module, run_passes
    from xpuc.dialects.registry import make_context
    from xpuc.passes.registry import get_all_passes

    if args.list_passes:
        print("\n".join(sorted(get_all_passes())))
        return 0
    name = "<stdin>" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        chunks = text.split("\n// -----\n") if args.verify_diagnostics else [text]
        outputs = []
        for chunk in chunks:
            try:
                module = parse_mlir(chunk, name)
            except CompileError as e:
                if args.verify_diagnostics:
                    outputs.append(f"error: {e.message}\n")
                    continue
                raise
            popts = PipelineOptions(verify_each=not args.no_verify_each,
                                    print_ir_after_all=args.print_ir_after_all)  # fmt: skip
            run_passes(make_context(), module, build_passes(args.passes), popts)
            import io

            buf = io.StringIO()
            print_module(module, buf)
            outputs.append(buf.getvalue())
        result = "// -----\n".join(outputs)
        if args.output == "-":
            sys.stdout.write(result)
        else:
            Path(args.output).write_text(result)
    except CompileError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    except (XpucError, OSError) as e:
        sys.stderr.write(f"xpuc-opt: error: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
