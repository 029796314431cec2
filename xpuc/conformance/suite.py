"""The reference kernels of ``xpuc conformance``: inputs, launch shape, numpy answers.

Each :class:`Case` names a kernel in ``kernels/*.cu``, builds its arguments from a
seeded generator, and computes what every output argument must hold afterwards.
The suite covers what a chip must do to run CUDA-style kernels: elementwise code over
every element type, integer semantics, barriers with shared memory (static and
dynamic), tiling on 2-D grids, warp shuffles and votes, atomics, the math library,
loops, device functions and 3-D grids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KERNELS = Path(__file__).parent / "kernels"

Args = list
Expected = dict[int, np.ndarray]  # argument index -> its value after the launch


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    kernel: str
    grid: tuple[int, ...]
    block: tuple[int, ...]
    make: Callable[[np.random.Generator], Args]
    expect: Callable[[Args], Expected]
    shared: int = 0
    rtol: float = 0.0
    atol: float = 0.0
    check: Callable[[Args], str | None] | None = None
    """A further check of the arguments after the launch (a problem, or None)."""

    @property
    def path(self) -> Path:
        return KERNELS / self.file  # an absolute file stays itself


N = 1000


def _axpb(dtype: str) -> Case:
    dt = np.dtype(dtype)

    def make(rng: np.random.Generator) -> Args:
        if dt.kind == "f":
            a, b = rng.uniform(-8, 8, N), rng.uniform(-8, 8, N)
        else:
            info = np.iinfo(dt)
            lo, hi = max(info.min, -1000), min(info.max, 1000)
            a, b = rng.integers(lo, hi, N), rng.integers(lo, hi, N)
        return [a.astype(dt), b.astype(dt), np.zeros(N, dt), N]

    def expect(args: Args) -> Expected:
        a, b = args[0], args[1]
        if dt == np.float16:  # computed in f32, rounded once
            c = (a.astype(np.float32) * 3 + b.astype(np.float32) - 1).astype(np.float16)
        else:
            with np.errstate(over="ignore"):
                c = (a * dt.type(3) + b - dt.type(1)).astype(dt)
        return {2: c}

    tol = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-12}.get(dt.name, 0.0)
    code = {"float16": "f16", "float32": "f32", "float64": "f64"}.get(dt.name)
    code = code or f"{'u' if dt.kind == 'u' else 'i'}{dt.itemsize * 8}"
    return Case(f"elementwise {code}", "elementwise.cu", f"axpb_{code}", (4,), (256,), make,
                expect, rtol=tol)  # fmt: skip


def _int_ops() -> Case:
    def make(rng):
        a = rng.integers(-(10**6), 10**6, N).astype(np.int32)
        b = rng.integers(1, 1000, N).astype(np.int32) * rng.choice([-1, 1], N).astype(np.int32)
        return [a, b, np.zeros(6 * N, np.int32), N]

    def expect(args):
        a, b = args[0].astype(np.int64), args[1].astype(np.int64)
        q = np.trunc(a / b).astype(np.int64)
        out = np.stack(
            [
                q,
                a - q * b,
                a >> 3,
                (a.astype(np.uint32) >> 3).astype(np.int64),
                (a & 0xFF) ^ (b | 0x10),
                np.minimum(a, b) + np.maximum(a, b),
            ],
            axis=1,
        )
        return {2: out.reshape(-1).astype(np.int32)}  # fmt: skip

    return Case("integer i32 div/rem/shift", "integer.cu", "int_ops", (4,), (256,), make, expect)


def _uint_ops() -> Case:
    def make(rng):
        a = rng.integers(0, 2**32, N, dtype=np.uint64).astype(np.uint32)
        b = rng.integers(1, 2**20, N).astype(np.uint32)
        return [a, b, np.zeros(3 * N, np.uint32), N]

    def expect(args):
        a, b = args[0], args[1]
        out = np.stack([a // b, a % b, (a << np.uint32(5)) + (b >> np.uint32(2))], axis=1)
        return {2: out.reshape(-1).astype(np.uint32)}

    return Case("integer u32 div/rem/shift", "integer.cu", "uint_ops", (4,), (256,), make,
                expect)  # fmt: skip


def _less_than() -> Case:
    def make(rng):
        return [rng.standard_normal(N).astype(np.float32),
                rng.standard_normal(N).astype(np.float32), np.zeros(N, np.bool_), N]  # fmt: skip

    return Case("elementwise bool", "elementwise.cu", "less_than", (4,), (256,), make,
                lambda a: {2: a[0] < a[1]})  # fmt: skip


def _block_sum() -> Case:
    n, blocks = 4000, 8

    def make(rng):
        return [rng.uniform(-1, 1, n).astype(np.float32), np.zeros(blocks, np.float32), n]

    def expect(args):
        x = np.pad(args[0].astype(np.float64), (0, blocks * 512 - n))
        return {1: x.reshape(blocks, 512).sum(axis=1).astype(np.float32)}

    return Case("reduction (shared, barriers)", "reduction.cu", "block_sum", (blocks,), (256,),
                make, expect, rtol=1e-4, atol=1e-4)  # fmt: skip


def _block_max() -> Case:
    n, block = 1000, 128
    blocks = (n + block - 1) // block

    def make(rng):
        return [rng.integers(-(10**9), 10**9, n).astype(np.int32), np.zeros(blocks, np.int32), n]

    def expect(args):
        x = np.pad(args[0], (0, blocks * block - n), constant_values=np.iinfo(np.int32).min)
        return {1: x.reshape(blocks, block).max(axis=1)}

    return Case("reduction (dynamic shared)", "reduction.cu", "block_max_dynamic", (blocks,),
                (block,), make, expect, shared=block * 4)  # fmt: skip


def _matmul() -> Case:
    m, n, k = 70, 50, 40

    def make(rng):
        return [rng.uniform(-1, 1, m * k).astype(np.float32),
                rng.uniform(-1, 1, k * n).astype(np.float32), np.zeros(m * n, np.float32),
                m, n, k]  # fmt: skip

    def expect(args):
        a = args[0].reshape(m, k).astype(np.float64)
        b = args[1].reshape(k, n).astype(np.float64)
        return {2: (a @ b).astype(np.float32).reshape(-1)}

    return Case("tiling (matmul 16x16)", "tiling.cu", "matmul_tiled", ((n + 15) // 16,
                (m + 15) // 16), (16, 16), make, expect, rtol=1e-4, atol=1e-5)  # fmt: skip


def _transpose() -> Case:
    rows, cols = 37, 53

    def make(rng):
        return [rng.standard_normal(rows * cols), np.zeros(rows * cols), rows, cols]

    return Case("tiling (transpose f64)", "tiling.cu", "transpose", ((cols + 15) // 16,
                (rows + 15) // 16), (16, 16), make,
                lambda a: {1: a[0].reshape(rows, cols).T.reshape(-1).copy()})  # fmt: skip


W = 256  # threads in the warp cases: 8 warps of 32


def _warp_sum() -> Case:
    def make(rng):
        return [rng.uniform(-1, 1, 2 * W).astype(np.float32), np.zeros(2 * W // 32, np.float32)]

    return Case("shuffle down (warp sum)", "warp.cu", "warp_sum", (2,), (W,), make,
                lambda a: {1: a[0].reshape(-1, 32).sum(axis=1)}, rtol=1e-5, atol=1e-6)  # fmt: skip


def _warp_xor() -> Case:
    def make(rng):
        return [rng.integers(-1000, 1000, W).astype(np.int32), np.zeros(W, np.int32)]

    return Case("shuffle xor (warp max)", "warp.cu", "warp_xor_max", (1,), (W,), make,
                lambda a: {1: np.repeat(a[0].reshape(-1, 32).max(axis=1), 32)})  # fmt: skip


def _warp_broadcast() -> Case:
    def make(rng):
        return [rng.standard_normal(W), np.zeros(W)]

    def expect(args):
        x = args[0].reshape(-1, 32)
        up = np.concatenate([x[:, :1], x[:, :-1]], axis=1)  # lane 0 keeps its own value
        return {1: (np.repeat(x[:, 5:6], 32, axis=1) + up).reshape(-1)}

    return Case("shuffle idx/up (f64)", "warp.cu", "warp_broadcast", (1,), (W,), make, expect,
                rtol=1e-12)  # fmt: skip


def _segment_sum() -> Case:
    def make(rng):
        return [rng.integers(-1000, 1000, W).astype(np.int32), np.zeros(W, np.int32)]

    return Case("shuffle xor, width 8", "warp.cu", "segment_sum", (1,), (W,), make,
                lambda a: {1: np.repeat(a[0].reshape(-1, 8).sum(axis=1), 8)})  # fmt: skip


def _warp_votes() -> Case:
    def make(rng):
        x = rng.integers(-5, 5, W).astype(np.int32)
        x[64:96] = 1  # one warp all true
        x[96:128] = -1  # one warp all false
        return [x, np.zeros(W // 32, np.uint32), np.zeros(2 * W // 32, np.int32)]

    def expect(args):
        p = args[0].reshape(-1, 32) > 0
        ballots = (p * (1 << np.arange(32, dtype=np.uint64))).sum(axis=1).astype(np.uint32)
        flags = np.stack([p.any(axis=1), p.all(axis=1)], axis=1).astype(np.int32).reshape(-1)
        return {1: ballots, 2: flags}

    return Case("votes (ballot/any/all)", "warp.cu", "warp_votes", (1,), (W,), make, expect)


def _histogram() -> Case:
    n, nbins = 5000, 37

    def make(rng):
        return [rng.integers(0, 10**6, n).astype(np.int32), np.zeros(nbins, np.uint32), n, nbins]

    return Case(
        "atomics (shared + global histogram)",
        "atomics.cu",
        "histogram",
        (4,),
        (128,),
        make,
        lambda a: {1: np.bincount(a[0] % nbins, minlength=nbins).astype(np.uint32)},
    )


def _atomic_mix() -> Case:
    n = 777

    def make(rng):
        x = rng.integers(-(10**5), 10**5, n).astype(np.int32)
        acc = np.array([-(2**31), 2**31 - 1, 0, 0, 0, 0], np.int32)
        return [x, acc, np.zeros(1, np.float32), n]

    def expect(args):
        x = args[0]
        bits = int(np.bitwise_or.reduce(1 << (x & 15)))
        acc = np.array([x.max(), x.min(), x.sum(dtype=np.int64).astype(np.int32), bits],
                       np.int32)  # fmt: skip
        return {1: acc, 2: np.array([0.5 * n], np.float32)}

    def check(after):  # any thread may win the CAS; the winner alone does the exchange
        winner, exchanged = int(after[1][4]), int(after[1][5])
        if not 1 <= winner <= n or exchanged != winner:
            return f"atomicCAS winner {winner}, atomicExch wrote {exchanged}"
        return None

    return Case("atomics (max/min/add/or/cas/exch, f32 add)", "atomics.cu", "atomic_mix", (4,),
                (256,), make, expect, check=check)  # fmt: skip


def _tickets() -> Case:
    n = 1000

    def check(after):
        if sorted(after[1].tolist()) != list(range(n)):
            return "atomicAdd's old values are not one ticket per thread (0..n-1)"
        return None

    return Case("atomics (old values returned)", "atomics.cu", "tickets", (4,), (256,),
                lambda rng: [np.zeros(1, np.uint32), np.zeros(n, np.uint32), n],
                lambda a: {0: np.array([n], np.uint32)}, check=check)  # fmt: skip


def _math_f32() -> Case:
    def make(rng):
        return [rng.uniform(-3, 3, N).astype(np.float32), np.zeros(10 * N, np.float32), N]

    def expect(args):
        v = args[0].astype(np.float64)
        w = v + 4
        out = np.stack([np.sin(v), np.cos(v), np.exp(v), np.log(w), np.sqrt(w), w**1.5,
                        np.tanh(v), np.abs(v) + np.floor(v),
                        np.minimum(v, 0.5) + np.maximum(v, -0.5),
                        1 / np.sqrt(w) + np.exp2(v) + np.log2(w)], axis=1)  # fmt: skip
        return {1: out.reshape(-1).astype(np.float32)}

    return Case("math f32", "math.cu", "math_f32", (4,), (256,), make, expect, rtol=2e-6,
                atol=2e-6)  # fmt: skip


def _math_f64() -> Case:
    def make(rng):
        return [rng.uniform(-3, 3, N), np.zeros(6 * N), N]

    def expect(args):
        v = args[0]
        out = np.stack([np.sin(v), np.exp(v), np.log(v + 4), np.sqrt(v + 4),
                        np.sqrt(v + 4) + np.abs(v), v * 2 + 1 + np.ceil(v)], axis=1)  # fmt: skip
        return {1: out.reshape(-1)}

    return Case("math f64", "math.cu", "math_f64", (4,), (256,), make, expect, rtol=1e-13,
                atol=1e-14)  # fmt: skip


def _collatz() -> Case:
    def make(rng):
        return [rng.integers(1, 10**5, N).astype(np.int32), np.zeros(N, np.int32), N]

    def expect(args):
        out = []
        for v in args[0].tolist():
            s = 0
            while v != 1 and s < 1000:
                v = 3 * v + 1 if v & 1 else v // 2
                s += 1
            out.append(s)
        return {1: np.array(out, np.int32)}

    return Case("loops + device function", "control.cu", "collatz", (4,), (256,), make, expect)


def _index3d() -> Case:
    nx, ny, nz = 19, 7, 5

    def expect(args):
        z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
        return {0: (x + 100 * y + 10000 * z).astype(np.int32).reshape(-1)}

    return Case("3-D grid and block", "control.cu", "index3d", (3, 2, 3), (8, 4, 2),
                lambda rng: [np.zeros(nx * ny * nz, np.int32), nx, ny, nz], expect)  # fmt: skip


TYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
         "float16", "float32", "float64")  # fmt: skip

CASES: list[Case] = [
    *[_axpb(t) for t in TYPES], _less_than(), _int_ops(), _uint_ops(),
    _block_sum(), _block_max(), _matmul(), _transpose(),
    _warp_sum(), _warp_xor(), _segment_sum(), _warp_broadcast(), _warp_votes(),
    _histogram(), _atomic_mix(), _tickets(), _math_f32(), _math_f64(), _collatz(), _index3d(),
]  # fmt: skip
