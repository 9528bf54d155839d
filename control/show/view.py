"""The one read model (`GET /api/state`), built in one place: `read_model`.

The show's part (`show_view`) is built from (state, now) only, so the console, the API,
metrics, tests and tools all see the same numbers; the devices' part (OBS, guests) and the
wiring's flags come in as `Devices`, plain data. Shapes and conventions: `readmodel.py`
(every instant as ISO 8601 in the show's zone and as `_ms` epoch milliseconds; durations in
seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .alarms import alarms
from .durations import seconds
from .engine import next_segment
from .localtime import iso, zone
from .model import Segment
from .readmodel import (
    AiredView,
    GuestView,
    HardStartView,
    ObsView,
    OnAirView,
    ReadModel,
    SegmentView,
    ShowStatus,
    ShowView,
    SkippedView,
    StageView,
)
from .state import Aired, ShowState, Skipped
from .timeline import HardStartTiming, SegmentTiming, Timeline, timeline


@dataclass(frozen=True, slots=True)
class Devices:
    """What the read model shows besides the show: the adapters' reports and the wiring's
    flags (each says why it is here in `alarms`)."""

    obs: ObsView
    guests: list[GuestView]
    speed: float = 1.0                    # > 1: compressed-time rehearsal
    journal_error: str | None = None      # the last journal write failed: why
    osc_error: str | None = None          # OSC enabled but not listening: why


def read_model(state: ShowState, now: int, devices: Devices) -> ReadModel:
    """The whole read model: the show, OBS, guests and the alarms they raise."""
    view = show_view(state, now, speed=devices.speed,
                     journal_ok=devices.journal_error is None)
    return {**view, "obs": devices.obs, "guests": devices.guests,
            "alarms": alarms(state, view, devices.obs, journal_error=devices.journal_error,
                             osc_error=devices.osc_error, speed=devices.speed)}


def show_view(state: ShowState, now: int, *, speed: float = 1.0,
              journal_ok: bool = True) -> ShowView:
    """The show's part of the read model."""
    tz = zone(state.rundown.show.timezone)
    tl = timeline(state, now)
    nxt = next_segment(state)
    return {
        "show": _show(state, tl, now, tz, speed, journal_ok),
        "on_air": _on_air(state, tl, tz),
        "next": None if nxt is None else {"id": nxt.id, "title": nxt.title,
                                          "chosen": state.next_id is not None},
        "segments": [_segment(state, seg, t, tz) for seg, t in
                     zip(state.rundown.segments, tl.segments, strict=True)],
        "hard_starts": [_hard_start(state, h, tz) for h in tl.hard_starts],
        "asrun": [_entry(e, tz) for e in state.asrun],
        "notices": list(state.notices),
        "stage": stage_view(state, tz),
    }


def stage_view(state: ShowState, tz: ZoneInfo) -> StageView:
    """The director's message and signal to the hosts (a signal lasts its segment)."""
    m, s = state.message, state.signal
    return {
        "message": None if m is None else {
            "id": m.id, "text": m.text, "at": iso(m.at_ms, tz), "at_ms": m.at_ms, "by": m.by,
            "read": iso(m.read_ms, tz), "read_ms": m.read_ms, "read_by": m.read_by},
        "signal": None if s is None or s.segment_id != state.on_air or state.on_air is None
        else {"cue": s.cue, "segment_id": s.segment_id, "at": iso(s.at_ms, tz), "at_ms": s.at_ms,
              "by": s.by},
    }


def _show(state: ShowState, tl: Timeline, now: int, tz: ZoneInfo, speed: float,
          journal_ok: bool) -> ShowStatus:
    rundown = state.rundown
    reload = state.last_reload
    return {
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
        "speed": speed,
        "journal_ok": journal_ok,
        "now": iso(now, tz),
        "now_ms": now,
        "planned_start": iso(rundown.show.start_ms, tz),
        "planned_start_ms": rundown.show.start_ms,
        "planned_end": iso(tl.planned_end_ms, tz),
        "planned_end_ms": tl.planned_end_ms,
        "projected_end": iso(tl.projected_end_ms, tz),
        "projected_end_ms": tl.projected_end_ms,
        "over_under_s": seconds(tl.over_under_ms),
        "offset_s": seconds(tl.offset_ms),
        "safe_scene": rundown.show.safe_scene,
        "last_reload": None if reload is None else {
            "at": iso(reload.at_ms, tz), "at_ms": reload.at_ms,
            "changes": reload.changes.to_json()},
    }


def _on_air(state: ShowState, tl: Timeline, tz: ZoneInfo) -> OnAirView | None:
    t = next((s for s in tl.segments if s.status == "on-air"), None)
    if t is None:
        return None
    planned_end = state.planned_end_ms if state.on_air else None
    return {"id": t.id, "title": t.title,
            "since": iso(t.start_ms, tz), "since_ms": t.start_ms,
            "elapsed_s": seconds(t.elapsed_ms), "remaining_s": seconds(t.remaining_ms),
            "planned_end": iso(planned_end, tz), "planned_end_ms": planned_end}


def _segment(state: ShowState, seg: Segment, t: SegmentTiming, tz: ZoneInfo) -> SegmentView:
    return {
        "id": seg.id,
        "title": seg.title,
        "title_zh": seg.title_zh,
        "scene": seg.scene,
        "status": t.status,
        "then": seg.then,
        "hard_start": iso(seg.at_ms, tz),
        "hard_start_ms": seg.at_ms,
        "flex": [seconds(seg.flex.min_ms), seconds(seg.flex.max_ms)] if seg.flex else None,
        "guests": list(seg.guests),
        "notes": seg.notes,
        "producer_note": state.producer_note(seg.id),
        "planned_start": iso(t.planned_start_ms, tz),
        "planned_start_ms": t.planned_start_ms,
        "planned_duration_s": seconds(t.planned_duration_ms),
        "expected_start": iso(t.expected_start_ms, tz),
        "expected_start_ms": t.expected_start_ms,
        "expected_end": iso(t.expected_end_ms, tz),
        "expected_end_ms": t.expected_end_ms,
        "expected_duration_s": seconds(t.expected_duration_ms),
        "start": iso(t.start_ms, tz),
        "start_ms": t.start_ms,
        "end": iso(t.end_ms, tz),
        "end_ms": t.end_ms,
        "over_under_s": seconds(t.over_under_ms),
    }


def _hard_start(state: ShowState, h: HardStartTiming, tz: ZoneInfo) -> HardStartView:
    return {
        "id": h.id,
        "target": iso(h.target_ms, tz),
        "target_ms": h.target_ms,
        "countdown_s": seconds(h.countdown_ms),
        "projected_arrival": iso(h.arrival_ms, tz),
        "projected_arrival_ms": h.arrival_ms,
        "shortfall_s": seconds(h.shortfall_ms),
        "slack_s": seconds(h.slack_ms),
        "flex_plan": [{"id": sid, "duration_s": seconds(ms)} for sid, ms in h.flex],
        "armed": state.armed,
    }


def _entry(e: Aired | Skipped, tz: ZoneInfo) -> AiredView | SkippedView:
    if isinstance(e, Aired):
        return {"kind": "aired", "id": e.segment_id, "start": iso(e.start_ms, tz),
                "start_ms": e.start_ms, "end": iso(e.end_ms, tz), "end_ms": e.end_ms,
                "source": e.source, "by": e.by, "target_s": seconds(e.target_ms),
                "shortfall_s": seconds(e.shortfall_ms)}
    return {"kind": "skipped", "id": e.segment_id, "at": iso(e.at_ms, tz), "at_ms": e.at_ms,
            "reason": e.reason, "by": e.by}
