"""What the director must see, red (critical), amber (warning) or info: a pure function of
the show's state, its read model and what the devices report."""

from __future__ import annotations

from typing import Any

from .readmodel import Alarm, AlarmLevel, ObsView, ShowView
from .state import ShowState

# the alarms the console translates (i18n `alarm.code.<code>`); others show their `text`
ALARM_CODES = ("obs_disconnected", "panic", "hard_start_cut", "hard_starts_disarmed",
               "next_is_hard_start", "manual_override", "journal_failed")


def alarm(level: AlarmLevel, text: str, code: str | None = None, **params: Any) -> Alarm:
    """An alarm: `text` in English; `code` and `params` let the console say it in the
    operator's language (i18n key `alarm.code.<code>`)."""
    assert code is None or code in ALARM_CODES, code
    out: Alarm = {"level": level, "text": text}
    if code is not None:
        out["code"], out["params"] = code, params
    return out


def alarms(state: ShowState, view: ShowView, obs: ObsView, *,
           journal_error: str | None = None, osc_error: str | None = None,
           speed: float = 1.0) -> list[Alarm]:
    """Besides the show and OBS: a journal that cannot be written, an OSC port that would
    not open, a compressed-time rehearsal."""
    out = []
    if journal_error is not None:  # the show goes on; the records wait in memory
        out.append(alarm("critical", "journal not written (records held in memory until it "
                         f"works): {journal_error}", "journal_failed", error=journal_error))
    out.extend(_obs_alarms(obs))
    if state.panic:
        out.append(alarm("critical", "PANIC: program is on the safe scene", "panic"))
    out.extend(_timing_alarms(state, view))
    scene = obs.get("manual_override")
    if scene:
        out.append(alarm("warning", f"OBS program was cut by hand to {scene}: showctl leaves "
                         "it there until the show's next scene change", "manual_override",
                         scene=scene))
    for note in state.notices[-3:]:
        out.append(alarm("info", note))
    if osc_error is not None:
        out.append(alarm("warning", osc_error))
    if speed != 1:
        out.append(alarm("info", f"compressed time: the show clock runs x{speed:g} "
                         "(rehearsal only)"))
    return out


def _obs_alarms(obs: ObsView) -> list[Alarm]:
    """The link's: not connected, connected but silent (a frozen OBS keeps its socket
    open: the sync knows when a request or a take went unanswered), or what the sync says
    is wrong in OBS."""
    out = []
    if not obs.get("connected"):
        out.append(alarm("critical", "OBS is not connected", "obs_disconnected"))
    silent = obs.get("not_answering_s")
    if silent is not None:
        out.append(alarm("critical", f"OBS is not answering: no answer for {silent:.0f} s "
                         "(frozen or overloaded)"))
    for text in obs.get("alarms") or ():
        out.append(alarm("warning", str(text)))
    return out


def _timing_alarms(state: ShowState, view: ShowView) -> list[Alarm]:
    out = []
    for h in view["hard_starts"][:1]:
        if h["shortfall_s"] and h["shortfall_s"] > 0:
            seconds = round(h["shortfall_s"])
            out.append(alarm("warning", f"hard start {h['id']} projected to cut {seconds} s",
                             "hard_start_cut", id=h["id"], seconds=seconds))
        if not state.armed:
            out.append(alarm("warning",
                             f"hard starts disarmed: take {h['id']} by hand at {h['target']}",
                             "hard_starts_disarmed", id=h["id"], target=h["target"]))
    nxt = view["next"]
    if nxt is not None and state.armed:
        seg = state.rundown.segment(nxt["id"])
        if seg.at_ms is not None:
            out.append(alarm("info", f"{seg.id} is a hard start: it is taken by itself on "
                             "time; TAKE now would put it on air early", "next_is_hard_start",
                             id=seg.id))
    return out
