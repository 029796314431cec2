"""TVM frontend: what a GPU-scheduled PrimFunc's threads share.

- **Bound loops.**  A loop bound to ``blockIdx.*``/``threadIdx.*`` is the thread's index,
  guarded where the same index is bound with a larger extent elsewhere in the stage.
- **Barriers.**  TVM's own lowering inserts ``__syncthreads`` after xpuc takes the
  PrimFunc, so xpuc infers them: between consecutive statements where one writes a
  shared buffer the other reads or writes, and at the end of a loop body that does both.
- **Cross-thread reductions.**  A reduction loop bound to threads (``sch.bind(k,
  "threadIdx.x")``, after ``rfactor`` or not) would make the threads race on the result.
  TVM's ``LowerCrossThreadReduction`` (:func:`lower_cross_thread`, run before the walk)
  rewrites the block into an in-thread partial reduction, a ``tvm_thread_allreduce`` of
  the partials under the block's ``comm_reducer``, and a write-back by one thread.
  :meth:`Threads.allreduce` is a tree in shared memory: each group of threads (those
  sharing every thread index the reduction is not over) combines its partials in
  ``log2(n)`` steps with a barrier after each, with the reducer's own combiner (any
  number of values: ``argmax``'s index and value too).
"""

from __future__ import annotations

from math import prod

from xdsl.dialects import arith, gpu, memref, scf
from xdsl.dialects.builtin import IntegerAttr, MemRefType, StringAttr, UnitAttr, i64
from xdsl.ir import Attribute, SSAValue

from xpuc.frontends.tvm import tir
from xpuc.frontends.tvm.exprs import TirError, dtype_of, ir_type

_TAGS = {f"{k}.{d}": (cls, getattr(gpu.DimensionEnum, d.upper()))
         for k, cls in (("blockIdx", gpu.BlockIdOp), ("threadIdx", gpu.ThreadIdOp))
         for d in "xyz"}  # fmt: skip


def races(func) -> bool:
    """Whether a loop bound to threads feeds a reduction into a buffer the threads share."""
    found = [False]

    def visit(node) -> None:
        if type(node).__name__ == "For" and int(node.kind) == 4:
            found[0] |= not Threads.spatial(node.loop_var, node.body)

    tir.walk(func.body, visit)
    return found[0]


def lower_cross_thread(func):
    """``func`` with its cross-thread reductions made explicit by TVM's own pass."""
    if not races(func):
        return func
    import tvm

    try:
        mod = tvm.s_tir.transform.LowerCrossThreadReduction()(tvm.IRModule({"main": func}))
    except Exception as e:  # noqa: BLE001 - tvm_ffi raises the C++ error types
        lines = [x for x in str(e).splitlines() if x.strip()]
        raise TirError("a reduction loop bound to threads that TVM's "
                       f"LowerCrossThreadReduction refuses: {lines[-1]}") from None  # fmt: skip
    return mod["main"]


class Threads:
    """Mixin of :class:`~.lower.TirLowering`: thread indices, barriers, allreduce."""

    @staticmethod
    def spatial(var, body) -> bool:
        """Whether ``var`` feeds only spatial block iterators, or reductions into
        thread-local buffers (TVM's in-thread partials)."""
        ok = [True]

        def visit(node) -> None:
            if type(node).__name__ != "SBlockRealize":
                return
            stores: list = []
            tir.walk(node.block.body, lambda n: stores.append(n.buffer)
                     if type(n).__name__ == "BufferStore" else None)  # fmt: skip
            if all(str(b.scope()) == "local" for b in stores):
                return
            for iv, value in zip(node.block.iter_vars, node.iter_values, strict=True):
                if int(iv.iter_type) != 0 and tir.uses(value, var):  # not DataPar
                    ok[0] = False

        tir.walk(body, visit)
        return ok[0]

    def bound(self, s) -> None:
        tag = str(s.thread_binding.thread_tag)
        if tag not in _TAGS:
            raise TirError(f"loop bound to '{tag}' is not supported yet")
        if not self.spatial(s.loop_var, s.body):  # threads would race on the result
            raise TirError(f"loop '{s.loop_var}' bound to {tag} feeds a reduction that "
                           "TVM's LowerCrossThreadReduction does not rewrite")  # fmt: skip
        cls, dim = _TAGS[tag]
        extent = tir.static(s.extent, f"extent of the loop bound to {tag}")
        i = self.emit(cls(gpu.DimensionAttr(dim))).results[0]
        at = self.emit(arith.AddiOp(i, self.idx(tir.static(s.min, "loop start")))).results[0]
        self.thread_vars.append((s.loop_var, tag, extent))
        if tag.startswith("threadIdx"):
            self.thread_dep.append(s.loop_var)

        def inner() -> None:
            t = ir_type(dtype_of(s.loop_var))
            self.bind(s.loop_var, self.emit(arith.IndexCastOp(at, t)).results[0])
            self.stmt(s.body)

        if extent < self.launch[tag]:  # the same index bound with a larger extent elsewhere
            inside = self.emit(arith.CmpiOp(i, self.idx(extent), "ult")).results[0]
            self.guarded(inside, inner, tag.startswith("threadIdx"))
        else:
            self.ops += self.nested(inner)

    def guarded(self, cond: SSAValue, fn, split: bool) -> None:
        """``fn``'s statements under ``cond`` (``split``: which threads of a block may not
        share)."""
        self.divergent += split
        ops = self.nested(fn)
        self.divergent -= split
        self.emit(scf.IfOp(cond, [], [*ops, scf.YieldOp()]))

    def per_thread(self, expr) -> bool:
        """Whether ``expr`` may differ between the threads of a block."""
        return any(tir.uses(expr, v) for v in self.thread_dep)

    def barrier(self) -> None:
        if self.divergent:
            raise TirError("shared memory needs a barrier under a condition on the thread "
                           "index (a loop bound to fewer threads than the block has, or a "
                           "predicate on them): not every thread would reach it")  # fmt: skip
        self.emit(gpu.BarrierOp())

    def bindings(self, stmt) -> dict[str, int]:
        """The launch extent of each thread index the stage's loops are bound to."""
        found: dict[str, int] = {}

        def visit(node) -> None:
            if type(node).__name__ == "For" and int(node.kind) == 4:
                tag = str(node.thread_binding.thread_tag)
                n = tir.static(node.extent, f"extent of the loop bound to {tag}")
                found[tag] = max(found.get(tag, 1), n)

        tir.walk(stmt, visit)
        return found

    # -- barriers ---------------------------------------------------------------------
    def shared_access(self, stmt) -> tuple[set[int], set[int]]:
        """Which shared buffers (their positions) ``stmt`` reads and writes."""
        reads: set[int] = set()
        writes: set[int] = set()

        def visit(node) -> None:
            kind = type(node).__name__
            if kind == "BufferStore":
                buf = node.buffer
            elif kind in ("TensorLoad", "BufferLoad"):
                buf = tir.source(node)
            else:
                return
            for i, b in enumerate(self.shared):
                if b.same_as(buf):
                    (writes if kind == "BufferStore" else reads).add(i)

        tir.walk(stmt, visit)
        return reads, writes

    def conflict(self, first, then) -> bool:
        """Whether ``then`` must wait for the block's threads to finish ``first``: one
        writes shared memory the other reads or writes."""
        r1, w1 = self.shared_access(first)
        r2, w2 = self.shared_access(then)
        return bool(w1 & (r2 | w2) or r1 & w2)

    def workgroup(self, name: str, t: Attribute, n: int) -> SSAValue:
        """A per-block shared array of ``n`` elements of ``t``."""
        mt = MemRefType(t, [n], memory_space=IntegerAttr(3, i64))
        sym = f"__tvm_{self.name}_{self.index}_{name}"
        glob = memref.GlobalOp.get(StringAttr(sym), mt, UnitAttr(), StringAttr("private"),
                                   None, alignment=16)  # fmt: skip
        self.globals.append(glob)
        return self.emit(memref.GetGlobalOp(sym, mt)).results[0]

    # -- tvm_thread_allreduce ---------------------------------------------------------
    def allreduce(self, call) -> None:
        if self.reducer is None:
            raise TirError("tvm_thread_allreduce outside a 'reduce_scope' attribute")
        if self.divergent:
            raise TirError("a cross-thread reduction under a condition on the thread "
                           "index is not supported yet (every thread must reach it)")  # fmt: skip
        args = list(call.args)
        n = int(args[0].value)
        values, cond, temps, tvars = (
            args[1 : 1 + n],
            args[1 + n],
            args[2 + n : 2 + 2 * n],
            args[2 + 2 * n :],
        )
        over = {}
        for v in tvars:
            tag, extent = next(((t, e) for u, t, e in self.thread_vars if u.same_as(v)), (None, 0))
            if tag is None or not tag.startswith("threadIdx"):
                raise TirError(f"tvm_thread_allreduce over '{v}', not a threadIdx-bound loop")
            if extent != self.launch[tag]:
                raise TirError(f"a cross-thread reduction over {tag} with extent "
                               f"{extent}, bound elsewhere with {self.launch[tag]}: not "
                               "supported yet")  # fmt: skip
            over[tag] = extent
        r, count = self.linear([t for t in over])
        g, groups = self.linear(
            [t for t in self.launch if t.startswith("threadIdx") and t not in over]
        )
        at = self.emit(arith.AddiOp(self.emit(arith.MuliOp(g, self.idx(count))), r)).results[0]
        c = self.expr(cond)
        vals = [self.expr(v) for v in values]
        ids = [
            self.cast(self.expr(e), dtype_of(v))
            for e, v in zip(self.reducer.identity_element, values, strict=True)
        ]
        self.reductions += 1
        scratch = [self.workgroup(f"allreduce{self.reductions}_{i}", v.type, groups * count)
                   for i, v in enumerate(vals)]  # fmt: skip
        for s, v, e in zip(scratch, vals, ids, strict=True):
            self.emit(memref.StoreOp.get(self.emit(arith.SelectOp(c, v, e)), s, [at]))
        self.emit(gpu.BarrierOp())
        step = 1 << max(count - 1, 0).bit_length() - 1 if count > 1 else 0
        while step:
            lim = self.idx(min(step, count - step))
            inside = self.emit(arith.CmpiOp(r, lim, "ult")).results[0]
            self.emit(
                scf.IfOp(
                    inside,
                    [],
                    [*self.nested(lambda s=step: self.combine(scratch, at, s)), scf.YieldOp()],
                )
            )
            self.emit(gpu.BarrierOp())
            step //= 2
        first = self.emit(arith.MuliOp(g, self.idx(count))).results[0]
        results = [self.emit(memref.LoadOp.get(s, [first])).results[0] for s in scratch]
        for t, v in zip(temps, results, strict=True):
            m, i = self.flat_index(tir.source(t), t.indices)
            self.emit(memref.StoreOp.get(v, m, [i]))
        self.emit(gpu.BarrierOp())  # before the scratch is written again

    def combine(self, scratch: list[SSAValue], at: SSAValue, step: int) -> None:
        """``scratch[at] = reducer(scratch[at], scratch[at + step])``, every value at once."""
        other = self.emit(arith.AddiOp(at, self.idx(step))).results[0]
        red = self.reducer
        for s, x, y in zip(scratch, red.lhs, red.rhs, strict=True):
            self.bind(x, self.emit(memref.LoadOp.get(s, [at])).results[0])
            self.bind(y, self.emit(memref.LoadOp.get(s, [other])).results[0])
        out = [self.expr(e) for e in red.result]
        for s, v in zip(scratch, out, strict=True):
            self.emit(memref.StoreOp.get(v, s, [at]))

    def linear(self, tags: list[str]) -> tuple[SSAValue, int]:
        """The row-major position of this thread among ``tags``' indices (x fastest), and
        how many positions there are."""
        acc, n = self.idx(0), 1
        for tag in sorted(tags):
            cls, dim = _TAGS[tag]
            i = self.emit(cls(gpu.DimensionAttr(dim))).results[0]
            acc = self.emit(arith.AddiOp(acc, self.emit(arith.MuliOp(i, self.idx(n))))).results[0]
            n *= self.launch[tag]
        return acc, n


_ = prod
