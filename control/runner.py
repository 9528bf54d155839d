"""The one writer: every change to the show goes through this task, in order.

It owns the ShowState. It wakes exactly when the engine has something scheduled (a take,
less the take lead) or a command arrives, applies it through the pure engine, computes the
desired state once (`desired(state, now)`), hands every listener the same `Change` (OBS
sync, graphics, mixer, metrics, console push) at once, and journals (append + fsync, off the
event loop) before a command is acknowledged. No locks: nothing else writes the state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .journal.records import rundown_record, step_records
from .journal.store import JournalError
from .show.changes import RundownChanges
from .show.commands import Command
from .show.desired import Desired, cue_boundaries, desired
from .show.engine import Event, Refused, Step, advance, apply, next_event_ms
from .show.model import Rundown
from .show.reload import swap_rundown
from .show.state import ShowState

log = logging.getLogger(__name__)
HEARTBEAT_MS = 1000  # listeners hear the clock at least this often (countdowns, terminal)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


MAX_SPEED = 1000.0


class ScaledClock:
    """The show clock of a compressed-time rehearsal (`--speed N`): N times the wall clock.

    Anchored at a wall instant where show and wall clock agree (the session's start, which
    the journal keeps), so a restarted controller carries on the same clock: position and
    elapsed continue. Within a process it advances on the monotonic clock
    (clock_ms = start_ms + (monotonic - m0) x N), so a wall-clock step cannot jump the show.
    The pure core only ever sees `now`: it needs no change.
    """

    def __init__(self, speed: float, anchor_ms: int, *,
                 wall: Callable[[], int] = wall_clock_ms,
                 monotonic_ns: Callable[[], int] = time.monotonic_ns) -> None:
        if not 1 <= speed <= MAX_SPEED:
            raise ValueError(f"speed must be between 1 and {MAX_SPEED:g}, not {speed:g}")
        self.speed = speed
        self.anchor_ms = anchor_ms
        self._monotonic_ns = monotonic_ns
        self._m0 = monotonic_ns()
        self.start_ms = anchor_ms + round((wall() - anchor_ms) * speed)

    def __call__(self) -> int:
        return self.start_ms + int((self._monotonic_ns() - self._m0) * self.speed) // 1_000_000

    def to_wall_ms(self, show_ms: float) -> float:
        """The wall instant (epoch ms) at which the show clock reads `show_ms`."""
        return self.anchor_ms + (show_ms - self.anchor_ms) / self.speed


@dataclass(frozen=True, slots=True)
class Change:
    """One step of the show, as every listener hears it: the new state, what happened, the
    instant, and what the devices should show (computed once here, not once per listener)."""

    state: ShowState
    events: tuple[Event, ...]
    now: int
    desired: Desired


Listener = Callable[[Change], None]


class JournalWriter(Protocol):
    def append_all(self, records: list[dict[str, Any]]) -> float: ...


@dataclass(frozen=True, slots=True)
class _Request:
    command: Command
    done: asyncio.Future[ShowState]


@dataclass(frozen=True, slots=True)
class _Reload:
    """A new rundown (loaded and shifted like the session's) and the text it came from."""

    rundown: Rundown
    path: str
    text: str
    done: asyncio.Future[RundownChanges]


class Runner:
    def __init__(self, state: ShowState, journal: JournalWriter, *,
                 clock: Callable[[], int] = wall_clock_ms,
                 lead_source: Callable[[], int | None] | None = None,
                 max_lead_ms: int = 500) -> None:
        self._state = state
        self._max_lead_ms = max_lead_ms  # in show ms: x N in compressed time
        self._journal = journal
        self._clock = clock
        # show ms per wall ms: a ScaledClock says how fast it runs, so sleeps (wall time) and
        # the heartbeat (once a wall second) stay right in compressed time
        self._rate = float(getattr(clock, "speed", 1.0))
        self._lead_source = lead_source
        self._listeners: list[Listener] = []
        now = clock()
        self._change = Change(state, (), now, desired(state, now))
        self._queue: asyncio.Queue[_Request | _Reload] = asyncio.Queue()
        self.journal_seconds: list[float] = []  # recent journal write latencies (metrics)
        self.journal_error: str | None = None  # the last write failed (an alarm): why
        self._unwritten: list[dict[str, Any]] = []  # records a failed write holds back

    @property
    def state(self) -> ShowState:
        return self._state

    @property
    def change(self) -> Change:
        """The last step (its desired state: what the devices were last told to show)."""
        return self._change

    def now(self) -> int:
        return self._clock()

    def listen(self, listener: Listener) -> None:
        """Call `listener(change)` after every step, in the order they were added."""
        self._listeners.append(listener)

    async def command(self, command: Command) -> ShowState:
        """Apply a command in turn; returns once it is journaled (or, while the journal
        cannot be written, held for it: `journal_error`). Raises Refused."""
        done: asyncio.Future[ShowState] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Request(command, done))
        return await done

    async def reload(self, rundown: Rundown, path: str, text: str) -> RundownChanges:
        """Swap in a reloaded rundown in turn (journaled as a `rundown` record before this
        returns); returns what changed. Raises Refused (the segment on air is gone)."""
        done: asyncio.Future[RundownChanges] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Reload(rundown, path, text, done))
        return await done

    async def run(self) -> None:
        """The loop: tick, then sleep until the next scheduled thing or a command."""
        while True:
            await self._tick()
            timeout = max(0.0, (self._next_wake() - self._clock()) / 1000 / self._rate)
            try:
                request = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                continue
            await self._handle(request)

    def _next_wake(self) -> int:
        now = self._clock()
        times = [now + round(HEARTBEAT_MS * self._rate)]
        scheduled = next_event_ms(self._state)
        if scheduled is not None:
            times.append(scheduled)
        if self._state.on_air and self._state.since_ms is not None:
            seg = self._state.rundown.segment(self._state.on_air)
            times.extend(t for t in cue_boundaries(seg, self._state.since_ms) if t > now)
        return min(times)

    async def _tick(self) -> None:
        self._update_lead()
        now = self._clock()
        step = advance(self._state, now)
        await self._commit(step, now, None)

    async def _handle(self, request: _Request | _Reload) -> None:
        now = self._clock()
        # what was due before the command is its own journal entry, so a replay meets the
        # records in the order the engine produced them
        await self._commit(advance(self._state, now), now, None)
        if isinstance(request, _Reload):
            await self._reload(request, now)
            return
        try:
            step = apply(self._state, request.command, now)
        except Exception as exc:  # Refused, or a bug: the caller hears it, the show goes on
            if not request.done.done():
                request.done.set_exception(exc)
            if not isinstance(exc, Refused):
                log.exception("command %r failed", request.command)
            else:
                log.info("show: %r refused: %s", request.command, exc)
            return
        await self._commit(step, now, request.command)
        if not request.done.done():
            request.done.set_result(self._state)

    async def _reload(self, request: _Reload, now: int) -> None:
        try:
            state, changes = swap_rundown(self._state, request.rundown, now)
        except Exception as exc:  # Refused, or a bug: the running show is untouched
            if not request.done.done():
                request.done.set_exception(exc)
            if not isinstance(exc, Refused):
                log.exception("reloading %s failed", request.path)
            return
        record = rundown_record(request.path, request.text, now)
        await self._commit(Step(state), now, None, [record])
        if not request.done.done():
            request.done.set_result(changes)

    async def _commit(self, step: Step, now: int, command: Command | None,
                      records: list[dict[str, Any]] | None = None) -> None:
        """Publish first (OBS hears a take at once), then make it durable."""
        self._state = step.state
        self._change = change = Change(step.state, step.events, now, desired(step.state, now))
        for event in step.events:  # the audit log: what happened, by whom (or by the clock)
            log.info("show: %s%s by %s%s", event.kind,
                     f" {event.segment_id}" if event.segment_id else "",
                     event.by or "the clock", f" ({event.detail})" if event.detail else "")
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:
                log.exception("listener failed")
        if records is None:
            records = step_records(step, now, command)
        if self._unwritten:  # a write failed earlier: those go first, in order
            records = [*self._unwritten, *records]
        if records:
            write = asyncio.ensure_future(asyncio.to_thread(self._journal.append_all, records))
            try:
                seconds = await asyncio.shield(write)
            except asyncio.CancelledError:
                # stopping: let the write (already in its thread) finish before the journal
                # is closed, so what the listeners were told is on disk too
                await asyncio.wait([write])
                if not write.cancelled():
                    write.exception()  # a failed write is the next run's to report
                raise
            except JournalError as exc:
                # disk full, I/O error: the show goes on (OBS has the take, the consoles
                # the state); the records wait here and are written with the next step,
                # or within a second, once the disk lets them
                if self.journal_error is None:
                    log.error("journal write failed, %d record(s) held until it works: %s",
                              len(records), exc)
                self._unwritten, self.journal_error = records, str(exc)
                return
            except Exception:
                # a record that cannot be encoded (a bug) would block every later one
                log.exception("journal records dropped: they cannot be written")
                self._unwritten, self.journal_error = [], "a journal record could not be encoded"
                return
            if self._unwritten:
                log.warning("journal written again: %d held record(s) are on disk",
                            len(self._unwritten))
            self._unwritten, self.journal_error = [], None
            self.journal_seconds = [*self.journal_seconds[-99:], seconds]

    def _update_lead(self) -> None:
        if self._lead_source is None:
            return
        lead = self._lead_source()
        if lead is not None and lead != self._state.lead_ms:
            self._state = replace(self._state, lead_ms=max(0, min(int(lead), self._max_lead_ms)))
