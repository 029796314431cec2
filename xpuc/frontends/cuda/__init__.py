"""CUDA C frontend: ``.cu`` text -> shared IR at the SIMT level (``gpu.module``)."""

from __future__ import annotations

import re
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from xdsl.dialects.builtin import ModuleOp

from xpuc.compiler.diagnostics import CompileError
from xpuc.frontends.cuda.decls import BUILTIN_TYPES, TEMPLATE_FUNCTIONS, TEMPLATE_TYPES
from xpuc.frontends.cuda.preprocess import Preprocessed, preprocess
from xpuc.frontends.cuda.unit import UnitLowering

__all__ = ["parse_cuda"]

_NICE = {
    "SEMICOLON": "';'", "RPAR": "')'", "LPAR": "'('", "RBRACE": "'}'", "LBRACE": "'{'",
    "RSQB": "']'", "COLON": "':'", "COMMA": "','", "NAME": "an identifier",
}  # fmt: skip


# C's "lexer hack": names declared as types (typedef, struct tags, template type
# parameters) and function templates lex as TYPE_NAME / TEMPLATE_NAME.  The names are
# found by a scan of the device text before parsing.
_NAMES: ContextVar[tuple[dict[str, int], dict[str, int]]] = ContextVar("_NAMES", default=({}, {}))
_TYPEDEF_RE = re.compile(r"\btypedef\b[^;{]*?(\w+)\s*(\[[^;]*\])?\s*;|}\s*(\w+)\s*;")
_USING_RE = re.compile(r"\busing\s+(\w+)\s*=")
_TAG_RE = re.compile(r"\b(?:struct|class|union|enum)\s+(?!class\b)(\w+)")
_TPARAM_RE = re.compile(r"\b(?:typename|class)\s+(\w+)")
_TEMPLATE_RE = re.compile(
    r"\btemplate\s*<([^{;]*?)>\s*([^;{(]*?(?:__xpuc_launch_bounds__\s*\([^)]*\)\s*)?)\b(\w+)\s*\("
)


def _scan_names(text: str) -> tuple[dict[str, int], dict[str, int]]:
    """Type and template names, each with the offset from which it names one."""
    types = dict.fromkeys([*BUILTIN_TYPES, *TEMPLATE_TYPES], 0)

    def add(table: dict[str, int], name: str | None, pos: int) -> None:
        if name and pos < table.get(name, len(text) + 1):
            table[name] = pos

    for m in _TYPEDEF_RE.finditer(text):
        g = 1 if m.group(1) else 3
        add(types, m.group(g), m.end(g))
    for m in _TAG_RE.finditer(text):
        add(types, m.group(1), m.end(1))
    for m in _USING_RE.finditer(text):
        add(types, m.group(1), m.end(1))
    templates = dict.fromkeys(TEMPLATE_FUNCTIONS, 0)
    for m in _TEMPLATE_RE.finditer(text):
        for p in _TPARAM_RE.finditer(m.group(1)):
            add(types, p.group(1), m.start(1) + p.end(1))
        add(templates, m.group(3), m.end(3))
    return types, {k: v for k, v in templates.items() if k not in types}


def _name_callback(tok):
    types, templates = _NAMES.get()
    if tok.start_pos >= types.get(tok.value, 1 << 62):
        tok.type = "TYPE_NAME"
    elif tok.start_pos >= templates.get(tok.value, 1 << 62):
        tok.type = "TEMPLATE_NAME"
    return tok


@cache
def _parser() -> Lark:
    grammar = Path(__file__).with_name("cuda.lark").read_text()
    # cache=True keeps the LALR tables in a temp file keyed by the grammar hash: building
    # them takes ~150 ms, a third of a cold compile.
    return Lark(
        grammar,
        parser="lalr",
        lexer="basic",
        start=["start", "targ_list"],
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,
        lexer_callbacks={"NAME": _name_callback},
    )


def _syntax_error(pre: Preprocessed, e: UnexpectedInput) -> CompileError:
    if isinstance(e, UnexpectedToken) and e.token.type == "$END":
        last = len(pre.text.rstrip().splitlines()) or 1
        col = len(pre.text.rstrip().splitlines()[-1]) + 1 if pre.text.strip() else 1
        return pre.error("unexpected end of file: expected '}'", last, col)
    if isinstance(e, UnexpectedToken):
        if "SEMICOLON" in e.expected and e.token.start_pos:
            # as C compilers do: a missing ';' is reported right after the previous token
            end = len(pre.text[: e.token.start_pos].rstrip())
            line = pre.text.count("\n", 0, end) + 1
            col = end - (pre.text.rfind("\n", 0, end) + 1) + 1
            return pre.error(f"expected ';' before '{e.token}'", line, col)
        expected = sorted(_NICE.get(t, t.lower()) for t in e.expected if not t.startswith("__"))
        shown = ", ".join(expected[:6]) + (", ..." if len(expected) > 6 else "")
        return pre.error(f"expected {shown} before '{e.token}'", e.line, e.column)
    if isinstance(e, UnexpectedCharacters):
        return pre.error(f"unexpected character '{e.char}'", e.line, e.column)
    if isinstance(e, UnexpectedEOF):
        return pre.error("unexpected end of file", 1, 1)
    return pre.error(str(e).splitlines()[0], getattr(e, "line", 1), getattr(e, "column", 1))


def parse_template_args(text: str, type_names: set[str]) -> list:
    """Parse ``32, float, BS * 2`` (template arguments outside the source) into trees."""
    token = _NAMES.set(({n: 0 for n in type_names}, {}))
    try:
        return _parser().parse(text, start="targ_list").children
    finally:
        _NAMES.reset(token)


def parse_cuda(
    source: str,
    filename: str = "<source>.cu",
    include_dirs: list[str] | tuple[str, ...] = (),
    defines: dict[str, str] | None = None,
    instantiate: list[str] | tuple[str, ...] = (),
) -> ModuleOp:
    """Preprocess, parse and lower the device code of a CUDA translation unit.

    ``instantiate`` names kernel template instances to compile (``"matmul<32>"``), in
    addition to those the host code launches.
    """
    pre = preprocess(source, filename, include_dirs, defines)
    token = _NAMES.set(_scan_names(pre.text))
    try:
        tree = _parser().parse(pre.text, start="start")
    except UnexpectedInput as e:
        raise _syntax_error(pre, e) from None
    finally:
        _NAMES.reset(token)
    module = UnitLowering(pre, tree).lower(list(instantiate))
    module.verify()
    return module
