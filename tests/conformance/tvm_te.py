"""TVM TE conformance: compile TE computations with xpuc's TVM frontend and check each one
against TVM's own llvm build of the same PrimFunc.

Two sets of cases.  The first are the TE computations of TVM's
``tests/python/te/test_te_create_primfunc.py``, read from
``../shared/conformance/tvm-te`` beside the repository: its ``te_*`` workloads (top level,
or nested in a ``test_*`` function) and the statements a ``test_*`` function runs before
its ``func = te.create_prim_func(...)``.  Only those are executed, never the file's TVMScript
expectations or asserts; the file names TVM's TIR package ``tvm.tir``, which 0.27 calls
``tvm.tirx``, so ``tvm`` and ``tir`` are handed to them renamed (``_old_names``).  Not taken:
``te_scan`` (TVM itself rejects a ScanOp: the file's ``test_error_reporting``) and
``test_argmax`` (Relay, gone from 0.27).  The second set, ``topi_*``, are TOPI operators at
small shapes.

Each case is built with ``te.create_prim_func``; every parameter buffer gets the same random
contents for xpuc and for TVM (``tvm.compile(func, "llvm")``), both run, and every buffer
must match afterwards (float: rtol 1e-4; integers: exactly).  Symbolic sizes take the values
in ``SIZES``; scalar parameters get them too, on both sides.  ``--target nvptx:sm_XX``
only checks that ptxas accepts the PTX.

Prints one line per case and, last, ``tvm-te <target>: N/M computations correct``; exits 1
unless all pass.  Without TVM 0.27 or the tvm-te folder it says why and exits 0.

    python tests/conformance/tvm_te.py --target cpu [--case matmul]
"""

from __future__ import annotations

import argparse
import ast
import functools
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import family, target_missing  # noqa: E402

TVM_TE = Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance" / "tvm-te"
SOURCE = TVM_TE / "test_te_create_primfunc.py"
SEED = 2026
SIZES = {"idx": 5}
"""Values of symbolic sizes and scalar parameters, by name; any other is 8."""
EXCLUDED = {"te_scan", "test_error_reporting", "test_argmax"}


def _myfunc(a: Any, b: Any, c: Any, p: Any) -> dict:
    """A definition for the file's ``call_extern("myfunc", A.data, B.data, C.data, P[0])``,
    which no library provides: xpuc takes it as ``externs={"myfunc": _myfunc}``."""
    from tvm import te

    return {c: te.compute(c.shape, lambda i, j: a[i, j] * p + b[j, i], name="myfunc")}


def _loop_aware(args: list[Any]) -> list[Any]:
    """The reducer keeps the index it holds (a float, used as an index) while that
    element is smaller, else takes the loop's position."""
    a, b = args[0], args[1]
    out = np.zeros(a.shape[0], np.float32)
    for i in range(a.shape[0]):
        for ax in range(a.shape[1]):
            out[i] = out[i] if a[i, int(out[i])] < a[i, ax] else np.float32(ax)
    return [a, b, out]


EXTERNS = {"extern_with_explicit_buffer_access": {"myfunc": _myfunc}}
"""Definitions of the functions a case calls that no library provides."""
NUMPY_REFERENCES: dict[str, Callable[[list[Any]], list[Any]]] = {
    "extern": lambda args: [args[0], args[1], args[0] @ args[1]],  # cblas.matmul, no transposes
    "extern_with_explicit_buffer_access": lambda args: [
        *args[:3],
        args[0] * args[2][0] + args[1].T,
    ],  # fmt: skip
    "loop_aware_reducer_combiner": _loop_aware,
}
"""Cases TVM's llvm build cannot check: its JIT crashes on the missing extern symbols,
and refuses the float index of ``loop_aware_reducer_combiner``."""

Workload = Callable[[], list[Any]]
"""Builds a case's TE tensors (and scalar vars): the ``create_prim_func`` argument list."""


class _Renamed:
    """A module under its older names: ``renames`` maps an attribute to its 0.27 object."""

    def __init__(self, module: Any, **renames: Any):
        self._module, self._renames = module, renames

    def __getattr__(self, name: str) -> Any:
        return self._renames[name] if name in self._renames else getattr(self._module, name)


def _old_names(tvm: Any) -> Any:
    """``tvm`` as the file knows it: ``tvm.tir`` is 0.27's ``tvm.tirx``, and
    ``tir.expr.ProducerLoad(t, [])``, gone from 0.27, is what ``t()`` builds."""
    expr = _Renamed(tvm.tirx.expr, ProducerLoad=lambda tensor, indices: tensor(*indices))
    return _Renamed(tvm, tir=_Renamed(tvm.tirx, expr=expr))


def _is_create_prim_func(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "create_prim_func")  # fmt: skip


def _workload_defs(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    """Case name → a function returning the computation's tensors, taken from the file."""
    defs: dict[str, ast.FunctionDef] = {}
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef) or fn.name in EXCLUDED:
            continue
        if fn.name.startswith("te_"):
            defs[fn.name[3:]] = fn
            continue
        if not fn.name.startswith("test_"):
            continue
        nested = [s for s in fn.body if isinstance(s, ast.FunctionDef) and s.name.startswith("te_")]
        if nested:  # test_zero_dim_add's te_func, the test_loop_aware_*'s te_workload, ...
            defs[fn.name[5:]] = nested[0]
            continue
        for i, stmt in enumerate(fn.body):  # inline: the statements before create_prim_func
            if isinstance(stmt, ast.Assign) and _is_create_prim_func(stmt.value):
                body = [*fn.body[:i], ast.Return(stmt.value.args[0])]
                defs[fn.name[5:]] = ast.FunctionDef(
                    fn.name, ast.arguments([], [], None, [], [], None, []), body, [], None, None
                )
                break
    for case, fn in defs.items():  # nested ones share names (three te_workload, two te_extern)
        fn.name = f"_case_{case}"
    return defs


def file_workloads() -> dict[str, Workload]:
    """The TE computations of test_te_create_primfunc.py, ready to build (empty without it)."""
    if not SOURCE.is_file():
        return {}
    import tvm
    from tvm import te, topi

    defs = _workload_defs(ast.parse(SOURCE.read_text(), str(SOURCE)))
    module = ast.fix_missing_locations(ast.Module(list(defs.values()), []))
    old = _old_names(tvm)
    names = {"tvm": old, "te": te, "tir": old.tir, "topi": topi, "np": np}
    exec(compile(module, str(SOURCE), "exec"), names)  # noqa: S102 - the file's TE code only
    return {case: names[fn.name] for case, fn in defs.items()}


# --- TOPI operators at small shapes ---------------------------------------------------------


def _ph(*shape: int, dtype: str = "float32", name: str = "x") -> Any:
    from tvm import te

    return te.placeholder(shape, dtype, name)


def _topi_workloads() -> dict[str, Workload]:
    from tvm import te, topi

    def unary(op: Callable[[Any], Any], *shape: int) -> Workload:
        def build() -> list[Any]:
            x = _ph(*shape)
            return [x, op(x)]

        return build

    def binary(op: Callable[[Any, Any], Any], a: tuple, b: tuple) -> Workload:
        def build() -> list[Any]:
            x, y = _ph(*a, name="x"), _ph(*b, name="y")
            return [x, y, op(x, y)]

        return build

    def gelu(x: Any) -> Any:
        return te.compute(x.shape, lambda *i: 0.5 * x(*i) * (1 + te.erf(x(*i) / math.sqrt(2))))

    def mean(x: Any) -> Any:
        return topi.divide(topi.sum(x, axis=1), float(int(x.shape[1])))

    def layer_norm() -> list[Any]:
        x, g, b = _ph(4, 16), _ph(16, name="gamma"), _ph(16, name="beta")
        return [x, g, b, topi.nn.layer_norm(x, g, b, axis=[1])]

    def split() -> list[Any]:
        x = _ph(6, 8)
        return [x, *topi.split(x, 3, axis=0)]

    def take() -> list[Any]:
        x, i = _ph(10, 4), _ph(5, dtype="int32", name="i")
        return [x, i, topi.take(x, i, axis=0)]

    def gather() -> list[Any]:
        x, i = _ph(4, 6), _ph(4, 3, dtype="int32", name="i")
        return [x, i, topi.gather(x, 1, i)]

    def where() -> list[Any]:
        x, y = _ph(4, 8, name="x"), _ph(4, 8, name="y")
        return [x, y, topi.where(topi.greater(x, y), x, y)]

    def concat() -> list[Any]:
        x, y = _ph(3, 4, name="x"), _ph(5, 4, name="y")
        return [x, y, topi.concatenate([x, y], axis=0)]

    nn = topi.nn
    return {
        "topi_dense": binary(nn.dense, (4, 16), (8, 16)),
        "topi_batch_matmul": binary(nn.batch_matmul, (2, 4, 16), (2, 8, 16)),
        "topi_conv2d_nchw": binary(lambda x, w: nn.conv2d_nchw(x, w, 1, 1, 1),
                                   (1, 3, 8, 8), (4, 3, 3, 3)),
        "topi_conv2d_nhwc": binary(lambda x, w: nn.conv2d_nhwc(x, w, 1, 1, 1),
                                   (1, 8, 8, 3), (3, 3, 3, 4)),
        "topi_depthwise_conv2d": binary(lambda x, w: nn.depthwise_conv2d_nchw(x, w, 1, 1, 1),
                                        (1, 4, 8, 8), (4, 1, 3, 3)),
        "topi_max_pool2d": unary(lambda x: nn.pool2d(x, (2, 2), (2, 2), (1, 1), (0, 0, 0, 0),
                                                     "max"), 1, 3, 8, 8),
        "topi_avg_pool2d": unary(lambda x: nn.pool2d(x, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1),
                                                     "avg"), 1, 3, 8, 8),
        "topi_global_avg_pool": unary(lambda x: nn.global_pool(x, "avg"), 1, 4, 6, 6),
        "topi_softmax": unary(lambda x: nn.softmax(x, axis=1), 4, 16),
        "topi_log_softmax": unary(lambda x: nn.log_softmax(x, axis=1), 4, 16),
        "topi_layer_norm": layer_norm,
        "topi_relu": unary(nn.relu, 4, 16),
        "topi_tanh": unary(topi.tanh, 4, 16),
        "topi_gelu": unary(gelu, 4, 16),
        "topi_sigmoid": unary(topi.sigmoid, 4, 16),
        "topi_add_broadcast": binary(topi.add, (4, 1, 8), (3, 1)),
        "topi_multiply_broadcast": binary(topi.multiply, (4, 8), (8,)),
        "topi_sum": unary(lambda x: topi.sum(x, axis=1), 4, 16),
        "topi_max": unary(lambda x: topi.max(x, axis=0), 4, 16),
        "topi_mean": unary(mean, 4, 16),
        "topi_argmax": unary(lambda x: topi.argmax(x, axis=1), 4, 16),
        "topi_transpose": unary(lambda x: topi.transpose(x, (0, 2, 1)), 2, 3, 4),
        "topi_reshape": unary(lambda x: topi.reshape(x, (4, 6)), 2, 3, 4),
        "topi_strided_slice": unary(lambda x: topi.strided_slice(x, [1, 0], [5, 8], [2, 3]),
                                    6, 8),
        "topi_concatenate": concat,
        "topi_split": split,
        "topi_take": take,
        "topi_gather": gather,
        "topi_cast": unary(lambda x: topi.cast(x, "int32"), 4, 16),
        "topi_where": where,
    }  # fmt: skip


@functools.cache
def all_workloads() -> dict[str, Workload]:
    return {**file_workloads(), **_topi_workloads()}


# --- running one case -----------------------------------------------------------------------


def _size(e: Any) -> int:
    import tvm

    if isinstance(e, tvm.tirx.IntImm):
        return int(e.value)
    if isinstance(e, tvm.tirx.Var):
        return SIZES.get(e.name, 8)
    raise ValueError(f"cannot size {e}")


def random_args(func: Any, rng: np.random.Generator) -> list[Any]:
    """One numpy array per parameter buffer, an int per scalar parameter."""
    args: list[Any] = []
    for p in func.params:
        if getattr(p, "dtype", None) is None:  # a scalar (its .shape raises)
            args.append(SIZES.get(p.name, 8))
            continue
        shape, dtype = tuple(_size(d) for d in p.shape), np.dtype(str(p.dtype))
        if dtype.kind == "f":
            args.append(rng.standard_normal(shape).astype(dtype))
        elif dtype.kind == "b":
            args.append(rng.random(shape) < 0.5)
        else:  # small, so that an index buffer (take, gather, A[B[i]]) stays in range
            args.append(rng.integers(0, 4, shape).astype(dtype))
    return args


def compare(label: str, got: np.ndarray, want: np.ndarray) -> str:
    """'' when ``got`` matches ``want`` (float: rtol 1e-4; else exactly), else the first miss."""
    if got.dtype.kind == "f":
        bad = ~np.isclose(got, want, rtol=1e-4, atol=1e-5, equal_nan=True)
    else:
        bad = got != want
    if not bad.any():
        return ""
    at = np.unravel_index(int(np.argmax(bad)), bad.shape) if bad.shape else ()
    return (f"{label}: {int(bad.sum())} of {bad.size} elements differ; first at "
            f"[{', '.join(map(str, at))}]: got {got[at]}, want {want[at]}")  # fmt: skip


def describe(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()] or [""]
    return f"{type(exc).__name__}: {lines[0]}"


def reference(func: Any, args: list[Any]) -> list[Any]:
    """``args`` after TVM's own llvm build of ``func`` ran on them."""
    import tvm

    tensors = [tvm.runtime.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    tvm.compile(func, target="llvm")(*tensors)
    return [
        t.numpy() if isinstance(a, np.ndarray) else a for a, t in zip(args, tensors, strict=True)
    ]


def _ptxas_check(name: str, func: Any, target: str) -> tuple[bool, str]:
    from xpuc.frontends import tvm as xt
    from xpuc.targets.registry import get_target

    art = xt.compile(func, target, emit="asm", externs=EXTERNS.get(name))
    get_target(target).validate(art)  # runs ptxas; raises when it rejects the PTX
    return True, "ptxas accepts it"


def run_case(name: str, target: str, workloads: dict[str, Workload] | None = None
             ) -> tuple[bool, str]:  # fmt: skip
    """Check one computation on ``target``: (passed, a one-line message)."""
    try:
        from tvm import te

        func = te.create_prim_func((workloads or all_workloads())[name]())
    except Exception as e:  # TVM failing to build the case is the harness's problem
        return False, f"tvm: {describe(e)}"
    try:
        from xpuc.frontends import tvm as xt

        if family(target) == "nvptx":
            return _ptxas_check(name, func, target)
        args = random_args(func, np.random.default_rng(SEED))
        got = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        xt.load(xt.compile(func, target, externs=EXTERNS.get(name)))(*got)
    except Exception as e:  # any failure, xpuc's or a crash, is this case's result
        return False, describe(e)
    try:
        if name in NUMPY_REFERENCES:
            want = NUMPY_REFERENCES[name](args)
        else:
            want = reference(func, args)
    except Exception as e:
        return False, f"reference (tvm llvm): {describe(e)}"
    problems = (compare(str(p.name), g, w)
                for p, g, w in zip(func.params, got, want, strict=True)
                if isinstance(g, np.ndarray))  # fmt: skip
    problem = next((p for p in problems if p), "")
    peer = "numpy" if name in NUMPY_REFERENCES else "tvm llvm"
    return (False, problem) if problem else (True, f"matches {peer}")


def missing_reason(target: str) -> str:
    """Why ``target`` cannot be checked here ('' when it can)."""
    from xpuc.compiler.diagnostics import XpucError
    from xpuc.frontends.tvm import require_tvm

    try:
        require_tvm()  # installed, and the version the frontend takes
    except XpucError as e:
        return str(e)
    if not SOURCE.is_file():
        return f"no TVM TE conformance data at {SOURCE.resolve()}"
    return target_missing(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="cpu",
                        help="cpu, opencl, or nvptx:sm_XX (default: cpu)")  # fmt: skip
    parser.add_argument("--case", action="append", metavar="NAME",
                        help="run this one only (repeatable)")  # fmt: skip
    opts = parser.parse_args(argv)
    if family(opts.target) not in ("cpu", "opencl", "nvptx"):
        parser.error(f"--target must be cpu, opencl or nvptx:sm_XX, not {opts.target!r}")
    reason = missing_reason(opts.target)
    if reason:
        print(f"tvm-te {opts.target}: skipped: {reason}")
        return 0
    workloads = all_workloads()
    unknown = sorted(set(opts.case or ()) - set(workloads))
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; cases: {', '.join(workloads)}")
    names = opts.case or list(workloads)
    passed, width = 0, max(map(len, names))
    for name in names:
        ok, message = run_case(name, opts.target, workloads)
        passed += ok
        print(f"{name:<{width}}  {'PASS' if ok else 'FAIL'}  {message}", flush=True)
    verdict = "accepted by ptxas" if family(opts.target) == "nvptx" else "computations correct"
    print(f"tvm-te {opts.target}: {passed}/{len(names)} {verdict}")
    return 0 if passed == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
