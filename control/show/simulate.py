"""What-if: the live engine driven by a virtual clock and a scripted director.

No timing logic of its own: it jumps the clock to the engine's next event (or the scripted
director's next take) and calls the same `advance`/`apply` the controller calls. The
director takes a held segment at its planned end plus its overrun, extends a `then: next`
segment by its overrun the moment it goes on air, and never takes into an armed hard start
(that one fires by itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import commands as C
from .durations import seconds
from .engine import Refused, advance, apply, next_event_ms, next_segment
from .localtime import iso, zone
from .model import Rundown
from .state import Aired, ShowState, initial_state


@dataclass(frozen=True, slots=True)
class SimResult:
    state: ShowState
    report: dict[str, Any]


def simulate(rundown: Rundown, over: Mapping[str, int] | None = None) -> SimResult:
    """Run the whole show. `over` maps segment id -> ms longer (negative: shorter)."""
    over = dict(over or {})
    unknown = [k for k in over if k not in {s.id for s in rundown.segments}]
    if unknown:
        raise KeyError(", ".join(unknown))
    state = initial_state(rundown, mode="rehearsal", armed=True)
    first = rundown.segments[0]
    now = first.at_ms if first.at_ms is not None else rundown.show.start_ms
    state = advance(state, now).state
    handled: tuple[str, int] | None = None
    take_at: int | None = None
    for _ in range(20 * len(rundown.segments) + 20):
        if state.ended:
            break
        if state.on_air is not None and (state.on_air, state.since_ms) != handled:
            handled = (state.on_air, state.since_ms or 0)
            state, take_at = _direct(state, over.get(state.on_air, 0), now)
        candidates = [t for t in (next_event_ms(state), take_at) if t is not None]
        if not candidates:
            break
        now = max(now, min(candidates))
        before = (state.on_air, state.since_ms)
        state = advance(state, now).state
        if take_at is not None and now >= take_at and (state.on_air, state.since_ms) == before:
            try:
                state = apply(state, C.Take(by="director (simulated)"), now).state
            except Refused:
                take_at = now + state.min_take_interval_ms
                continue
        if (state.on_air, state.since_ms) != before or state.ended:
            take_at = None
    return SimResult(state, report(state))


def _direct(state: ShowState, over_ms: int, now: int) -> tuple[ShowState, int | None]:
    """The scripted director's plan for the segment that just went on air."""
    seg = state.rundown.segment(state.on_air or "")
    nxt = next_segment(state)
    into_hard_start = nxt is not None and nxt.at_ms is not None and state.armed
    if seg.then == "next":
        if over_ms > 0:
            state = apply(state, C.Extend(over_ms, by="director (simulated)"), now).state
            return state, None
        if over_ms < 0 and not into_hard_start:
            return state, state.planned_end_ms + over_ms
        return state, None
    if into_hard_start:
        return state, None
    return state, state.planned_end_ms + over_ms


def report(state: ShowState) -> dict[str, Any]:
    """The as-run timeline in the `simulate --json` shape (times ISO 8601, durations in s)."""
    rundown = state.rundown
    tz = zone(rundown.show.timezone)
    aired: dict[str, Aired] = {}
    for entry in state.asrun:
        if isinstance(entry, Aired) and entry.segment_id not in aired:
            aired[entry.segment_id] = entry
    segments = []
    for seg in rundown.segments:
        planned = state.plan.slot(seg.id)
        entry = aired.get(seg.id)
        duration = None
        if entry is not None and entry.end_ms is not None:
            duration = entry.end_ms - entry.start_ms
        p_dur = planned.duration_ms if planned else None
        segments.append({
            "id": seg.id,
            "title": seg.title,
            "planned_start": iso(planned.start_ms if planned else None, tz),
            "start": iso(entry.start_ms if entry else None, tz),
            "end": iso(entry.end_ms if entry else None, tz),
            "planned_duration_s": seconds(p_dur),
            "target_duration_s": seconds(entry.target_ms if entry else None),
            "duration_s": seconds(duration),
            "over_under_s": seconds(duration - p_dur) if duration is not None and p_dur else None,
            "skipped": entry is None,
            "source": entry.source if entry else None,
        })
    hard_starts = []
    for seg in rundown.segments:
        if seg.at_ms is None:
            continue
        entry = aired.get(seg.id)
        hard_starts.append({
            "id": seg.id,
            "target": iso(seg.at_ms, tz),
            "start": iso(entry.start_ms if entry else None, tz),
            "error_s": seconds(entry.start_ms - seg.at_ms) if entry else None,
            "shortfall_s": seconds(entry.shortfall_ms) if entry else None,
        })
    ends = [e.end_ms for e in aired.values() if e.end_ms is not None]
    end = max(ends) if ends else None
    planned_end = state.plan.end_ms
    return {
        "title": rundown.show.title,
        "timezone": rundown.show.timezone,
        "segments": segments,
        "hard_starts": hard_starts,
        "planned_end": iso(planned_end, tz),
        "end": iso(end, tz),
        "over_under_s": seconds(end - planned_end) if end is not None and planned_end else None,
    }
