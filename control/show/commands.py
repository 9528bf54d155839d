"""What people (and tools) can ask of the show. Each is a value the engine applies in order."""

from __future__ import annotations

from dataclasses import dataclass, field

from .state import Mode


@dataclass(frozen=True, slots=True)
class Command:
    by: str | None = field(default=None, kw_only=True)  # who asked: for the as-run log


@dataclass(frozen=True, slots=True)
class Take(Command):
    """Put the next segment (or `segment_id`) on air now. With nothing left: end the show."""

    segment_id: str | None = None
    source: str = "director"  # console / api / osc / keys: counted separately in metrics


@dataclass(frozen=True, slots=True)
class SetNext(Command):
    """Choose what TAKE puts on air next (None: back to running order)."""

    segment_id: str | None


@dataclass(frozen=True, slots=True)
class Hold(Command):
    """Stop (or resume) the on-air segment's auto-advance: it stays until the next take."""

    on: bool = True


@dataclass(frozen=True, slots=True)
class Extend(Command):
    """Give the on-air segment more time (negative: less). Later flex re-plans around it."""

    ms: int


@dataclass(frozen=True, slots=True)
class Skip(Command):
    """Drop a segment from the running order (default: the next one); skip=False restores."""

    segment_id: str | None = None
    skip: bool = True


@dataclass(frozen=True, slots=True)
class Back(Command):
    """Set next to the segment before the one on air, to take it again."""


@dataclass(frozen=True, slots=True)
class Panic(Command):
    """Cut program to the safe scene at once. Timing runs on; the next TAKE leaves panic."""


@dataclass(frozen=True, slots=True)
class SetMode(Command):
    mode: Mode


@dataclass(frozen=True, slots=True)
class Arm(Command):
    """Arm or disarm hard starts (and the automatic show start)."""

    armed: bool = True
