"""The live timing view: for every segment planned/expected/actual, for the show its offset,
for each hard start its countdown, projected arrival and shortfall. A function of (state, now).

Over/under is actual (or expected) duration minus planned duration, positive = long; the
show's over/under is projected end minus planned end, positive = late. The on-air segment
counts as max(planned, elapsed) when it will not end by itself (Sofie's rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .engine import expected_end_ms, upcoming
from .plan import Projection, project
from .state import Aired, ShowState

Status = Literal["done", "on-air", "next", "pending", "skipped"]


@dataclass(frozen=True, slots=True)
class SegmentTiming:
    id: str
    title: str
    status: Status
    planned_start_ms: int | None
    planned_duration_ms: int | None
    expected_start_ms: int | None = None
    expected_end_ms: int | None = None
    start_ms: int | None = None        # actual
    end_ms: int | None = None          # actual
    over_under_ms: int | None = None   # actual (or expected, for the on-air one) - planned
    remaining_ms: int | None = None    # on-air only; negative while overrunning
    elapsed_ms: int | None = None      # on-air only

    @property
    def expected_duration_ms(self) -> int | None:
        if self.expected_start_ms is None or self.expected_end_ms is None:
            return None
        return self.expected_end_ms - self.expected_start_ms


@dataclass(frozen=True, slots=True)
class HardStartTiming:
    id: str
    target_ms: int
    countdown_ms: int          # target - now
    arrival_ms: int            # projected end of the content before it
    shortfall_ms: int          # + cut or skipped, - fill, 0 on the frame
    slack_ms: int              # target - arrival with every segment as written
    flex: tuple[tuple[str, int], ...]  # the plan that meets it: (segment, duration)


@dataclass(frozen=True, slots=True)
class Timeline:
    now_ms: int
    segments: tuple[SegmentTiming, ...]
    hard_starts: tuple[HardStartTiming, ...]
    planned_end_ms: int | None
    projected_end_ms: int | None
    offset_ms: int           # how far behind schedule the show runs now (+ late)

    @property
    def over_under_ms(self) -> int | None:
        if self.planned_end_ms is None or self.projected_end_ms is None:
            return None
        return self.projected_end_ms - self.planned_end_ms


def _projection(state: ShowState, now: int) -> Projection:
    ahead = upcoming(state)
    if state.on_air is not None:
        cursor = expected_end_ms(state, now)
    elif state.ended:
        return Projection((), ())
    else:  # before the show: it starts at its planned time, or now if that has passed
        cursor = max(now, state.rundown.show.start_ms) if state.armed else now
    return project(state.rundown, ahead, cursor, armed=state.armed,
                   starts_now=state.on_air is None)


def timeline(state: ShowState, now: int) -> Timeline:
    rundown = state.rundown
    proj = _projection(state, now)
    aired: dict[str, Aired] = {}
    for entry in state.asrun:
        if isinstance(entry, Aired):
            aired[entry.segment_id] = entry
    ahead = upcoming(state)
    out: list[SegmentTiming] = []
    for seg in rundown.segments:
        planned = state.plan.slot(seg.id)
        p_start = planned.start_ms if planned else None
        p_dur = planned.duration_ms if planned else None
        slot = proj.slot(seg.id)
        entry = aired.get(seg.id)
        if seg.id == state.on_air and entry is not None:
            end = expected_end_ms(state, now)
            out.append(SegmentTiming(
                seg.id, seg.title, "on-air", p_start, p_dur,
                expected_start_ms=entry.start_ms, expected_end_ms=end, start_ms=entry.start_ms,
                over_under_ms=None if p_dur is None else end - entry.start_ms - p_dur,
                remaining_ms=state.planned_end_ms - now, elapsed_ms=now - entry.start_ms,
            ))
        elif slot is not None:
            status: Status = "next" if ahead and ahead[0] == seg.id else "pending"
            out.append(SegmentTiming(seg.id, seg.title, status, p_start, p_dur,
                                     slot.start_ms, slot.end_ms))
        elif entry is not None and entry.end_ms is not None:
            dur = entry.end_ms - entry.start_ms
            out.append(SegmentTiming(
                seg.id, seg.title, "done", p_start, p_dur, start_ms=entry.start_ms,
                end_ms=entry.end_ms, over_under_ms=None if p_dur is None else dur - p_dur))
        else:
            out.append(SegmentTiming(seg.id, seg.title, "skipped", p_start, p_dur))
    hard = tuple(
        HardStartTiming(
            id=h.segment_id, target_ms=h.target_ms, countdown_ms=h.target_ms - now,
            arrival_ms=h.arrival_ms, shortfall_ms=h.shortfall_ms, slack_ms=h.slack_ms,
            flex=tuple((s.segment_id, s.duration_ms) for s in proj.slots
                       if s.segment_id in h.flexed),
        )
        for h in proj.hard_starts
    )
    projected_end = proj.end_ms
    if projected_end is None:
        if state.on_air is not None:
            projected_end = expected_end_ms(state, now)
        else:
            ends = [e.end_ms for e in aired.values() if e.end_ms is not None]
            projected_end = max(ends) if ends else None
    offset = 0
    nxt = next((s for s in out if s.status == "next"), None)
    if nxt is not None and nxt.expected_start_ms is not None and nxt.planned_start_ms is not None:
        offset = nxt.expected_start_ms - nxt.planned_start_ms
    elif projected_end is not None and state.plan.end_ms is not None:
        offset = projected_end - state.plan.end_ms
    return Timeline(now, tuple(out), hard, state.plan.end_ms, projected_end, offset)
