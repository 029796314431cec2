"""Run an LLVM call that may end the process in a forked child.

Some LLVM back ends report errors they did not expect (a stack frame over the chip's
limit, an intrinsic they cannot select) with ``report_fatal_error``, which prints
``LLVM ERROR: ...`` and exits.  Inside a Python library that would end the user's
program.  ``isolated(fn)`` runs ``fn()`` in a child made by ``fork`` (cheap: the child
shares the parent's loaded LLVM and the module to compile), hands its result back
through a pipe, and turns a child that died into a ``TargetError`` carrying LLVM's
message.  Where ``fork`` is missing, ``fn()`` runs in this process.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from typing import TypeVar

from xpuc.compiler.diagnostics import TargetError

T = TypeVar("T")


def isolated(fn: Callable[[], T], what: str) -> T:
    if not hasattr(os, "fork"):
        return fn()
    read, write = os.pipe()
    with tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: compute, send, leave without Python's clean-up
            os.close(read)
            os.dup2(err.fileno(), 2)  # LLVM's message, for the parent
            code = 0
            try:
                data = pickle.dumps(fn())
                with os.fdopen(write, "wb") as out:
                    out.write(data)
            except BaseException as e:  # noqa: BLE001 - anything: report it to the parent
                sys.stderr.write(f"error: {type(e).__name__}: {e}\n")
                sys.stderr.flush()
                code = 1
            os._exit(code)
        os.close(write)
        with os.fdopen(read, "rb") as inp:
            data = inp.read()
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0 and data:
            return pickle.loads(data)
        err.seek(0)
        lines = [ln for ln in err.read().decode(errors="replace").splitlines() if ln.strip()]
    why = next((ln for ln in lines if "LLVM ERROR" in ln or "error:" in ln), "")
    raise TargetError(f"{what} failed: {why or (lines[-1] if lines else 'the back end stopped')}")
