"""The journal's records: JSON objects, one a line, each with "v", "type" and "wall_ms".

Building and checking records lives in one place so that the writer never writes what the
reader would refuse (`Journal.append` runs the same `check_record` as `read_journal`).

`wall_ms` is the controller's clock when the record happened. For command and event records
it must be exactly the `now` the engine was given (`apply(state, cmd, now)`,
`advance(state, now)`): replay calls the engine with it, and the engine's answer depends on
how time was cut into calls (a segment whose whole slot passed within one `advance` is
logged as missed, not aired). `step_records` builds them that way.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import fields
from typing import Any

from control.show.commands import Command, to_json
from control.show.engine import Event, Step
from control.show.state import Mode

VERSION = 1
Record = dict[str, Any]
TYPES = ("session", "command", "event", "rundown")
EVENT_FIELDS = tuple(f.name for f in fields(Event))
MODES = ("rehearsal", "live")


class JournalError(Exception):
    """The journal cannot be read, written or replayed; the message says where and why."""


def wall_now_ms() -> int:
    """The wall clock in epoch ms (only for records whose time the engine never sees)."""
    return time.time_ns() // 1_000_000


def text_sha256(text: str) -> str:
    """Hash of the rundown text as loaded (UTF-8 of the decoded text, newlines as read):
    what replay runs, so what the hash must describe."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def session_record(rundown_path: str, rundown_text: str, *, shift_ms: int = 0,
                   mode: Mode = "rehearsal", armed: bool = True,
                   min_take_interval_ms: int = 500, lead_ms: int = 0,
                   layouts: tuple[str, ...] | None = None,
                   wall_ms: int | None = None) -> Record:
    """The first record: everything `initial_state` needs, with the rundown's full text, so
    that replay never depends on the rundown file still being there (or unchanged)."""
    record: Record = {
        "v": VERSION, "type": "session", "wall_ms": wall_now_ms() if wall_ms is None else wall_ms,
        "rundown_path": rundown_path, "rundown_sha256": text_sha256(rundown_text),
        "rundown_text": rundown_text, "shift_ms": shift_ms, "mode": mode, "armed": armed,
        "min_take_interval_ms": min_take_interval_ms, "lead_ms": lead_ms,
    }
    if layouts is not None:
        record["layouts"] = list(layouts)
    return record


def command_record(command: Command, wall_ms: int, lead_ms: int | None = None) -> Record:
    """An accepted command, at the `now` it was applied with (and the take lead then)."""
    record = {"v": VERSION, "type": "command", "wall_ms": wall_ms, "command": to_json(command)}
    if lead_ms is not None:
        record["lead_ms"] = lead_ms
    return record


def event_to_json(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in EVENT_FIELDS}


def event_from_json(data: dict[str, Any]) -> Event:
    return Event(**{name: data.get(name) for name in EVENT_FIELDS})


def event_record(event: Event, show_start_ms: int, wall_ms: int,
                 lead_ms: int | None = None) -> Record:
    """One entry of the as-run: `show_ms` is its time from the (shifted) show start."""
    record = {"v": VERSION, "type": "event", "wall_ms": wall_ms, "event": event_to_json(event),
              "show_ms": event.at_ms - show_start_ms}
    if lead_ms is not None:
        record["lead_ms"] = lead_ms
    return record


def rundown_record(rundown_path: str, rundown_text: str, wall_ms: int | None = None) -> Record:
    """A rundown reloaded during the show (same shift as the session)."""
    return {"v": VERSION, "type": "rundown",
            "wall_ms": wall_now_ms() if wall_ms is None else wall_ms,
            "rundown_path": rundown_path, "rundown_sha256": text_sha256(rundown_text),
            "rundown_text": rundown_text}


def step_records(step: Step, now: int, command: Command | None = None) -> list[Record]:
    """What the live runner journals for one engine call: the command (if it was one) and
    every event, all at the `now` the engine was called with, with the take lead the engine
    used (the controller measures it while running, so the session's is not enough for
    replay to fire takes in the same calls). Append them with one `append_all` before
    acknowledging the command."""
    start, lead = step.state.rundown.show.start_ms, step.state.lead_ms
    out = [command_record(command, now, lead)] if command is not None else []
    out.extend(event_record(e, start, now, lead) for e in step.events)
    return out


# -- checking -------------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _opt_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


_SESSION_CHECKS = {
    "rundown_path": lambda v: isinstance(v, str),
    "rundown_sha256": lambda v: isinstance(v, str),
    "rundown_text": lambda v: isinstance(v, str),
    "shift_ms": _is_int,
    "mode": lambda v: v in MODES,
    "armed": lambda v: isinstance(v, bool),
    "min_take_interval_ms": _is_int,
}
_RUNDOWN_CHECKS = {k: _SESSION_CHECKS[k] for k in ("rundown_path", "rundown_sha256",
                                                   "rundown_text")}


def check_record(record: Any) -> str | None:
    """Why `record` is not a journal record of this version, or None if it is one."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("v") != VERSION:
        return (f"format version {record.get('v')!r}; this showctl reads version {VERSION}")
    kind = record.get("type")
    if kind not in TYPES:
        return f"unknown record type {kind!r}"
    if not _is_int(record.get("wall_ms")):
        return "wall_ms must be an integer"
    if not _is_int(record.get("lead_ms", 0)):
        return "lead_ms must be an integer"
    if kind in ("session", "rundown"):
        checks = _SESSION_CHECKS if kind == "session" else _RUNDOWN_CHECKS
        for key, ok in checks.items():
            if key not in record or not ok(record[key]):
                return f"{kind} record: missing or bad {key!r}"
        layouts = record.get("layouts", [])
        if not (isinstance(layouts, list) and all(isinstance(x, str) for x in layouts)):
            return f"{kind} record: bad 'layouts'"
    elif kind == "command":
        if not isinstance(record.get("command"), dict):
            return "command record: 'command' must be an object"
    else:
        event = record.get("event")
        if not isinstance(event, dict):
            return "event record: 'event' must be an object"
        if not isinstance(event.get("kind"), str) or not _is_int(event.get("at_ms")):
            return "event record: the event needs a kind and an integer at_ms"
        if not all(_opt_str(event.get(k)) for k in ("segment_id", "source", "by", "detail")):
            return "event record: segment_id, source, by and detail must be text or null"
    return None
