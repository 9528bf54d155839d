"""Projection: where the rest of the show lands, and how flex makes it hit each hard start.

One function, `project`, serves the static plan (`showctl plan`, validation), the live
timeline (console) and the duration the engine asks of a segment when it goes on air.
Keeping one formula is what makes the simulation and the live show agree.

Between a starting point and the next hard start, segments not yet on air are laid end to
end; flexible ones are re-planned within their ranges so the arrival equals the hard start.
What flex cannot absorb is that hard start's shortfall: positive = planned content that will
be cut or skipped, negative = fill (the segment before it stays on air until the time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .model import Rundown, Segment


@dataclass(frozen=True, slots=True)
class Slot:
    """A segment's projected place: start, duration (after flex re-planning), end."""

    segment_id: str
    start_ms: int
    duration_ms: int

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms


@dataclass(frozen=True, slots=True)
class HardStartPlan:
    """How the show arrives at one hard start."""

    segment_id: str
    target_ms: int
    arrival_ms: int       # where planned content would end if nothing were cut or filled
    nominal_arrival_ms: int  # the same with every flex segment at its written duration
    min_arrival_ms: int   # with every flex segment at its minimum
    max_arrival_ms: int   # with every flex segment at its maximum
    start_ms: int         # when it is expected to start (target when armed)
    flexed: tuple[str, ...]  # ids of flex segments re-planned for it

    @property
    def shortfall_ms(self) -> int:
        """Positive: content to be cut or skipped; negative: fill; 0: hit exactly."""
        return self.arrival_ms - self.target_ms

    @property
    def slack_ms(self) -> int:
        """Spare time before the hard start with every segment as written (negative: late)."""
        return self.target_ms - self.nominal_arrival_ms


@dataclass(frozen=True, slots=True)
class Projection:
    slots: tuple[Slot, ...]
    hard_starts: tuple[HardStartPlan, ...]
    _by_id: dict[str, Slot] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        by_id: dict[str, Slot] = {}
        for slot in self.slots:
            by_id.setdefault(slot.segment_id, slot)
        object.__setattr__(self, "_by_id", by_id)

    @property
    def end_ms(self) -> int | None:
        return self.slots[-1].end_ms if self.slots else None

    def slot(self, segment_id: str) -> Slot | None:
        return self._by_id.get(segment_id)


def fit(segments: Sequence[Segment], need_ms: int) -> list[int]:
    """Durations for `segments` summing as close to `need_ms` as their flex ranges allow.

    Shrinks (or stretches) every flex segment in proportion to its room, so a short
    interview is not squeezed to nothing while a long block keeps its time. Shares are
    handed out front to back, each from what is left, so that fitting the tail of a block
    later (when its first segment has aired as planned) gives the same durations to the
    millisecond: the live show then lands exactly where the plan said.
    """
    durations = [s.duration_ms for s in segments]
    gap = need_ms - sum(durations)
    if gap == 0:
        return durations
    rooms = [(s.max_ms - s.duration_ms) if gap > 0 else (s.duration_ms - s.min_ms)
             for s in segments]
    room_left = sum(rooms)
    move_left = min(abs(gap), room_left)
    sign = 1 if gap > 0 else -1
    out = []
    for d, room in zip(durations, rooms, strict=True):
        share = move_left * room // room_left if room_left else 0
        move_left -= share
        room_left -= room
        out.append(d + sign * share)
    return out


def project(rundown: Rundown, order: Sequence[str], cursor_ms: int,
            armed: bool = True, starts_now: bool = True) -> Projection:
    """Lay out `order` (segment ids not yet on air, in running order) from `cursor_ms`.

    A hard start in `order` (after the first) splits it into blocks; each block is fitted to
    the hard start that ends it. Armed, a hard start begins at its target whatever the
    arrival; disarmed, it begins when the show arrives (never before its target: the segment
    before it fills).
    With `starts_now`, the first segment starts at the cursor even if it has a hard start:
    it is the one going on air (or the top of the show).
    """
    segs = [rundown.segment(sid) for sid in order]
    slots: list[Slot] = []
    plans: list[HardStartPlan] = []
    t = cursor_ms
    block: list[Segment] = []
    for i, seg in enumerate([*segs, None]):
        if seg is not None and (seg.at_ms is None or (i == 0 and starts_now)):
            block.append(seg)
            continue
        if seg is None:
            durations = [s.duration_ms for s in block]
        else:
            assert seg.at_ms is not None
            durations = fit(block, seg.at_ms - t)
        for s, d in zip(block, durations, strict=True):
            slots.append(Slot(s.id, t, d))
            t += d
        if seg is None:
            break
        assert seg.at_ms is not None
        start = seg.at_ms if armed else max(seg.at_ms, t)
        plans.append(HardStartPlan(
            segment_id=seg.id,
            target_ms=seg.at_ms,
            arrival_ms=t,
            nominal_arrival_ms=t - sum(durations) + sum(s.duration_ms for s in block),
            min_arrival_ms=t - sum(durations) + sum(s.min_ms for s in block),
            max_arrival_ms=t - sum(durations) + sum(s.max_ms for s in block),
            start_ms=start,
            flexed=tuple(s.id for s, d in zip(block, durations, strict=True)
                         if d != s.duration_ms),
        ))
        t = start
        block = [seg]
    return Projection(tuple(slots), tuple(plans))


def static_plan(rundown: Rundown) -> Projection:
    """The plan before the show: every segment from the show's start, hard starts armed."""
    first = rundown.segments[0]
    start = first.at_ms if first.at_ms is not None else rundown.show.start_ms
    return project(rundown, [s.id for s in rundown.segments], start)
