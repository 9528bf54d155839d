"""Every rule of the rundown format: the message, its line and its column."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rundowns import HEADER, REHEARSAL, SAMPLE, diagnostics, errors, load, rundown, warnings

from control.show.diagnostics import RundownError
from control.show.loader import load_rundown

SH = ZoneInfo("Asia/Shanghai")


def ms(text: str, tz: ZoneInfo = SH) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=tz).timestamp() * 1000)


def test_the_sample_show_loads_with_names_in_both_languages():
    loaded = load_rundown(SAMPLE.read_text("utf-8"), str(SAMPLE))
    r = loaded.rundown
    assert loaded.warnings == ()
    assert r.show.start_ms == ms("2023-12-31 22:00:00")
    assert r.show.end_ms == ms("2024-01-01 00:30:00")
    assert r.guest("zhu-dingzhen").name_zh == "朱定真"
    assert r.segment("countdown").at_ms == ms("2023-12-31 23:59:50")
    assert sum(1 for s in r.segments if s.flex) >= 2
    assert r.segment("weather").flex is not None
    assert r.segment("weather").guests == ("zhu-dingzhen",)


def test_the_rehearsal_show_is_about_ten_minutes():
    r = load_rundown(REHEARSAL.read_text("utf-8"), str(REHEARSAL)).rundown
    assert r.show.end_ms is not None
    assert 9 * 60_000 <= r.show.end_ms - r.show.start_ms <= 12 * 60_000


def test_fields_are_read_into_the_model():
    r = rundown("""\
      - id: a
        title: A
        title_zh: 甲
        duration: 1m30s
        scene: Studio
        transition: fade 500ms
        show: [Logo Bug, Clock]
        hide: Guest Mix
        then: next
        notes: hello
        cues:
          - {at: 20s, overlay: lower-third, for: 8s, data: {name: Zhu, n: 3, ok: true, t: "23:59"}}
          - {at: 10s, overlay: ticker, action: play}
      - id: b
        title: B
        duration: 00:04:00
        flex: 2m..5m
        scene: Remote
        transition: {type: Stinger, duration: 1s}
        guests: [zhu]
        layout: solo
    """)
    a, b = r.segments
    assert a.duration_ms == 90_000 and a.then == "next" and a.title_zh == "甲"
    assert a.transition is not None and (a.transition.name, a.transition.duration_ms) == ("Fade", 500)
    assert a.show_items == ("Logo Bug", "Clock") and a.hide_items == ("Guest Mix",)
    assert [c.at_ms for c in a.cues] == [10_000, 20_000]  # sorted by time
    assert a.cues[1].data == {"name": "Zhu", "n": 3, "ok": True, "t": "23:59"}
    assert a.cues[1].for_ms == 8000
    assert b.duration_ms == 240_000 and b.then == "hold"
    assert b.flex is not None and (b.flex.min_ms, b.flex.max_ms) == (120_000, 300_000)
    assert b.transition is not None and (b.transition.name, b.transition.duration_ms) == ("Stinger", 1000)
    assert b.pos("scene").line == 28


def test_yaml_1_1_surprises_do_not_reach_the_show():
    # 23:59:50 would be the sexagesimal integer 86390 in YAML 1.1, `no` would be False
    r = rundown("""\
      - id: a
        title: no
        duration: 1h
        scene: on
      - id: b
        title: B
        at: 23:59:50
        duration: 10s
        scene: S
    """)
    assert r.segments[0].title == "no" and r.segments[0].scene == "on"
    assert r.segments[1].at_ms == ms("2023-12-31 23:59:50")


def test_unknown_keys_are_errors_with_did_you_mean():
    errs = errors(HEADER + """\
  - id: a
    title: A
    duration: 1m
    scene: S
    trasition: cut
    sho: [X]
""")
    assert errs == [
        (15, 5, "segment 'a': unknown key 'trasition' (did you mean 'transition'?)"),
        (16, 5, "segment 'a': unknown key 'sho' (did you mean 'show'?)"),
    ]


def test_unknown_top_and_show_keys():
    errs = errors("""\
show:
  title: T
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  safe_scen: Slate
segment:
  - id: a
""")
    assert (5, 3, "show: unknown key 'safe_scen' (did you mean 'safe_scene'?)") in errs
    assert (6, 1, "rundown: unknown key 'segment' (did you mean 'segments'?)") in errs
    assert (1, 1, "rundown: missing 'segments'") in errs


def test_all_errors_are_reported_not_just_the_first():
    errs = errors(HEADER + """\
  - id: a
    title: A
    duration: soon
    scene: S
  - id: a
    title: B
    duration: 1m
    scene: S
  - title: C
    duration: -5s
    scene: S
    guests: [zhuu]
""")
    assert [(line, col) for line, col, _ in errs] == [(13, 15), (15, 9), (19, 5), (20, 15), (22, 14)]
    assert "cannot read duration 'soon'" in errs[0][2]
    assert errs[1][2] == "duplicate segment id 'a' (first on line 11)"
    assert errs[2][2] == "segment: missing 'id'"
    assert errs[4][2] == "segment: guest 'zhuu' is not in guests (did you mean 'zhu'?)"


@pytest.mark.parametrize("missing", ["id", "title", "duration", "scene"])
def test_missing_required_segment_keys(missing):
    fields = {"id": "a", "title": "A", "duration": "1m", "scene": "S"}
    body = "".join(f"    {k}: {v}\n" for k, v in fields.items() if k != missing)
    errs = errors(HEADER + "  - " + body.lstrip())
    what = "segment" if missing == "id" else "segment 'a'"
    assert errs == [(11, 5, f"{what}: missing {missing!r}")]


@pytest.mark.parametrize(("value", "message"), [
    ("0s", "segment 'a' duration must be positive, got '0s'"),
    ("90", "segment 'a' duration: cannot read duration '90': write e.g. 90s, 1m30s, 500ms, 1h or 00:01:30"),
    ("1s1m", "segment 'a' duration: units out of order or repeated in '1s1m': write e.g. 1m30s"),
    ("[1m]", "segment 'a' duration must be text, not a list"),
])
def test_bad_durations(value, message):
    errs = errors(HEADER + f"  - id: a\n    title: A\n    duration: {value}\n    scene: S\n")
    assert errs == [(13, 15, message)]


def test_bad_id():
    errs = errors(HEADER + "  - id: Opening Act\n    title: A\n    duration: 1m\n    scene: S\n")
    assert errs[0] == (11, 9, "segment id 'Opening Act' must match [a-z0-9-]+")


@pytest.mark.parametrize(("flex", "message"), [
    ("5m..8m", "segment 'a' flex 5m..8m does not contain its duration 4m"),
    ("1m..3m", "segment 'a' flex 1m..3m does not contain its duration 4m"),
    ("4m", "segment 'a' flex: write a range MIN..MAX, e.g. 4m..8m"),
    ("6m..2m", "segment 'a' flex: need 0 < MIN <= MAX, got '6m..2m'"),
])
def test_flex_must_contain_duration(flex, message):
    errs = errors(HEADER + f"  - id: a\n    title: A\n    duration: 4m\n    flex: {flex}\n    scene: S\n")
    assert errs == [(14, 11, message)]


def test_guest_not_in_roster_points_at_the_list_item():
    errs = errors(HEADER + "  - id: a\n    title: A\n    duration: 4m\n    scene: S\n"
                  "    guests:\n      - zhu\n      - gou-lijun\n")
    assert errs == [(17, 9, "segment 'a': guest 'gou-lijun' is not in guests")]


def test_cue_outside_its_segment():
    errs = errors(HEADER + """\
  - id: a
    title: A
    duration: 1m
    scene: S
    cues:
      - {at: 30s, overlay: lower-third}
      - {at: 1m, overlay: lower-third}
      - {at: 2m, overlay: ticker}
""")
    assert errs == [
        (17, 14, "segment 'a': cue at 1m lies outside the segment (0..1m)"),
        (18, 14, "segment 'a': cue at 2m lies outside the segment (0..1m)"),
    ]


def test_cue_in_the_flex_range_is_a_warning():
    text = HEADER + """\
  - id: a
    title: A
    duration: 4m
    flex: 2m..6m
    scene: S
    cues:
      - {at: 5m, overlay: lower-third}
"""
    assert warnings(text) == [
        (17, 14, "segment 'a': cue at 5m does not fire if flex shortens the segment to 2m")]


def test_comma_in_flow_mapping_is_a_warning():
    text = HEADER + """\
  - id: a
    title: A
    duration: 1m
    scene: S
    cues:
      - at: 1s
        overlay: lower-third
        data: {name: Yang Shuo, role: Director, Beijing Municipal Radio and Television Bureau}
"""
    [(line, col, message)] = warnings(text)
    assert (line, col) == (18, 49)
    assert "'Beijing Municipal Radio and Television Bureau' has no value" in message


def test_unknown_timezone_with_suggestion():
    errs = errors("""\
show:
  title: T
  timezone: Asia/Shangai
  start: 2023-12-31 22:00:00
segments:
  - {id: a, title: A, duration: 1m, scene: S}
""")
    assert errs == [(3, 13, "show.timezone: unknown timezone 'Asia/Shangai' (did you mean 'Asia/Shanghai'?)")]


def test_unknown_layout_and_transition():
    errs = errors(HEADER + """\
  - id: a
    title: A
    duration: 1m
    scene: S
    layout: two_up
    transition: dissolve 1s
    then: auto
""")
    assert errs == [
        (15, 13, "segment 'a' layout: 'two_up' is not one of solo, two-up, pip, grid (did you mean 'two-up'?)"),
        (16, 17, "segment 'a' transition: unknown transition 'dissolve'; write cut, fade [DURATION], "
                 "or {type: NAME, duration: D} for any OBS transition"),
        (17, 11, "segment 'a' then: 'auto' is not one of next, hold"),
    ]


def test_hard_starts_out_of_order_and_outside_the_show():
    errs = errors(HEADER + """\
  - {id: a, title: A, duration: 1m, scene: S}
  - {id: b, title: B, duration: 1m, scene: S, at: "23:00:00"}
  - {id: c, title: C, duration: 1m, scene: S, at: "22:30:00"}
  - {id: d, title: D, duration: 1m, scene: S, at: "2024-01-01 01:00:00"}
  - {id: e, title: E, duration: 1m, scene: S, at: "2023-12-31 21:00:00"}
""")
    assert errs == [
        (13, 51, "hard start of 'c' is not after the hard start of 'b' (23:00:00): out of order"),
        (14, 51, "hard start of 'd' at 01:00:00 is not before the show's end (00:30:00)"),
        (15, 51, "hard start of 'e' at 21:00:00 is before the show starts (22:00:00)"),
        (15, 51, "hard start of 'e' is not after the hard start of 'd' (01:00:00): out of order"),
    ]


def test_unreachable_hard_start_names_the_segments_and_the_amount():
    errs = errors(HEADER + """\
  - {id: a, title: A, duration: 30m, scene: S}
  - {id: b, title: B, duration: 40m, flex: 35m..45m, scene: S}
  - {id: c, title: C, duration: 10s, scene: S, at: "23:00:00"}
""")
    assert errs == [(13, 52, "hard start 'c' at 23:00:00 cannot be reached: with every flex segment "
                             "at its minimum, a, b still runs 5m past it; cut 5m from those segments")]


def test_hard_start_needing_flex_or_leaving_a_gap_is_a_warning():
    needs_flex = HEADER + """\
  - {id: a, title: A, duration: 30m, scene: S}
  - {id: b, title: B, duration: 32m, flex: 25m..35m, scene: S}
  - {id: c, title: C, duration: 10s, scene: S, at: "23:00:00"}
"""
    assert warnings(needs_flex) == [
        (13, 52, "hard start 'c' at 23:00:00 is reached only by flex: 2m taken from b")]
    gap = HEADER + """\
  - {id: a, title: A, duration: 30m, scene: S}
  - {id: b, title: B, duration: 20m, flex: 15m..25m, scene: S}
  - {id: c, title: C, duration: 10s, scene: S, at: "23:00:00"}
"""
    assert warnings(gap) == [
        (13, 52, "hard start 'c' at 23:00:00 leaves a gap of 5m even with every flex segment "
                 "at its maximum: b fills it")]


def test_bare_time_means_first_occurrence_after_the_start_across_midnight():
    r = rundown("""\
  - {id: a, title: A, duration: 2h, scene: S}
  - {id: b, title: B, duration: 10s, scene: S, at: "00:10:00"}
""")
    assert r.segment("b").at_ms == ms("2024-01-01 00:10:00")


def test_yaml_syntax_error_has_a_position():
    [d] = diagnostics("show:\n  title: [unclosed\nsegments: []\n")
    assert d.severity == "error" and d.message.startswith("YAML syntax:")
    assert (d.line, d.col) == (3, 9)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just text\n", "show: 1\n"])
def test_documents_that_are_not_rundowns(text):
    with pytest.raises(RundownError) as info:
        load_rundown(text, "x.yaml")
    assert info.value.errors
    assert all(str(d).startswith("x.yaml:") for d in info.value.errors)


def test_duplicate_keys_are_errors():
    errs = errors(HEADER + "  - id: a\n    title: A\n    title: B\n    duration: 1m\n    scene: S\n")
    assert errs == [(13, 5, "segment 'a': key 'title' appears twice")]


def test_diagnostic_format_is_file_line_col():
    with pytest.raises(RundownError) as info:
        load(HEADER + "  - id: a\n    title: A\n    duration: 1m\n    scene: S\n    oops: 1\n")
    assert str(info.value.errors[0]) == "t.yaml:15:5: error: segment 'a': unknown key 'oops'"


def test_dst_ambiguous_and_missing_times_in_berlin():
    # 2023-10-29 in Europe/Berlin: 02:00-03:00 happens twice (CEST, then CET)
    text = """\
show:
  title: T
  timezone: Europe/Berlin
  start: 2023-10-29 01:30:00
segments:
  - {id: a, title: A, duration: 30m, scene: S}
  - {id: b, title: B, duration: 30m, scene: S, then: next}
  - {id: c, title: C, duration: 10m, scene: S, at: "02:30:00"}
"""
    loaded = load(text)
    start = loaded.rundown.show.start_ms
    assert loaded.rundown.segment("c").at_ms == start + 3_600_000  # the first (CEST) 02:30
    assert [d.message for d in loaded.warnings] == [
        "segment 'c' at: 02:30:00 happens twice in Europe/Berlin that night; the first (UTC+02:00) is meant"]
    # 03:00 CET is 2h30m of real time after 01:30 CEST: a 2h show leaves a 30m gap
    later = load(text.replace("duration: 30m, scene: S, then", "duration: 90m, scene: S, then")
                 .replace('"02:30:00"', '"03:00:00"'))
    assert later.rundown.segment("c").at_ms == start + 150 * 60_000
    assert "leaves a gap of 30m" in later.warnings[0].message
    # 2023-03-26 02:30 does not exist in Berlin (clocks go forward)
    errs = errors(text.replace("2023-10-29 01:30", "2023-03-26 01:00").replace(
        '"02:30:00"', '"2023-03-26 02:30:00"'))
    assert errs == [(8, 52, "segment 'c' at: 2023-03-26 02:30:00 does not exist in "
                            "Europe/Berlin (clocks go forward)")]


def test_dst_bare_time_after_the_first_occurrence_means_the_second():
    text = """\
show:
  title: T
  timezone: Europe/Berlin
  start: 2023-10-29 02:45:00
segments:
  - {id: a, title: A, duration: 45m, scene: S, then: next}
  - {id: c, title: C, duration: 10m, scene: S, at: "02:30:00"}
"""
    loaded = load(text)  # 02:45 CEST + 45m = 02:30 CET: the second 02:30
    assert loaded.rundown.segment("c").at_ms == loaded.rundown.show.start_ms + 45 * 60_000
    assert "(clocks go back); the first is meant" in loaded.warnings[0].message  # show.start
    assert "the second (UTC+01:00) is meant" in loaded.warnings[1].message


def test_dst_bare_time_in_the_spring_gap_is_an_error_not_the_next_day():
    errs = errors("""\
show:
  title: T
  timezone: Europe/Berlin
  start: 2024-03-31 01:00:00
segments:
  - {id: a, title: A, duration: 30m, scene: S, then: next}
  - {id: c, title: C, duration: 10m, scene: S, at: "02:30:00"}
""")
    assert errs == [(7, 52, "segment 'c' at: 02:30:00 does not exist in Europe/Berlin on "
                            "2024-03-31 (clocks go forward)")]


def test_comma_in_flow_mapping_is_a_warning_even_for_one_word():
    text = HEADER + "  - id: a\n    title: A\n    duration: 1m\n    scene: S\n    cues:\n" \
        "      - {at: 1s, overlay: lower-third, data: {name: Zhu, role: Chief expert, CMA}}\n"
    [(line, _col, message)] = warnings(text)
    assert "'CMA' has no value" in message and line == 16


def test_timing_errors_come_with_the_other_errors():
    errs = errors(HEADER + """\
  - {id: a, title: A, duration: soon, scene: S}
  - {id: b, title: B, duration: 1m, scene: S, at: "23:00:00"}
  - {id: c, title: C, duration: 1m, scene: S, at: "22:30:00"}
""")
    assert [m for _, _, m in errs] == [
        "segment 'a' duration: cannot read duration 'soon': write e.g. 90s, 1m30s, 500ms, 1h or 00:01:30",
        "hard start of 'c' is not after the hard start of 'b' (23:00:00): out of order",
    ]
