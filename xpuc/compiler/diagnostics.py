"""Errors meant for people: ``file:line:col: error: message`` with the source line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class XpucError(Exception):
    """Base of every error xpuc raises for bad input or an unusable setup."""


class CompileError(XpucError):
    """A problem in the user's program, pointing at where it is."""

    def __init__(self, message: str, loc: Location | None = None, source_line: str | None = None):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.source_line = source_line

    def __str__(self) -> str:
        head = f"{self.loc}: error: {self.message}" if self.loc else f"error: {self.message}"
        if self.source_line is None or self.loc is None:
            return head
        line = self.source_line.rstrip("\n").expandtabs(1)
        caret = " " * max(self.loc.col - 1, 0) + "^"
        return f"{head}\n  {line}\n  {caret}"


class TargetError(XpucError):
    """The target cannot do what was asked (unknown name, missing tool, over a limit)."""


class ToolNotFoundError(TargetError):
    """An optional external tool (ptxas, ld.lld, ...) is not installed here."""
