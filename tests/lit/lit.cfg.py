# ruff: noqa: F821 - lit injects `config` and `lit_config`
# lit configuration for xpuc's FileCheck tests (PyPI's lit and filecheck, no LLVM build).
import os
import shutil
import sys

import lit.formats

config.name = "xpuc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".cu"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["lit.cfg.py", "Inputs"]

bindir = os.path.dirname(sys.executable)
config.environment["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
for tool in ("xpuc", "xpuc-opt", "filecheck"):
    if shutil.which(tool, path=config.environment["PATH"]) is None:
        lit_config.fatal(f"{tool} not found next to {sys.executable}: pip install -e '.[dev]'")
config.substitutions.append(("%python", sys.executable))

sys.path.insert(0, os.path.dirname(os.path.dirname(config.test_source_root)))
from xpuc.targets.tools import find_ptxas, ptxas_archs  # noqa: E402

ptxas = find_ptxas()
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
    if "sm_90" in ptxas_archs(ptxas):
        config.available_features.add("ptxas-sm_90")
else:
    lit_config.note("ptxas not found: tests that REQUIRE ptxas are unsupported")

from xpuc.targets.tools import find_lld  # noqa: E402

lld = find_lld()
if lld:
    config.available_features.add("ld.lld")
    config.substitutions.append(("%ld.lld", " ".join(lld)))
else:
    lit_config.note("ld.lld not found: tests that REQUIRE ld.lld are unsupported")

from xpuc.targets.tools import find_tool  # noqa: E402

for tool in ("spirv-val", "spirv-dis"):
    if find_tool(tool):
        config.available_features.add(tool)
    else:
        lit_config.note(f"{tool} not found (spirv-tools): tests that REQUIRE it are unsupported")
