"""One compile for several targets, in one file (``--target a,b,c``).

A fat artifact holds one :class:`Artifact` per target, each keeping the stages a
loader needs (LLVM IR for the cpu JIT, the binary, the PTX/OpenCL C text) and its
kernel metadata.  ``xpuc.load`` picks the entry that runs on the device at hand.
The file format is documented in ``docs/fat-artifact.md``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xpuc.compiler.artifact import Artifact, read_json
from xpuc.compiler.diagnostics import XpucError

FORMAT = "xpuc-fat"
VERSION = 1
KEPT_STAGES = ("llir", "asm", "bin")
"""What each entry keeps: enough to load or to hand to a vendor tool."""
PREFERENCE = ("nvptx", "amdgpu", "opencl", "cpu")
"""Families in the order ``xpuc.load`` tries them; plug-in families come after these."""


def _encode(v: str | bytes) -> dict[str, str]:
    return {"bytes": base64.b64encode(v).decode()} if isinstance(v, bytes) else {"text": v}


@dataclass
class FatArtifact:
    entries: dict[str, Artifact] = field(default_factory=dict)  # target name -> artifact

    @property
    def targets(self) -> list[str]:
        return list(self.entries)

    def __getitem__(self, target: str) -> Artifact:
        if target not in self.entries:
            raise XpucError(f"no {target} binary in this fat artifact (it holds "
                            f"{', '.join(self.entries)})")  # fmt: skip
        return self.entries[target]

    def pick(self) -> Artifact:
        """The entry for the device at hand (see :data:`PREFERENCE`).  Entries for
        targets this xpuc does not know (a newer one, a plug-in not installed) are
        passed over."""
        from xpuc.compiler.diagnostics import TargetError
        from xpuc.targets.registry import get_target

        def rank(name: str) -> int:
            fam = name.partition(":")[0]
            return PREFERENCE.index(fam) if fam in PREFERENCE else len(PREFERENCE)

        unknown = []
        for name in sorted(self.entries, key=rank):
            try:
                target = get_target(name)
            except TargetError:
                unknown.append(name)
                continue
            if target.can_run():
                return self.entries[name]
        note = f"; unknown here: {', '.join(unknown)}" if unknown else ""
        raise XpucError(f"none of this fat artifact's targets runs here "
                        f"({', '.join(self.entries)}){note}")  # fmt: skip

    def to_json(self) -> str:
        entries = []
        for name, art in self.entries.items():
            stages = {k: _encode(v) for k, v in art.stages.items() if k in KEPT_STAGES}
            if not stages:
                raise XpucError(f"the {name} entry keeps nothing a fat artifact holds "
                                f"({', '.join(KEPT_STAGES)}); emit llvm or later")  # fmt: skip
            entries.append(
                {
                    "target": name,
                    "opt_level": art.opt_level,
                    "kernels": [asdict(k) for k in art.kernels],
                    "stages": stages,
                }
            )
        return json.dumps({"format": FORMAT, "version": VERSION, "entries": entries}, indent=1)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def from_json(cls, text: str, where: str = "<fat artifact>") -> FatArtifact:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise XpucError(f"{where}:{e.lineno}:{e.colno}: not an xpuc fat artifact: "
                            f"{e.msg}") from None  # fmt: skip
        return cls.from_doc(doc, where)

    @classmethod
    def from_doc(cls, doc: object, where: str) -> FatArtifact:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise XpucError(f'{where}: not an xpuc fat artifact (no "format": "{FORMAT}")')
        if doc.get("version") != VERSION:
            raise XpucError(f"{where}: fat artifact version {doc.get('version')} is not "
                            f"supported (this xpuc reads version {VERSION})")  # fmt: skip
        fat = cls()
        entries = doc.get("entries")
        if not isinstance(entries, list):
            raise XpucError(f'{where}: malformed fat artifact: "entries" must be a list')
        for k, e in enumerate(entries):
            art = Artifact.from_doc(e, f"{where}: entry {k}")
            fat.entries[art.target] = art
        return fat

    @classmethod
    def read(cls, path: str | Path) -> FatArtifact:
        return cls.from_doc(read_json(path, "an xpuc fat artifact"), str(path))


def read_any(path: str | Path) -> Artifact | FatArtifact:
    """What ``xpuc.load(path)`` reads: a fat artifact or a saved single artifact."""
    doc = read_json(path)
    if isinstance(doc, dict) and doc.get("format") == FORMAT:
        return FatArtifact.from_doc(doc, str(path))
    return Artifact.from_doc(doc, str(path))
