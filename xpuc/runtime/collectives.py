"""Collectives on one rank: planned schedules, the backend's own, and a comm thread.

:func:`run_schedule` executes a :class:`~xpuc.comm.schedule.Schedule` with
``isend``/``irecv``; :func:`run_native` calls the backend's collective for
comparison.  Both run inside a rank of :class:`~xpuc.runtime.distributed.Cluster`
(or any process with an initialized default process group).

Shapes, per kind (``n`` ranks in the group, input of shape ``s``):

- ``all_reduce``: shape ``s``.
- ``all_gather``: shape ``(n, *s)``, row ``i`` from group position ``i``.
- ``reduce_scatter``: the input is ``n`` blocks (block bounds per schedule.py, which
  allows uneven blocks); returns the own block, flat, or of shape ``s[1:]`` when
  ``s[0] == n``.
- ``all_to_all``: shape ``s``; block ``i`` of the output is block ``r`` of position
  ``i``'s input.  The element count must divide by ``n``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import torch
import torch.distributed as dist

from xpuc.comm.schedule import KINDS, OP_NAMES, RECV, SEND, Schedule

REDUCTIONS = ("sum", "max", "min", "product", "avg")

_COMBINE: dict[str, Callable[[torch.Tensor, torch.Tensor], object]] = {
    "sum": lambda acc, x: acc.add_(x),
    "avg": lambda acc, x: acc.add_(x),
    "max": lambda acc, x: torch.maximum(acc, x, out=acc),
    "min": lambda acc, x: torch.minimum(acc, x, out=acc),
    "product": lambda acc, x: acc.mul_(x),
}


class CommError(RuntimeError):
    """A send or receive of a collective failed (timeout, peer gone, size mismatch)."""

    def __init__(self, message: str, kind: str, algorithm: str, step: int, peer: int):
        super().__init__(message)
        self.kind, self.algorithm, self.step, self.peer = kind, algorithm, step, peer


def _group_and_position(group: Sequence[int] | None) -> tuple[list[int], int]:
    ranks = list(range(dist.get_world_size())) if group is None else list(group)
    me = dist.get_rank()
    if me not in ranks:
        raise ValueError(f"rank {me} is not in the group {ranks}")
    return ranks, ranks.index(me)


def _check(kind: str, reduction: str, tensor: torch.Tensor, n: int) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown collective {kind!r}; expected one of {KINDS}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; expected one of {REDUCTIONS}")
    if reduction == "avg" and not tensor.is_floating_point():
        raise ValueError(f"avg needs a floating-point tensor, not {tensor.dtype}")
    if kind == "all_to_all" and tensor.numel() % n:
        raise ValueError(f"all_to_all needs n | numel; {tensor.numel()} elements on {n} ranks")


def _block(length: int, chunks: int, n: int, r: int) -> tuple[int, int]:
    """Elements of block ``r``: units ``[r * chunks // n, (r + 1) * chunks // n)``."""
    lo, hi = r * chunks // n, (r + 1) * chunks // n
    return lo * length // chunks, hi * length // chunks


def run_schedule(
    schedule: Schedule,
    tensor: torch.Tensor,
    group: Sequence[int] | None = None,
    reduction: str = "sum",
    *,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Execute ``schedule`` on this rank; ``group[i]`` is the global rank of position i.

    ``group`` defaults to all ranks.  ``out`` (optional, contiguous, of the result's
    element count) receives the result.  A failed send or receive raises
    :class:`CommError` naming the collective, algorithm, step and peer (global rank).
    """
    ranks, me = _group_and_position(group)
    n, kind = len(ranks), schedule.kind
    if schedule.nranks != n:
        raise ValueError(f"a {schedule.nranks}-rank schedule on a group of {n} ranks")
    _check(kind, reduction, tensor, n)
    flat = tensor.detach().contiguous().reshape(-1)
    if kind == "all_gather":
        size = n * flat.numel()
    else:
        size = flat.numel()
    buf = torch.empty(size, dtype=flat.dtype) if out is None else out.view(-1)
    if buf.numel() != size:
        raise ValueError(f"out has {buf.numel()} elements; the result needs {size}")
    chunks = schedule.chunks
    if kind == "all_gather":
        lo, hi = _block(size, chunks, n, me)
        buf[lo:hi] = flat
        src = buf
    elif kind == "all_to_all":
        lo, hi = _block(size, chunks, n, me)
        buf[lo:hi] = flat[lo:hi]
        src = flat
    else:
        buf.copy_(flat)
        src = buf
    combine = _COMBINE[reduction]
    for s, step in enumerate(schedule.for_rank(me)):
        _run_step(schedule, s, step, src, buf, ranks, combine)
    if reduction == "avg" and kind in ("all_reduce", "reduce_scatter"):
        buf.div_(n)
    if kind == "all_reduce":
        return buf.view(tensor.shape)
    if kind == "all_gather":
        return buf.view(n, *tensor.shape)
    if kind == "reduce_scatter":
        lo, hi = _block(size, chunks, n, me)
        block = buf[lo:hi]
        shaped = tensor.dim() >= 1 and tensor.shape[0] == n
        return block.view(tensor.shape[1:]) if shaped else block
    return buf.view(tensor.shape)


def _run_step(schedule, s, step, src, dst, ranks, combine) -> None:
    """One step: post sends and receives, wait for all, then apply receives in order.

    Zero-length transfers (more units than elements) are skipped on both sides, which
    agree because both compute the same element bounds."""
    size = dst.numel()
    bound = schedule.unit_bounds
    works, received = [], []
    for t in step:
        lo, hi = bound(size, t.lo), bound(size, t.hi)
        if lo == hi:
            continue
        peer = ranks[t.peer]
        try:
            if t.op == SEND:
                work = dist.isend(src[lo:hi], peer)
            else:
                tmp = torch.empty(hi - lo, dtype=dst.dtype)
                work = dist.irecv(tmp, peer)
                received.append((t, lo, hi, tmp))
        except Exception as e:
            raise _comm_error(schedule, s, t, peer, e) from e
        works.append((t, peer, work))
    for t, peer, work in works:
        try:
            work.wait()
        except Exception as e:
            raise _comm_error(schedule, s, t, peer, e) from e
    for t, lo, hi, tmp in received:
        if t.op == RECV:
            dst[lo:hi] = tmp
        else:
            combine(dst[lo:hi], tmp)


def _comm_error(schedule: Schedule, s: int, t, peer: int, e: Exception) -> CommError:
    what = f"{OP_NAMES[t.op]} of units [{t.lo}, {t.hi})"
    message = (
        f"{schedule.kind} ({schedule.algorithm}) step {s}: {what} "
        f"{'to' if t.op == SEND else 'from'} rank {peer} failed: {e}"
    )
    return CommError(message, schedule.kind, schedule.algorithm, s, peer)


# -- the backend's own collectives ---------------------------------------------------

_GROUPS: dict[tuple[int, ...], object] = {}


def process_group(group: Sequence[int] | None):
    """The process group for ``group`` (None: the default group), made on first use.

    Subgroups are created with ``use_local_synchronization=True``, so only members
    take part; but members must first use overlapping subgroups in the same order,
    or group creation can deadlock (torch's rule for ``new_group``)."""
    if group is None or list(group) == list(range(dist.get_world_size())):
        return None
    key = tuple(group)
    if key not in _GROUPS:
        _GROUPS[key] = dist.new_group(list(key), use_local_synchronization=True)
    return _GROUPS[key]


_OPS = {
    "sum": dist.ReduceOp.SUM,
    "avg": dist.ReduceOp.SUM,  # gloo has no AVG: sum, then divide
    "max": dist.ReduceOp.MAX,
    "min": dist.ReduceOp.MIN,
    "product": dist.ReduceOp.PRODUCT,
}


def run_native(
    kind: str,
    tensor: torch.Tensor,
    group: Sequence[int] | None = None,
    reduction: str = "sum",
) -> torch.Tensor:
    """``kind`` through the backend's collective; same shapes as :func:`run_schedule`.

    Gloo has no reduce-scatter: there (and for uneven blocks anywhere) it is an
    all-reduce followed by taking the own block, which moves ``n`` times the data a
    real reduce-scatter would.  Every member of ``group`` must call this in the same
    order (it is a collective); see :func:`process_group` for subgroups."""
    ranks, me = _group_and_position(group)
    n = len(ranks)
    _check(kind, reduction, tensor, n)
    pg = process_group(ranks)
    flat = tensor.detach().contiguous().reshape(-1)
    op = _OPS[reduction]
    if kind == "all_reduce":
        res = flat.clone()
        dist.all_reduce(res, op=op, group=pg)
        if reduction == "avg":
            res.div_(n)
        return res.view(tensor.shape)
    if kind == "all_gather":
        res = torch.empty(n * flat.numel(), dtype=flat.dtype)
        gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor
        gather(res, flat, group=pg)
        return res.view(n, *tensor.shape)
    if kind == "all_to_all":
        res = torch.empty_like(flat)
        dist.all_to_all_single(res, flat, group=pg)
        return res.view(tensor.shape)
    size = flat.numel()
    lo, hi = size * me // n, size * (me + 1) // n
    if size % n == 0 and dist.get_backend(pg) != "gloo":
        block = torch.empty(hi - lo, dtype=flat.dtype)
        dist.reduce_scatter_tensor(block, flat, op=op, group=pg)
    else:
        full = flat.clone()
        dist.all_reduce(full, op=op, group=pg)
        block = full[lo:hi]
    if reduction == "avg":
        block = block / n
    shaped = tensor.dim() >= 1 and tensor.shape[0] == n
    return block.view(tensor.shape[1:]) if shaped else block


# -- asynchronous collectives --------------------------------------------------------


class CommThread:
    """One background thread per rank that issues collectives in submission order.

    Only this thread touches the process group while the main thread computes, so
    the order of collectives is the same on every rank as long as every rank
    submits in the same order."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xpuc-comm")

    def start(self, fn: Callable[..., object], *args: object, **kwargs: object) -> Future:
        """Queue ``fn(*args, **kwargs)``; its result or exception comes back through
        the future."""
        return self._pool.submit(fn, *args, **kwargs)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


# -- measurements ---------------------------------------------------------------------


def ping_pong(nbytes: int, reps: int = 20, peer: int = 1, warmup: int = 3) -> float:
    """Median one-way time in seconds of ``nbytes`` between rank 0 and ``peer``.

    Rank 0 and ``peer`` must call it (others may call it too and return 0.0); it uses
    the same ``isend``/``irecv``/``wait`` path as :func:`run_schedule`."""
    me = dist.get_rank()
    if me not in (0, peer):
        return 0.0
    other = peer if me == 0 else 0
    buf = torch.zeros(max(nbytes, 1), dtype=torch.uint8)
    times = []
    for i in range(warmup + reps):
        t0 = time.perf_counter()
        if me == 0:
            dist.isend(buf, other).wait()
            dist.irecv(buf, other).wait()
        else:
            dist.irecv(buf, other).wait()
            dist.isend(buf, other).wait()
        if i >= warmup:
            times.append((time.perf_counter() - t0) / 2)
    return _median(times)


def exchange(nbytes: int, reps: int = 10, warmup: int = 2) -> float:
    """Median time in seconds of one ring step: every rank sends ``nbytes`` to the
    next rank and receives as much from the previous one, all at once (what a step
    of a ring collective does).  Every rank must call it."""
    me, n = dist.get_rank(), dist.get_world_size()
    send = torch.zeros(max(nbytes, 1), dtype=torch.uint8)
    recv = torch.empty_like(send)
    times = []
    for i in range(warmup + reps):
        dist.barrier()
        t0 = time.perf_counter()
        works = [dist.isend(send, (me + 1) % n), dist.irecv(recv, (me - 1) % n)]
        for w in works:
            w.wait()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return _median(times)


def reduce_time(nbytes: int, dtype: torch.dtype = torch.float32, reps: int = 10) -> float:
    """Median seconds to combine two ``nbytes`` buffers with ``add_`` (for gamma)."""
    count = max(nbytes // torch.tensor([], dtype=dtype).element_size(), 1)
    acc, x = torch.ones(count, dtype=dtype), torch.ones(count, dtype=dtype)
    times = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        acc.add_(x)
        times.append(time.perf_counter() - t0)
    return _median(times[1:])


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else 0.0


def ring_probe(n: int, steps: int) -> Schedule:
    """An ``all_gather``-shaped schedule of ``steps`` ring steps on ``n`` ranks: in
    each, every rank sends one unit to the next rank and receives one from the
    previous (plain receive).  For timing :func:`run_schedule` per step."""
    from xpuc.comm.schedule import Transfer

    sched = Schedule("all_gather", "ring_probe", n, n)
    for s in range(steps):
        step = []
        for r in range(n):
            send_u, recv_u = (r - s) % n, (r - s - 1) % n
            step.append(Transfer(r, SEND, (r + 1) % n, send_u, send_u + 1))
            step.append(Transfer(r, RECV, (r - 1) % n, recv_u, recv_u + 1))
        sched.steps.append(step)
    return sched


def ring_steps(
    nbytes: int, steps: int, reps: int = 10, warmup: int = 2, inner: int = 1
) -> list[float]:
    """Per-repetition seconds of one :func:`run_schedule` call of :func:`ring_probe`
    (``steps`` steps, ``nbytes`` per message), each repetition the mean of ``inner``
    back-to-back calls after a barrier.  Every rank must call it."""
    n = dist.get_world_size()
    sched = ring_probe(n, steps)
    x = torch.zeros(max(nbytes // 4, 1), dtype=torch.float32)
    out = torch.empty(n * x.numel(), dtype=torch.float32)
    times = []
    for i in range(warmup + reps):
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(inner):
            run_schedule(sched, x, out=out)
        if i >= warmup:
            times.append((time.perf_counter() - t0) / inner)
    return times
