"""The planned-vs-actual report (Ontime #1139) on a small show computed by hand."""

from __future__ import annotations

import csv
import io

import pytest
from rundowns import REHEARSAL

from control.asrun import COLUMNS, asrun_rows, write_csv
from control.journal import JournalContents, replay, session_record, session_state, step_records
from control.show import commands as C
from control.show.engine import advance, apply
from control.show.loader import load_rundown
from control.show.simulate import simulate
from control.show.state import ShowState

S = 1000
# a 1m (then next) | b 2m, flex 1m..3m, held | c 1m | h at 22:05 | y 1m | z 1m, held.
# The plan stretches b to 3m so that h starts at 22:05: a 22:00, b 22:01, c 22:04, h 22:05,
# y 22:06, z 22:07.
TEXT = """\
show:
  title: Planned vs actual
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  safe_scene: Slate
segments:
  - {id: a, title: Open, duration: 1m, scene: S, then: next}
  - {id: b, title: "访谈, Talk", duration: 2m, flex: 1m..3m, scene: S}
  - {id: c, title: Clip, duration: 1m, scene: S, then: next}
  - {id: h, title: Countdown, at: "22:05:00", duration: 1m, scene: S, then: next}
  - {id: y, title: Extra, duration: 1m, scene: S, then: next}
  - {id: z, title: Close, duration: 1m, scene: S}
"""


def run(until_s: int | None = None) -> ShowState:
    """The show through a journal: a opens at 22:00 and runs out into b; alice takes c at
    22:03:30 (b: 2m30s of a planned 3m); c fills until the hard start h at 22:05 (1m30s);
    bob skips y at 22:05:10; h runs out into z at 22:06; carol ends the show at 22:07:45."""
    session = session_record("pva.yaml", TEXT, wall_ms=0)
    state, records = session_state(session), []
    t0 = state.rundown.show.start_ms
    script = [(0, None), (210, C.Take(by="alice")), (310, C.Skip("y", by="bob")),
              (465, C.Take(by="carol")), (500, None)]
    for at, cmd in script:
        if until_s is not None and at > until_s:
            step = advance(state, t0 + until_s * S)
            records += step_records(step, t0 + until_s * S)
            state = step.state
            break
        step = advance(state, t0 + at * S) if cmd is None else apply(state, cmd, t0 + at * S)
        records += step_records(step, t0 + at * S, cmd)
        state = step.state
    out = replay(JournalContents(session, tuple(records)))
    assert out.warnings == () and out.state.asrun == state.asrun
    return out.state


def at(hms: str) -> str:
    day = "2023-12-31"
    return f"{day}T{hms}+08:00"


def test_rows_planned_against_actual():
    rows = asrun_rows(run())
    assert [tuple(r) for r in rows] == [COLUMNS] * 6
    got = {r["id"]: r for r in rows}
    assert got["a"] == {
        "id": "a", "title": "Open", "status": "aired",
        "planned_start": at("22:00:00"), "actual_start": at("22:00:00"),
        "actual_end": at("22:01:00"), "planned_duration_s": 60.0, "actual_duration_s": 60.0,
        "over_under_s": 0.0, "skipped_reason": None, "skipped_by": None,
        "source": "show-start", "taken_by": None, "hard_start": None, "hard_start_error_s": None,
        "iso": None,
    }
    b = got["b"]
    assert (b["planned_start"], b["actual_start"], b["actual_end"]) == (
        at("22:01:00"), at("22:01:00"), at("22:03:30"))
    assert (b["planned_duration_s"], b["actual_duration_s"], b["over_under_s"]) == (180, 150, -30)
    assert (b["source"], b["taken_by"]) == ("auto", None)
    c = got["c"]
    assert (c["planned_start"], c["actual_start"], c["actual_end"]) == (
        at("22:04:00"), at("22:03:30"), at("22:05:00"))
    assert (c["planned_duration_s"], c["actual_duration_s"], c["over_under_s"]) == (60, 90, 30)
    assert (c["source"], c["taken_by"]) == ("director", "alice")
    h = got["h"]
    assert (h["status"], h["source"], h["hard_start"], h["actual_start"],
            h["hard_start_error_s"]) == ("aired", "hard-start", at("22:05:00"), at("22:05:00"), 0)
    y = got["y"]
    assert (y["status"], y["skipped_reason"], y["skipped_by"], y["actual_start"],
            y["actual_duration_s"], y["over_under_s"], y["planned_start"]) == (
        "skipped", "director", "bob", None, None, None, at("22:06:00"))
    z = got["z"]
    assert (z["planned_start"], z["actual_start"], z["actual_end"], z["actual_duration_s"],
            z["over_under_s"], z["taken_by"]) == (
        at("22:07:00"), at("22:06:00"), at("22:07:45"), 105, 45, None)


def test_mid_show_rows_say_on_air_and_not_reached():
    rows = {r["id"]: r for r in asrun_rows(run(until_s=225))}
    assert [rows[k]["status"] for k in "abchyz"] == [
        "aired", "aired", "on air", "not reached", "not reached", "not reached"]
    assert rows["c"]["actual_start"] == at("22:03:30")
    assert rows["c"]["actual_end"] is None and rows["c"]["actual_duration_s"] is None
    assert rows["h"]["hard_start"] == at("22:05:00") and rows["h"]["hard_start_error_s"] is None


def test_csv_has_a_header_and_plain_numbers():
    out = io.StringIO(newline="")
    write_csv(asrun_rows(run()), out)
    text = out.getvalue()
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0] == list(COLUMNS)
    assert table[2] == ["b", "访谈, Talk", "aired", at("22:01:00"), at("22:01:00"),
                        at("22:03:30"), "180", "150", "-30", "", "", "auto", "", "", "", ""]
    assert table[4][COLUMNS.index("hard_start_error_s")] == "0"
    assert table[5][2:4] == ["skipped", at("22:06:00")] and table[5][9:11] == ["director", "bob"]
    assert len(table) == 7


def test_a_segment_taken_twice_reports_its_total_time_on_air():
    rundown = load_rundown(TEXT, "pva.yaml").rundown
    t0 = rundown.show.start_ms
    state = advance(session_state(session_record("pva.yaml", TEXT)), t0).state
    state = apply(state, C.Take("c", by="x"), t0 + 10 * S).state   # a: 10s
    state = apply(state, C.Take("a", by="x"), t0 + 20 * S).state   # c: 10s, a again
    state = apply(state, C.Take("b", by="x"), t0 + 50 * S).state   # a: 30s more
    rows = {r["id"]: r for r in asrun_rows(state)}
    assert rows["a"]["actual_start"] == at("22:00:00")
    assert rows["a"]["actual_end"] == at("22:00:50")
    assert rows["a"]["actual_duration_s"] == 40 and rows["a"]["over_under_s"] == -20
    assert rows["a"]["source"] == "show-start"  # how it first went on air


@pytest.mark.parametrize("over", [{}, {"weather": 45 * S, "clip": -20 * S}])
def test_rows_agree_with_the_simulation_report(over):
    rundown = load_rundown(REHEARSAL.read_text("utf-8"), str(REHEARSAL)).rundown
    result = simulate(rundown, over)
    rows = asrun_rows(result.state)
    for row, seg in zip(rows, result.report["segments"], strict=True):
        assert row["id"] == seg["id"]
        assert (row["planned_start"], row["actual_start"], row["actual_end"]) == (
            seg["planned_start"], seg["start"], seg["end"])
        assert (row["actual_duration_s"], row["over_under_s"]) == (
            seg["duration_s"], seg["over_under_s"])
        assert (row["status"] != "aired") == seg["skipped"]
    cd = next(r for r in rows if r["id"] == "countdown")
    assert cd["hard_start"] == "2023-12-31T23:59:50+08:00" and cd["hard_start_error_s"] == 0
