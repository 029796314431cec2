"""How shardings flow through the whole-tensor ops a multi-card program uses.

For each op family: ``forward`` gives the result's sharding from the operands'
(``None``: unknown), ``backward`` the operands' from the result's.  The partition pass
uses the same classification (:func:`kind_of`) to pick a local computation.

Ops (upstream ``linalg`` and ``tensor`` on tensors):
- elementwise: ``linalg.add/sub/mul/max/min/exp/log/sqrt/copy/select``;
- ``linalg.matmul`` (``A[m,k] * B[k,n]``; a split ``k`` makes a partial sum);
- ``linalg.transpose``, ``linalg.reduce`` (a split reduced dimension makes a partial
  result), ``linalg.broadcast``, ``linalg.fill``, ``tensor.empty``.

Kernel launches (``xpu.launch``) are opaque: they are not in these families, and
:func:`launch_layouts` says how they are laid out.
"""

from __future__ import annotations

from xdsl.dialects import arith, tensor
from xdsl.dialects.builtin import TensorType
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.shard import ReductionKind
from xdsl.ir import Operation

from xpuc.comm.sharding import Sharding, ShardingError, describe, is_request, sharding_of
from xpuc.dialects.xpu_launch import LaunchOp

ELEMENTWISE = (
    linalg.AddOp,
    linalg.SubOp,
    linalg.MulOp,
    linalg.MaxOp,
    linalg.MinOp,
    linalg.ExpOp,
    linalg.LogOp,
    linalg.SqrtOp,
    linalg.CopyOp,
    linalg.SelectOp,
)

_COMBINERS = {
    arith.AddfOp: ReductionKind.SUM,
    arith.AddiOp: ReductionKind.SUM,
    arith.MulfOp: ReductionKind.PRODUCT,
    arith.MuliOp: ReductionKind.PRODUCT,
    arith.MaximumfOp: ReductionKind.MAX,
    arith.MaxnumfOp: ReductionKind.MAX,
    arith.MaxSIOp: ReductionKind.MAX,
    arith.MinimumfOp: ReductionKind.MIN,
    arith.MinnumfOp: ReductionKind.MIN,
    arith.MinSIOp: ReductionKind.MIN,
}


def kind_of(op: Operation) -> str | None:
    """The family of a tensor op the passes know, or None."""
    if isinstance(op, ELEMENTWISE):
        return "elementwise"
    for cls, name in (
        (linalg.MatmulOp, "matmul"),
        (linalg.TransposeOp, "transpose"),
        (linalg.ReduceOp, "reduce"),
        (linalg.BroadcastOp, "broadcast"),
        (linalg.FillOp, "fill"),
        (tensor.EmptyOp, "empty"),
    ):
        if isinstance(op, cls):
            return name
    return None


def launch_layouts(op: Operation, grid: str) -> list[Sharding | None]:
    """How each argument of an ``xpu.launch`` is laid out for the kernel (``None`` for
    scalars): as the ``shard.shard ... annotate_for_users`` that produces it says,
    otherwise replicated, since an opaque kernel may need all of a tensor."""
    assert isinstance(op, LaunchOp)
    out: list[Sharding | None] = []
    for v in op.args:
        if not isinstance(v.type, TensorType):
            out.append(None)
            continue
        if is_request(v.owner):
            out.append(sharding_of(v))
        else:
            out.append(Sharding.replicated(grid, len(v.type.get_shape())))
    return out


def reduction_of(op: linalg.ReduceOp) -> ReductionKind:
    """The combiner of a ``linalg.reduce`` (its body: one arith op, then yield)."""
    body = [o for o in op.regions[0].block.ops if not isinstance(o, linalg.YieldOp)]
    if len(body) == 1 and type(body[0]) in _COMBINERS:
        return _COMBINERS[type(body[0])]
    raise ShardingError(
        f"{describe(op)}: a reduction over a split dimension needs a body of one "
        "add, mul, max or min"
    )


def reduce_dims(op: linalg.ReduceOp) -> tuple[int, ...]:
    return tuple(op.dimensions.get_values())


def broadcast_dims(op: linalg.BroadcastOp) -> tuple[int, ...]:
    return tuple(op.dimensions.get_values())


def _without(s: Sharding, dims: tuple[int, ...]) -> Sharding:
    return Sharding(s.grid, tuple(a for d, a in enumerate(s.split) if d not in dims))


def _with_inserted(s: Sharding, dims: tuple[int, ...], rank: int) -> Sharding:
    it = iter(s.split)
    return Sharding(s.grid, tuple(() if d in dims else next(it) for d in range(rank)))


def _pick(shardings: list[Sharding | None]) -> Sharding | None:
    known = [s for s in shardings if s is not None]
    split = [s for s in known if not s.is_replicated]
    return (split or known or [None])[0]


def matmul_plan(a: Sharding, b: Sharding) -> tuple[Sharding, Sharding, tuple[int, ...], Sharding]:
    """The local matmul for operands sharded ``a`` and ``b``: the operand shardings it
    computes on, the grid axes its result is a partial sum over, and the result's
    sharding once those are reduced."""
    (am, ak), (bk, bn) = a.split, b.split
    k = ak or bk
    m = tuple(x for x in am if x not in k)
    n = tuple(x for x in bn if x not in k and x not in m)
    g = a.grid
    return Sharding(g, (m, k)), Sharding(g, (k, n)), k, Sharding(g, (m, n))


def forward(op: Operation, ins: list[Sharding | None], grid: str) -> Sharding | None:
    kind = kind_of(op)
    if kind == "elementwise":
        return _pick(ins)
    if kind == "matmul":
        a, b = ins[0], ins[1]
        if a is None and b is None:
            return None
        a = a or Sharding.replicated(grid, 2)
        b = b or Sharding.replicated(grid, 2)
        return matmul_plan(a, b)[3]
    if kind == "transpose" and ins[0] is not None:
        perm = op.permutation.get_values()  # type: ignore[attr-defined]
        return Sharding(grid, tuple(ins[0].split[p] for p in perm))
    if kind == "reduce" and ins[0] is not None:
        return _without(ins[0], reduce_dims(op))  # type: ignore[arg-type]
    if kind == "broadcast" and ins[0] is not None:
        rank = len(op.results[0].type.get_shape())  # type: ignore[attr-defined]
        return _with_inserted(ins[0], broadcast_dims(op), rank)  # type: ignore[arg-type]
    if kind == "fill":
        return ins[-1]
    return None


def backward(op: Operation, out: Sharding, ins: list[Sharding | None]) -> list[Sharding | None]:
    """Shardings for the operands still unknown (``None`` in ``ins``); known ones are kept."""
    kind = kind_of(op)
    g = out.grid
    guess: list[Sharding | None] = [None] * len(ins)
    if kind == "elementwise":
        guess = [out] * len(ins)
    elif kind == "matmul":
        (m, n), a, b = out.split, ins[0], ins[1]
        ak = a.split[1] if a else (b.split[0] if b else ())
        bk = b.split[0] if b else ak
        guess = [Sharding(g, (m, bk)), Sharding(g, (ak, n))] + [out] * (len(ins) - 2)
    elif kind == "transpose":
        perm = op.permutation.get_values()  # type: ignore[attr-defined]
        split: list[tuple[int, ...]] = [()] * len(perm)
        for d, p in enumerate(perm):
            split[p] = out.split[d]
        guess = [Sharding(g, tuple(split)), out]
    elif kind == "reduce":
        rank = len(op.operands[0].type.get_shape())  # type: ignore[attr-defined]
        guess = [_with_inserted(out, reduce_dims(op), rank), out]  # type: ignore[arg-type]
    elif kind == "broadcast":
        guess = [_without(out, broadcast_dims(op)), out]  # type: ignore[arg-type]
    elif kind == "fill":
        guess = [None, out]
    return [s if s is not None else gs for s, gs in zip(ins, guess, strict=True)]
