"""What the hosts' screens show: the presenter view and the prompter's text, pure functions of
(state, now) and the configured colour thresholds (docs/stage.md).

Built from the same read model the console shows (`view.show_view`), so the presenter's
numbers are the console's. Clocks on the screens run from instants (`end_ms`, `target_ms`,
`warning_at_ms`, `danger_at_ms`), drawn every frame against the controller's clock (Ontime's
rule: timing as a function of state and clock), so a screen needs a new view only when the
show changes, not every second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from .model import Segment
from .readmodel import HardStartView, SegmentView, ShowView
from .state import ShowState
from .view import show_view

Band = Literal["normal", "warning", "danger", "over"]
FlexKind = Literal["stretch", "cut", "on-time"]
Tally = Literal["on-air", "rehearsal", "panic", "standby", "ended"]
MS_PER_S = 1000


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Time left at which the presenter's clock turns amber (warning) and red (danger)."""

    warning_ms: int = 60_000
    danger_ms: int = 15_000

    def __post_init__(self) -> None:
        if not 0 <= self.danger_ms <= self.warning_ms:
            raise ValueError("thresholds need 0 <= danger <= warning")

    def of(self, seg: Segment) -> Thresholds:
        """The segment's own thresholds where the rundown sets them, else these."""
        warning = self.warning_ms if seg.warning_ms is None else seg.warning_ms
        danger = self.danger_ms if seg.danger_ms is None else seg.danger_ms
        return Thresholds(max(warning, danger), danger)


def band(remaining_ms: int, thresholds: Thresholds) -> Band:
    """The clock's colour with `remaining_ms` left (negative: over time). The pages apply
    the same rule to the instants `end_ms - warning` and `end_ms - danger`."""
    if remaining_ms < 0:
        return "over"
    if remaining_ms <= thresholds.danger_ms:
        return "danger"
    if remaining_ms <= thresholds.warning_ms:
        return "warning"
    return "normal"


def short_duration(ms: int) -> str:
    """A span as a host reads it: `40 s` under a minute, else `1:20` (`1:02:03` past an
    hour), rounded to the nearest second, no sign."""
    total = (abs(ms) + MS_PER_S // 2) // MS_PER_S
    if total < 60:
        return f"{total} s"
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class FlexAdvice(TypedDict):
    """What the plan to the next hard start asks of the segments before it, against the
    planned running order: `stretch` (they run longer) or `cut` (shorter), `ms` the total;
    `shortfall_ms` what flex cannot absorb (+ content cut at the hard start, - fill)."""

    kind: FlexKind
    ms: int
    text: str            # "stretch 40 s", "cut 1:20", "on time" (English; pages translate)
    amount: str          # "40 s", "1:20": the number alone, for the pages' own words
    shortfall_ms: int


def flex_advice(view: ShowView, hard: HardStartView) -> FlexAdvice:
    """The read model's plan to `hard` in the hosts' words (`FlexAdvice`): each flexible
    segment before it, on air or to come, its time now (on air: what it was given, not its
    overrun) against its planned duration."""
    delta = 0
    on_air = view["on_air"]
    for seg in _before(view["segments"], hard["id"]):
        if seg["flex"] is None or seg["planned_duration_s"] is None:
            continue
        if seg["status"] == "on-air" and on_air is not None and on_air["id"] == seg["id"]:
            if on_air["planned_end_ms"] is None or on_air["since_ms"] is None:
                continue
            given = on_air["planned_end_ms"] - on_air["since_ms"]
        elif seg["status"] in ("next", "pending"):
            given = _ms(seg["expected_duration_s"])
        else:
            continue
        delta += given - _ms(seg["planned_duration_s"])
    kind: FlexKind = "stretch" if delta > 0 else "cut" if delta < 0 else "on-time"
    amount = short_duration(delta)
    text = "on time" if kind == "on-time" else f"{kind} {amount}"
    return {"kind": kind, "ms": abs(delta), "text": text, "amount": amount,
            "shortfall_ms": _ms(hard["shortfall_s"])}


def _before(segments: list[SegmentView], segment_id: str) -> list[SegmentView]:
    ids = [s["id"] for s in segments]
    return segments[: ids.index(segment_id)] if segment_id in ids else []


def _ms(seconds: float | None) -> int:
    return 0 if seconds is None else round(seconds * MS_PER_S)


class OnAirClock(TypedDict):
    id: str
    title: str
    title_zh: str | None
    since_ms: int | None
    end_ms: int | None           # remaining = end_ms - now; past it: over time
    remaining_ms: int | None
    warning_at_ms: int | None    # amber from here
    danger_at_ms: int | None     # red from here
    band: Band
    held: bool
    planned_ms: int | None       # its planned duration: over/under = max(end, now) - since - it
    over_under_ms: int | None    # at now (+ long, - short), the read model's


class Upcoming(TypedDict):
    id: str
    title: str
    title_zh: str | None
    start_ms: int | None         # expected
    duration_ms: int | None      # expected


class HardStart(TypedDict):
    id: str
    title: str
    title_zh: str | None
    target_ms: int
    flex: FlexAdvice


class Script(TypedDict):
    """The prompter's text: the segment on air's, or before the show the next one's."""

    id: str
    title: str
    title_zh: str | None
    on_air: bool
    en: str | None
    zh: str | None


class PresenterView(TypedDict):
    title: str
    title_zh: str | None
    timezone: str
    now_ms: int
    tally: Tally
    on_air: OnAirClock | None
    next: Upcoming | None
    hard_start: HardStart | None
    message: dict[str, object] | None   # the read model's stage.message
    signal: str | None                  # wrap | stretch, for the segment on air
    script: Script | None


def tally(state: ShowState) -> Tally:
    if state.panic:
        return "panic"
    if state.ended:
        return "ended"
    if state.on_air is None:
        return "standby"
    return "on-air" if state.mode == "live" else "rehearsal"


def presenter_view(state: ShowState, now: int, defaults: Thresholds = Thresholds(),
                   view: ShowView | None = None) -> PresenterView:
    """Everything a presenter or prompter screen shows (`view`: the show's read model at
    `now`, when the caller has it already)."""
    view = show_view(state, now) if view is None else view
    rundown = state.rundown
    stage = view["stage"]
    hard = next((h for h in view["hard_starts"] if h["target_ms"] >= now), None)
    return {
        "title": rundown.show.title,
        "title_zh": rundown.show.title_zh,
        "timezone": rundown.show.timezone,
        "now_ms": now,
        "tally": tally(state),
        "on_air": _clock(state, view, now, defaults),
        "next": _upcoming(state, view),
        "hard_start": None if hard is None else {
            "id": hard["id"], "title": rundown.segment(hard["id"]).title,
            "title_zh": rundown.segment(hard["id"]).title_zh, "target_ms": hard["target_ms"],
            "flex": flex_advice(view, hard)},
        "message": dict(stage["message"]) if stage["message"] else None,
        "signal": stage["signal"]["cue"] if stage["signal"] else None,
        "script": _script(state, view),
    }


def _clock(state: ShowState, view: ShowView, now: int,
           defaults: Thresholds) -> OnAirClock | None:
    on_air = view["on_air"]
    if on_air is None:
        return None
    seg = state.rundown.segment(on_air["id"])
    timing = next(s for s in view["segments"] if s["id"] == seg.id)
    limits = defaults.of(seg)
    end = on_air["planned_end_ms"]
    remaining = None if end is None else end - now
    return {
        "id": seg.id, "title": seg.title, "title_zh": seg.title_zh,
        "since_ms": on_air["since_ms"], "end_ms": end, "remaining_ms": remaining,
        "warning_at_ms": None if end is None else end - limits.warning_ms,
        "danger_at_ms": None if end is None else end - limits.danger_ms,
        "band": "normal" if remaining is None else band(remaining, limits),
        "held": state.held,
        "planned_ms": None if timing["planned_duration_s"] is None
        else _ms(timing["planned_duration_s"]),
        "over_under_ms": None if timing["over_under_s"] is None else _ms(timing["over_under_s"]),
    }


def _upcoming(state: ShowState, view: ShowView) -> Upcoming | None:
    nxt = view["next"]
    if nxt is None:
        return None
    seg = state.rundown.segment(nxt["id"])
    timing = next(s for s in view["segments"] if s["id"] == seg.id)
    return {"id": seg.id, "title": seg.title, "title_zh": seg.title_zh,
            "start_ms": timing["expected_start_ms"],
            "duration_ms": None if timing["expected_duration_s"] is None
            else _ms(timing["expected_duration_s"])}


def _script(state: ShowState, view: ShowView) -> Script | None:
    shown = view["on_air"] or (None if state.started else view["next"])
    if shown is None:
        return None
    seg = state.rundown.segment(shown["id"])
    return {"id": seg.id, "title": seg.title, "title_zh": seg.title_zh,
            "on_air": view["on_air"] is not None, "en": seg.script, "zh": seg.script_zh}
