"""TVM frontend: reading TIR nodes (walking them, their dimensions) through TVM's
Python API, which in 0.27 has no statement functor for ``tirx``."""

from __future__ import annotations

from xpuc.frontends.tvm.exprs import TirError


def dim(e, what: str) -> int | str:
    """A buffer dimension or loop extent: a number, or a symbolic variable's name."""
    kind = type(e).__name__
    if kind == "IntImm":
        return int(e.value)
    if kind == "Var":
        return str(e.name)
    raise TirError(f"{what} {e}: only numbers and plain variables are supported as "
                   "dimensions yet")  # fmt: skip


def static(e, what: str) -> int:
    if type(e).__name__ != "IntImm":
        raise TirError(f"{what} {e} is symbolic: dynamic shapes are not supported yet")
    return int(e.value)


CHILDREN = ("seq", "body", "block", "then_case", "else_case", "init", "a", "b", "value",
             "args", "condition", "true_value", "false_value", "indices", "iter_values",
             "predicate", "min", "extent")  # fmt: skip


def walk(node, fn) -> None:
    """Call ``fn`` on ``node`` and every TIR node under it (statements and expressions)."""
    fn(node)
    for name in CHILDREN:
        child = getattr(node, name, None) if not isinstance(node, int | float | str) else None
        if child is None or isinstance(child, int | float | str):
            continue
        if isinstance(child, list | tuple) or type(child).__name__ == "Array":
            for c in child:
                walk(c, fn)
        else:
            walk(child, fn)


def source(load):
    """The buffer a ``BufferLoad`` (0.27: ``TensorLoad``, ``.source``) reads."""
    buf = getattr(load, "buffer", None)
    return buf if buf is not None else load.source


def is_const(e) -> bool:
    return type(e).__name__ == "IntImm"


def uses(expr, var) -> bool:
    found = []
    walk(expr, lambda n: found.append(type(n).__name__ == "Var" and n.same_as(var)))
    return any(found)


def callee(e) -> str | None:
    """The name of the operator a ``Call`` calls (``tvm_thread_allreduce``), else None."""
    if type(e).__name__ != "Call":
        return None
    return str(e.op.name).split(".")[-1]


def seq(stmt) -> list:
    """A statement as a list of statements (a ``SeqStmt``'s, or itself)."""
    return list(stmt.seq) if type(stmt).__name__ == "SeqStmt" else [stmt]
