"""The one writer, on the real event loop and the real clock (a rundown moved to now)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from helpers import MemoryJournal, until
from rundowns import HEADER, load

import control.runner as runner_module
from control.journal.store import JournalError
from control.runner import Change, Runner, wall_clock_ms
from control.show import commands as C
from control.show.desired import desired
from control.show.engine import Refused
from control.show.state import ShowState, initial_state

SHOW = HEADER + """\
  - {id: a, title: A, duration: 300ms, scene: SA, then: next}
  - {id: b, title: B, duration: 10m, scene: SB}
  - {id: c, title: C, duration: 1m, scene: SC}
"""


def state_now(lead: int = 0) -> ShowState:
    r = load(SHOW).rundown
    now = wall_clock_ms()
    return initial_state(r.shifted(now + 200 - r.show.start_ms), lead_ms=lead)


async def test_scheduled_takes_happen_on_time_and_are_journaled():
    journal = MemoryJournal()
    runner = Runner(state_now(), journal)
    seen: list[str] = []
    runner.listen(lambda change: seen.extend(e.kind for e in change.events))
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: runner.state.on_air == "b")
        start = runner.state.rundown.show.start_ms
        assert runner.state.since_ms == start + 300  # exact, not when the loop woke
        assert seen == ["take", "take"]
        # published first, then written (in a thread): wait for the write, not the state
        await until(lambda: len(journal.records) == 2, 5, "both takes journaled")
        kinds = [(r["type"], r["event"]["kind"], r["event"]["source"]) for r in journal.records]
        assert kinds == [("event", "take", "show-start"), ("event", "take", "auto")]
    finally:
        task.cancel()


async def test_a_command_is_journaled_before_it_returns_and_refusals_are_not():
    journal = MemoryJournal()
    runner = Runner(state_now(), journal)
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: runner.state.on_air == "b")
        await until(lambda: runner.now() - runner.state.last_take_ms >= 500)  # no double take
        await runner.command(C.Take(source="api", by="director"))
        assert journal.records[-2]["type"] == "command"
        assert journal.records[-2]["command"]["kind"] == "take"
        assert journal.records[-1]["event"]["segment_id"] == "c"
        count = len(journal.records)
        with pytest.raises(Refused, match="take refused"):
            await runner.command(C.Take())
        assert len(journal.records) == count
        assert runner.state.on_air == "c"
    finally:
        task.cancel()


async def test_every_listener_hears_one_change_with_the_desired_state_computed_once(monkeypatch):
    """The desired state is computed once per step, by the runner, and every listener
    (OBS, graphics, mixer, consoles) gets the very same Change."""
    computed: list[int] = []

    def counting(state: ShowState, now: int) -> Any:
        computed.append(now)
        return desired(state, now)

    monkeypatch.setattr(runner_module, "desired", counting)
    runner = Runner(state_now(), MemoryJournal())
    first: list[Change] = []
    second: list[Change] = []
    runner.listen(first.append)
    runner.listen(second.append)
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: runner.state.on_air == "b")
    finally:
        task.cancel()
    assert first and all(a is b for a, b in zip(first, second, strict=True))
    assert len(computed) == len(first) + 1  # one per step, and the start's
    last = first[-1]
    assert runner.change is last and last.state is runner.state
    assert last.desired == desired(last.state, last.now)
    assert last.desired.program_scene == "SB"
    assert [e.kind for c in first for e in c.events] == ["take", "take"]


async def test_the_take_lead_comes_from_the_measured_latency():
    runner = Runner(state_now(), MemoryJournal(), lead_source=lambda: 44)
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: runner.state.lead_ms == 44)
    finally:
        task.cancel()


async def test_commands_from_many_tasks_are_applied_one_at_a_time():
    runner = Runner(state_now(), MemoryJournal())
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: runner.state.on_air == "b")
        results = await asyncio.gather(
            *(runner.command(C.Extend(1000, by=f"p{i}")) for i in range(20)),
            return_exceptions=True)
        assert not [r for r in results if isinstance(r, BaseException)]
        assert runner.state.extra_ms == 20_000
    finally:
        task.cancel()


async def test_a_reload_goes_through_the_one_writer_and_is_journaled():
    journal = MemoryJournal()
    runner = Runner(state_now(), journal)
    seen: list[ShowState] = []
    runner.listen(lambda change: seen.append(change.state))
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: runner.state.on_air == "b")
        shift = runner.state.rundown.shift_ms
        text = SHOW.replace("{id: c, title: C,", "{id: c, title: C2,")
        changes = await runner.reload(load(text).rundown.shifted(shift), "t.yaml", text)
        assert changes.changed == ("c",)
        record = journal.records[-1]
        assert (record["type"], record["rundown_text"]) == ("rundown", text)
        assert runner.state.rundown.segment("c").title == "C2"
        assert runner.state.on_air == "b" and seen[-1] is runner.state  # listeners heard it
        count = len(journal.records)
        gone = SHOW.replace("  - {id: b, title: B, duration: 10m, scene: SB}\n", "")
        with pytest.raises(Refused, match="'b' is on air"):
            await runner.reload(load(gone).rundown.shifted(shift), "t.yaml", gone)
        assert len(journal.records) == count and runner.state.rundown.segment("c").title == "C2"
    finally:
        task.cancel()


async def test_stopping_lets_the_journal_write_under_way_finish():
    """Cancelled mid-write (the controller stopping), the runner waits for the write it
    started, so what the listeners were told is on disk before the journal is closed."""
    started, release = threading.Event(), threading.Event()

    class SlowJournal(MemoryJournal):
        finished = False

        def append_all(self, records: list[dict[str, Any]]) -> float:
            started.set()
            release.wait(10)
            super().append_all(records)
            self.finished = True
            return 0.0

    journal = SlowJournal()
    runner = Runner(state_now(), journal)
    task = asyncio.create_task(runner.run())
    await asyncio.to_thread(started.wait, 10)  # the show-start take is being written
    seen_when_done: list[bool] = []
    task.add_done_callback(lambda _: seen_when_done.append(journal.finished))
    task.cancel()
    asyncio.get_running_loop().call_soon(release.set)  # after the task heard the cancel
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen_when_done == [True]
    assert [r["event"]["kind"] for r in journal.records] == ["take"]


class FailingJournal(MemoryJournal):
    """A disk that is full until `heal()`: every write raises, nothing is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.full = True
        self.failures = 0

    def append_all(self, records: list[dict[str, Any]]) -> float:
        if self.full:
            self.failures += 1
            raise JournalError("journal.jsonl: write failed: No space left on device")
        return super().append_all(records)


async def test_a_journal_that_cannot_write_holds_records_and_the_show_goes_on():
    journal = FailingJournal()
    runner = Runner(state_now(), journal)
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: runner.state.on_air == "b")  # the show went on
        assert journal.failures >= 1 and "No space left" in (runner.journal_error or "")
        gap = runner.state.min_take_interval_ms
        await until(lambda: wall_clock_ms() - runner.state.last_take_ms > gap)
        await runner.command(C.Take())  # a command still lands (it is held, not lost)
        assert runner.state.on_air == "c" and task.done() is False
        journal.full = False
        await until(lambda: runner.journal_error is None, timeout=3)  # within a heartbeat
        kinds = [(r["event"]["kind"], r["event"]["segment_id"]) if r["type"] == "event"
                 else (r["type"], r["command"]["kind"]) for r in journal.records]
        # all of them, in order
        assert kinds == [("take", "a"), ("take", "b"), ("command", "take"), ("take", "c")]
    finally:
        task.cancel()
