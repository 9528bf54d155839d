"""The overlay board, pure: revisions, deltas, snapshots, the cues' desired state diffed,
the director's verbs; and the template schemas (our checker against jsonschema's)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from rundowns import ROOT

from control.overlays import Board, Catalog, OverlayError, check_cue_data
from control.overlays.cues import up_next
from control.overlays.schema import check_schema, shift_instants, validate
from control.show.desired import OverlayState, desired
from control.show.loader import load_rundown
from control.show.state import initial_state

CATALOG = Catalog()
LT = {"name": "Zhu Dingzhen", "name_zh": "朱定真", "role": "Chief expert, CMA"}


def board() -> Board:
    return Board(CATALOG)


def test_every_change_bumps_one_global_revision_and_says_which_it_follows() -> None:
    b = board()
    d1 = b.play("lower-third", LT, 1000)
    d2 = b.play("logo-bug", {}, 1001)
    d3 = b.stop("lower-third", 1002)
    revs = [(d["prev"], d["rev"]) for d in d1 + d2 + d3]
    assert revs == [(0, 1), (1, 2), (2, 3)]
    assert d3[0] == {"type": "delta", "rev": 3, "prev": 2, "bus": "program",
                     "graphic": "lower-third", "server_ms": 1002,
                     "state": {"visible": False, "data": LT, "step": 0, "since_ms": 1002,
                               "rev": 3}}
    snap = b.snapshot(2000)
    assert snap["rev"] == 3 and snap["server_ms"] == 2000
    assert snap["program"]["logo-bug"]["visible"] is True
    assert snap["program"]["lower-third"]["visible"] is False
    assert snap["preview"] == {}


def test_a_page_that_applies_deltas_in_order_ends_where_the_snapshot_is() -> None:
    b = board()
    page = b.snapshot()
    for deltas in (b.play("lower-third", LT, 1), b.update("lower-third", {"role": "x"}, 2),
                   b.play("ticker", {"items": ["a"]}, 3), b.stop("lower-third", 4),
                   b.set_delay(2000, 5)):
        for d in deltas:
            assert d["prev"] == page["rev"], "no gap"
            page["rev"] = d["rev"]
            if d["type"] == "settings":
                page["settings"] = d["settings"]
            else:
                page[d["bus"]][d["graphic"]] = d["state"]
    assert page == b.snapshot()


def test_nothing_changed_is_no_revision() -> None:
    b = board()
    b.play("lower-third", LT, 1)
    assert b.stop("logo-bug", 2) == []          # not visible: stopping changes nothing
    assert b.update("lower-third", {"name": "Zhu Dingzhen"}, 3) == []
    assert b.set_delay(0, 4) == []
    assert b.rev == 1


def test_update_merges_and_null_removes_a_field() -> None:
    b = board()
    b.play("lower-third", LT, 1)
    b.update("lower-third", {"role": None, "role_zh": "首席"}, 2)
    g = b.graphic("lower-third")
    assert g.data == {"name": "Zhu Dingzhen", "name_zh": "朱定真", "role_zh": "首席"}
    assert g.visible and g.since_ms == 1  # an update does not replay


@pytest.mark.parametrize(("verb", "args", "status", "code"), [
    ("play", ("no-such", {}), 404, "unknown_template"),
    ("play", ("lower-third", {"nmae": "x"}), 422, "invalid_data"),
    ("play", ("lower-third", {"name": "x" * 61}), 422, "invalid_data"),
    ("play", ("lower-third", {"name": 42}), 422, "invalid_data"),
    ("play", ("countdown", {"target": "midnight"}), 422, "invalid_data"),
    ("play", ("ticker", {"items": ["ok", "x" * 161]}), 422, "invalid_data"),
    ("play", ("fact-card", {"title": "t", "image": "javascript:alert(1)"}), 422, "invalid_data"),
    ("update", ("lower-third", {}), 400, "bad_field"),
    ("update", ("lower-third", {"role": "no name yet"}), 422, "invalid_data"),
])
def test_bad_data_is_refused_with_a_reason_and_changes_nothing(verb, args, status, code) -> None:
    b = board()
    with pytest.raises(OverlayError) as err:
        getattr(b, verb)(*args, 1)
    assert (err.value.status, err.value.code) == (status, code)
    assert err.value.reason
    assert b.rev == 0 and b.snapshot()["program"] == {}


def test_the_reasons_name_the_field() -> None:
    b = board()
    with pytest.raises(OverlayError) as err:
        b.play("lower-third", {"name": "x" * 61, "nmae": "y"}, 1)
    assert err.value.errors == ["name: is 61 characters long; at most 60",
                                "nmae: unknown field (fields: name, name_zh, role, role_zh)"]


def test_html_in_a_name_is_just_text_to_the_board() -> None:
    b = board()
    name = "<img src=x onerror=alert(1)>"
    b.play("lower-third", {"name": name}, 1)
    assert b.graphic("lower-third").data["name"] == name


def test_next_steps_through_the_template_and_no_further() -> None:
    b = board()
    with pytest.raises(OverlayError) as err:
        b.next("fact-card", 1)
    assert err.value.code == "not_playing"
    b.play("fact-card", {"title": "Plants", "fact": "x", "fact_zh": "植物"}, 1)
    assert b.next("fact-card", 2)[0]["state"]["step"] == 1
    with pytest.raises(OverlayError) as err:
        b.next("fact-card", 3)
    assert err.value.code == "last_step"
    b.play("lower-third", LT, 1)
    with pytest.raises(OverlayError) as err:
        b.next("lower-third", 4)
    assert err.value.code == "last_step"  # one step only


def test_preview_then_play_takes_the_preview_to_program() -> None:
    b = board()
    b.play("lower-third", {"name": "On air"}, 1)
    d = b.preview("lower-third", {"name": "Next guest"}, 2)
    assert d[0]["bus"] == "preview"
    assert b.graphic("lower-third").data == {"name": "On air"}  # program untouched
    b.play("lower-third", None, 3)
    assert b.graphic("lower-third").data == {"name": "Next guest"}
    assert b.graphic("lower-third").since_ms == 3
    b.stop("lower-third", 4, "preview")
    assert not b.graphic("lower-third", "preview").visible
    assert b.graphic("lower-third").visible


def test_the_cues_desired_state_is_diffed() -> None:
    b = board()
    lt = OverlayState("lower-third", True, dict(LT), 0, 5000)
    logo = OverlayState("logo-bug", True, {}, 0, 1000)
    assert [d["graphic"] for d in b.want([logo, lt], 5000)] == ["logo-bug", "lower-third"]
    assert b.want([logo, lt], 5100) == []       # the heartbeat: nothing changed, nothing sent
    # the lower third's `for` ends: only it changes
    out = b.want([logo, OverlayState("lower-third", False, dict(LT), 0, 13000)], 13000)
    assert [(d["graphic"], d["state"]["visible"]) for d in out] == [("lower-third", False)]
    # the segment goes off air: what the cues had visible goes out
    out = b.want([], 20000)
    assert [(d["graphic"], d["state"]["visible"], d["state"]["since_ms"]) for d in out] == [
        ("logo-bug", False, 20000)]


def test_a_graphic_stopped_by_hand_stays_stopped_until_its_cues_change() -> None:
    b = board()
    logo = OverlayState("logo-bug", True, {}, 0, 1000)
    b.want([logo], 1000)
    b.stop("logo-bug", 2000)
    assert b.want([logo], 3000) == []
    assert not b.graphic("logo-bug").visible
    again = OverlayState("logo-bug", True, {}, 0, 4000)  # a new cue plays it
    assert b.want([again], 4000)[0]["state"]["visible"] is True


def test_the_runner_state_drives_the_board_through_desired() -> None:
    rundown = load_rundown((ROOT / "rundown" / "nye-of-science-2023.yaml").read_text("utf-8"),
                           "nye.yaml").rundown
    start = rundown.show.start_ms
    state = replace(initial_state(rundown), on_air="opening", since_ms=start)
    b = board()
    at = {cue.overlay: cue.at_ms for cue in rundown.segment("opening").cues}
    assert b.want(desired(state, start + 1000).overlays, start + 1000) == []
    out = b.want(desired(state, start + at["lower-third"]).overlays, start + at["lower-third"])
    assert [d["graphic"] for d in out] == ["logo-bug", "lower-third"]
    assert b.graphic("lower-third").since_ms == start + at["lower-third"]
    assert b.graphic("lower-third").data["name_zh"] == "主持人"


def test_a_rehearsal_shift_moves_the_countdown_target() -> None:
    b = board()
    cd = OverlayState("countdown", True, {"target": "2024-01-01T00:00:00+08:00"}, 0, 1)
    b.want([cd], 1, shift_ms=-3_600_000)
    assert b.graphic("countdown").data["target"] == "2023-12-31T23:00:00.000+08:00"
    schema = CATALOG.schema("countdown")
    assert shift_instants(schema, {"target": "nonsense"}, 5) == {"target": "nonsense"}


def test_up_next_without_data_shows_the_rundowns_next_segment() -> None:
    rundown = load_rundown((ROOT / "rundown" / "nye-of-science-2023.yaml").read_text("utf-8"),
                           "nye.yaml").rundown
    state = replace(initial_state(rundown), on_air="partners", since_ms=rundown.show.start_ms)
    data = up_next(state)
    assert data == {"title": "New Year weather with Zhu Dingzhen", "title_zh": "朱定真谈跨年夜天气",
                    "guest": "Zhu Dingzhen", "guest_zh": "朱定真"}
    assert CATALOG.check("up-next", data) == []
    b = board()
    b.want([OverlayState("up-next", True, {}, 0, 5)], 5, defaults={"up-next": data})
    assert b.graphic("up-next").data["title"] == data["title"]
    b.want([OverlayState("up-next", True, {"title": "Other"}, 0, 5)], 6,
           defaults={"up-next": data})
    assert b.graphic("up-next").data["title"] == "Other"  # the cue's own data wins


def test_cue_data_that_does_not_fit_plays_and_is_reported_once() -> None:
    b = board()
    bad = OverlayState("lower-third", True, {"nmae": "typo"}, 0, 5)
    b.want([bad], 5)
    b.want([OverlayState("lower-third", True, {"nmae": "typo"}, 0, 6)], 6)
    assert b.graphic("lower-third").visible
    assert len(b.warnings) == 1 and "nmae: unknown field" in b.warnings[0]


def test_every_cue_of_the_real_rundown_fits_its_template() -> None:
    for path in sorted((ROOT / "rundown").glob("*.yaml")):
        rundown = load_rundown(path.read_text("utf-8"), str(path)).rundown
        for seg in rundown.segments:
            for cue in seg.cues:
                problems = check_cue_data(cue.overlay, cue.data, cue.action)
                assert problems == [], f"{path.name} {seg.id} {cue.overlay}: {problems}"


def test_check_cue_data_names_the_problem() -> None:
    assert check_cue_data("lower-third", {"name": "Zhu"}) == []
    assert check_cue_data("lower-thrid", {}) == [
        "no overlay template 'lower-thrid' (templates: countdown, fact-card, logo-bug, "
        "lower-third, tally, ticker, up-next)"]
    assert check_cue_data("countdown", {"target": "2024-01-01T00:00:00"}) == [
        "target: must be a date and time with a UTC offset, e.g. 2024-01-01T00:00:00+08:00"]
    assert check_cue_data("lower-third", {"role": "x"}, "update") == []
    assert check_cue_data("lower-third", {"role": "x"}) == ["name: is required"]
    assert check_cue_data("up-next", {}) == []  # the rundown fills it in
    assert check_cue_data("up-next", {"title": 5}) == ["title: must be string, not int"]


SAMPLES = [
    {}, {"name": "Zhu"}, {"name": ""}, {"name": "x" * 60}, {"name": "x" * 61}, {"name": None},
    {"name": 1}, {"name": "a", "extra": 1}, {"items": []}, {"items": ["a"] * 21},
    {"items": ["a", 2]}, {"items": "a"}, {"title": "t", "image": "https://example.org/a.png"},
    {"title": "t", "image": "//evil.example/x"}, {"title": "t", "image": "/img/a b.png"},
    {"speed": 10, "items": ["a"]}, {"speed": 100.5, "items": ["a"]}, {"speed": True, "items": ["a"]},
    {"name": "朱定真" * 7}, {"title": "x" * 101}, {"label": "ON AIR"},
]


@pytest.mark.parametrize("name", CATALOG.names())
def test_our_checker_agrees_with_jsonschema(name: str) -> None:
    schema = CATALOG.schema(name)
    assert check_schema(schema) == []
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for sample in SAMPLES:
        ours = validate(schema, sample)
        theirs = [e.message for e in validator.iter_errors(sample)]
        assert bool(ours) == bool(theirs), f"{name} {sample}: ours {ours}, jsonschema {theirs}"


def test_a_schema_that_asks_for_more_than_we_check_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.html").write_text("<!doctype html>", "utf-8")
    (tmp_path / "x.schema.json").write_text(json.dumps(
        {"type": "object", "properties": {"a": {"type": "string", "maxLength": 3,
                                                "oneOf": []}}}), "utf-8")
    with pytest.raises(ValueError, match="unsupported keyword 'oneOf'"):
        Catalog(tmp_path)
    (tmp_path / "x.schema.json").write_text(json.dumps(
        {"type": "object", "properties": {"a": {"type": "string"}}}), "utf-8")
    with pytest.raises(ValueError, match="needs a maxLength"):
        Catalog(tmp_path)
