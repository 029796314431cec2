"""Preprocessing of a ``.cu`` file as nvcc does it, and the cut between host and device code.

pcpp runs the C preprocessor (``-I`` paths, the file's own directory, ``-D`` macros);
system and CUDA headers that are not on the machine resolve to xpuc's stand-ins in
``include/`` or are dropped.  The output keeps ``#line`` markers, from which every
position the parser reports is mapped back to the user's file and line.

Host code is not parsed at all: every top-level function definition that carries
``__global__`` or ``__device__`` is kept and everything else is blanked to spaces, so
line and column numbers in the kept text stay exactly those of the preprocessed file.
"""

from __future__ import annotations

import io
import os
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

import pcpp

from xpuc.compiler.diagnostics import CompileError, Location

_STUB_DIR = str(Path(__file__).with_name("include"))
_LINE_RE = re.compile(r'^#line (\d+) "(.*)"\s*$')


class _Preprocessor(pcpp.Preprocessor):
    def __init__(self) -> None:
        super().__init__()
        self.errors: list[CompileError] = []

    def on_include_not_found(self, is_malformed, is_system_include, curdir, includepath):
        if is_system_include:
            # A system header we have no stand-in for: device code needs nothing from
            # it (host code is skipped), so drop the include as nvcc users expect.
            raise pcpp.OutputDirective(pcpp.Action.IgnoreAndRemove)
        return super().on_include_not_found(is_malformed, is_system_include, curdir, includepath)

    def on_error(self, file, line, msg):
        self.errors.append(CompileError(msg, Location(file, line, 1)))
        self.return_code += 1

    def on_comment(self, tok):
        return True  # keep comments: they keep columns stable; the parser skips them

    def on_directive_unknown(self, directive, toks, ifpassthru, precedingtoks):
        if directive.value == "pragma":
            return True
        if directive.value in ("error", "warning"):
            if directive.value == "error":
                text = "".join(t.value for t in toks).strip()
                loc = Location(directive.source, directive.lineno, 1)
                self.errors.append(CompileError(f"#error {text}", loc))
                self.return_code += 1
            return True  # a #warning is dropped, as nvcc -w would
        return super().on_directive_unknown(directive, toks, ifpassthru, precedingtoks)


@dataclass
class Preprocessed:
    """Preprocessed text with host code blanked, and the map back to user files."""

    text: str
    line_starts: list[int] = field(default_factory=list)
    # for each output line (0-based), the (file, line) it came from
    origins: list[tuple[str, int]] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    original: str = ""  # the preprocessed text before host code was blanked

    def location(self, line: int, col: int) -> Location:
        """Map a 1-based (line, col) in ``text`` to the user's file."""
        if 1 <= line <= len(self.origins):
            file, orig = self.origins[line - 1]
            return Location(file, orig, col)
        return Location("<unknown>", line, col)

    def error(self, message: str, line: int, col: int) -> CompileError:
        loc = self.location(line, col)
        src = self.sources.get(loc.file)
        text = src[loc.line - 1] if src and 0 < loc.line <= len(src) else None
        return CompileError(message, loc, text)


def preprocess(
    source: str,
    filename: str,
    include_dirs: list[str] | tuple[str, ...] = (),
    defines: dict[str, str] | None = None,
) -> Preprocessed:
    pp = _Preprocessor()
    pp.line_directive = "#line"
    pp.compress = 0
    for name, value in (defines or {}).items():
        pp.define(f"{name} {value}")
    pp.define("__CUDACC__ 1")
    pp.define("__NVCC__ 1")
    pp.define("__CUDA_ARCH__ 900")
    for attr in ("__align__(n)", "__noinline__", "__inline__"):
        pp.define(f"{attr} ")
    pp.define("__launch_bounds__(...) __xpuc_launch_bounds__(__VA_ARGS__)")
    base = os.path.dirname(os.path.abspath(filename)) if os.path.exists(filename) else "."
    pp.add_path(base)
    for d in include_dirs:
        pp.add_path(d)
    pp.add_path(_STUB_DIR)
    out = io.StringIO()
    try:
        pp.parse(source, filename)
        pp.write(out)
    except (IndexError, ValueError, TypeError, AttributeError, KeyError) as e:
        # pcpp fails this way on malformed directives (an empty #if, ...)
        line = _last_line(pp)
        raise _with_source(
            CompileError(
                f"malformed preprocessor directive ({type(e).__name__})",
                Location(filename, line, 1),
            ),
            filename,
            source,
        ) from None
    if pp.errors:
        err = pp.errors[0]
        raise _with_source(err, filename, source)
    return _map_lines(out.getvalue(), filename, source)


def _last_line(pp: _Preprocessor) -> int:
    """The line pcpp reached (its lexer's position), for errors pcpp itself does not locate."""
    lexer = getattr(pp, "lexer", None)
    return max(getattr(lexer, "lineno", 1) or 1, 1)


def _with_source(err: CompileError, filename: str, source: str) -> CompileError:
    if err.loc:
        err = CompileError(err.message, Location(_user_path(err.loc.file, filename),
                                                 err.loc.line, err.loc.col))  # fmt: skip
    if err.loc and err.loc.file == filename:
        lines = source.splitlines()
        if 0 < err.loc.line <= len(lines):
            return CompileError(err.message, err.loc, lines[err.loc.line - 1])
    return err


def _map_lines(text: str, filename: str, source: str) -> Preprocessed:
    lines = text.split("\n")
    origins: list[tuple[str, int]] = []
    cur_file, cur_line = filename, 1
    kept: list[str] = []
    for ln in lines:
        m = _LINE_RE.match(ln)
        if m:
            cur_line, cur_file = int(m.group(1)), _user_path(m.group(2), filename)
            kept.append("")  # the marker itself becomes an empty line
            origins.append((cur_file, cur_line))
            continue
        kept.append(ln)
        origins.append((cur_file, cur_line))
        cur_line += 1
    sources: dict[str, list[str]] = {filename: source.splitlines()}
    for f, _ in origins:
        if f not in sources and os.path.exists(f):
            sources[f] = Path(f).read_text(errors="replace").splitlines()
    pre = Preprocessed("\n".join(kept), origins=origins, sources=sources)
    pre.line_starts = _line_starts(pre.text)
    pre.original = pre.text
    pre.text = keep_device_code(pre.text)
    return pre


def _user_path(path: str, filename: str) -> str:
    """pcpp writes paths relative to the working directory; keep the user's spelling."""
    if path == filename:
        return filename
    try:
        if os.path.exists(filename) and os.path.samefile(path, filename):
            return filename
    except OSError:
        pass
    return path


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


_TOKEN_RE = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|^[ \t]*#[^\n]*'
    r"|[A-Za-z_]\w*|[{}();]|\n|.",
    re.S | re.M,
)
_DEVICE_WORDS = {"__global__", "__device__", "__shared__", "__constant__", "__managed__"}
_TRANSPARENT_RE = re.compile(r'^\s*(extern\s*"C"|namespace(\s+\w+)?)\s*$')
_COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
# Top-level data declarations shared by host and device code: kept when they hold no
# function-like parentheses (a struct with member functions is host code to us).
_DATA_RE = re.compile(r"^\s*(typedef|struct|union|enum|class)\b")
# Plain data that names C++ library types (std::vector, templates) is host-only.
_HOST_TYPES_RE = re.compile(r"::|\b[A-Za-z_]\w*\s*<(?!<)\s*[A-Za-z_]")
# Scalar constants and type aliases at file scope, which device code may use:
# `constexpr int W = 3;`, `static const float PI = 3.14f;`, `using real = float;`.
_CONST_RE = re.compile(
    r"^\s*(static\s+)?(constexpr|const)\s+(static\s+)?(const\s+)?((un)?signed\s+)?"
    r"(int|float|double|long|short|char|unsigned|size_t|bool|auto|int\d+_t|uint\d+_t)\b"
    r"[^;{}\"'*&\[]*;$"
    r"|^\s*using\s+\w+\s*=\s*[\w\s*]+;$"
)
# Text blanked inside kept code: namespace qualifiers (namespaces are flattened, so
# ``cg::sync`` is ``sync``) and ``extern "C"`` linkage.
_BLANK_RE = re.compile(r'\b[A-Za-z_]\w*\s*::(?!\s*[~*])|(?<![\w:])::|extern\s*"C"')


def _strip_comments(text: str) -> str:
    return _COMMENT_RE.sub(" ", text)


def keep_device_code(text: str) -> str:
    """Blank everything but device code at the top level.

    Kept: ``__global__``/``__device__`` function definitions and prototypes (with a
    ``template<...>`` head), ``__shared__``/``__constant__``/``__device__`` variables,
    and plain-data ``struct``/``typedef``/``enum`` declarations.
    """
    keep = bytearray(len(text))  # 1 where the character is kept
    depth = 0
    transparent = 0  # open extern "C" / namespace blocks
    decl_start = 0  # start of the current top-level declaration
    device = False
    kind = ""  # what the open top-level braces belong to: fn, data or host

    def mark(start: int, end: int) -> None:
        keep[start:end] = b"\x01" * (end - start)

    for m in _TOKEN_RE.finditer(text):
        tok = m.group()
        if depth == 0:
            if tok in _DEVICE_WORDS:
                device = True
            elif tok == ";":
                decl = _strip_comments(text[decl_start : m.end()])
                data = _DATA_RE.match(decl) and ("(" not in decl or kind == "data")
                data = data and not _HOST_TYPES_RE.search(decl)
                data = data or _CONST_RE.match(decl.strip()) is not None
                if device or data or kind == "data":
                    mark(decl_start, m.end())
                device, kind, decl_start = False, "", m.end()
            elif tok == "{":
                head = _strip_comments(text[decl_start : m.start()])
                if _TRANSPARENT_RE.match(head):
                    # extern "C" { ... } and namespace N { ... } hold top-level code
                    transparent += 1
                    device, decl_start = False, m.end()
                    continue
                if device and "=" in head and "(" not in head:
                    kind = "data"  # a __device__/__constant__ variable's initializer
                elif device:
                    kind = "fn"
                elif _DATA_RE.match(head) and "(" not in head and not _HOST_TYPES_RE.search(head):
                    kind = "data"
                else:
                    kind = "host"
                depth = 1
                continue
            elif tok == "}" and transparent:
                transparent -= 1
                device, decl_start = False, m.end()
            elif tok == "}":
                mark(m.start(), m.end())  # unbalanced: let the parser report it
            elif tok[0] == "#":
                decl_start = m.end()
        else:
            if tok == "{":
                depth += 1
            elif tok == "}":
                depth -= 1
                if depth == 0:
                    if kind == "fn":
                        mark(decl_start, m.end())
                    if kind == "data":
                        body = _strip_comments(text[decl_start : m.end()])
                        host_fns = "(" in body and not device and "__device__" not in body
                        if host_fns or _HOST_TYPES_RE.search(body):
                            kind = "host"  # host member functions or C++ library types
                        continue  # the declaration ends at the next ';'
                    device, kind, decl_start = False, "", m.end()
    if depth > 0 and kind == "fn" or depth == 0 and device:
        mark(decl_start, len(text))  # unterminated device code: the parser reports it
    out = [ch if keep[i] or ch == "\n" else " " for i, ch in enumerate(text)]
    kept = "".join(out)
    return _BLANK_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), kept)


def offset_to_line_col(starts: list[int], offset: int) -> tuple[int, int]:
    i = bisect_right(starts, offset) - 1
    return i + 1, offset - starts[i] + 1
