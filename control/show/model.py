"""The rundown as immutable values: what the director wrote, resolved to absolute time.

Instants are integer milliseconds since the Unix epoch (UTC); durations are integer
milliseconds. The show's timezone is kept only to read and print local times.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

Then = Literal["next", "hold"]
BUILTIN_LAYOUTS: tuple[str, ...] = ("solo", "two-up", "pip", "grid")
CUE_ACTIONS: tuple[str, ...] = ("play", "update", "next", "stop")


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line and column of a value in the rundown file."""

    line: int
    col: int


NOWHERE = Position(1, 1)


@dataclass(frozen=True, slots=True)
class Transition:
    """An OBS scene transition by its OBS name, with an optional duration override."""

    name: str
    duration_ms: int | None = None


CUT = Transition("Cut")


@dataclass(frozen=True, slots=True)
class Flex:
    """The range a segment may be shortened or stretched to, to hit the next hard start."""

    min_ms: int
    max_ms: int


@dataclass(frozen=True, slots=True)
class Cue:
    """A graphic event inside a segment, `at_ms` after the segment goes on air."""

    at_ms: int
    overlay: str
    for_ms: int | None = None  # None: until the segment ends
    action: str = "play"
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)
    where: Position = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Guest:
    """A remote scientist who may join from a browser."""

    id: str
    name: str
    name_zh: str | None = None
    role: str | None = None
    role_zh: str | None = None
    where: Position = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Segment:
    """One item of the rundown: a scene on program for a planned duration."""

    id: str
    title: str
    duration_ms: int
    scene: str
    title_zh: str | None = None
    transition: Transition | None = None  # None: the show's default
    show_items: tuple[str, ...] = ()
    hide_items: tuple[str, ...] = ()
    cues: tuple[Cue, ...] = ()
    notes: str | None = None
    then: Then = "hold"
    at_ms: int | None = None  # hard start (absolute), or None
    flex: Flex | None = None
    guests: tuple[str, ...] = ()
    layout: str | None = None
    # the host's prompter text (docs/stage.md), and the remaining times at which the presenter
    # view turns amber and red (None: the configured defaults)
    script: str | None = None
    script_zh: str | None = None
    warning_ms: int | None = None
    danger_ms: int | None = None
    where: Position = field(default=NOWHERE, compare=False)
    # where each key's value sits, for messages that point at the file (preflight, checks)
    positions: dict[str, Position] = field(default_factory=dict, compare=False, hash=False)

    @property
    def min_ms(self) -> int:
        return self.flex.min_ms if self.flex else self.duration_ms

    @property
    def max_ms(self) -> int:
        return self.flex.max_ms if self.flex else self.duration_ms

    def pos(self, key: str) -> Position:
        return self.positions.get(key, self.where)


@dataclass(frozen=True, slots=True)
class ShowInfo:
    """The show's header: title, clock zone, planned start and hard out."""

    title: str
    timezone: str
    start_ms: int
    end_ms: int | None = None
    safe_scene: str | None = None
    title_zh: str | None = None
    transition: Transition = CUT  # default for segments that name none
    positions: dict[str, Position] = field(default_factory=dict, compare=False, hash=False)

    def pos(self, key: str) -> Position:
        return self.positions.get(key, NOWHERE)


@dataclass(frozen=True, slots=True)
class Rundown:
    """A validated show: header, guest roster and segments in running order."""

    show: ShowInfo
    segments: tuple[Segment, ...]
    guests: tuple[Guest, ...] = ()
    source: str = "<rundown>"
    shift_ms: int = 0  # how far every time was moved for a rehearsal (0 on show day)
    # segment id -> running-order position: the read model looks segments up by id on every
    # push (the console's fan-out), so not a linear search; made again by `replace`
    _positions: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        positions: dict[str, int] = {}
        for i, seg in enumerate(self.segments):
            positions.setdefault(seg.id, i)  # the first, as the linear search found it
        object.__setattr__(self, "_positions", positions)

    def index(self, segment_id: str) -> int:
        """Position of a segment in running order; KeyError if unknown."""
        return self._positions[segment_id]

    def segment(self, segment_id: str) -> Segment:
        return self.segments[self.index(segment_id)]

    def guest(self, guest_id: str) -> Guest:
        for g in self.guests:
            if g.id == guest_id:
                return g
        raise KeyError(guest_id)

    def transition_into(self, seg: Segment) -> Transition:
        return seg.transition or self.show.transition

    def shifted(self, delta_ms: int) -> Rundown:
        """The same show moved in time (rehearsals): start, end and every hard start."""
        show = replace(
            self.show,
            start_ms=self.show.start_ms + delta_ms,
            end_ms=None if self.show.end_ms is None else self.show.end_ms + delta_ms,
        )
        segments = tuple(
            seg if seg.at_ms is None else replace(seg, at_ms=seg.at_ms + delta_ms)
            for seg in self.segments
        )
        return replace(self, show=show, segments=segments, shift_ms=self.shift_ms + delta_ms)
