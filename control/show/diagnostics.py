"""Errors and warnings that point at the rundown file, compiler style."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .model import Position

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: `FILE:LINE:COL: error: MESSAGE`, the form editors and CI understand."""

    file: str
    line: int
    col: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "message": self.message,
        }


class RundownError(Exception):
    """The rundown cannot be run. Carries every diagnostic found, errors and warnings."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        self.errors = tuple(d for d in self.diagnostics if d.severity == "error")
        super().__init__("\n".join(str(d) for d in self.errors) or "invalid rundown")


class Collector:
    """Gathers diagnostics for one file so that all of them are reported, not the first."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[Diagnostic] = []

    def error(self, where: Position, message: str) -> None:
        self.items.append(Diagnostic(self.file, where.line, where.col, "error", message))

    def warning(self, where: Position, message: str) -> None:
        self.items.append(Diagnostic(self.file, where.line, where.col, "warning", message))

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=lambda d: (d.line, d.col, d.severity != "error"))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'scene'?)` when a choice is close, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
