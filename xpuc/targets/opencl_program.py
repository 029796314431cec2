"""One OpenCL C program: what the renderers of its modules share, and its text.

The first line of the text is a comment holding what the runtime needs to launch the
kernels (``/* xpuc: {json} */``): per kernel its printed name, its mode (SIMT or
loops), the hidden arguments it takes after the user's and the pointer arguments it
may write through; the layout and initial values of the buffer of
``__device__``/``__constant__`` variables; the OpenCL extensions the program needs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from xdsl.dialects import func, gpu, memref
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerAttr, ModuleOp
from xdsl.ir import Operation

from xpuc.dialects.gpu_ext import DynamicSharedMemoryOp
from xpuc.targets.limits import element_code

SHARED = IntegerAttr(3, 64)
META = re.compile(r"^/\* xpuc: (.*) \*/$", re.M)
# half values are floats rounded to half (rh), stored as their bits (h2u, u2h)
_HALF = """ushort xpuc_h2u(float x) {
  ushort h;
  vstore_half_rte(x, 0, (__private half *)&h);
  return h;
}
float xpuc_u2h(ushort h) { return vload_half(0, (__private half *)&h); }
float xpuc_rh(float x) { return xpuc_u2h(xpuc_h2u(x)); }"""
_HALF64 = """#ifdef cl_khr_fp64
float xpuc_rhd(double x) {
  ushort h;
  vstore_half_rte(x, 0, (__private half *)&h);
  return xpuc_u2h(h);
}
#endif"""


# Names at program scope are prefixed by what they are, so that none is an OpenCL C
# keyword or built-in (none of those begins so) and kinds cannot meet: k_ kernels,
# f_ device functions (lf_ loop mode's), xpuc_ helpers, tuple_ structs; s_ (and hs_,
# their ushort storage when half) __shared__ arrays.  Within a kind, ``Program.unique``
# numbers a name that two sources would share (f_g_l: g for a __local pointer, g_l).


def sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


@dataclass
class Needs:
    """What a function reaches that OpenCL passes as hidden parameters."""

    shared: set[str] = field(default_factory=set)
    dyn: bool = False
    globals: bool = False

    def absorb(self, other: Needs) -> bool:
        before = (len(self.shared), self.dyn, self.globals)
        self.shared |= other.shared
        self.dyn |= other.dyn
        self.globals |= other.globals
        return before != (len(self.shared), self.dyn, self.globals)


@dataclass
class Program:
    helpers: dict[str, str] = field(default_factory=dict)
    extensions: set[str] = field(default_factory=set)
    needs: dict[str, Needs] = field(default_factory=dict)
    shared: dict[str, memref.GlobalOp] = field(default_factory=dict)
    globals: dict[str, tuple[int, memref.GlobalOp]] = field(default_factory=dict)
    globals_bytes: int = 0
    pending: list = field(default_factory=list)
    """Device functions to print: (renderer, name, address spaces of its pointers)."""
    names: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)
    functions: list[tuple[str, list[str]]] = field(default_factory=list)
    kernels: list[tuple[str, list[str], str]] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    """Per kernel, the arguments (by position) it may write through."""
    taken: dict[str, tuple] = field(default_factory=dict)
    """The names printed so far, each with what it names."""
    shared_names: dict[str, str] = field(default_factory=dict)

    def unique(self, base: str, owner: tuple) -> str:
        """``base``, or ``base_2``, ``base_3``...: a name nothing else printed has."""
        name, n = base, 1
        while self.taken.setdefault(name, owner) != owner:
            n += 1
            name = f"{base}_{n}"
        return name

    def kernel_symbol(self, name: str) -> str:
        """A kernel's name in OpenCL C (the runtime finds it in the launch description)."""
        return self.unique(f"k_{sanitize(name)}", ("kernel", name))

    def function_symbol(self, prefix: str, name: str, spaces: tuple[str, ...]) -> str:
        """A device function's name, per address-space combination of its pointers."""
        letters = "".join(s[2] for s in spaces)  # __global -> g, __local -> l, ...
        suffix = "" if set(letters) <= {"g"} else "_" + letters
        base = f"{prefix}f_{sanitize(name)}{suffix}"
        return self.unique(base, ("function", prefix + name, spaces))

    def shared_name(self, name: str) -> str:
        """The name of a ``__shared__`` array (its pointer, when it is half)."""
        if name not in self.shared_names:
            self.shared_names[name] = self.unique(f"s_{sanitize(name)}", ("shared", name))
        return self.shared_names[name]

    def layout(self, module: ModuleOp) -> None:
        """``__shared__`` variables by name; the others at offsets of one buffer."""
        for g in module.walk():
            if not isinstance(g, memref.GlobalOp):
                continue
            name = g.sym_name.data
            if g.type.memory_space == SHARED:
                self.shared[name] = g
                continue
            offset = (self.globals_bytes + 15) // 16 * 16
            self.globals[name] = (offset, g)
            elem = g.type.element_type
            size = g.type.element_count() * max(getattr(elem, "bitwidth", 8), 8) // 8
            self.globals_bytes = offset + size
            init = g.initial_value
            values = init.get_values() if isinstance(init, DenseIntOrFPElementsAttr) else None
            self.meta.setdefault("globals", {})[name] = [
                offset, element_code(elem), g.type.element_count(),
                [float(v) if isinstance(v, float) else int(v) for v in values]
                if values is not None else None,
            ]  # fmt: skip

    def analyze(self, module: ModuleOp, prefix: str) -> None:
        """Hidden parameters of each function of a module, through its callees."""
        fns = {f.sym_name.data: f for f in module.walk() if isinstance(f, func.FuncOp | gpu.FuncOp)}
        calls: dict[str, set[str]] = {}
        for n, f in fns.items():
            need = self.needs[prefix + n] = Needs()
            calls[n] = set()
            for o in f.walk():
                if isinstance(o, memref.GetGlobalOp):
                    g = o.name_.string_value()
                    if g in self.shared:
                        need.shared.add(g)
                    else:
                        need.globals = True
                elif isinstance(o, DynamicSharedMemoryOp):
                    need.dyn = True
                elif isinstance(o, func.CallOp):
                    calls[n].add(o.callee.root_reference.data)
        changed = True
        while changed:
            changed = False
            for n, cs in calls.items():
                for c in cs & fns.keys():
                    changed |= self.needs[prefix + n].absorb(self.needs[prefix + c])

    def _extra(self, fname: str) -> list[tuple[str, str]]:
        need = self.needs[fname]
        out = []
        for s in sorted(need.shared):
            g = self.shared[s]
            elem = g.type.element_type
            t = "half" if element_code(elem) == "f16" else _memory_c_type(elem)
            out.append((f"__local {t} *", self.shared_name(s)))
        if need.dyn:
            out.append(("__local uchar *", "xpuc_dyn"))
        if need.globals:
            out.append(("__global uchar *", "xpuc_g"))
        return out

    def extra_params(self, fname: str) -> list[str]:
        return [t + n for t, n in self._extra(fname)]

    def extra_names(self, fname: str) -> list[str]:
        return [n for _, n in self._extra(fname)]

    def global_offset(self, name: str) -> int:
        return self.globals[name][0]

    def helper(self, which: str) -> None:
        if which == "half":
            self.helpers.setdefault("half", _HALF)
            self.helpers.setdefault("half64", _HALF64)

    def cas_helper(self, kind: int, ct: str, bits: int, space: str, expr: str) -> str:
        """A read-modify-write done with a compare-and-swap loop (float atomics)."""
        ut = "uint" if bits == 32 else "ulong"
        name = f"xpuc_atomic{kind}_{ct}_{space.strip('_')}"
        cas = "atomic_cmpxchg" if bits == 32 else "atom_cmpxchg"
        if bits == 64:
            self.extensions.add("cl_khr_int64_base_atomics")
        new = expr.format(a=f"as_{ct}(seen)", b="v")
        self.helpers.setdefault(name, (
            f"{ct} {name}(volatile {space} {ct} *p, {ct} v) {{\n"
            f"  volatile {space} {ut} *q = (volatile {space} {ut} *)p;\n"
            f"  {ut} seen, old = *q;\n"
            f"  do {{ seen = old; old = {cas}(q, seen, as_{ut}(({ct})({new}))); }}"
            f" while (old != seen);\n"
            f"  return as_{ct}(seen);\n}}"
        ))  # fmt: skip
        return name

    def kernel(self, k: Operation, head: str, lines: list[str], reason: str | None,
               extra: list[str], scratch_allocas: int) -> None:  # fmt: skip
        name = k.sym_name.data
        info: dict = {"symbol": self.kernel_symbol(name), "mode": "loops" if reason else "simt",
                      "extra": extra}  # fmt: skip
        if reason:
            stack = k.attributes["xpu.stack_bytes"].data
            info["scratch"] = [stack[1].value.data, 64 * (scratch_allocas + 1)]
            note = f"// {name}: one work-item runs each block as loops: it {reason}"
        else:
            note = f"// {name}: a work-item per CUDA thread, a work-group per block"
        self.meta.setdefault("kernels", {})[name] = info
        self.kernels.append((head, lines, note))

    def text(self) -> str:
        self.meta["extensions"] = sorted(self.extensions)
        self.meta["globals_bytes"] = self.globals_bytes
        out = [f"/* xpuc: {json.dumps(self.meta, separators=(',', ':'))} */",
               "#pragma OPENCL FP_CONTRACT OFF"]  # fmt: skip
        if "cl_khr_fp64" in self.extensions:
            out += ["#ifdef cl_khr_fp64", "#pragma OPENCL EXTENSION cl_khr_fp64 : enable",
                    "#endif"]  # fmt: skip
        out += [f"#pragma OPENCL EXTENSION {e} : enable"
                for e in sorted(self.extensions - {"cl_khr_fp64"})]  # fmt: skip
        out += ["", *self.helpers.values()] if self.helpers else []
        if self.functions:
            out += ["", *[head + ";" for head, _ in self.functions]]
        for head, lines in self.functions:
            out += ["", head + " {", *lines, "}"]
        for head, lines, note in self.kernels:
            out += ["", note, head + " {", *lines, "}"]
        return "\n".join(out) + "\n"


def _memory_c_type(t) -> str:
    code = element_code(t) or "i8"
    return {"i1": "uchar", "i8": "uchar", "i16": "ushort", "i32": "uint", "i64": "ulong",
            "f32": "float", "f64": "double"}[code]  # fmt: skip


def read_meta(source: str) -> dict:
    """The launch description a rendered program carries in its first line."""
    m = META.search(source)
    return json.loads(m.group(1)) if m else {}
