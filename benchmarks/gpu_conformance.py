"""The conformance suite's nvptx cubins on a real NVIDIA GPU, in three steps, because
the GPU machine may lack xpuc's dependencies (numpy, llvmlite, cuda-bindings):

    python benchmarks/gpu_conformance.py prepare DIR [nvptx:sm_90]   # here
    python3 benchmarks/gpu_conformance.py run DIR OUT                 # on the GPU machine
    python benchmarks/gpu_conformance.py check DIR OUT                # here again

``prepare`` compiles every case of ``xpuc.conformance`` to a cubin and writes each
case's inputs (the suite's seeded generator) as raw bytes with a manifest.  ``run``
needs only Python and ``libcuda``: it loads each cubin through the driver API (ctypes,
``gpu_check.CUDA``), launches each case with its grid, block and dynamic shared memory,
and writes every argument after the launch to OUT.  ``check`` compares OUT with the
suite's numpy answers exactly as ``xpuc conformance`` does and prints its table; it
exits 1 unless every case passes.  Where the GPU machine has xpuc's dependencies and
cuda-bindings, ``pytest tests/e2e/test_cuda_gpu.py`` runs the same suite through
xpuc's own runtime (``xpuc/runtime/cuda.py``) instead.
"""

from __future__ import annotations

import ctypes
import json
import sys
from pathlib import Path


def prepare(folder: Path, target: str = "nvptx:sm_90") -> None:
    import numpy as np

    import xpuc
    from xpuc.compiler.artifact import flatten_args
    from xpuc.conformance import CASES, SEED
    from xpuc.runtime.cuda import pack_args

    folder.mkdir(parents=True, exist_ok=True)
    cases, arts = [], {}
    for k, case in enumerate(CASES):
        if case.file not in arts:
            arts[case.file] = xpuc.compile_file(case.path, target, emit="bin")
            (folder / f"{Path(case.file).stem}.cubin").write_bytes(arts[case.file].binary)
        info = arts[case.file].kernel(case.kernel)
        args = flatten_args(case.make(np.random.default_rng(SEED)))
        params = pack_args(info, args)
        spec = []
        for i, (a, p) in enumerate(zip(args, params, strict=True)):
            if p.array is not None:
                (folder / f"case{k}.arg{i}.bin").write_bytes(a.tobytes())
                spec.append({"array": f"case{k}.arg{i}.bin", "nbytes": a.nbytes})
            else:
                spec.append({"scalar": bytes(p.value).hex()})
        cases.append({"name": case.name, "cubin": f"{Path(case.file).stem}.cubin",
                      "symbol": info.link_name, "grid": list(case.grid),
                      "block": list(case.block), "shared": case.shared, "args": spec})  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps({"target": target, "cases": cases}))
    print(f"{len(cases)} cases for {target} written to {folder}")


def _dims(v: list[int]) -> list[int]:
    return (list(v) + [1, 1])[:3]


def run(folder: Path, out: Path) -> int:
    sys.path.insert(0, str(Path(__file__).parent))
    from gpu_check import CUDA

    cu = CUDA()
    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    results = {}
    for k, case in enumerate(manifest["cases"]):
        buffers = []
        try:
            fn = cu.function((folder / case["cubin"]).read_bytes(), case["symbol"])
            cells = []
            for a in case["args"]:
                if "scalar" in a:
                    raw = bytes.fromhex(a["scalar"])
                    cells.append((ctypes.c_char * len(raw)).from_buffer_copy(raw))
                    continue
                host = (ctypes.c_char * a["nbytes"]).from_buffer_copy(
                    (folder / a["array"]).read_bytes()
                )
                dev = cu.alloc(max(a["nbytes"], 1))
                cu.h2d(dev, host, a["nbytes"])
                buffers.append((len(cells), dev, host))
                cells.append(dev)
            if case["shared"] > 48 * 1024:  # CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
                cu.check(cu.lib.cuFuncSetAttribute(fn, 8, case["shared"]), "cuFuncSetAttribute")
            params = (ctypes.c_void_p * max(len(cells), 1))(*[ctypes.addressof(c) for c in cells])
            dims = [*_dims(case["grid"]), *_dims(case["block"])]
            rc = cu.lib.cuLaunchKernel(fn, *dims, case["shared"], None, params, None)
            cu.check(rc, "cuLaunchKernel")
            cu.sync()
            for i, dev, host in buffers:
                cu.d2h(host, dev, len(host))
                (out / f"case{k}.arg{i}.bin").write_bytes(bytes(host))
            results[case["name"]] = "ran"
        except RuntimeError as e:
            results[case["name"]] = f"FAIL: {e}"
        finally:
            for _, dev, _ in buffers:
                cu.lib.cuMemFree_v2(dev)
        print(f"{case['name']:<44} {results[case['name']]}")
    (out / "results.json").write_text(json.dumps({"device": cu.name, "results": results}))
    return 0


def check(folder: Path, out: Path) -> int:
    import numpy as np

    from xpuc.compiler.artifact import flatten_args
    from xpuc.conformance import CASES, SEED, _compare

    manifest = json.loads((folder / "manifest.json").read_text())
    ran = json.loads((out / "results.json").read_text())
    print(f"device: {ran['device']}; target {manifest['target']}")
    passed = 0
    for k, case in enumerate(CASES):
        status = ran["results"].get(case.name, "not run")
        if status == "ran":
            before = flatten_args(case.make(np.random.default_rng(SEED)))
            after = [np.frombuffer((out / f"case{k}.arg{i}.bin").read_bytes(), a.dtype)
                     .reshape(a.shape) if isinstance(a, np.ndarray) else a
                     for i, a in enumerate(before)]  # fmt: skip
            status = _compare(case, before, after) or "ok"
        passed += status == "ok"
        print(f"{case.name:<44} {status}")
    print(f"gpu conformance {manifest['target']}: {passed}/{len(CASES)} passed")
    return 0 if passed == len(CASES) else 1


if __name__ == "__main__":
    cmd, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 2 else ("", [])
    if cmd == "prepare" and len(args) in (1, 2):
        prepare(Path(args[0]), *args[1:])
    elif cmd in ("run", "check") and len(args) == 2:
        sys.exit((run if cmd == "run" else check)(Path(args[0]), Path(args[1])))
    else:
        sys.exit(__doc__)
