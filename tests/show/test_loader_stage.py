"""The rundown's stage fields: `script` / `script_zh` (the prompter's text, multi-line) and
`warning` / `danger` (the presenter clock's colour thresholds), as `showctl validate` checks
them."""

from __future__ import annotations

import json

from rundowns import HEADER, ROOT, errors, rundown, warnings

from control.show.fields import MAX_SCRIPT, json_schema


def test_a_multi_line_script_in_both_languages_loads() -> None:
    r = rundown("""\
      - id: intro
        title: Intro
        duration: 2m
        scene: S
        warning: 45s
        danger: 10s
        script: |
          Good evening.\t
          Tonight, science.

          Let us begin.
        script_zh: |
          晚上好。
          今晚，科学。
    """)
    seg = r.segments[0]
    assert seg.script == "Good evening.\nTonight, science.\n\nLet us begin."
    assert seg.script_zh == "晚上好。\n今晚，科学。"
    assert (seg.warning_ms, seg.danger_ms) == (45_000, 10_000)


def test_no_script_and_no_thresholds_by_default() -> None:
    seg = rundown("  - {id: a, title: A, duration: 1m, scene: S}\n").segments[0]
    assert (seg.script, seg.script_zh, seg.warning_ms, seg.danger_ms) == (None, None, None, None)


def test_bad_stage_fields_are_errors_at_their_line() -> None:
    found = errors(HEADER + """\
  - id: a
    title: A
    duration: 1m
    scene: S
    script: [not, text]
    warning: soon
  - id: b
    title: B
    duration: 1m
    scene: S
    warning: 10s
    danger: 20s
  - id: c
    title: C
    duration: 1m
    scene: S
    script_zh: ""
""")
    assert (15, 13, "segment 'a' script must be text, not a list") in found
    assert any((line, col) == (16, 14) and "segment 'a' warning" in m for line, col, m in found)
    assert any(line == 22 and "danger (20s left) must come after warning" in m
               for line, _, m in found)
    assert (27, 16, "segment 'c' script_zh is empty") in found


def test_a_script_too_long_is_refused() -> None:
    long = "x" * (MAX_SCRIPT + 1)
    found = errors(HEADER + f"  - {{id: a, title: A, duration: 1m, scene: S, script: {long}}}\n")
    assert any("script is" in m and f"at most {MAX_SCRIPT}" in m for _, _, m in found)


def test_a_threshold_past_the_duration_is_a_warning() -> None:
    found = warnings(HEADER + "  - {id: a, title: A, duration: 1m, scene: S, warning: 2m}\n")
    assert any("warning 2m is not less than its duration" in m for _, _, m in found)


def test_the_shipped_schema_has_the_stage_fields() -> None:
    shipped = json.loads((ROOT / "config" / "rundown.schema.json").read_text("utf-8"))
    assert shipped == json_schema()
    props = shipped["properties"]["segments"]["items"]["properties"]
    assert {"script", "script_zh", "warning", "danger"} <= set(props)
