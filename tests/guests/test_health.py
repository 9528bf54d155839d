"""The health figure: a table of links and what the director should read of each; the page's
report cleaned of what a hostile page could send."""

from __future__ import annotations

import json

import pytest

from control.guests.health import (
    Cause,
    FrameWindow,
    Grade,
    ReportError,
    Signals,
    assess,
    clean_report,
    frame_window,
    penalty,
    signals,
)

CASES = [
    # (what, signals, grade, cause, score bounds)
    ("nothing known yet", Signals(), Grade.GOOD, None, (100, 100)),
    ("a clean link", Signals(loss_pct=0.2, rtt_ms=40, jitter_ms=3, frames_dropped_pct=0,
                             limitation="none", battery_pct=90, charging=False),
     Grade.GOOD, None, (100, 100)),
    ("loss at the GuestLinkBad limit is poor", Signals(loss_pct=5), Grade.POOR, Cause.LOSS,
     (40, 40)),
    ("a little loss is fair", Signals(loss_pct=3.5), Grade.FAIR, Cause.LOSS, (45, 74)),
    ("heavy loss is near nothing", Signals(loss_pct=30), Grade.POOR, Cause.LOSS, (0, 0)),
    ("a far guest (200 ms) is still good", Signals(rtt_ms=200), Grade.GOOD, Cause.RTT,
     (75, 99)),
    ("RTT at 300 ms is poor", Signals(rtt_ms=300), Grade.POOR, Cause.RTT, (40, 40)),
    ("jitter", Signals(jitter_ms=50), Grade.POOR, Cause.JITTER, (20, 39)),
    ("the browser drops frames", Signals(frames_dropped_pct=12), Grade.POOR, Cause.FRAMES,
     (20, 39)),
    ("the controller skips a fifth of the frames", Signals(late_pct=20), Grade.POOR,
     Cause.LATE, (40, 40)),
    ("a few late frames are fine", Signals(late_pct=3), Grade.GOOD, None, (100, 100)),
    ("CPU-limited: visible, not broken", Signals(limitation="cpu"), Grade.FAIR, Cause.CPU,
     (45, 74)),
    ("bandwidth-limited", Signals(limitation="bandwidth"), Grade.FAIR, Cause.BANDWIDTH,
     (45, 74)),
    ("an unknown limitation word costs nothing", Signals(limitation="other"), Grade.GOOD,
     None, (100, 100)),
    ("battery 8 %, not charging", Signals(battery_pct=8, charging=False), Grade.POOR,
     Cause.BATTERY, (40, 40)),
    ("battery 15 %", Signals(battery_pct=15, charging=False), Grade.FAIR, Cause.BATTERY,
     (45, 74)),
    ("battery 5 % on the charger costs nothing", Signals(battery_pct=5, charging=True),
     Grade.GOOD, None, (100, 100)),
    ("battery unknown (Firefox) costs nothing", Signals(battery_pct=None, charging=None,
                                                        rtt_ms=20), Grade.GOOD, None,
     (100, 100)),
    ("the worst cause is named", Signals(loss_pct=2, rtt_ms=900, limitation="bandwidth"),
     Grade.POOR, Cause.RTT, (0, 20)),
    ("silent page is lost", Signals(loss_pct=0, age_s=30), Grade.LOST, Cause.SILENT, (0, 0)),
    ("a recent report is not silent", Signals(age_s=4), Grade.GOOD, None, (100, 100)),
]


@pytest.mark.parametrize(("what", "given", "grade", "cause", "bounds"), CASES,
                         ids=[c[0] for c in CASES])
def test_health_table(what, given, grade, cause, bounds):
    health = assess(given)
    assert health.grade is grade, health
    assert health.cause == cause, health
    assert bounds[0] <= health.score <= bounds[1], health


def test_the_cause_carries_its_figure_for_the_console():
    assert assess(Signals(battery_pct=8, charging=False)).view() == {
        "score": 40, "grade": "poor", "bars": 1, "cause": "battery", "value": 8}
    assert assess(Signals(limitation="cpu")).view()["value"] is None
    assert assess(Signals(loss_pct=7.25)).view()["value"] == 7.2


def test_bars_follow_the_grade():
    assert [assess(Signals(loss_pct=p)).bars for p in (0, 3, 5, 14, 50)] == [4, 3, 1, 0, 0]
    assert assess(Signals(age_s=60)).bars == 0


def test_penalty_is_monotonic_and_bounded():
    bounds = (1.0, 5.0, 15.0)
    values = [penalty(x / 10, bounds) for x in range(0, 300)]
    assert values == sorted(values)
    assert values[0] == 0 and values[-1] == 100


def test_signals_take_the_worse_loss_and_read_power():
    s = signals({"loss_pct": 1.0, "rtt_ms": 80, "power": "charging", "battery_pct": 3},
                loss_ratio=0.06, age_s=1.0)
    assert s.loss_pct == pytest.approx(6.0)
    assert s.charging is True and s.rtt_ms == 80
    assert signals(None, None, None) == Signals()
    assert signals({"power": "battery"}, None, None).charging is False


def test_clean_report_keeps_known_keys_in_range():
    report = {"rtt_ms": 42.5, "jitter_ms": 3, "loss_pct": 0.5, "frames_dropped_pct": 1.5,
              "battery_pct": 77, "power": "battery", "qualityLimitationReason": "cpu",
              "candidateType": "relay", "framesSent": 300, "bitrate_kbps": 1200}
    assert clean_report(report) == report


@pytest.mark.parametrize("bad", [
    {"rtt_ms": -1}, {"rtt_ms": 1e300}, {"rtt_ms": 10**400}, {"packetsLost": -(10**400)}, {"loss_pct": 101},
    {"battery_pct": 150}, {"rtt_ms": True}, {"rtt_ms": "40"}, {"rtt_ms": float("nan")},
    {"rtt_ms": float("inf")}, {"power": "solar"}, {"power": True},
    {"qualityLimitationReason": "<script>"}, {"candidateType": ""}, {"unknown": 1},
    {"rtt_ms": None}, {"rtt_ms": [1]}, {"rtt_ms": {"x": 1}},
])
def test_clean_report_drops_what_a_browser_would_not_send(bad):
    assert clean_report(bad) == {}


def test_clean_report_cuts_long_words_and_survives_parsed_json():
    parsed = json.loads('{"candidateType": "' + "x" * 5000 + '", "rtt_ms": 1e999, '
                        '"jitter_ms": ' + "9" * 400 + "}")
    assert clean_report(parsed) == {"candidateType": "x" * 16}


@pytest.mark.parametrize("bad", [[], "stats", 3, None, {str(i): i for i in range(65)}])
def test_not_a_report_is_a_clear_error(bad):
    with pytest.raises(ReportError, match="stats"):
        clean_report(bad)


def test_the_receive_side_window():
    w = frame_window(None, 100, 0)
    assert w == FrameWindow(100, 0, None)  # the first read: a baseline, no figure yet
    assert frame_window(w, 110, 5) is w  # too few frames since: the window goes on
    w = frame_window(w, 140, 6)
    assert w == FrameWindow(140, 6, 15.0)
    w = frame_window(w, 200, 6)
    assert w.late_pct == 0.0
    assert frame_window(w, 10, 0) == FrameWindow(10, 0, None)  # a new session starts over
    assert signals({}, None, None, late_pct=w.late_pct).late_pct == 0.0
