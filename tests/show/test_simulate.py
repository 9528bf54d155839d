"""`simulate` on the sample show: the issue's acceptance cases, through the same engine."""

from __future__ import annotations

import pytest
from rundowns import REHEARSAL, SAMPLE

from control.show.loader import load_rundown
from control.show.simulate import simulate

M = 60_000


@pytest.fixture(scope="module")
def sample():
    return load_rundown(SAMPLE.read_text("utf-8"), str(SAMPLE)).rundown


def hard(report, sid="countdown"):
    return next(h for h in report["hard_starts"] if h["id"] == sid)


def test_with_no_overruns_the_sample_hits_2359_50_and_everything_is_on_plan(sample):
    rep = simulate(sample).report
    assert hard(rep) == {"id": "countdown", "target": "2023-12-31T23:59:50+08:00",
                         "start": "2023-12-31T23:59:50+08:00", "error_s": 0.0, "shortfall_s": 0.0}
    for seg in rep["segments"]:
        assert seg["start"] == seg["planned_start"] and seg["over_under_s"] == 0.0
        assert not seg["skipped"]
    assert rep["planned_end"] == rep["end"] == "2024-01-01T00:30:00+08:00"
    assert rep["over_under_s"] == 0.0


def test_a_two_minute_weather_overrun_is_absorbed_by_flex(sample):
    rep = simulate(sample, {"weather": 2 * M}).report
    assert hard(rep)["start"] == "2023-12-31T23:59:50+08:00"
    assert hard(rep)["error_s"] == 0 and hard(rep)["shortfall_s"] == 0
    segs = {s["id"]: s for s in rep["segments"]}
    assert segs["weather"]["duration_s"] == 480 and segs["weather"]["over_under_s"] == 120
    # the 2 minutes come out of the flexible segments after weather
    flexed = sum(segs[k]["over_under_s"] for k in ("midnight-sky", "cartoons", "ask-the-experts"))
    assert flexed == -120
    assert not any(s["skipped"] for s in rep["segments"])


def test_an_overrun_flex_cannot_absorb_is_cut_at_the_hard_start(sample):
    # after weather, flex can give 3m + 5m + 3m = 11m; 15m leaves 4m to cut
    rep = simulate(sample, {"weather": 15 * M}).report
    h = hard(rep)
    assert h["start"] == "2023-12-31T23:59:50+08:00" and h["error_s"] == 0
    assert h["shortfall_s"] == 240
    segs = {s["id"]: s for s in rep["segments"]}
    assert segs["wishes"]["duration_s"] == 350 - 240  # the segment on air was cut short
    assert rep["end"] == rep["planned_end"]


def test_an_overrun_so_large_that_segments_are_skipped(sample):
    rep = simulate(sample, {"ask-the-experts": 20 * M}).report
    h = hard(rep)
    assert h["error_s"] == 0
    segs = {s["id"]: s for s in rep["segments"]}
    skipped = [k for k, s in segs.items() if s["skipped"]]
    assert skipped == ["year-in-science", "wishes"]
    assert segs["wishes"]["start"] is None and segs["wishes"]["end"] is None
    # ask-the-experts (asked for 15m, held for 35m) is taken off at 23:59:50 after 30m50s;
    # the planned content that never aired is year-in-science (10m) and wishes (5m50s)
    assert segs["ask-the-experts"]["duration_s"] == 30 * 60 + 50
    assert h["shortfall_s"] == 950


def test_underruns_arrive_early_and_the_lead_in_fills(sample):
    rep = simulate(sample, {"new-media": -30 * M // 10}).report  # 3m short
    segs = {s["id"]: s for s in rep["segments"]}
    assert hard(rep)["shortfall_s"] == 0  # ask-the-experts stretched by 3m (max 18m)
    assert segs["ask-the-experts"]["duration_s"] == 18 * 60
    rep = simulate(sample, {"new-media": -5 * M}).report     # 5m short: 3m flex, 2m fill
    segs = {s["id"]: s for s in rep["segments"]}
    assert hard(rep)["shortfall_s"] == -120 and hard(rep)["error_s"] == 0
    assert segs["wishes"]["duration_s"] == 350 + 120


def test_the_rehearsal_show_runs_through():
    r = load_rundown(REHEARSAL.read_text("utf-8"), str(REHEARSAL)).rundown
    rep = simulate(r, {"weather": M}).report
    assert hard(rep)["shortfall_s"] == 0 and hard(rep)["error_s"] == 0
    assert rep["over_under_s"] == 0


def test_unknown_segment_in_overruns(sample):
    with pytest.raises(KeyError):
        simulate(sample, {"nope": M})


def test_a_show_across_the_autumn_clock_change_in_berlin():
    text = """\
show:
  title: Late night
  timezone: Europe/Berlin
  start: 2023-10-29 01:00:00
  end: 2023-10-29 03:30:00
segments:
  - {id: a, title: A, duration: 1h, scene: S, then: next}
  - {id: b, title: B, duration: 1h, flex: 30m..90m, scene: S, then: next}
  - {id: c, title: C, duration: 30m, scene: S, at: "03:00:00", then: next}
"""
    r = load_rundown(text, "berlin.yaml").rundown
    # 01:00 CEST to 03:00 CET is three real hours: b would need 2h, flex stops it at 1h30m,
    # so b stays on air 30m longer as the fill before c
    rep = simulate(r).report
    segs = {s["id"]: s for s in rep["segments"]}
    assert segs["a"]["start"] == "2023-10-29T01:00:00+02:00"
    assert segs["b"]["start"] == "2023-10-29T02:00:00+02:00"
    assert segs["b"]["end"] == "2023-10-29T03:00:00+01:00"
    assert segs["b"]["duration_s"] == 2 * 3600  # 90m planned + 30m fill
    h = rep["hard_starts"][0]
    assert h == {"id": "c", "target": "2023-10-29T03:00:00+01:00",
                 "start": "2023-10-29T03:00:00+01:00", "error_s": 0.0, "shortfall_s": -1800.0}
    assert rep["end"] == "2023-10-29T03:30:00+01:00"
