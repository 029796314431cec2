"""TTIR text (as triton prints it, with ``loc(...)`` debug info) -> xDSL module.

Location aliases (``#loc7 = loc("k.py":9:30)``, printed after the module, where xDSL
cannot see them before their use) are expanded in place; xDSL's parser then keeps
every op's location in ``op.location``.  Before parsing, each op name is checked
against the registered ops so that an op the import dialect lacks is reported at its
Python source line rather than as a parse error in generated text.
"""

from __future__ import annotations

import re
import struct

from xdsl.context import Context
from xdsl.dialects.builtin import (
    CallSiteLoc,
    DenseIntOrFPElementsAttr,
    FileLineColLoc,
    FusedLoc,
    LocationAttr,
    ModuleOp,
    NameLoc,
    StringAttr,
    TensorType,
)
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError, VerifyException

from xpuc.compiler.diagnostics import CompileError, Location, XpucError
from xpuc.dialects.registry import get_all_dialects

_ALIAS_DEF = re.compile(r"^(#loc\d*) = loc\((.*)\)\s*$", re.MULTILINE)
_ALIAS_USE = re.compile(r"#loc\d*\b")
_OP_NAME = re.compile(r'^\s*(?:%[^=]+=\s*)?"?([a-z_]+\.[a-z_.]+)"?[\s(]', re.MULTILINE)
_FILE_LOC = re.compile(r'"([^"]*)":(\d+):(\d+)')


def import_context() -> Context:
    """The shared-IR context plus the ``tt`` / ``ttg`` import dialects."""
    from xpuc.dialects.tt import TT, TTG
    from xpuc.frontends.triton.arith_shaped import shaped_arith

    ctx = Context()
    for name, loader in get_all_dialects().items():
        if name != "arith":
            ctx.register_dialect(name, loader)
    ctx.load_dialect(shaped_arith(get_all_dialects()["arith"]()))
    ctx.load_dialect(TT)
    ctx.load_dialect(TTG)
    return ctx


def expand_loc_aliases(text: str) -> str:
    """Replace ``#locN`` uses by their definitions and drop the definitions."""
    defs = dict(_ALIAS_DEF.findall(text))
    done: dict[str, str] = {}

    def expand(name: str, depth: int = 0) -> str:
        if name not in done:
            if depth > 100 or name not in defs:
                raise XpucError(f"TTIR location alias {name} is undefined or cyclic")
            done[name] = _ALIAS_USE.sub(lambda m: expand(m.group(0), depth + 1), defs[name])
        return done[name]

    # xDSL's scf.while needs its (possibly empty) init list, which MLIR omits when empty.
    body = _ALIAS_DEF.sub("", text).replace("scf.while : ", "scf.while () : ")
    return _ALIAS_USE.sub(lambda m: expand(m.group(0)), body)


def source_location(loc: LocationAttr | None, prefer_file: str | None = None) -> Location | None:
    """The file:line:col of a location; of a call-site chain, the frame in ``prefer_file``."""
    frames: list[Location] = []

    def walk(loc: object) -> None:
        if isinstance(loc, FileLineColLoc):
            frames.append(Location(loc.filename.data, loc.line.data, loc.column.data))
        elif isinstance(loc, NameLoc):
            walk(loc.location)
        elif isinstance(loc, CallSiteLoc):
            walk(loc.callee)
            walk(loc.caller)
        elif isinstance(loc, FusedLoc):
            for sub in loc.locations.data:  # pyright: ignore
                walk(sub)

    walk(loc)
    mine = [f for f in frames if f.file == prefer_file]
    return (mine or frames or [None])[0]


def op_location(op: Operation, prefer_file: str | None = None) -> Location | None:
    """The Python source position of an imported op (see :func:`source_location`)."""
    return source_location(op.location, prefer_file)


def _source_line(loc: Location) -> str | None:
    try:
        with open(loc.file) as f:
            return f.read().splitlines()[loc.line - 1]
    except (OSError, IndexError):
        return None


def located_error(message: str, loc: Location | None) -> CompileError:
    return CompileError(message, loc, _source_line(loc) if loc else None)


def check_ops(text: str, ctx: Context, kernel_file: str | None) -> None:
    """Raise a located error for the first op of ``text`` the context does not know."""
    for m in _OP_NAME.finditer(text):
        name = m.group(1)
        if name in ("loc", "module") or ctx.get_optional_op(name) is not None:
            continue
        line_end = text.find("\n", m.end())
        line = text[m.start() : line_end if line_end >= 0 else len(text)]
        locs = [Location(f, int(a), int(b)) for f, a, b in _FILE_LOC.findall(line)]
        mine = [loc for loc in locs if loc.file == kernel_file]
        loc = (mine or locs or [None])[-1]
        raise located_error(
            f"TTIR op '{name}' is not supported by xpuc's Triton import"
            " (xpuc/dialects/tt.py lacks it)",
            loc,
        )


_HEX_DENSE = re.compile(
    r"(= arith\.constant )dense<(0x[0-9A-Fa-f]+)>( : tensor<(?:\d+x)+(f16|bf16|f32|f64)>)"
)
_HEX_KEY = "xpuc.hex_float"
_FLOAT_FMT = {"f16": ("<H", "<e"), "f32": ("<I", "<f"), "f64": ("<Q", "<d")}


def _mark_hex_floats(text: str) -> str:
    """Tag each float tile constant triton prints as bits (``dense<0xFF800000>``, its
    -inf, nan, ...) with those bits, so that :func:`_fix_hex_floats` finds its op."""
    return _HEX_DENSE.sub(rf'\1{{{_HEX_KEY} = "\2"}} dense<\2>\3', text)


def _fix_hex_floats(module: ModuleOp) -> None:
    """xDSL reads ``dense<0xFF800000> : tensor<..xf32>`` as the integer's value; put back
    the float those bits spell (a scalar hex literal is read right)."""
    for op in module.walk():
        bits = op.attributes.pop(_HEX_KEY, None)
        if not isinstance(bits, StringAttr) or not op.results:
            continue
        t = op.results[0].type
        assert isinstance(t, TensorType)
        ft = str(t.get_element_type())
        n = int(bits.data, 16)
        if ft == "bf16":  # the upper half of an f32
            value = struct.unpack("<f", struct.pack("<I", n << 16))[0]
        else:
            ifmt, ffmt = _FLOAT_FMT[ft]
            value = struct.unpack(ffmt, struct.pack(ifmt, n))[0]
        attr = DenseIntOrFPElementsAttr.from_list(t, [value])  # pyright: ignore
        if "value" in op.properties:
            op.properties["value"] = attr
        else:
            op.attributes["value"] = attr


def parse_ttir(text: str, kernel_file: str | None = None) -> ModuleOp:
    """Parse and verify triton's pretty-printed TTIR; ops keep their locations."""
    expanded = _mark_hex_floats(expand_loc_aliases(text))
    ctx = import_context()
    check_ops(expanded, ctx, kernel_file)
    try:
        module = Parser(ctx, expanded, "ttir").parse_module()
    except ParseError as e:
        raise XpucError(f"xpuc cannot parse triton's TTIR:\n{e}") from None
    _fix_hex_floats(module)
    try:
        module.verify()
    except VerifyException as e:
        bad = next((o for o in module.walk() if str(e) in _verify_message(o)), None)
        loc = op_location(bad, kernel_file) if bad else None
        raise located_error(f"imported TTIR does not verify: {e}", loc) from None
    return module


def _verify_message(op: Operation) -> str:
    try:
        op.verify(verify_nested_ops=False)
    except VerifyException as e:
        return str(e)
    return "\0"


if __name__ == "__main__":  # `python -m xpuc.frontends.triton.ttir FILE.ttir`: parse, print
    import sys

    try:
        print(parse_ttir(open(sys.argv[1]).read()))
    except XpucError as e:
        sys.exit(f"{e}")
