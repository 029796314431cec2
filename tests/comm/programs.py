"""Multi-card programs the tests run, with their numpy references."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xpuc.comm.builder import Program


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def tp_mlp(n: int, m: int = 8, d: int = 16, h: int = 32):
    """Column-parallel then row-parallel matmul (one all-reduce)."""
    p = Program("mlp", grid=(n,))
    x = p.input("x", (m, d))
    w1 = p.input("w1", (d, h), split=[None, 0])
    w2 = p.input("w2", (h, d), split=[0])
    p.output(p.matmul(p.relu(p.matmul(x, w1)), w2))
    rng = np.random.default_rng(n)
    args = [rand(rng, m, d), rand(rng, d, h), rand(rng, h, d)]
    ref = np.maximum(args[0] @ args[1], 0) @ args[2]
    return p.module(), args, [ref]


DP_GRADS = (Path(__file__).parent / "dp_grads.mlir.in").read_text()


def dp_grads(n: int):
    """Data parallelism: each device's batch rows give partial weight gradients."""
    b = 4 * n
    rng = np.random.default_rng(10 + n)
    args = [rand(rng, b, 4), rand(rng, b, 6), rand(rng, b, 3), rand(rng, b, 5)]
    refs = [args[0].T @ dy for dy in args[1:]]
    return DP_GRADS.format(n=n, b=b), args, refs


def reshard(n: int, src, dst, shape=(8, 12)):
    """A tensor sharded ``src`` returned sharded ``dst``: all-gather ([0] -> []),
    all-to-all ([0] -> [None, 0])."""
    p = Program("reshard", grid=(n,))
    x = p.input("x", shape, split=src)
    y = p.exp(x)
    p.output(p.shard(y, dst, for_users=True), split=dst)
    rng = np.random.default_rng(20 + n)
    a = rand(rng, *shape)
    return p.module(), [a], [np.exp(a)]


def reduce_scatter(n: int, m: int = 8, k: int = 16):
    """A split contraction whose result is wanted split by rows: reduce-scatter."""
    p = Program("rs", grid=(n,))
    a = p.input("a", (m, k), split=[None, 0])
    b = p.input("b", (k, 6), split=[0])
    p.output(p.matmul(a, b), split=[0])
    rng = np.random.default_rng(30 + n)
    args = [rand(rng, m, k), rand(rng, k, 6)]
    return p.module(), args, [args[0] @ args[1]]


def grid2d(m: int = 8):
    """A 2x2 grid: data parallel over axis 0, tensor parallel over axis 1."""
    p = Program("dp_tp", grid=(2, 2))
    x = p.input("x", (m, 8), split=[0])
    w1 = p.input("w1", (8, 16), split=[None, 1])
    w2 = p.input("w2", (16, 8), split=[1])
    y = p.matmul(p.relu(p.matmul(x, w1)), w2)
    s = p.reduce(y, [0], "max")
    p.output(y, s)
    rng = np.random.default_rng(40)
    args = [rand(rng, m, 8), rand(rng, 8, 16), rand(rng, 16, 8)]
    ref = np.maximum(args[0] @ args[1], 0) @ args[2]
    return p.module(), args, [ref, ref.max(0)]
