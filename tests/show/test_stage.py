"""The presenter view, pure: the clock's colour at the thresholds, the flex plan in the
hosts' words, the director's message and signal (commands through the engine), the
prompter's script on a take."""

from __future__ import annotations

import pytest
from rundowns import REHEARSAL, SAMPLE, load

from control.show import commands as C
from control.show.engine import Refused, apply
from control.show.stage import (
    Thresholds,
    band,
    flex_advice,
    presenter_view,
    short_duration,
)
from control.show.state import initial_state
from control.show.view import show_view

SHOW = """\
show:
  title: T
  title_zh: 科学
  timezone: Asia/Shanghai
  start: 2023-12-31 23:51:50
segments:
"""
SEGMENTS = """\
  - id: intro
    title: Intro
    title_zh: 开场
    duration: 2m
    scene: S
    warning: 30s
    danger: 10s
    script: |
      Good evening,
      and welcome.
    script_zh: 晚上好
  - {id: talk, title: Talk, duration: 4m, flex: 2m..6m, scene: S}
  - {id: clip, title: Clip, duration: 2m, scene: S}
  - {id: midnight, title: Midnight, at: "23:59:50", duration: 1m, scene: S}
"""
DEFAULTS = Thresholds(warning_ms=60_000, danger_ms=15_000)


def state_at():
    r = load(SHOW + SEGMENTS).rundown
    return initial_state(r, armed=False), r


def test_the_band_turns_at_each_threshold() -> None:
    th = Thresholds(30_000, 10_000)
    assert band(30_001, th) == "normal"
    assert band(30_000, th) == "warning"
    assert band(10_001, th) == "warning"
    assert band(10_000, th) == "danger"
    assert band(0, th) == "danger"
    assert band(-1, th) == "over"
    with pytest.raises(ValueError):
        Thresholds(10_000, 30_000)


def test_short_durations_read_as_a_host_says_them() -> None:
    assert short_duration(40_000) == "40 s"
    assert short_duration(-80_000) == "1:20"
    assert short_duration(59_600) == "1:00"
    assert short_duration(3_723_000) == "1:02:03"


def test_the_on_air_clock_uses_the_segment_thresholds_and_the_read_models_end() -> None:
    state, r = state_at()
    t0 = r.show.start_ms
    state = apply(state, C.Take(), t0).state
    view = presenter_view(state, t0 + 85_000, DEFAULTS)
    clock = view["on_air"]
    model = show_view(state, t0 + 85_000)
    assert clock is not None and model["on_air"] is not None
    assert clock["end_ms"] == model["on_air"]["planned_end_ms"] == t0 + 120_000
    assert clock["remaining_ms"] == round(model["on_air"]["remaining_s"] * 1000) == 35_000
    assert clock["warning_at_ms"] == t0 + 90_000 and clock["danger_at_ms"] == t0 + 110_000
    assert clock["band"] == "normal"
    assert clock["planned_ms"] == 120_000 and clock["over_under_ms"] == 0
    assert presenter_view(state, t0 + 90_000, DEFAULTS)["on_air"]["band"] == "warning"
    late = presenter_view(state, t0 + 125_000, DEFAULTS)["on_air"]
    assert late["band"] == "over" and late["over_under_ms"] == 5_000
    # talk sets none: the configured defaults
    state = apply(state, C.Take(), t0 + 130_000).state
    clock = presenter_view(state, t0 + 130_000, DEFAULTS)["on_air"]
    assert clock["end_ms"] - clock["warning_at_ms"] == 60_000
    assert clock["end_ms"] - clock["danger_at_ms"] == 15_000


def test_flex_is_the_plans_change_against_the_planned_running_order() -> None:
    state, r = state_at()
    t0 = r.show.start_ms
    state = apply(state, C.Take(), t0).state
    view = show_view(state, t0)
    assert flex_advice(view, view["hard_starts"][0])["text"] == "on time"
    # intro overruns by 40 s: the talk (the only flexible one) gives it back, before ...
    view = show_view(state, t0 + 160_000)
    assert flex_advice(view, view["hard_starts"][0])["text"] == "cut 40 s"
    # ... and once it is on air
    late = t0 + 160_000
    state = apply(state, C.Take(), late).state
    view = show_view(state, late)
    advice = flex_advice(view, view["hard_starts"][0])
    assert advice["kind"] == "cut" and advice["ms"] == 40_000
    assert advice["text"] == "cut 40 s"
    assert advice["shortfall_ms"] == 0
    words = presenter_view(state, late, DEFAULTS)["hard_start"]
    assert words is not None and words["id"] == "midnight" and words["flex"] == advice
    # the talk runs past what it was given (held): that is no more flex; the clip cannot
    # absorb it, so the hard start will cut it: the shortfall
    view = show_view(state, late + 230_000)
    advice = flex_advice(view, view["hard_starts"][0])
    assert advice["text"] == "cut 40 s" and advice["shortfall_ms"] == 30_000


def test_messages_signals_and_read_back_are_commands() -> None:
    state, r = state_at()
    t0 = r.show.start_ms
    with pytest.raises(Refused):
        apply(state, C.Signal("wrap", by="director"), t0)
    state = apply(state, C.Take(), t0).state
    step = apply(state, C.Message("Wrap after this answer", by="director"), t0 + 1000)
    assert [(e.kind, e.by, e.detail) for e in step.events] == [
        ("message", "director", "Wrap after this answer")]
    state = step.state
    state = apply(state, C.Signal("wrap", by="director"), t0 + 2000).state
    view = presenter_view(state, t0 + 2000, DEFAULTS)
    assert view["message"]["id"] == 1 and view["message"]["read_ms"] is None
    assert view["signal"] == "wrap"
    with pytest.raises(Refused):
        apply(state, C.ReadBack(2, by="presenter"), t0 + 3000)
    state = apply(state, C.ReadBack(1, by="presenter"), t0 + 3000).state
    assert show_view(state, t0 + 3000)["stage"]["message"]["read_ms"] == t0 + 3000
    with pytest.raises(Refused):
        apply(state, C.ReadBack(1, by="presenter"), t0 + 4000)
    # the signal was for the intro: the next segment's hosts do not see it
    state = apply(state, C.Take(), t0 + 5000).state
    assert presenter_view(state, t0 + 5000, DEFAULTS)["signal"] is None
    state = apply(state, C.Message("  "), t0 + 6000).state
    assert presenter_view(state, t0 + 6000, DEFAULTS)["message"] is None
    state = apply(state, C.Message("again"), t0 + 7000).state
    assert state.message is not None and state.message.id == 2


def test_the_commands_round_trip_through_json() -> None:
    for cmd in (C.Message("hi", by="director"), C.Signal("stretch"), C.Signal(None),
                C.ReadBack(3, by="presenter")):
        assert C.from_json(C.to_json(cmd)) == cmd
    with pytest.raises(C.BadCommand):
        C.from_json({"kind": "signal", "cue": "louder"})
    with pytest.raises(C.BadCommand):
        C.from_json({"kind": "message", "text": "x" * (C.MAX_MESSAGE + 1)})


def test_the_prompter_shows_the_next_script_before_the_show_and_the_on_air_one_after() -> None:
    state, r = state_at()
    t0 = r.show.start_ms
    script = presenter_view(state, t0 - 60_000, DEFAULTS)["script"]
    assert script == {"id": "intro", "title": "Intro", "title_zh": "开场", "on_air": False,
                      "en": "Good evening,\nand welcome.", "zh": "晚上好"}
    state = apply(state, C.Take(), t0).state
    assert presenter_view(state, t0, DEFAULTS)["script"]["on_air"] is True
    state = apply(state, C.Take(), t0 + 1000).state
    script = presenter_view(state, t0 + 1000, DEFAULTS)["script"]
    assert script["id"] == "talk" and script["en"] is None


def test_tally() -> None:
    state, r = state_at()
    t0 = r.show.start_ms
    assert presenter_view(state, t0, DEFAULTS)["tally"] == "standby"
    state = apply(state, C.Take(), t0).state
    assert presenter_view(state, t0, DEFAULTS)["tally"] == "rehearsal"
    state = apply(state, C.SetMode("live"), t0).state
    assert presenter_view(state, t0, DEFAULTS)["tally"] == "on-air"


@pytest.mark.parametrize("path", [SAMPLE, REHEARSAL], ids=lambda p: p.name)
def test_the_shipped_rundowns_give_the_prompter_the_opening_in_both_languages(path) -> None:
    """`make run` and the demo show the prompter working: the opening has a script."""
    r = load(path.read_text("utf-8")).rundown
    state = initial_state(r, armed=False)
    before = presenter_view(state, r.show.start_ms - 60_000, DEFAULTS)["script"]
    assert before is not None and before["id"] == r.segments[0].id and not before["on_air"]
    state = apply(state, C.Take(), r.show.start_ms).state
    script = presenter_view(state, r.show.start_ms, DEFAULTS)["script"]
    assert script is not None and script["on_air"]
    assert script["en"] and "welcome" in script["en"].lower()
    assert script["zh"] and "晚上好" in script["zh"]
