"""Rebuild the show from its journal: the same engine, fed the same commands at the same times.

The journal stores inputs (commands, reloaded rundowns) and outputs (events). Replay feeds
the inputs to the engine and uses the outputs twice: an event record says the controller
called `advance` at its `wall_ms`, so replay does too (the engine's results depend on how
time was cut into calls, see records.py); and the events the engine produces again are
checked against the journaled ones. A difference is a warning for the director, not a
failure: the show must go on, and the engine's own state is what the controller runs on.

Events after the last record (while the controller was down) are not produced here: the
live runner calls `advance(state, now)` after replay and journals what that produces.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

from control.show.commands import BadCommand, from_json
from control.show.diagnostics import RundownError
from control.show.engine import Event, Refused, advance, apply
from control.show.loader import load_rundown
from control.show.model import BUILTIN_LAYOUTS, Rundown
from control.show.reload import swap_rundown
from control.show.state import ShowState, initial_state

from .records import JournalError, Record, event_from_json, text_sha256
from .store import JournalContents


@dataclass(frozen=True, slots=True)
class Replayed:
    """The rebuilt state, what the director should know, and the events the engine produced
    after the last journaled one (a batch cut short by the crash): journal them on resume."""

    state: ShowState
    warnings: tuple[str, ...] = ()
    unjournaled: tuple[Event, ...] = ()


def load_text(text: str, path: str, shift_ms: int,
              layouts: tuple[str, ...] = BUILTIN_LAYOUTS) -> Rundown:
    """A journaled rundown text, loaded and shifted as the controller did."""
    try:
        rundown = load_rundown(text, path, layouts).rundown
    except RundownError as exc:
        first = next((str(d) for d in exc.diagnostics if d.severity == "error"), str(exc))
        raise JournalError(f"the journaled rundown no longer loads: {first}") from None
    return rundown.shifted(shift_ms) if shift_ms else rundown


def session_state(session: Record) -> ShowState:
    """The state a session starts from. The live runner should build its first state with
    this too, so that live and replay cannot start differently."""
    layouts = tuple(session["layouts"]) if "layouts" in session else BUILTIN_LAYOUTS
    rundown = load_text(session["rundown_text"], session["rundown_path"],
                        session["shift_ms"], layouts)
    return initial_state(rundown, mode=session["mode"], armed=session["armed"],
                         min_take_interval_ms=session["min_take_interval_ms"],
                         lead_ms=session.get("lead_ms", 0))


def with_rundown(state: ShowState, rundown: Rundown, now: int) -> ShowState:
    """Swap in a rundown reloaded at `now` (the show goes on where it is), as the live
    controller did (`control.show.reload.swap_rundown`). Raises Refused as that does."""
    return swap_rundown(state, rundown, now)[0]


def _describe(event: Event) -> str:
    parts = [event.kind, event.segment_id or "-", f"at {event.at_ms}"]
    parts += [f"{k}={v}" for k in ("source", "by", "detail") if (v := getattr(event, k))]
    return " ".join(parts)


def replay(contents: JournalContents) -> Replayed:
    """Rebuild the ShowState from a journal (see the module docstring)."""
    session = contents.session
    state = session_state(session)
    warnings: list[str] = []
    if text_sha256(session["rundown_text"]) != session["rundown_sha256"]:
        warnings.append("session: the rundown text does not match its sha256; replaying the "
                        "text as journaled")
    layouts = tuple(session.get("layouts", BUILTIN_LAYOUTS))
    pending: deque[Event] = deque()  # produced by the engine, not yet matched to a record

    def unmatched(where: str) -> None:
        while pending:
            warnings.append(f"{where}: replay produced {_describe(pending.popleft())}, "
                            "which the journal does not have")

    for number, record in enumerate(contents.records, 2):
        where = f"{contents.path}:{number}"
        kind, wall = record["type"], record["wall_ms"]
        if record.get("lead_ms", state.lead_ms) != state.lead_ms:
            state = replace(state, lead_ms=record["lead_ms"])  # as measured live
        if kind == "command":
            unmatched(where)
            try:
                command = from_json(record["command"])
            except BadCommand as exc:
                raise JournalError(f"{where}: {exc}") from None
            try:
                step = apply(state, command, wall)
            except Refused as exc:
                warnings.append(f"{where}: the command {record['command'].get('kind')} was "
                                f"accepted live but is refused on replay: {exc}")
                continue
            state = step.state
            pending.extend(step.events)
        elif kind == "event":
            journaled = event_from_json(record["event"])
            if not pending:
                # the controller's advance at wall_ms; never before the event could fire
                step = advance(state, max(wall, journaled.at_ms - state.lead_ms))
                state = step.state
                pending.extend(step.events)
            if journaled in pending:
                while pending[0] != journaled:
                    warnings.append(f"{where}: replay produced {_describe(pending.popleft())}, "
                                    "which the journal does not have")
                pending.popleft()
            else:
                warnings.append(f"{where}: the journal has {_describe(journaled)}, which "
                                "replay did not produce")
        else:  # a reloaded rundown
            unmatched(where)
            try:
                rundown = load_text(record["rundown_text"], record["rundown_path"],
                                    session["shift_ms"], layouts)
            except JournalError as exc:
                warnings.append(f"{where}: {exc}; the show goes on with the previous one")
                continue
            if text_sha256(record["rundown_text"]) != record["rundown_sha256"]:
                warnings.append(f"{where}: the rundown text does not match its sha256")
            try:
                state = with_rundown(state, rundown, wall)
            except Refused as exc:
                warnings.append(f"{where}: the reloaded rundown was accepted live but is "
                                f"refused on replay: {exc}; the show goes on with the "
                                "previous one")
    if contents.torn_tail:
        warnings.append(f"{contents.path}: the last line was cut off by a crash and dropped "
                        "(it was never acknowledged)")
    return Replayed(state, tuple(warnings), tuple(pending))
