"""A pool of rank processes joined by ``torch.distributed``: where collectives run.

``Cluster(world_size)`` spawns the ranks once and keeps them; ``cluster.run(fn, ...)``
calls the top-level, picklable ``fn(ctx, ...)`` on every rank and returns one result
per rank.  ``ctx`` is a :class:`RankContext`: the rank, the world size and the
collectives of :mod:`xpuc.runtime.collectives`.

Failures are loud and final: when a rank raises, dies or overruns the timeout,
``run`` raises :class:`DistributedError` (naming the rank, with its traceback text or
exit code) and the cluster is torn down, because after a failed collective the
survivors' process group is in an unknown state.  ``restart()`` brings up fresh
ranks.  A ``run`` never returns partial results.

The backend (``gloo``, ``nccl``, ``hccl``, ...) is a name passed to
``init_process_group``; the ranks meet through a file store in a private temporary
directory, so no port can be taken by someone else.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import shutil
import signal
import tempfile
import time
import traceback
import weakref
from collections.abc import Callable, Sequence
from datetime import timedelta
from multiprocessing.connection import wait
from typing import Any

#: After a first failure, how long to wait for the other ranks' reports before killing
#: them: a rank blocked on a dead peer usually errors at once, and its message helps.
_GRACE_S = 0.5
#: How often the parent looks at its ranks while waiting.
_POLL_S = 0.1


class DistributedError(RuntimeError):
    """A rank raised, died, or did not finish; ``rank`` is the first rank at fault."""

    def __init__(
        self,
        message: str,
        rank: int | None = None,
        exitcode: int | None = None,
        remote_traceback: str | None = None,
    ):
        super().__init__(message)
        self.rank = rank
        self.exitcode = exitcode
        self.remote_traceback = remote_traceback


class RankContext:
    """What ``fn(ctx, ...)`` sees on one rank; lives as long as the rank's process."""

    def __init__(self, rank: int, world_size: int, backend: str, timeout: float):
        self.rank = rank
        self.world_size = world_size
        self.backend = backend
        self.timeout = timeout
        self._comm = None

    @property
    def comm(self):
        """The rank's comm thread (:class:`~xpuc.runtime.collectives.CommThread`)."""
        if self._comm is None:
            from xpuc.runtime.collectives import CommThread

            self._comm = CommThread()
        return self._comm

    def run_schedule(self, schedule, tensor, group: Sequence[int] | None = None, **kw):
        from xpuc.runtime.collectives import run_schedule

        return run_schedule(schedule, tensor, group, **kw)

    def native(self, kind: str, tensor, group: Sequence[int] | None = None, **kw):
        from xpuc.runtime.collectives import run_native

        return run_native(kind, tensor, group, **kw)

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()

    def close(self) -> None:
        if self._comm is not None:
            self._comm.close()
            self._comm = None


def _worker(rank, world_size, backend, init_method, timeout, num_threads, conn) -> None:
    # Ctrl-C reaches the whole process group; the parent decides how ranks end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import torch
        import torch.distributed as dist

        if num_threads:
            torch.set_num_threads(num_threads)
        dist.init_process_group(
            backend,
            init_method=init_method,
            rank=rank,
            world_size=world_size,
            timeout=timedelta(seconds=timeout),
        )
        ctx = RankContext(rank, world_size, backend, timeout)
    except BaseException:
        conn.send_bytes(pickle.dumps(("err", traceback.format_exc())))
        return
    conn.send_bytes(pickle.dumps(("ok", None)))
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            break  # the parent is gone
        try:
            task = pickle.loads(message)
            if task is None:
                break
            fn, args, kwargs = task
            payload = pickle.dumps(("ok", fn(ctx, *args, **kwargs)))
        except BaseException:
            payload = pickle.dumps(("err", traceback.format_exc()))
        try:
            conn.send_bytes(payload)
        except (EOFError, OSError):
            break
    ctx.close()
    dist.destroy_process_group()


class Cluster:
    """``world_size`` rank processes, started once, running one ``fn`` at a time.

    ``timeout`` bounds each ``run`` (the start gets at least 60 s); ``op_timeout`` (default:
    ``timeout``) is the process group's timeout, so a receive with no matching send
    fails instead of hanging.  ``num_threads`` is each rank's torch thread count.
    """

    def __init__(
        self,
        world_size: int,
        backend: str = "gloo",
        timeout: float = 60.0,
        *,
        op_timeout: float | None = None,
        num_threads: int = 1,
    ):
        if world_size < 1:
            raise ValueError(f"world_size must be at least 1, not {world_size}")
        self.world_size = world_size
        self.backend = backend
        self.timeout = timeout
        self.op_timeout = timeout if op_timeout is None else op_timeout
        self.num_threads = num_threads
        self._procs: list = []
        self._conns: list = []
        self._tmpdir: str | None = None
        self._finalizer = None
        self.start()

    @property
    def alive(self) -> bool:
        return bool(self._procs)

    def start(self) -> None:
        """Spawn the ranks and wait until every one has joined the process group."""
        if self.alive:
            return
        ctx = mp.get_context("spawn")
        self._tmpdir = tempfile.mkdtemp(prefix="xpuc-dist-")
        init_method = "file://" + os.path.join(self._tmpdir, "store")
        for rank in range(self.world_size):
            parent, child = ctx.Pipe()
            args = (rank, self.world_size, self.backend, init_method, self.op_timeout)
            proc = ctx.Process(
                target=_worker,
                args=(*args, self.num_threads, child),
                name=f"xpuc-rank{rank}",
                daemon=True,
            )
            proc.start()
            child.close()
            self._procs.append(proc)
            self._conns.append(parent)
        self._finalizer = weakref.finalize(
            self, _teardown, self._procs, self._conns, self._tmpdir, True
        )
        # Importing torch in every rank at once takes a while on a loaded machine.
        self._collect("start", max(self.timeout, 60.0))

    def restart(self) -> None:
        self.close()
        self.start()

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[Any]:
        """``fn(ctx, *args, **kwargs)`` on every rank; the results in rank order."""
        if not self.alive:
            raise DistributedError("the cluster is closed (a run failed, or close() ran)")
        payload = pickle.dumps((fn, args, kwargs))  # unpicklable input: fail here
        for conn in self._conns:
            try:
                conn.send_bytes(payload)
            except OSError:
                pass  # a dead rank: _collect names it
        return self._collect("run", self.timeout)

    def _collect(self, what: str, timeout: float) -> list[Any]:
        n = self.world_size
        results: list[Any] = [None] * n
        pending = set(range(n))
        errors: dict[int, str] = {}
        dead: dict[int, int | None] = {}
        deadline = time.monotonic() + timeout
        first_failure = None
        while pending:
            now = time.monotonic()
            if first_failure is not None and now > first_failure + _GRACE_S:
                break
            if now > deadline:
                break
            waitables = [self._conns[r] for r in pending]
            waitables += [self._procs[r].sentinel for r in pending]
            wait(waitables, timeout=min(_POLL_S, max(deadline - now, 0.0)))
            for r in sorted(pending):
                got = self._receive(r)
                if got is None:
                    continue
                pending.discard(r)
                status, value = got
                if status == "ok":
                    results[r] = value
                elif status == "err":
                    errors[r] = value
                else:
                    dead[r] = value
                if status != "ok" and first_failure is None:
                    first_failure = time.monotonic()
        if not (pending or errors or dead):
            return results
        self.close(kill=True)
        raise self._error(what, timeout, pending, errors, dead, first_failure is None)

    def _receive(self, r: int):
        """``("ok"|"err", value)``, ``("dead", exitcode)``, or None while running."""
        conn, proc = self._conns[r], self._procs[r]
        try:
            if conn.poll():
                status, value = pickle.loads(conn.recv_bytes())
                return status, value
        except (EOFError, OSError):
            pass  # closed: the process is exiting
        except Exception:
            return "err", "the result could not be unpickled:\n" + traceback.format_exc()
        else:
            if proc.is_alive():
                return None
        proc.join(timeout=2.0)
        return "dead", proc.exitcode

    def _error(self, what, timeout, pending, errors, dead, timed_out) -> DistributedError:
        parts = []
        for r, code in sorted(dead.items()):
            parts.append(f"rank {r} died (exit code {code})")
        for r, tb in sorted(errors.items()):
            parts.append(f"rank {r} raised:\n{tb}")
        if timed_out and pending:
            ranks = ", ".join(map(str, sorted(pending)))
            noun = "rank" if len(pending) == 1 else "ranks"
            head = f"{noun} {ranks} did not finish within {timeout:g} s"
            parts.insert(0, head)
            first = min(pending)
        else:
            first = min(dead) if dead else min(errors)
        message = f"{what} on {self.world_size} {self.backend} ranks failed: " + "\n".join(parts)
        return DistributedError(
            message, rank=first, exitcode=dead.get(first), remote_traceback=errors.get(first)
        )

    def close(self, kill: bool = False) -> None:
        """Stop the ranks: politely (each destroys its process group), or ``kill``."""
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        _teardown(self._procs, self._conns, self._tmpdir, kill)
        self._procs, self._conns, self._tmpdir = [], [], None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close(kill=exc[0] is not None)

    def __del__(self) -> None:
        if getattr(self, "_finalizer", None) is not None:
            self.close(kill=True)


def _teardown(procs, conns, tmpdir, kill: bool) -> None:
    if not kill:
        for conn in conns:
            try:
                conn.send_bytes(pickle.dumps(None))
            except OSError:
                pass
        deadline = time.monotonic() + 5.0
        for proc in procs:
            proc.join(timeout=max(deadline - time.monotonic(), 0.0))
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=2.0)
        if proc.is_alive():
            proc.kill()
            proc.join()
    for conn in conns:
        conn.close()
    if tmpdir is not None:
        shutil.rmtree(tmpdir, ignore_errors=True)


def launch(
    fn: Callable[..., Any],
    world_size: int,
    *args: Any,
    backend: str = "gloo",
    timeout: float = 60.0,
    **kwargs: Any,
) -> list[Any]:
    """One-shot :meth:`Cluster.run`: start ``world_size`` ranks, run ``fn``, stop them."""
    with Cluster(world_size, backend, timeout) as cluster:
        return cluster.run(fn, *args, **kwargs)
