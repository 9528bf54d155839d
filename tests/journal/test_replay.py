"""Replay: a journal rebuilds the show the live engine had, and resuming goes on from there.

The live runner is played here by `Live`: it calls the engine as the controller does (ticks
and commands in a virtual clock) and journals exactly what the engine produced.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rundowns import REHEARSAL

from control.journal import (
    Journal,
    JournalContents,
    JournalError,
    Replayer,
    command_record,
    event_record,
    read_journal,
    replay,
    rundown_record,
    session_record,
    session_state,
    step_records,
    with_rundown,
)
from control.journal.replay import load_text
from control.journal.store import encode
from control.show import commands as C
from control.show.engine import Refused, Step, advance, apply
from control.show.state import Aired, ShowState

S, M = 1000, 60_000
REHEARSAL_TEXT = REHEARSAL.read_text("utf-8")
SHOW = """\
show:
  title: T
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  end: 2023-12-31 22:12:00
  safe_scene: Slate
segments:
  - {id: a, title: A, duration: 1m, scene: SA, then: next}
  - {id: b, title: B, duration: 2m, flex: 1m..3m, scene: SB}
  - {id: c, title: C, duration: 1m, scene: SC, then: next}
  - {id: d, title: D, duration: 1m, scene: SD, then: next}
  - {id: e, title: E, duration: 1m, scene: SE, then: next}
  - {id: h, title: H, duration: 1m, scene: SH, at: "22:08:00", then: next}
  - {id: y, title: Y, duration: 1m, scene: SY, then: next}
  - {id: z, title: Z, duration: 2m, scene: SZ}
"""
T0 = 1_704_031_200_000  # 22:00 Beijing


class Live:
    """The controller in virtual time, journaling every step (or a Journal file's worth)."""

    def __init__(self, text: str = SHOW, journal: Journal | None = None, **session_kw):
        self.session = session_record("t.yaml", text, wall_ms=T0 - M, **session_kw)
        self.state = session_state(self.session)
        self.records: list[dict] = []
        self.journal = journal

    def _log(self, step: Step, now: int, cmd: C.Command | None = None) -> Step:
        records = step_records(step, now, cmd)
        self.records += records
        if self.journal is not None:
            self.journal.append_all(records)
        self.state = step.state
        return step

    def tick(self, now: int) -> Step:
        return self._log(advance(self.state, now), now)

    def do(self, cmd: C.Command, now: int) -> bool:
        try:
            step = apply(self.state, cmd, now)
        except Refused:
            return False  # refused commands are not journaled
        self._log(step, now, cmd)
        return True

    def reload(self, text: str, now: int) -> bool:
        """As the runner does: what was due first, then the swap and its record."""
        self.tick(now)
        new = load_text(text, "t.yaml", self.session["shift_ms"])
        try:
            self.state = with_rundown(self.state, new, now)
        except Refused:
            return False  # refused reloads are not journaled
        record = rundown_record("t.yaml", text, now)
        self.records.append(record)
        if self.journal is not None:
            self.journal.append(record)
        return True

    def contents(self, upto: int | None = None) -> JournalContents:
        """As read back from disk: every record through its JSON line."""
        back = [json.loads(encode(r)) for r in [self.session, *self.records[:upto]]]
        return JournalContents(back[0], tuple(back[1:]))


def essence(state: ShowState) -> dict:
    keys = ("on_air", "since_ms", "target_ms", "extra_ms", "held", "next_id", "skipped", "panic",
            "mode", "armed", "ended", "last_take_ms", "asrun", "notices", "rundown",
            "producer_notes", "last_reload")
    return {k: getattr(state, k) for k in keys}


def scripted(live: Live) -> Live:
    """A show with everything in it: auto-advance, takes, next, back, extend, hold, skip,
    panic, mode, arming, a hard start that cuts, and the end."""
    live.tick(T0 - 10 * S)                                   # nothing yet
    live.tick(T0 + 200)                                      # show start: a
    assert live.do(C.Extend(15 * S, by="dir"), T0 + 30 * S)
    live.tick(T0 + 75 * S)                                   # auto at 1:15: b (hold)
    assert not live.do(C.Take(by="dir"), T0 + 75 * S + 100)  # too soon: refused, not journaled
    assert live.do(C.Panic(by="dir"), T0 + 90 * S)
    assert live.do(C.Take(by="dir"), T0 + 150 * S)           # c, leaves panic
    assert live.do(C.Hold(by="dir"), T0 + 160 * S)
    assert live.do(C.Hold(on=False, by="dir"), T0 + 240 * S)  # overdue: ends now, at the tick
    live.tick(T0 + 241 * S)
    assert live.do(C.SetNext("e", by="dir"), T0 + 250 * S)
    assert live.do(C.Skip("y", by="dir"), T0 + 255 * S)
    assert live.do(C.Skip("y", skip=False, by="dir"), T0 + 256 * S)
    assert live.do(C.Skip("y", by="dir"), T0 + 257 * S)
    assert live.do(C.SetMode("live", by="dir"), T0 + 258 * S)
    assert live.do(C.Arm(False, by="dir"), T0 + 259 * S)
    assert live.do(C.Arm(True, by="dir"), T0 + 260 * S)
    live.tick(T0 + 301 * S)                                  # e
    assert live.do(C.Back(by="dir"), T0 + 320 * S)          # next: d (before e)
    assert live.do(C.Take(source="osc", by="dir"), T0 + 330 * S)  # d again
    assert live.do(C.Extend(2 * M, by="dir"), T0 + 335 * S)  # runs into the hard start: cut
    for t in range(331, 720, 7):                             # auto-advances, the hard start
        live.tick(T0 + t * S)
    assert live.do(C.Take(by="dir"), T0 + 720 * S)           # z held: end of show
    live.tick(T0 + 800 * S)
    return live


def test_replay_of_a_whole_show_equals_the_live_show(tmp_path: Path):
    path = tmp_path / "t.journal.jsonl"
    live = Live(journal=None)
    with Journal.create(path, live.session) as j:
        live.journal = j
        scripted(live)
    got = read_journal(path)
    assert not got.torn_tail
    kinds = [r["event"]["kind"] for r in got.records if r["type"] == "event"]
    for kind in ("take", "extend", "panic", "hold", "next", "skip", "unskip", "mode", "arm",
                 "end"):
        assert kind in kinds
    sources = {r["event"]["source"] for r in got.records if r["type"] == "event"}
    assert {"show-start", "auto", "hard-start", "director", "osc"} <= sources
    out = replay(got)
    assert out.warnings == () and out.unjournaled == ()
    assert essence(out.state) == essence(live.state)
    h = next(e for e in live.state.asrun if isinstance(e, Aired) and e.segment_id == "h")
    assert live.state.ended and h.source == "hard-start" and h.shortfall_ms == 90 * S  # cut
    assert out.state.clock_ms == got.records[-1]["wall_ms"]


def test_a_follower_fed_record_by_record_is_the_live_show_at_every_step():
    """What a standby does with the leader's records as they arrive: after each record the
    state equals a replay of the journal up to it, and at the end the live show's."""
    live = scripted(Live())
    follower = Replayer(live.session)
    contents = live.contents()
    for n, record in enumerate(contents.records, 2):
        follower.feed(record, f"stream:{n}")
        if record["type"] == "command" or n % 5 == 0:
            whole = replay(live.contents(upto=n - 1))
            assert essence(follower.state) == essence(whole.state)
    assert follower.warnings == [] and not follower.pending
    assert essence(follower.state) == essence(live.state)


def test_replay_of_the_rehearsal_shifted_to_now_with_a_take_lead():
    shift = 1_800_000_000_000 - T0  # some later day
    live = Live(REHEARSAL_TEXT, shift_ms=shift, lead_ms=120, mode="rehearsal")
    start = live.state.rundown.show.start_ms
    assert start == live.state.rundown.shifted(0).show.start_ms
    for t in range(-5, 700, 3):
        live.tick(start + t * S)
        if t == 100:
            live.do(C.Take(by="dir"), start + t * S)  # weather is held
        if t == 400:
            live.do(C.Take(by="dir"), start + t * S)
    out = replay(live.contents())
    assert out.warnings == () and essence(out.state) == essence(live.state)
    assert live.state.ended


def test_a_reloaded_rundown_is_swapped_in_on_replay():
    live = Live()
    live.tick(T0)
    live.tick(T0 + 70 * S)  # b on air
    assert live.reload(SHOW.replace("{id: c, title: C, duration: 1m",
                                    "{id: c, title: C2, duration: 2m"), T0 + 80 * S)
    assert live.do(C.Take(by="dir"), T0 + 100 * S)
    live.tick(T0 + 400 * S)
    assert live.state.rundown.segment("c").title == "C2"
    out = replay(live.contents())
    assert out.warnings == () and essence(out.state) == essence(live.state)
    assert out.state.plan == live.state.plan


def test_reload_then_crash_replays_to_the_same_state(tmp_path: Path):
    """On a real journal file: notes, a reload that shortens the on-air segment and drops
    another, the controller killed, replay: the same show, last_reload and notes included."""
    path = tmp_path / "t.journal.jsonl"
    live = Live()
    with Journal.create(path, live.session) as j:
        live.journal = j
        live.tick(T0)
        assert live.do(C.SetNote("c", "the clip is 10 s shorter", by="producer"), T0 + 5 * S)
        live.tick(T0 + 70 * S)  # b (flex 1m..3m, hold) on air
        edited = SHOW.replace("{id: b, title: B, duration: 2m, flex: 1m..3m",
                              "{id: b, title: B, duration: 80s, flex: 1m..3m").replace(
            "  - {id: d, title: D, duration: 1m, scene: SD, then: next}\n", "")
        assert not live.reload(SHOW.replace("  - {id: b, title: B, duration: 2m, flex: 1m..3m, "
                                            "scene: SB}\n", ""), T0 + 75 * S)  # b is on air
        assert live.reload(edited, T0 + 80 * S)
        assert live.state.last_reload is not None
        assert live.state.last_reload.changes.removed == ("d",)
        assert [r.segment_id for r in live.state.last_reload.changes.retimed] == ["b"]
        assert live.do(C.SetNote("e", "cut the last question", by="producer"), T0 + 90 * S)
        live.tick(T0 + 200 * S)
    out = replay(read_journal(path))  # the controller comes back
    assert out.warnings == () and out.unjournaled == ()
    assert essence(out.state) == essence(live.state)
    assert out.state.producer_note("c") == "the clip is 10 s shorter"
    assert out.state.rundown.segment("b").duration_ms == 80 * S
    kinds = [r["type"] for r in read_journal(path).records]
    assert kinds.count("rundown") == 1  # the refused reload left no trace


# -- the property -----------------------------------------------------------------------------

IDS = ["opening", "weather", "clip", "chat", "lead-in", "countdown", "closing", "nope"]
some_id = st.sampled_from(IDS)
maybe_id = st.none() | some_id
commands = st.one_of(
    st.builds(C.Take, maybe_id, st.sampled_from(["director", "osc"]), by=st.sampled_from(["a", "b"])),
    st.builds(C.SetNext, maybe_id),
    st.builds(C.Hold, st.booleans()),
    st.builds(C.Extend, st.integers(-120, 120).map(lambda s: s * S)),
    st.builds(C.Skip, maybe_id, st.booleans()),
    st.builds(C.Back),
    st.builds(C.Panic),
    st.builds(C.SetMode, st.sampled_from(["rehearsal", "live"])),
    st.builds(C.Arm, st.booleans()),
    st.builds(C.SetNote, some_id, st.sampled_from(["", "wrap up", "科学跨年夜"])),
    st.sampled_from(["reload-edited", "reload-removed", "reload-original"]),
)
# reloads: a segment retimed (the flexible one before the hard start) and retitled; one
# removed (refused while it is on air); and back
EDITED_TEXT = REHEARSAL_TEXT.replace("title: Clip\n    duration: 1m", "title: Clip 2\n    duration: 2m"
                                     ).replace("duration: 2m\n    flex: 1m..3m",
                                               "duration: 90s\n    flex: 1m..4m")
REMOVED_TEXT = REHEARSAL_TEXT.replace("""  - id: clip
    title: Clip
    duration: 1m
    scene: Documentary
    then: next
""", "")
RELOADS = {"reload-edited": EDITED_TEXT, "reload-removed": REMOVED_TEXT,
           "reload-original": REHEARSAL_TEXT}
assert len({EDITED_TEXT, REMOVED_TEXT, REHEARSAL_TEXT}) == 3
gaps = st.one_of(st.just(0), st.integers(0, 4000), st.integers(0, 240).map(lambda s: s * S),
                 st.integers(5, 20).map(lambda m: m * M))  # now and then the controller is down
leads = st.none() | st.sampled_from([0, 40, 120, 500])  # the controller measures OBS's latency
actions = st.lists(st.tuples(gaps, st.none() | commands, leads), min_size=1, max_size=30)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions, st.booleans(), st.sampled_from([0, 80]), st.sampled_from([0, 500]),
       st.sampled_from([0, -3 * M, 7 * 86_400_000]), st.integers(0, 25))
def test_replaying_what_a_live_run_journaled_gives_the_same_show(
        script, armed, lead, interval, shift, crash_at):
    live = Live(REHEARSAL_TEXT, armed=armed, lead_ms=lead, min_take_interval_ms=interval,
                shift_ms=shift)
    now = live.state.rundown.show.start_ms - 30 * S
    for gap, cmd, new_lead in script:
        now += gap
        if new_lead is not None:
            live.state = replace(live.state, lead_ms=new_lead)
        if cmd is None:
            live.tick(now)
        elif isinstance(cmd, str):
            live.reload(RELOADS[cmd], now)
        else:
            live.do(cmd, now)
    out = replay(live.contents())
    assert out.warnings == () and out.unjournaled == ()
    assert essence(out.state) == essence(live.state)
    # resuming later goes on exactly as the live engine would have
    later = now + 13 * M
    assert essence(advance(out.state, later).state) == essence(
        advance(replace(live.state, lead_ms=out.state.lead_ms), later).state)
    # a crash after any record: replay gives a state the engine passed through, and the
    # events it cut off come back as `unjournaled`, never as warnings
    cut = min(crash_at, len(live.records))
    partial = replay(live.contents(cut))
    assert partial.warnings == ()
    journaled = [r for r in live.records[:cut] if r["type"] == "event"]
    assert len(journaled) + len(partial.unjournaled) <= sum(
        r["type"] == "event" for r in live.records)


# -- crash and resume -------------------------------------------------------------------------

def test_resume_after_a_crash_goes_on_where_the_show_is_without_a_burst():
    live = Live()
    live.tick(T0)
    live.tick(T0 + 30 * S)  # a on air; the controller dies
    out = replay(live.contents())
    assert out.state.on_air == "a" and out.state.clock_ms == T0  # the last record's time
    # back at 5:00: a ran out at 1:00 and b (held) is on air since then, not since 5:00
    live.state = out.state
    live.tick(T0 + 5 * M)
    assert live.state.on_air == "b" and live.state.since_ms == T0 + M
    assert live.do(C.Take(by="dir"), T0 + 5 * M + S)  # c: runs out at 6:01, then d, e, h, y
    crash = len(live.records)
    later = T0 + 9 * M + 30 * S
    back = replay(live.contents(crash))
    assert back.warnings == () and essence(back.state) == essence(live.state)
    step = advance(back.state, later)  # what the resumed controller does first
    state = step.state
    asrun = [(e.segment_id, type(e).__name__, getattr(e, "reason", None)) for e in state.asrun]
    # d, e and the hard start h all ran their slots while the controller was down: missed,
    # never on the program; y is where the show is now, on its schedule (elapsed time is
    # continuous), not at the resume time
    assert asrun[-4:] == [("d", "Skipped", "missed"), ("e", "Skipped", "missed"),
                          ("h", "Skipped", "missed"), ("y", "Aired", None)]
    c = next(e for e in state.asrun if isinstance(e, Aired) and e.segment_id == "c")
    assert (c.start_ms, c.end_ms) == (T0 + 5 * M + S, T0 + 6 * M + S)
    assert state.on_air == "y" and state.since_ms == T0 + 9 * M
    assert sum(e.kind == "skip" and e.detail == "missed" for e in step.events) == 3
    assert sum("was not aired" in n for n in state.notices) == 3
    # the resumed controller journals what that advance produced; replay then agrees,
    # because it advances at the journaled wall time (one call), not event by event
    live.state = back.state
    live.records = live.records[:crash]
    live.tick(later)
    again = replay(live.contents())
    assert again.warnings == () and essence(again.state) == essence(live.state)
    by_event = [r["event"]["at_ms"] for r in live.records[crash:]]
    assert len(set(by_event)) > 1  # one call, events at many times: replay must not split it


def test_a_batch_cut_short_by_the_crash_comes_back_as_unjournaled_events():
    live = Live()
    live.tick(T0)
    live.tick(T0 + 70 * S)  # b
    assert live.do(C.Take("d", by="dir"), T0 + 100 * S)  # one record, then its event
    live.tick(T0 + 161 * S)  # d ran out: e
    # the crash lost the event of the take d step: only the command made it to disk
    cmd_index = next(i for i, r in enumerate(live.records) if r["type"] == "command")
    out = replay(live.contents(cmd_index + 1))
    assert out.warnings == () and [e.kind for e in out.unjournaled] == ["take"]
    assert out.unjournaled[0].segment_id == "d"
    # journaling them on resume makes the journal whole again
    records = live.records[: cmd_index + 1] + [
        event_record(e, T0, T0 + 500 * S) for e in out.unjournaled]
    whole = replay(replace(live.contents(), records=tuple(records)))
    assert whole.warnings == () and whole.unjournaled == ()
    assert essence(whole.state) == essence(out.state)


# -- what replay reports ----------------------------------------------------------------------

def test_a_journal_that_disagrees_with_the_engine_gives_warnings_not_errors():
    live = Live()
    live.tick(T0)
    live.tick(T0 + 70 * S)
    assert live.do(C.Extend(30 * S, by="dir"), T0 + 80 * S)
    contents = live.contents()
    records = list(contents.records)
    i = next(i for i, r in enumerate(records) if r["type"] == "event"
             and r["event"]["kind"] == "extend")
    records[i] = {**records[i], "event": {**records[i]["event"], "detail": "31s"}}
    out = replay(replace(contents, records=tuple(records), path="j"))
    assert out.warnings == (
        f"j:{i + 2}: the journal has extend b at {T0 + 80 * S} by=dir detail=31s, which replay "
        "did not produce",)
    assert essence(out.state) == essence(live.state)  # the engine's state is what runs
    assert [e.detail for e in out.unjournaled] == ["30s"]
    # an event the engine produces that the journal lacks, before the next command
    records = [r for r in contents.records if r.get("event", {}).get("kind") != "extend"]
    records.append(command_record(C.Hold(by="dir"), T0 + 90 * S))
    out = replay(replace(contents, records=tuple(records), path="j"))
    assert len(out.warnings) == 1 and "replay produced extend b" in out.warnings[0]
    assert "which the journal does not have" in out.warnings[0]


def test_a_command_refused_on_replay_is_a_warning():
    live = Live()
    live.tick(T0)
    contents = live.contents()
    bad = command_record(C.Take("nope", by="dir"), T0 + S)
    out = replay(replace(contents, records=(*contents.records, bad), path="j"))
    assert out.warnings == ("j:3: the command take was accepted live but is refused on replay: "
                            "no segment 'nope' in the rundown",)
    assert out.state.on_air == "a"


def test_what_replay_cannot_run_is_an_error():
    live = Live()
    contents = live.contents()
    bad = {"v": 1, "type": "command", "wall_ms": T0, "command": {"kind": "dance"}}
    with pytest.raises(JournalError, match="j:2: unknown command kind 'dance'"):
        replay(replace(contents, records=(bad,), path="j"))
    broken = {**contents.session, "rundown_text": "show: [\n"}
    with pytest.raises(JournalError, match=r"no longer loads: t\.yaml:"):
        replay(replace(contents, session=broken))


def test_a_rundown_text_that_does_not_match_its_hash_is_reported():
    live = Live()
    contents = live.contents()
    session = {**contents.session, "rundown_sha256": "0" * 64}
    out = replay(replace(contents, session=session, torn_tail=True, path="j"))
    assert out.warnings == (
        "session: the rundown text does not match its sha256; replaying the text as journaled",
        "j: the last line was cut off by a crash and dropped (it was never acknowledged)",
    )
    reload = rundown_record("t.yaml", "show: [", T0)
    out = replay(replace(contents, records=(reload,), path="j"))
    assert len(out.warnings) == 1 and "the show goes on with the previous one" in out.warnings[0]


def test_the_take_lead_measured_live_is_replayed_with_each_record():
    live = Live()  # the session says lead 0; the controller measured OBS at 500 ms
    live.tick(T0)
    live.state = replace(live.state, lead_ms=500)
    live.tick(T0 + M - 400)  # b is due at 1:00: fired 400 ms early, at its own time
    assert live.state.on_air == "b" and live.state.since_ms == T0 + M
    assert live.do(C.Extend(10 * S, by="dir"), T0 + M - 300)  # the director, a moment later
    assert live.records[-1]["event"]["at_ms"] == T0 + M - 300
    out = replay(live.contents())
    assert out.warnings == () and essence(out.state) == essence(live.state)
    assert out.state.lead_ms == 500
