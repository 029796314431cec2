"""Scheduling one block's threads: the turn, ``__syncthreads`` and the warp operations.

Every GPU thread of a block runs in its own Python thread, but one at a time: a thread
holds the block's *turn* until it stops at a meeting point or finishes, and the turn
then goes to the lowest-numbered thread that can run.  So a block runs as the cpu
target runs it (thread 0 to the first barrier or warp operation, then thread 1, ...),
the result does not depend on how the OS schedules Python threads, and code that
relies on a warp's lanes acting in order (the legacy ``volatile`` warp reductions) gets
the same answer on both.  Only the thread holding the turn runs: no GIL contention.

A meeting point is a :class:`Rendezvous`: threads arrive with a payload (the value a
shuffle sends, a vote's predicate) and stop; once it is complete each reads all the
payloads and computes its own result.  It is complete when everyone it names is there:

* the block barrier: every thread that has not finished (a thread that returned
  early is not waited for, as on the hardware);
* a warp operation with a member mask: every unfinished lane of the warp the mask
  names, at this op;
* ``__activemask()``: every unfinished lane of the warp, at this op.

Code where only some lanes reach a warp operation (``c ? __shfl_sync(~0u, ...) : x``)
would wait forever by those rules.  So when no thread can run, the rendezvous whose op
comes first in the IR is completed with the threads it has: the lanes that reached it
are the active ones.  That is the order of the cpu target's pieces too (each barrier
and warp operation starts a new loop over the block's threads); CUDA leaves it
undefined.

A failing thread aborts the block: the others stop at their next op or meeting point.
"""

from __future__ import annotations

import heapq
import threading
from typing import Any

from xdsl.ir import Operation


class Aborted(Exception):
    """Another thread of the block failed; this one stops without an error of its own."""


_BARRIER = ("barrier",)


class Rendezvous:
    __slots__ = ("op", "warp", "mask", "arrivals")

    def __init__(self, op: Operation, warp: int, mask: int | None):
        self.op = op  # for the block barrier: the first barrier op a thread reached
        self.warp = warp  # -1 for the block barrier
        self.mask = mask  # member lanes; None for __activemask
        self.arrivals: dict[int, Any] = {}  # thread -> payload


class BlockSync:
    def __init__(self, threads: int, warp_size: int, order: dict[Operation, int]):
        self.order = order  # op -> its position in the IR, for the tie-break above
        self.warp_size = warp_size
        self.lock = threading.Lock()
        self.wake = [threading.Condition(self.lock) for _ in range(threads)]
        self.live = set(range(threads))  # threads that have not finished
        self.live_lanes = [set(range(w, min(w + warp_size, threads)))
                           for w in range(0, threads, warp_size)]  # fmt: skip
        self.pending: dict[tuple, Rendezvous] = {}
        self.runnable = list(range(threads))  # a heap of thread ids
        self.turn = heapq.heappop(self.runnable)
        self.failed = False

    # -- what threads call -----------------------------------------------------------

    def begin(self, tid: int) -> None:
        """Wait for this thread's first turn."""
        with self.lock:
            self._wait_turn(tid)

    def barrier(self, tid: int, op: Operation) -> None:
        self._meet(tid, _BARRIER, lambda: Rendezvous(op, -1, None), None)

    def warp(self, tid: int, op: Operation, mask: int | None, payload: Any) -> dict[int, Any]:
        """Meet the warp's other lanes at ``op``; the payloads by thread id."""
        w = tid // self.warp_size
        return self._meet(tid, (w, op, mask), lambda: Rendezvous(op, w, mask), payload)

    def finish(self, tid: int) -> None:
        with self.lock:
            self.live.discard(tid)
            self.live_lanes[tid // self.warp_size].discard(tid)
            if not self.failed:
                for key in [k for k, r in self.pending.items() if self._complete(r)]:
                    self._release(key)
                self._pass_turn()

    def fail(self) -> None:
        with self.lock:
            self.failed = True
            for c in self.wake:
                c.notify()

    # -- the machinery ---------------------------------------------------------------

    def _meet(self, tid: int, key: tuple, make, payload: Any) -> dict[int, Any]:
        with self.lock:
            if self.failed:
                raise Aborted
            r = self.pending.get(key)
            if r is None:
                r = self.pending[key] = make()
            r.arrivals[tid] = payload
            if self._complete(r):
                self._release(key)
            self._pass_turn()
            self._wait_turn(tid)
            return r.arrivals

    def _wait_turn(self, tid: int) -> None:
        while self.turn != tid:
            if self.failed:
                raise Aborted
            self.wake[tid].wait()
        if self.failed:
            raise Aborted

    def _complete(self, r: Rendezvous) -> bool:
        if r.warp < 0:
            return len(r.arrivals) == len(self.live)
        lanes = self.live_lanes[r.warp]
        if r.mask is None:
            return all(t in r.arrivals for t in lanes)
        ws = self.warp_size
        return all(t in r.arrivals for t in lanes if r.mask >> (t % ws) & 1)

    def _release(self, key: tuple) -> None:
        for t in self.pending.pop(key).arrivals:
            heapq.heappush(self.runnable, t)

    def _pass_turn(self) -> None:
        """The current thread stopped: the lowest runnable thread goes on."""
        if not self.runnable and self.pending:
            # nobody can run: the first op in the IR goes on with who is there
            key = min(
                self.pending, key=lambda k: (self.order[self.pending[k].op], self.pending[k].warp)
            )
            self._release(key)
        if self.runnable:
            self.turn = heapq.heappop(self.runnable)
            self.wake[self.turn].notify()
        else:
            self.turn = -1  # every thread has finished
