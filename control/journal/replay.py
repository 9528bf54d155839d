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


class Replayer:
    """Feeds journal records to the engine one at a time, in order.

    One record at a time so that a follower (a standby that reads the leader's records as
    they come) and a restart after a crash (the whole file at once, `replay`) rebuild the
    show the same way.
    """

    def __init__(self, session: Record) -> None:
        self.session = session
        self.state = session_state(session)
        self.warnings: list[str] = []
        self.layouts = tuple(session.get("layouts", BUILTIN_LAYOUTS))
        self.pending: deque[Event] = deque()  # produced by the engine, not yet journaled
        if text_sha256(session["rundown_text"]) != session["rundown_sha256"]:
            self.warnings.append("session: the rundown text does not match its sha256; "
                                 "replaying the text as journaled")

    def feed(self, record: Record, where: str) -> None:
        """One record; `where` (file:line) prefixes its warnings."""
        if record.get("lead_ms", self.state.lead_ms) != self.state.lead_ms:
            self.state = replace(self.state, lead_ms=record["lead_ms"])  # as measured live
        kind = record["type"]
        if kind == "command":
            self._command(record, where)
        elif kind == "event":
            self._event(record, where)
        else:
            self._reload(record, where)

    def result(self) -> Replayed:
        return Replayed(self.state, tuple(self.warnings), tuple(self.pending))

    def _unmatched(self, where: str) -> None:
        while self.pending:
            self.warnings.append(f"{where}: replay produced {_describe(self.pending.popleft())}"
                                 ", which the journal does not have")

    def _command(self, record: Record, where: str) -> None:
        self._unmatched(where)
        try:
            command = from_json(record["command"])
        except BadCommand as exc:
            raise JournalError(f"{where}: {exc}") from None
        try:
            step = apply(self.state, command, record["wall_ms"])
        except Refused as exc:
            self.warnings.append(f"{where}: the command {record['command'].get('kind')} was "
                                 f"accepted live but is refused on replay: {exc}")
            return
        self.state = step.state
        self.pending.extend(step.events)

    def _event(self, record: Record, where: str) -> None:
        journaled = event_from_json(record["event"])
        if not self.pending:
            # the controller's advance at wall_ms; never before the event could fire
            step = advance(self.state, max(record["wall_ms"], journaled.at_ms - self.state.lead_ms))
            self.state = step.state
            self.pending.extend(step.events)
        if journaled not in self.pending:
            self.warnings.append(f"{where}: the journal has {_describe(journaled)}, which "
                                 "replay did not produce")
            return
        while self.pending[0] != journaled:
            self.warnings.append(f"{where}: replay produced {_describe(self.pending.popleft())}"
                                 ", which the journal does not have")
        self.pending.popleft()

    def _reload(self, record: Record, where: str) -> None:
        self._unmatched(where)
        try:
            rundown = load_text(record["rundown_text"], record["rundown_path"],
                                self.session["shift_ms"], self.layouts)
        except JournalError as exc:
            self.warnings.append(f"{where}: {exc}; the show goes on with the previous one")
            return
        if text_sha256(record["rundown_text"]) != record["rundown_sha256"]:
            self.warnings.append(f"{where}: the rundown text does not match its sha256")
        try:
            self.state = with_rundown(self.state, rundown, record["wall_ms"])
        except Refused as exc:
            self.warnings.append(f"{where}: the reloaded rundown was accepted live but is "
                                 f"refused on replay: {exc}; the show goes on with the "
                                 "previous one")


def replay(contents: JournalContents) -> Replayed:
    """Rebuild the ShowState from a journal (see the module docstring)."""
    replayer = Replayer(contents.session)
    for number, record in enumerate(contents.records, 2):
        replayer.feed(record, f"{contents.path}:{number}")
    if contents.torn_tail:
        replayer.warnings.append(f"{contents.path}: the last line was cut off by a crash and "
                                 "dropped (it was never acknowledged)")
    return replayer.result()
