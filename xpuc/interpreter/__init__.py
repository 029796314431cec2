"""A reference interpreter for the shared IR at SIMT level (``gpu.module``/``gpu.func``).

    mod = xpuc.interpreter.load(xpuc.compile(src, "cpu", emit="mlir"))
    mod.saxpy[grid, block](x, y, 2.0, n)      # the same interface as xpuc.load(art)

It runs the shared IR as the frontend and the target-independent passes leave it,
before any target lowering (no loop fission, no LLVM), so its results check those of
every target.  It is built on xDSL's interpreter: xDSL's
function sets for ``arith``, ``scf``, ``func``, ``cf``, ``math`` and ``builtin`` run as
they are, and this package registers over them what kernels need (``arith.py``,
``math.py``, ``memory.py``, ``simt.py``).

Execution model
---------------
* A launch runs the grid's blocks one after another.  Inside a block every GPU
  thread is a Python thread (``threading.Thread``) with its own xDSL ``Interpreter``
  (its own SSA values); a thread's linear id is ``x + y*bx + z*bx*by`` and a warp is
  32 consecutive linear ids.
* The threads of a block take turns (``sync.py``): one runs until it reaches a
  meeting point or returns, then the lowest-numbered thread that can run goes on.
  That is the order in which the cpu target runs a block, so results agree, and do
  not depend on how the OS schedules threads.
* ``gpu.barrier`` and the warp operations (``xpu.shuffle``, ``xpu.vote``,
  ``xpu.active_mask``, ``xpu.warp_sync``) are meeting points: threads deposit a value
  in the warp's (or block's) slots, wait until all that must come have come, then
  each computes its result from all deposits.  Threads that have returned are not
  waited for, so an early ``return`` cannot deadlock a barrier.
* Memory (``values.py``, ``memory.py``): array arguments alias the caller's numpy
  arrays (stores land in them directly); ``alloca`` is per thread; ``__shared__``
  globals (memory space 3) and the dynamic shared buffer are per block;
  ``__device__``/``__constant__`` globals are one buffer per loaded module
  (``mod.symbol(name)``).  Every access is bounds-checked.
* Atomics run under one lock and return the old value.  Integers wrap at their
  width; ``f32`` results are rounded to float32.
* A fault (out-of-bounds access, division by zero, an op without an implementation)
  in any thread stops the block and raises an :class:`InterpretError` (an
  ``XpucError``) naming the op, its location when the IR has one, the block and the
  thread.  Ops without an implementation are reported before any thread starts.

Speed: some tens of thousands of ops a second, so this is for small launches (tests,
checking a target's results, debugging a miscompile), not for workloads.
"""

from xpuc.interpreter.launch import InterpretedKernel, InterpretedModule, load
from xpuc.interpreter.values import InterpretError, UnsupportedOpError

__all__ = ["InterpretError", "InterpretedKernel", "InterpretedModule", "UnsupportedOpError", "load"]
