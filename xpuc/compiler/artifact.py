"""The result of a compile: every stage's output, kernel metadata, and timings."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xpuc.compiler.diagnostics import XpucError


@dataclass
class KernelInfo:
    name: str
    arg_types: list[str]  # signature codes: "*f32", "i32", ...
    arg_names: list[str]
    shared_memory_bytes: int = 0  # static __shared__ bytes
    max_threads_per_block: int = 1024
    symbol: str = ""  # the symbol in the binary when it differs from name (f<32>)
    max_shared_memory: int = 0  # the target's limit on static + dynamic shared bytes (0: none)
    readonly_args: list[int] = field(default_factory=list)
    """Pointer arguments the kernel never writes through (passes/memory_effects.py): a
    runtime need not copy them back, and they may be read-only arrays."""

    @property
    def link_name(self) -> str:
        return self.symbol or self.name

    @classmethod
    def from_dict(cls, d: object, where: str) -> KernelInfo:
        """Kernel metadata read from a file, checked field by field."""
        fields = {"name": str, "arg_types": list, "arg_names": list, "symbol": str,
                  "shared_memory_bytes": int, "max_threads_per_block": int,
                  "max_shared_memory": int, "readonly_args": list}  # fmt: skip
        if not isinstance(d, dict) or set(d) - set(fields) or not {"name", "arg_types"} <= set(d):
            raise XpucError(f"{where}: malformed kernel metadata: {str(d)[:80]}")
        for k, ty in fields.items():
            v = d.get(k)
            if v is not None and not isinstance(v, ty) or isinstance(v, bool):
                raise XpucError(f"{where}: kernel field '{k}' must be {ty.__name__}, not {v!r}")
            item = int if k == "readonly_args" else str
            if ty is list and v is not None and not all(isinstance(x, item) for x in v):
                raise XpucError(f"{where}: kernel field '{k}' must be a list of {item.__name__}")
        return cls(**d)


@dataclass
class Artifact:
    """What ``xpuc.compile`` returns.  ``stages`` maps stage name to its output."""

    target: str
    kernels: list[KernelInfo]
    stages: dict[str, str | bytes] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)
    opt_level: int = 3

    def kernel(self, name: str) -> KernelInfo:
        for k in self.kernels:
            if canonical_kernel_name(k.name) == canonical_kernel_name(name):
                return k
        from xpuc.compiler.diagnostics import XpucError

        names = ", ".join(k.name for k in self.kernels) or "none"
        raise XpucError(f"no kernel named '{name}' (kernels: {names})")

    @property
    def mlir(self) -> str:
        return str(self.stages.get("opt", self.stages.get("mlir", "")))

    @property
    def llvm_ir(self) -> str:
        return str(self.stages["llir"])

    @property
    def asm(self) -> str:
        return str(self.stages["asm"])

    @property
    def binary(self) -> bytes:
        return bytes(self.stages["bin"])

    def save(self, path: str | Path) -> None:
        stages = {
            k: {"bytes": base64.b64encode(v).decode()} if isinstance(v, bytes) else {"text": v}
            for k, v in self.stages.items()
        }
        doc = {"target": self.target, "opt_level": self.opt_level,
               "kernels": [asdict(k) for k in self.kernels], "stages": stages}  # fmt: skip
        Path(path).write_text(json.dumps(doc))

    @classmethod
    def read(cls, path: str | Path) -> Artifact:
        return cls.from_doc(read_json(path), str(path))

    @classmethod
    def from_doc(cls, doc: object, where: str) -> Artifact:
        """An artifact from the JSON ``save`` writes (or one entry of a fat file)."""
        if not isinstance(doc, dict) or not isinstance(doc.get("target"), str):
            raise XpucError(f'{where}: not an xpuc artifact (no "target")')
        try:
            stages: dict[str, str | bytes] = {
                k: base64.b64decode(v["bytes"]) if "bytes" in v else str(v["text"])
                for k, v in doc["stages"].items()
            }
            kernels = [KernelInfo.from_dict(k, where) for k in doc["kernels"]]
            opt = int(doc.get("opt_level", 3))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise XpucError(f"{where}: malformed artifact ({type(e).__name__}: {e})") from None
        return cls(doc["target"], kernels, stages, opt_level=opt)


def canonical_kernel_name(name: str) -> str:
    """A kernel name for lookup: ``k<true, 64>`` = ``k<1,64>``."""
    import re

    name = name.replace(" ", "")
    return re.sub(r"(?<=[<,])true(?=[,>])", "1", re.sub(r"(?<=[<,])false(?=[,>])", "0", name))


def launch_dims(v, what: str) -> tuple[int, int, int]:
    """A grid or block as (x, y, z): an int or 1 to 3 positive ints, missing ones 1."""
    if isinstance(v, int) or hasattr(v, "__index__"):
        v = (int(v),)
    t = tuple(int(x) for x in v)
    if not 1 <= len(t) <= 3 or any(x < 1 for x in t):
        raise XpucError(f"{what} must be 1 to 3 positive integers, got {v!r}")
    return (t + (1, 1))[:3]  # type: ignore[return-value]


def check_launch(info: KernelInfo, target: str, grid, block, shared: int):
    """A launch's grid and block as (x, y, z) triples, checked against the kernel's limits
    (threads per block, static + dynamic shared memory) as a GPU driver checks them."""
    g, b = launch_dims(grid, "grid"), launch_dims(block, "block")
    threads = b[0] * b[1] * b[2]
    if threads > info.max_threads_per_block:
        raise XpucError(f"block of {threads} threads exceeds the limit of "
                        f"{info.max_threads_per_block} for {info.name}")  # fmt: skip
    if shared < 0:
        raise XpucError(f"dynamic shared memory size must be >= 0, not {shared}")
    total = info.shared_memory_bytes + shared
    if info.max_shared_memory and total > info.max_shared_memory:
        raise XpucError(
            f"{info.name} needs {total} bytes of shared memory per block "
            f"({info.shared_memory_bytes} static + {shared} dynamic); {target} has "
            f"{info.max_shared_memory}"
        )
    return g, b


def read_json(path: str | Path, what: str = "an xpuc artifact") -> object:
    """A saved artifact's JSON, or an XpucError that says where it is not."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise XpucError(f"{path}: cannot read {what}: {e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise XpucError(f"{path}:{e.lineno}:{e.colno}: not {what} (a file from `xpuc compile "
                        f"--target a,b -o FILE` or Artifact.save): {e.msg}") from None  # fmt: skip


def kernel_args(info: KernelInfo, args) -> list:
    """A launch's arguments as the kernel ABI takes them (struct tuples flattened),
    checked for their number."""
    if any(isinstance(a, tuple | list) for a in args):
        args = flatten_args(args)
    if len(args) != len(info.arg_types):
        raise XpucError(
            f"kernel {info.name} takes {len(info.arg_types)} arguments "
            f"({', '.join(info.arg_names)}), {len(args)} given"
        )
    return list(args)


def flatten_args(args) -> list:
    """Struct arguments (passed as tuples) become their fields, as the kernel ABI has them."""
    out: list = []
    for a in args:
        out += flatten_args(a) if isinstance(a, tuple | list) else [a]
    return out


class KernelTable:
    """Kernels of a loaded module, as attributes (``mod.saxpy``) and by name, where a
    template instance may be spelled with or without spaces (``mod["k<true, 64>"]``).
    Subclasses set ``self.kernels``."""

    kernels: dict

    def __getattr__(self, name: str):
        kernels = self.__dict__.get("kernels", {})
        if name in kernels:
            return kernels[name]
        raise AttributeError(f"no kernel named '{name}' (kernels: {', '.join(kernels) or 'none'})")

    def __getitem__(self, name: str):
        if name not in self.kernels:
            spaced = {canonical_kernel_name(k): v for k, v in self.kernels.items()}
            if canonical_kernel_name(name) in spaced:
                return spaced[canonical_kernel_name(name)]
            raise XpucError(f"no kernel named '{name}' (kernels: {', '.join(self.kernels)})")
        return self.kernels[name]
