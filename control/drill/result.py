"""What one drill run finds: a fault's result (its checks and figures), the verdicts' words,
and the error that means the drill itself could not run (not a failed verdict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DrillError(RuntimeError):
    """The drill could not run (a part would not start); not a failed verdict."""


class Verdict(StrEnum):
    """A verdict as the markdown report says it."""

    PASS = "PASS"
    FAIL = "FAIL"

    @classmethod
    def of(cls, ok: bool) -> Verdict:
        return cls.PASS if ok else cls.FAIL


class Phase(StrEnum):
    """Where the drill is: said in its log and in a DrillError, so a failure names its step."""

    SETUP = "setup"
    PRE_SHOW = "pre-show"
    SHOW = "show"
    FINAL_HARD_START = "final hard start"
    REPORT = "report"


@dataclass
class FaultResult:
    """One injected fault: when (show and wall clock), how long until recovered, the checks."""

    name: str
    planned_show_s: float  # from the show start, on the show clock
    show_s: float | None = None  # when it was injected
    wall_s: float | None = None  # wall seconds since the drill began
    recovery_s: float | None = None  # wall seconds from injection until recovered
    checks: dict[str, bool] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(self.checks.values())
