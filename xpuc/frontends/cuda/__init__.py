"""CUDA C frontend: ``.cu`` text -> shared IR at the SIMT level (``gpu.module``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from xdsl.dialects.builtin import ModuleOp

from xpuc.compiler.diagnostics import CompileError
from xpuc.frontends.cuda.lower import lower_translation_unit
from xpuc.frontends.cuda.preprocess import Preprocessed, preprocess

__all__ = ["parse_cuda"]

_NICE = {
    "SEMICOLON": "';'", "RPAR": "')'", "LPAR": "'('", "RBRACE": "'}'", "LBRACE": "'{'",
    "RSQB": "']'", "COLON": "':'", "COMMA": "','", "NAME": "an identifier",
}  # fmt: skip


@cache
def _parser() -> Lark:
    grammar = Path(__file__).with_name("cuda.lark").read_text()
    # cache=True keeps the LALR tables in a temp file keyed by the grammar hash: building
    # them takes ~150 ms, a third of a cold compile.
    return Lark(
        grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True, cache=True
    )


def _syntax_error(pre: Preprocessed, e: UnexpectedInput) -> CompileError:
    if isinstance(e, UnexpectedToken) and e.token.type == "$END":
        last = len(pre.text.rstrip().splitlines()) or 1
        col = len(pre.text.rstrip().splitlines()[-1]) + 1 if pre.text.strip() else 1
        return pre.error("unexpected end of file: expected '}'", last, col)
    if isinstance(e, UnexpectedToken):
        prev = getattr(e, "token_history", None) or []
        if "SEMICOLON" in e.expected and prev and prev[-1].end_line is not None:
            # as C compilers do: a missing ';' is reported right after the previous token
            p = prev[-1]
            return pre.error(f"expected ';' before '{e.token}'", p.end_line, p.end_column)
        expected = sorted(_NICE.get(t, t.lower()) for t in e.expected if not t.startswith("__"))
        shown = ", ".join(expected[:6]) + (", ..." if len(expected) > 6 else "")
        return pre.error(f"expected {shown} before '{e.token}'", e.line, e.column)
    if isinstance(e, UnexpectedCharacters):
        return pre.error(f"unexpected character '{e.char}'", e.line, e.column)
    if isinstance(e, UnexpectedEOF):
        return pre.error("unexpected end of file", 1, 1)
    return pre.error(str(e).splitlines()[0], getattr(e, "line", 1), getattr(e, "column", 1))


def parse_cuda(
    source: str,
    filename: str = "<source>.cu",
    include_dirs: list[str] | tuple[str, ...] = (),
    defines: dict[str, str] | None = None,
) -> ModuleOp:
    """Preprocess, parse and lower the device code of a CUDA translation unit."""
    pre = preprocess(source, filename, include_dirs, defines)
    try:
        tree = _parser().parse(pre.text)
    except UnexpectedInput as e:
        raise _syntax_error(pre, e) from None
    module = lower_translation_unit(pre, tree)
    module.verify()
    return module
