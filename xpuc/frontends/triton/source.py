"""Run triton's own front end: a ``@triton.jit`` function -> TTIR text with locations.

Only triton's AST-to-TTIR code generator and the backend's ``make_ttir`` cleanup passes
run; the GPU stages (TTGIR, LLVM IR, PTX, cubin) do not, so no GPU, driver or ptxas is
needed and an import takes milliseconds.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from xpuc.compiler.diagnostics import XpucError

# Versions whose TTIR this frontend was checked against (the tutorial kernels import).
SUPPORTED = ((3, 4), (3, 10))  # >= 3.4, < 3.10
SUPPORTED_TEXT = ">=3.4,<3.10"
# Triton's signature codes for scalars and pointees.
SCALAR_CODES = frozenset(
    "i1 i8 i16 i32 i64 u1 u8 u16 u32 u64 fp8e4nv fp8e5 fp8e4b15 fp16 bf16 fp32 fp64".split()
)


class TritonImportError(XpucError):
    """Triton is missing or unusable, or the kernel or its arguments are not importable."""


def _version_tuple(version: str) -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", version)
    if m is None:
        raise TritonImportError(f"cannot read the triton version {version!r}")
    return int(m.group(1)), int(m.group(2))


def require_triton() -> ModuleType:
    """The installed ``triton`` module, checked against the supported version range."""
    try:
        import triton
    except ImportError as e:
        raise TritonImportError(
            f"the Triton frontend needs the triton package ({e}): pip install 'xpuc[triton]'"
        ) from None
    check_version(getattr(triton, "__version__", "0.0"))
    return triton


def check_version(version: str) -> None:
    low, high = SUPPORTED
    if not low <= _version_tuple(version) < high:
        raise TritonImportError(
            f"triton {version} is not supported: xpuc imports TTIR from triton{SUPPORTED_TEXT}"
            f" (the versions it was tested with); install one: pip install 'triton{SUPPORTED_TEXT}'"
        )


@dataclass(frozen=True)
class KernelSignature:
    """A kernel's parameters in order: name -> triton code (``*fp32``, ``i32``, ``constexpr``)."""

    name: str
    params: tuple[tuple[str, str], ...]
    constexprs: tuple[tuple[str, Any], ...]
    file: str
    line: int

    @property
    def runtime_params(self) -> tuple[tuple[str, str], ...]:
        return tuple(p for p in self.params if p[1] != "constexpr")


def check_signature(fn: Any, signature: dict[str, str], constexprs: dict[str, Any]) -> None:
    names = list(fn.arg_names)
    where = f"kernel '{fn.__name__}'"
    for name in [*signature, *constexprs]:
        if name not in names:
            raise TritonImportError(f"{where} has no parameter '{name}' (it has {names})")
    for name in names:
        code = signature.get(name)
        if code is None:
            raise TritonImportError(f"{where}: the signature gives no type for '{name}'")
        if code == "constexpr":
            if name not in constexprs:
                raise TritonImportError(f"{where}: constexpr '{name}' needs a value in constexprs")
        elif code.lstrip("*").lstrip("k") not in SCALAR_CODES:
            raise TritonImportError(
                f"{where}: '{name}' has type code {code!r}; expected 'constexpr', a scalar"
                f" ({', '.join(sorted(SCALAR_CODES))}) or a pointer '*' + scalar"
            )
        elif name in constexprs:
            raise TritonImportError(f"{where}: '{name}' has a value but is not 'constexpr'")


def ttir_text(
    fn: Any, signature: dict[str, str], constexprs: dict[str, Any], num_warps: int = 4
) -> str:
    """TTIR of ``fn`` (a ``triton.JITFunction``) after triton's ``make_ttir`` passes."""
    triton = require_triton()
    from triton._C.libtriton import ir
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from triton.compiler.compiler import make_backend

    if not isinstance(fn, triton.runtime.JITFunction):
        raise TritonImportError(f"{fn!r} is not a @triton.jit function")
    check_signature(fn, signature, constexprs)
    # The cuda backend is pure Python up to TTIR; sm_90 skips the descriptor rewrite.
    target = GPUTarget("cuda", 90, 32)
    backend = make_backend(target)
    src = ASTSource(fn=fn, signature=dict(signature), constexprs=dict(constexprs))
    options = backend.parse_options({"num_warps": num_warps, **src.parse_options()})
    context = ir.context()
    ir.load_dialects(context)
    backend.load_dialects(context)
    stages: dict[str, Any] = {}
    backend.add_stages(stages, options, src.language)
    try:
        module = src.make_ir(
            target, options, backend.get_codegen_implementation(options),
            backend.get_module_map(), context,
        )  # fmt: skip
        module = stages["ttir"](module, {})
    except Exception as e:  # triton's CompilationError carries the kernel's own location
        raise TritonImportError(f"triton could not compile '{fn.__name__}':\n{e}") from None
    return module.str()


def load_kernel(path: str | Path, name: str) -> Any:
    """The ``@triton.jit`` function ``name`` of ``path``, without running the file's driver code.

    Only the file's top-level imports (each on its own; one that fails is skipped),
    constant assignments and ``@triton.jit`` functions are executed, compiled under the
    file's own name so that triton reads the source and reports the file's line numbers.
    Other decorators of a kernel (``@triton.autotune``, ...) are dropped.
    """
    triton = require_triton()
    path = Path(path)
    try:
        text = path.read_text()
        tree = ast.parse(text, filename=str(path))
    except (OSError, SyntaxError) as e:
        raise TritonImportError(f"cannot read kernels from {path}: {e}") from None
    env: dict[str, Any] = {"__name__": f"xpuc_triton_{path.stem.replace('-', '_')}"}
    env["__file__"] = str(path)
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or _is_constant(node):
            try:
                _exec([node], path, env)
            except Exception:  # noqa: BLE001 - a driver-only import (torch, apex) may be absent
                continue
        elif isinstance(node, ast.FunctionDef) and any(map(_is_jit, node.decorator_list)):
            node.decorator_list = [d for d in node.decorator_list if _is_jit(d)]
            _exec([node], path, env)
    fn = env.get(name)
    if not isinstance(fn, triton.runtime.JITFunction):
        found = sorted(k for k, v in env.items() if isinstance(v, triton.runtime.JITFunction))
        raise TritonImportError(f"{path} has no @triton.jit function '{name}' (found: {found})")
    return fn


def _exec(nodes: list[ast.stmt], path: Path, env: dict[str, Any]) -> None:
    exec(compile(ast.Module(body=nodes, type_ignores=[]), str(path), "exec"), env)


def _is_jit(dec: ast.expr) -> bool:
    target = dec.func if isinstance(dec, ast.Call) else dec
    return ast.unparse(target) in ("triton.jit", "jit")


def _is_constant(node: ast.stmt) -> bool:
    """``NAME = <literal>`` or ``NAME = tl.constexpr(<literal>)`` at module level."""
    if not (isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets)):
        return False
    value = node.value
    if isinstance(value, ast.Call) and ast.unparse(value.func) in ("tl.constexpr", "constexpr"):
        value = value.args[0] if len(value.args) == 1 else value
    try:
        ast.literal_eval(value)
    except ValueError:
        return False
    return True
