"""Opening the show: the journal resumed (with its clock and shift) or a new one started, and
the clock and runner that carry it on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from control.config import Settings
from control.journal import (
    Journal,
    JournalContents,
    archive,
    event_record,
    journal_path,
    read_journal,
    replay,
    session_record,
    session_state,
)
from control.runner import JournalWriter, Runner, ScaledClock, wall_clock_ms
from control.show.shift import start_shift
from control.show.state import ShowState

from .rundown import read_rundown_file

MAX_LEAD_MS = 500  # the most a take is sent ahead of its time, in wall ms


@dataclass(frozen=True, slots=True)
class Opened:
    """A show ready to run: its state (fresh or replayed) and its open journal."""

    state: ShowState
    journal: Journal
    resumed: bool
    notes: tuple[str, ...]
    speed: float = 1.0  # compressed-time rehearsal: the show clock runs this many times faster
    anchor_ms: int = 0  # the wall instant the show clock started from (the session's wall_ms)


def open_show(rundown_path: Path, settings: Settings, *, start: str | None = None,
              fresh: bool = False, now: int | None = None, speed: float = 1.0) -> Opened:
    """Resume the show the journal holds for this rundown, or start it afresh.

    A restart with the same command line resumes, with the time shift it had; `fresh`
    archives the old journal (never overwrites it) and starts a new one. A compressed-time
    session (`speed` > 1) keeps its speed in the journal: a resumed show keeps its clock.
    A new show reads the file through the one rundown reader (RundownError: not started).
    """
    now = wall_clock_ms() if now is None else now
    path = journal_path(settings.state_dir, str(rundown_path))
    if path.exists() and not fresh:
        return _resume(path, read_journal(path), rundown_path, settings, start, now, speed)
    text, loaded = read_rundown_file(rundown_path)
    notes = (f"previous journal kept as {archive(path)}",) if path.exists() else ()
    shift = start_shift(loaded.rundown, start, now) if start is not None else 0
    session = session_record(str(rundown_path), text, shift_ms=shift, mode=settings.mode,
                             armed=settings.armed,
                             # a double press is in wall time: x speed in show time
                             min_take_interval_ms=round(settings.min_take_interval_ms * speed),
                             wall_ms=now)
    if speed != 1:
        session["speed"] = speed
    return Opened(session_state(session), Journal.create(path, session), False, notes,
                  speed, now)


def _resume(path: Path, contents: JournalContents, rundown_path: Path, settings: Settings,
            start: str | None, now: int, speed: float) -> Opened:
    replayed = replay(contents)
    notes = list(replayed.warnings)
    if start is not None:
        notes.append(f"resuming the show in {path}: --start {start} ignored "
                     "(use --fresh to start again)")
    if contents.session["rundown_path"] != str(rundown_path):
        notes.append(f"{path} was written for {contents.session['rundown_path']}; "
                     "resuming it anyway")
    journaled_speed = float(contents.session.get("speed", 1))
    if speed != journaled_speed:
        notes.append(f"resuming the show in {path} at the speed it started with "
                     f"(x{journaled_speed:g}); --speed {speed:g} ignored")
    state = replace(replayed.state, min_take_interval_ms=round(
        settings.min_take_interval_ms * journaled_speed))
    journal = Journal.open_existing(path)
    if replayed.unjournaled:  # the crash cut a step short: finish writing it
        start_ms, at = state.rundown.show.start_ms, state.clock_ms or now
        journal.append_all([event_record(e, start_ms, at, state.lead_ms)
                            for e in replayed.unjournaled])
    return Opened(state, journal, True, tuple(notes), journaled_speed,
                  contents.session["wall_ms"])


def show_clock(opened: Opened) -> Callable[[], int]:
    """The wall clock; in a compressed-time rehearsal, one N times as fast."""
    return (ScaledClock(opened.speed, opened.anchor_ms) if opened.speed != 1
            else wall_clock_ms)


def make_runner(opened: Opened, lead: Callable[[], int | None],
                journal: JournalWriter | None = None) -> Runner:
    """The one writer over the opened show; `lead`: how far ahead a take is sent (show ms);
    `journal`: what it journals through (a standby pair's leader: etcd, then the file)."""
    return Runner(opened.state, journal or opened.journal, lead_source=lead,
                  clock=show_clock(opened),
                  max_lead_ms=round(MAX_LEAD_MS * opened.speed))
