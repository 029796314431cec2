"""Mutation fuzzing of the CUDA frontend with the PolyBench-ACC kernels.

Each mutation changes the device code of one benchmark (a deleted, duplicated or
swapped token, an operator replaced by another, a random token inserted, the file
cut short) and compiles it for the cpu target down to LLVM IR.  A mutation passes
when the compile either succeeds or raises a located ``CompileError``
(``file:line:col: error: ...``); a Python traceback of any other kind, or an error
without a location, is a failure.

    python tests/conformance/fuzz_cuda.py [--per-file N] [--seed S] [--show]

prints one line per failure and, last, ``fuzz: M mutations, K rejected with located
errors, A accepted, F failures``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "conformance" / "polybench-acc" / "CUDA"
sys.path.insert(0, str(ROOT))

import xpuc  # noqa: E402
from xpuc.compiler.diagnostics import CompileError, XpucError  # noqa: E402

_TOKEN = re.compile(
    r"[A-Za-z_]\w*|\d+\.\d*[fF]?|\d+|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||\+\+|--|->|"
    r"[-+*/%=<>!&|^~?:;,.(){}\[\]]"
)
_OPERATORS = "+ - * / % < > <= >= == != && || & | ^ << >> = += -= ++ -- ! ~ ? : . ->".split()
_INSERTS = [*_OPERATORS, "(", ")", "{", "}", "[", "]", ";", ",", "int", "float", "return",
            "if", "else", "for", "while", "switch", "case", "break", "__syncthreads()",
            "threadIdx", "blockIdx.x", "0", "1.5f", "struct", "template", "<", ">"]  # fmt: skip


@dataclass
class Outcome:
    file: str
    mutation: str
    kind: str  # accepted | located | failure
    detail: str = ""


def kernel_tokens(text: str) -> list[re.Match]:
    """Tokens inside the bodies of __global__ functions."""
    spans = []
    for m in re.finditer(r"__global__", text):
        start = text.find("{", m.end())
        depth, i = 0, start
        while 0 <= i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        spans.append((m.start(), i + 1))
    return [t for t in _TOKEN.finditer(text) if any(a <= t.start() < b for a, b in spans)]


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    toks = kernel_tokens(text)
    t = rng.choice(toks)
    kind = rng.choice(["delete", "operator", "duplicate", "swap", "insert", "truncate"])
    a, b = t.start(), t.end()
    if kind == "delete":
        return text[:a] + text[b:], f"delete {t.group()!r} at {a}"
    if kind == "operator":
        ops = [x for x in toks if x.group() in _OPERATORS] or [t]
        t = rng.choice(ops)
        new = rng.choice(_OPERATORS)
        return text[: t.start()] + new + text[t.end() :], f"{t.group()!r} -> {new!r} at {t.start()}"
    if kind == "duplicate":
        return text[:b] + " " + t.group() + text[b:], f"duplicate {t.group()!r} at {a}"
    if kind == "swap":
        k = toks.index(t)
        if k + 1 < len(toks):
            u = toks[k + 1]
            swapped = text[:a] + u.group() + text[b : u.start()] + t.group() + text[u.end() :]
            return swapped, f"swap {t.group()!r} {u.group()!r} at {a}"
        return text[:a], f"truncate at {a}"
    if kind == "insert":
        new = rng.choice(_INSERTS)
        return text[:a] + new + " " + text[a:], f"insert {new!r} at {a}"
    return text[:a], f"truncate at {a}"


def run_one(path: Path, text: str, what: str) -> Outcome:
    bench = path.parent
    try:
        xpuc.compile(text, "cpu", filename=str(path), emit="llvm", opt_level=0,
                     include_dirs=[str(bench), str(DATA / "utilities")],
                     defines={"MINI_DATASET": "1"})  # fmt: skip
    except CompileError as e:
        if e.loc is None or e.loc.line < 1:
            return Outcome(path.name, what, "failure", f"no location: {e}")
        return Outcome(path.name, what, "located", str(e).splitlines()[0])
    except XpucError as e:
        return Outcome(path.name, what, "failure", f"unlocated {type(e).__name__}: {e}")
    except Exception:  # the point of the exercise: any traceback is a bug
        return Outcome(path.name, what, "failure", traceback.format_exc(limit=-3))
    return Outcome(path.name, what, "accepted")


def fuzz(per_file: int, seed: int, files: list[Path] | None = None) -> list[Outcome]:
    out = []
    for path in files or sorted(DATA.rglob("*.cu")):
        text = path.read_text()
        rng = random.Random(f"{seed}:{path.name}")
        for _ in range(per_file):
            mutated, what = mutate(text, rng)
            out.append(run_one(path, mutated, what))
    return out


def summary(results: list[Outcome]) -> str:
    count = {k: sum(r.kind == k for r in results) for k in ("located", "accepted", "failure")}
    return (f"fuzz: {len(results)} mutations, {count['located']} rejected with located errors, "
            f"{count['accepted']} accepted, {count['failure']} failures")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-file", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", action="store_true", help="print every mutation's outcome")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"skipped: conformance kernels not found at {DATA}")
        return 0
    results = fuzz(args.per_file, args.seed)
    for r in results:
        if r.kind == "failure" or args.show:
            print(f"{r.kind:9} {r.file}: {r.mutation}: {r.detail}")
    print(summary(results))
    return 1 if any(r.kind == "failure" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
