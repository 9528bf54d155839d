"""The show part of the one read model (`GET /api/state`): plain JSON-ready data.

Built from (state, now) only, so the console, the API, tests and tools all see the same
numbers. Times are ISO 8601 in the show's zone plus `_ms` epoch values for clients that
compute (the console's clocks); durations are in seconds.
"""

from __future__ import annotations

from typing import Any

from .durations import seconds
from .engine import next_segment
from .localtime import iso, zone
from .state import Aired, ShowState, Skipped
from .timeline import timeline


def show_view(state: ShowState, now: int) -> dict[str, Any]:
    rundown = state.rundown
    tz = zone(rundown.show.timezone)
    tl = timeline(state, now)
    nxt = next_segment(state)
    on_air = next((s for s in tl.segments if s.status == "on-air"), None)
    segments = []
    for seg, t in zip(rundown.segments, tl.segments, strict=True):
        segments.append({
            "id": seg.id,
            "title": seg.title,
            "title_zh": seg.title_zh,
            "scene": seg.scene,
            "status": t.status,
            "then": seg.then,
            "hard_start": iso(seg.at_ms, tz),
            "flex": [seconds(seg.flex.min_ms), seconds(seg.flex.max_ms)] if seg.flex else None,
            "guests": list(seg.guests),
            "notes": seg.notes,
            "producer_note": state.producer_note(seg.id),
            "planned_start": iso(t.planned_start_ms, tz),
            "planned_duration_s": seconds(t.planned_duration_ms),
            "expected_start": iso(t.expected_start_ms, tz),
            "expected_end": iso(t.expected_end_ms, tz),
            "expected_duration_s": seconds(t.expected_duration_ms),
            "start": iso(t.start_ms, tz),
            "end": iso(t.end_ms, tz),
            "over_under_s": seconds(t.over_under_ms),
        })
    return {
        "show": {
            "title": rundown.show.title,
            "title_zh": rundown.show.title_zh,
            "timezone": rundown.show.timezone,
            "source": rundown.source,
            "mode": state.mode,
            "armed": state.armed,
            "panic": state.panic,
            "ended": state.ended,
            "started": state.started,
            "held": state.held,
            "shift_s": seconds(rundown.shift_ms),
            "now": iso(now, tz),
            "now_ms": now,
            "planned_start": iso(rundown.show.start_ms, tz),
            "planned_end": iso(tl.planned_end_ms, tz),
            "projected_end": iso(tl.projected_end_ms, tz),
            "over_under_s": seconds(tl.over_under_ms),
            "offset_s": seconds(tl.offset_ms),
            "safe_scene": rundown.show.safe_scene,
            "last_reload": None if state.last_reload is None else {
                "at": iso(state.last_reload.at_ms, tz),
                "at_ms": state.last_reload.at_ms,
                "changes": state.last_reload.changes.to_json(),
            },
        },
        "on_air": None if on_air is None else {
            "id": on_air.id,
            "title": on_air.title,
            "since": iso(on_air.start_ms, tz),
            "since_ms": on_air.start_ms,
            "elapsed_s": seconds(on_air.elapsed_ms),
            "remaining_s": seconds(on_air.remaining_ms),
            "planned_end_ms": state.planned_end_ms if state.on_air else None,
        },
        "next": None if nxt is None else {"id": nxt.id, "title": nxt.title,
                                          "chosen": state.next_id is not None},
        "segments": segments,
        "hard_starts": [{
            "id": h.id,
            "target": iso(h.target_ms, tz),
            "target_ms": h.target_ms,
            "countdown_s": seconds(h.countdown_ms),
            "projected_arrival": iso(h.arrival_ms, tz),
            "shortfall_s": seconds(h.shortfall_ms),
            "slack_s": seconds(h.slack_ms),
            "flex_plan": [{"id": sid, "duration_s": seconds(ms)} for sid, ms in h.flex],
            "armed": state.armed,
        } for h in tl.hard_starts],
        "asrun": [_entry(e, tz) for e in state.asrun],
        "notices": list(state.notices),
    }


def _entry(e: Aired | Skipped, tz: Any) -> dict[str, Any]:
    if isinstance(e, Aired):
        return {"kind": "aired", "id": e.segment_id, "start": iso(e.start_ms, tz),
                "end": iso(e.end_ms, tz), "source": e.source, "by": e.by,
                "target_s": seconds(e.target_ms), "shortfall_s": seconds(e.shortfall_ms)}
    return {"kind": "skipped", "id": e.segment_id, "at": iso(e.at_ms, tz),
            "reason": e.reason, "by": e.by}
