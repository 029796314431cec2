r"""Compute/communication overlap: a tensor-parallel row-parallel matmul + all-reduce,
unchunked vs chunked by ``comm-overlap``, on 2 and 4 gloo processes.

    python benchmarks/overlap.py [--quick] [--chunks 4] [--algorithm ring]

Each rank multiplies its ``m x k/n`` slice of the activations by its ``k/n x d`` slice
of the weight and the partial products are all-reduced (Megatron's second MLP
matmul).  Measured per rank count, medians over repetitions, all ranks in step:

- ``compute``: the local matmul alone;  ``comm``: the all-reduce alone;
- ``serial``: the unchunked program (matmul, then all-reduce);
- ``chunked``: the program after ``comm-overlap`` (chunk ``i``'s all-reduce runs on the
  rank's comm thread while chunk ``i+1`` computes).

``hidden = (serial - chunked) / min(comm, compute)`` is the fraction of the
communication that overlap took off the critical path (1: all of what could be
hidden).  Both programs' results are checked against numpy first.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def program(n: int, m: int, k: int, d: int):
    from xpuc.comm.builder import Program

    p = Program("row_parallel", grid=(n,))
    a = p.input("a", (m, k), split=[None, 0])
    w = p.input("w", (k, d), split=[0])
    p.output(p.matmul(a, w))
    return p.module()


def _rank(ctx, texts: dict[str, str], inputs, reps: int):
    import torch
    import torch.distributed as dist

    from xpuc.runtime.program import _find, _parse, _signature, local_part
    from xpuc.runtime.program_exec import Interpreter

    out = {}
    for name, text in texts.items():
        f, shape = _find(_parse(text), None)
        split = _signature(f)[0]
        local = [local_part(x, ctx.rank, shape, s) for x, s in zip(inputs, split, strict=True)]
        interp = Interpreter(ctx, shape)
        res = interp.run(f, local)  # warm-up, and the result to check
        times = []
        for _ in range(reps):
            dist.barrier()
            t0 = time.perf_counter()
            interp.run(f, local)
            times.append(time.perf_counter() - t0)
        out[name] = (statistics.median(times), res[0] if ctx.rank == 0 else None)
    a, w = (torch.from_numpy(x) for x in local)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ w
        times.append(time.perf_counter() - t0)
    out["compute"] = (statistics.median(times), None)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--algorithm", default="ring", help="all-reduce algorithm (or native)")
    args = ap.parse_args()

    from xpuc.comm.plan import partition
    from xpuc.comm.topology import uniform
    from xpuc.runtime.distributed import Cluster

    m, k, d = (1024, 2048, 1024) if args.quick else (2048, 4096, 2048)
    reps = 5 if args.quick else 9
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, d)).astype(np.float32)
    ref = a.astype(np.float64) @ w.astype(np.float64)
    mib = m * d * 4 / 2**20
    print(f"row-parallel matmul {m}x{k} * {k}x{d} (f32) + all-reduce of {m}x{d} ({mib:.0f} MiB);"
          f" {args.chunks} chunks; algorithm {args.algorithm}")  # fmt: skip
    print(f"{'ranks':>5} {'compute':>9} {'comm':>9} {'serial':>9} {'chunked':>9} "
          f"{'speedup':>8} {'hidden':>7}")  # fmt: skip
    for n in (2, 4):
        import json
        import tempfile

        topo = uniform(n, 50e-6, 1e9, 1e-10)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(topo.to_json(), fh)
        alg = "" if args.algorithm == "native" else args.algorithm
        spec = fh.name if alg else None
        texts = {
            name: str(partition(program(n, m, k, d), spec, algorithms=alg, overlap_chunks=ch))
            for name, ch in (("serial", None), ("chunked", args.chunks))
        }
        with Cluster(n, timeout=600.0) as cluster:
            res = cluster.run(_rank, texts, [a, w], reps)
        for name in ("serial", "chunked"):
            got = res[0][name][1]
            err = np.abs(got - ref).max() / np.abs(ref).max()
            if err > 1e-4:
                raise SystemExit(f"{name} result differs from numpy (relative error {err:.2e})")
        med = {key: max(r[key][0] for r in res) for key in res[0]}  # slowest rank counts
        serial, chunked = med["serial"], med["chunked"]
        compute = med["compute"]
        comm = max(serial - compute, 1e-9)
        hidden = (serial - chunked) / min(comm, compute)
        print(f"{n:>5} {compute * 1e3:>7.1f}ms {comm * 1e3:>7.1f}ms {serial * 1e3:>7.1f}ms "
              f"{chunked * 1e3:>7.1f}ms {serial / chunked:>7.2f}x {hidden:>6.0%}")  # fmt: skip
    print(
        "comm = serial - compute (the all-reduce as the serial program runs it); "
        "hidden = (serial - chunked) / min(comm, compute)"
    )


if __name__ == "__main__":
    main()
