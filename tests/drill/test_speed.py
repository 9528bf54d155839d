"""Compressed time (`--speed N`) and the take guard (`expect`): the pieces the drill stands on.

No OBS here: the scaled clock with fake clocks, the runner hitting a hard start on it, the
journal keeping the speed across a restart, the command line refusing it outside rehearsals,
and a stale take refused.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any, cast

import pytest
from helpers import MemoryJournal, until
from rundowns import HEADER, load

from control.cli import main
from control.config import Settings
from control.obs.sync import ObsSync
from control.runner import Runner, ScaledClock, wall_clock_ms
from control.show import commands as C
from control.show.engine import Refused, advance, apply
from control.show.state import initial_state
from control.show.view import Devices, read_model
from control.wiring.obs import ObsLink
from control.wiring.show import open_show


class FakeTime:
    def __init__(self, wall_ms: int) -> None:
        self.wall_ms = wall_ms
        self.mono_ns = 5_000_000_000

    def wall(self) -> int:
        return self.wall_ms

    def mono(self) -> int:
        return self.mono_ns

    def pass_ms(self, ms: float) -> None:
        self.wall_ms += round(ms)
        self.mono_ns += round(ms * 1_000_000)


def test_scaled_clock_runs_n_times_the_wall_clock_from_its_anchor():
    t = FakeTime(1_000_000)
    clock = ScaledClock(10, 1_000_000, wall=t.wall, monotonic_ns=t.mono)
    assert clock() == 1_000_000
    t.pass_ms(1500)
    assert clock() == 1_015_000
    assert clock.to_wall_ms(1_015_000) == 1_001_500


def test_scaled_clock_ignores_wall_steps_and_restarts_on_the_same_clock():
    t = FakeTime(1_000_000)
    clock = ScaledClock(4, 1_000_000, wall=t.wall, monotonic_ns=t.mono)
    t.pass_ms(2000)
    t.wall_ms -= 60_000  # NTP steps the wall clock back: the show does not jump
    assert clock() == 1_008_000
    t.wall_ms += 60_000
    # a restarted controller (same anchor from the journal) continues the same show time
    t.pass_ms(1000)
    again = ScaledClock(4, 1_000_000, wall=t.wall, monotonic_ns=t.mono)
    assert again() == clock() == 1_012_000


def test_scaled_clock_refuses_nonsense_speeds():
    for speed in (0, 0.5, -2, 10_000):
        with pytest.raises(ValueError):
            ScaledClock(speed, 0)


SHOW = HEADER + """\
  - {id: a, title: A, duration: 10m, scene: SA, then: next}
  - {id: b, title: B, duration: 10m, scene: SB, at: 2023-12-31 22:20:00}
"""


async def test_a_hard_start_is_hit_on_the_scaled_clock():
    """20 minutes of show at x1000 is 1.2 s of wall time; the hard start lands exactly."""
    r = load(SHOW).rundown
    now = wall_clock_ms()
    clock = ScaledClock(1000, now)
    state = initial_state(r.shifted(clock() + 300_000 - r.show.start_ms))
    journal = MemoryJournal()
    runner = Runner(state, journal, clock=clock, max_lead_ms=500_000)
    landed: list[tuple[int, int]] = []
    runner.listen(lambda change: landed.extend(
        (e.at_ms, clock()) for e in change.events if e.segment_id == "b" and e.kind == "take"))
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(20):
            while runner.state.on_air != "b":
                await asyncio.sleep(0.005)
    finally:
        task.cancel()
    target = runner.state.rundown.segment("b").at_ms
    assert runner.state.since_ms == target  # exact in show time, as at x1
    (at_ms, seen_ms), = landed
    assert at_ms == target
    # the runner woke on the scaled clock: within 2 s of wall time of the target (a generous
    # bound for a loaded machine; a runner sleeping on the wall clock would wait 300 s)
    assert 0 <= (seen_ms - target) / 1000 < 2000
    assert [(r["event"]["segment_id"], r["event"]["source"]) for r in journal.records
            if r["type"] == "event"] == [("a", "show-start"), ("b", "hard-start")]


def test_the_journal_keeps_the_speed_and_a_restart_resumes_it(tmp_path: Path):
    path = tmp_path / "show.yaml"
    path.write_text(textwrap.dedent(SHOW), "utf-8")
    settings = Settings(state_dir=tmp_path / "state")
    first = open_show(path, settings, start="now", speed=20, now=1_700_000_000_000)
    assert (first.speed, first.anchor_ms) == (20, 1_700_000_000_000)
    assert first.state.min_take_interval_ms == 20 * settings.min_take_interval_ms
    first.journal.close()
    again = open_show(path, settings, start="now", now=1_700_000_009_000)  # no --speed
    again.journal.close()
    assert (again.speed, again.anchor_ms) == (20, 1_700_000_000_000)
    assert again.state.min_take_interval_ms == 20 * settings.min_take_interval_ms
    assert any("x20" in note for note in again.notes)


@pytest.mark.parametrize(("extra", "env", "message"), [
    (["--speed", "10"], {}, "needs --start"),
    (["--speed", "10", "--start", "now"], {"SHOWCTL_MODE": "live"}, "rehearsals only"),
    (["--speed", "0.5", "--start", "now"], {}, "between 1 and"),
])
def test_speed_is_refused_outside_a_moved_rehearsal(tmp_path: Path, monkeypatch, capsys,
                                                     extra: list[str], env: dict[str, str],
                                                     message: str):
    monkeypatch.setenv("SHOWCTL_DIRECTOR_TOKEN", "t" * 24)
    monkeypatch.setenv("SHOWCTL_STATE_DIR", str(tmp_path / "state"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "show.yaml"
    path.write_text(textwrap.dedent(SHOW), "utf-8")
    config = tmp_path / "settings.yaml"  # the mode comes from the environment
    config.write_text("show:\n  mode: rehearsal\n", "utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["run", "--no-terminal", "--config", str(config), *extra, str(path)])
    assert message in str(exc.value)
    assert not (tmp_path / "state").exists()  # refused before anything was opened


def test_a_stale_take_is_refused_and_a_fresh_one_lands():
    r = load(SHOW).rundown
    state = advance(initial_state(r), r.show.start_ms).state  # the show starts by itself
    assert state.on_air == "a"
    later = r.show.start_ms + 5000
    moved = apply(state, C.Take(expect="a"), later).state
    assert moved.on_air == "b"
    with pytest.raises(Refused, match="expected 'a' on air"):
        apply(moved, C.Take(expect="a"), later + 5000)
    with pytest.raises(Refused):
        apply(initial_state(r), C.Take(expect="a"), r.show.start_ms - 1000)
    assert apply(initial_state(r), C.Take(expect=""), r.show.start_ms - 1000).state.on_air == "a"


def test_expect_is_left_out_of_the_journal_when_unused():
    assert "expect" not in C.to_json(C.Take("a"))
    assert C.from_json(C.to_json(C.Take("a", expect="b"))) == C.Take("a", expect="b")


class FrozenObs:
    """What a SIGSTOPped OBS looks like to the link: its socket stays open (connected) and
    no request is answered until `thaw()`."""

    url = "ws://127.0.0.1:4455"
    connected = True
    fatal_error = None
    sessions = connection_attempts = 1

    def __init__(self) -> None:
        self.asked: list[str] = []
        self._thawed = asyncio.Event()

    async def call(self, request_type: str, data: Any = None, timeout: Any = None) -> Any:
        self.asked.append(request_type)
        await self._thawed.wait()
        return {"outputActive": True}

    def thaw(self) -> None:
        self._thawed.set()


async def test_a_frozen_obs_is_an_alarm_after_two_seconds(monkeypatch):
    """The alarm comes from the sync's own count of the request OBS left unanswered
    (ObsStatus.not_answering_s), through the link's view into the read model."""
    now = [100.0]
    client = FrozenObs()
    link = ObsLink(cast(Any, client), ObsSync(cast(Any, client)))
    monkeypatch.setattr(link.sync, "_now", lambda: now[0])  # the sync's clock, stepped here
    r = load(SHOW).rundown
    state = initial_state(r)

    def not_answering() -> list[Any]:
        model = read_model(state, r.show.start_ms, Devices(obs=link.view(), guests=[]))
        return [(a["level"], a["text"]) for a in model["alarms"] if "not answering" in a["text"]]

    assert not_answering() == []
    asked = asyncio.create_task(link.output("stream", True))  # asks OBS first: no answer
    await until(lambda: client.asked, 5, "the request sent")
    now[0] += 1.0
    assert not_answering() == []  # a request in flight, a busy moment: not yet
    now[0] += 1.5
    assert not_answering() == [
        ("critical", "OBS is not answering: no answer for 2 s (frozen or overloaded)")]
    assert link.view()["not_answering_s"] == 2.5
    client.thaw()  # OBS answers: cleared
    await asyncio.wait_for(asked, 5)
    assert not_answering() == [] and link.view()["not_answering_s"] is None
