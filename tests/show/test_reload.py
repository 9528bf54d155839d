"""Reloading the rundown mid-show (pure): what changed, and the show going on where it is.
And the producer's notes, which live in the same state."""

from __future__ import annotations

import pytest
from rundowns import HEADER, load, rundown

from control.show import commands as C
from control.show.changes import Retimed, RundownChanges, diff_rundowns
from control.show.desired import desired
from control.show.engine import Refused, advance, apply
from control.show.reload import swap_rundown
from control.show.state import Aired, initial_state
from control.show.view import show_view

S, M = 1000, 60_000

SHOW = """\
- {id: a, title: A, duration: 1m, scene: SA, then: next}
- {id: b, title: B, duration: 2m, flex: 1m..3m, scene: SB}
- {id: c, title: C, duration: 1m, scene: SC, then: next}
- {id: d, title: D, duration: 1m, scene: SD, then: next}
- {id: h, title: H, duration: 1m, scene: SH, at: "22:10:00", then: next}
- {id: z, title: Z, duration: 1m, scene: SZ}
"""


def edited(*pairs: tuple[str, str]) -> str:
    text = SHOW
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text


# -- the diff ---------------------------------------------------------------------------------

def test_the_same_rundown_has_no_changes() -> None:
    changes = diff_rundowns(rundown(SHOW), rundown(SHOW))
    assert changes == RundownChanges() and changes.empty
    assert changes.to_json() == {"added": [], "removed": [], "retimed": [], "changed": [],
                                 "moved": [], "show": [], "guests": False}


def test_added_removed_retimed_changed() -> None:
    new = edited(
        ("- {id: c, title: C, duration: 1m, scene: SC, then: next}\n", ""),      # removed
        ("{id: d, title: D, duration: 1m,", "{id: d, title: D, duration: 90s,"),  # retimed
        ("{id: a, title: A, duration: 1m, scene: SA,", "{id: a, title: A2, duration: 1m, scene: SA,"),
        ("scene: SZ}", "scene: SZ2}\n- {id: encore, title: E, duration: 1m, scene: SE}"),
    )
    changes = diff_rundowns(rundown(SHOW), rundown(new))
    assert changes.added == ("encore",)
    assert changes.removed == ("c",)
    assert changes.retimed == (Retimed("d", 60 * S, 90 * S),)
    assert changes.changed == ("a", "z")
    assert changes.moved == ()
    assert changes.to_json()["retimed"] == [{"id": "d", "from_s": 60.0, "to_s": 90.0}]


def test_a_segment_retimed_and_rescened_is_in_both() -> None:
    new = edited(("{id: d, title: D, duration: 1m, scene: SD,", "{id: d, title: D, duration: 2m, scene: SX,"))
    changes = diff_rundowns(rundown(SHOW), rundown(new))
    assert [r.segment_id for r in changes.retimed] == ["d"] and changes.changed == ("d",)


@pytest.mark.parametrize(("change", "what"), [
    (("scene: SB}", "scene: SB, notes: wrap early}"), "notes"),
    (("flex: 1m..3m", "flex: 1m..4m"), "flex"),
    (('at: "22:10:00"', 'at: "22:11:00"'), "hard start"),
    (("scene: SB}", "scene: SB, show: [Logo]}"), "items"),
    (("scene: SB}", "scene: SB, guests: [zhu]}"), "guests"),
])
def test_every_other_difference_is_changed(change: tuple[str, str], what: str) -> None:
    changes = diff_rundowns(rundown(SHOW), rundown(edited(change)))
    assert len(changes.changed) == 1, what
    assert changes.retimed == () and changes.added == () and changes.removed == ()


def test_moved_is_the_fewest_segments_that_changed_place() -> None:
    lines = SHOW.splitlines(keepends=True)
    a, b, c, d, h, z = lines
    changes = diff_rundowns(rundown(SHOW), rundown("".join([b, c, d, a, h, z])))
    assert changes.moved == ("a",)  # not b, c and d, which only moved up by one
    changes = diff_rundowns(rundown(SHOW), rundown("".join([a, c, b, d, h, z])))
    assert len(changes.moved) == 1


def test_header_and_guest_changes_are_named() -> None:
    old = rundown(SHOW)
    new = load(HEADER.replace("safe_scene: Slate", "safe_scene: Bars").replace(
        "name: Zhu", "name: Zhu Jin") + SHOW).rundown
    changes = diff_rundowns(old, new)
    assert changes.show == ("safe_scene",) and changes.guests
    assert changes.to_json()["show"] == ["safe_scene"]


# -- swapping it in ---------------------------------------------------------------------------

def on_air_b():
    r = rundown(SHOW)
    t0 = r.show.start_ms
    state = advance(initial_state(r), t0).state
    state = advance(state, t0 + 60 * S).state            # a ends by itself: b on air (hold)
    assert state.on_air == "b" and state.since_ms == t0 + 60 * S
    return state, t0


def test_the_on_air_segment_keeps_its_start_and_elapsed_time() -> None:
    state, t0 = on_air_b()
    state = apply(state, C.Extend(30 * S), t0 + 90 * S).state
    now = t0 + 100 * S
    new = rundown(edited(("{id: c, title: C,", "{id: c, title: C2,")))
    swapped, changes = swap_rundown(state, new, now)
    assert changes.changed == ("c",)
    assert (swapped.on_air, swapped.since_ms, swapped.target_ms, swapped.extra_ms) == (
        "b", state.since_ms, state.target_ms, 30 * S)
    assert swapped.asrun == state.asrun and swapped.rundown is new
    assert swapped.last_reload is not None and swapped.last_reload.at_ms == now
    view = show_view(swapped, now)
    assert view["on_air"]["id"] == "b" and view["on_air"]["elapsed_s"] == 40.0
    assert view["show"]["last_reload"]["changes"]["changed"] == ["c"]
    assert view["show"]["last_reload"]["at_ms"] == now
    assert next(s for s in view["segments"] if s["id"] == "c")["title"] == "C2"


def test_retiming_the_on_air_segment_plans_it_again_from_its_start() -> None:
    state, t0 = on_air_b()
    new = rundown(edited(("{id: b, title: B, duration: 2m, flex: 1m..3m,",
                          "{id: b, title: B, duration: 4m, flex: 1m..5m,")))
    swapped, changes = swap_rundown(state, new, t0 + 70 * S)
    assert changes.retimed == (Retimed("b", 2 * M, 4 * M),)
    # flex is fitted to the hard start at 10:00 as a take would: b gives back what it must
    assert swapped.since_ms == state.since_ms and swapped.target_ms != state.target_ms
    taken = advance(advance(initial_state(new), t0).state, state.since_ms).state
    assert taken.on_air == "b" and taken.since_ms == state.since_ms
    assert swapped.target_ms == taken.target_ms


def test_a_shorter_on_air_segment_ends_now_not_back_in_time() -> None:
    r = rundown(SHOW)
    t0 = r.show.start_ms
    state = advance(initial_state(r), t0).state            # a on air, runs out at 1:00
    now = t0 + 50 * S
    new = rundown(edited(("{id: a, title: A, duration: 1m,", "{id: a, title: A, duration: 30s,")))
    swapped, _ = swap_rundown(advance(state, now).state, new, now)
    after = advance(swapped, now + 10)
    assert after.state.on_air == "b"
    take = next(e for e in after.state.asrun if isinstance(e, Aired) and e.segment_id == "b")
    assert take.start_ms == now  # due at 0:30 by the new timing: taken at the reload's time


def test_removing_the_on_air_segment_is_refused() -> None:
    state, t0 = on_air_b()
    new = rundown(edited(("- {id: b, title: B, duration: 2m, flex: 1m..3m, scene: SB}\n", "")))
    with pytest.raises(Refused, match=r"'b' is on air .* take another segment first"):
        swap_rundown(state, new, t0 + 70 * S)


def test_removed_segments_leave_next_and_skips() -> None:
    state, t0 = on_air_b()
    state = apply(state, C.SetNext("d"), t0 + 61 * S).state
    state = apply(state, C.Skip("c"), t0 + 62 * S).state
    new = rundown(edited(("- {id: d, title: D, duration: 1m, scene: SD, then: next}\n", ""),
                         ("- {id: c, title: C, duration: 1m, scene: SC, then: next}\n", "")))
    swapped, changes = swap_rundown(state, new, t0 + 70 * S)
    assert changes.removed == ("c", "d")
    assert swapped.next_id is None and swapped.skipped == frozenset()
    assert desired(swapped, t0 + 70 * S).preview_scene == "SH"


def test_after_the_end_the_last_segment_must_stay() -> None:
    r = rundown(SHOW)
    state = apply(initial_state(r), C.Take("z"), r.show.start_ms - 2 * M).state
    state = apply(state, C.Take(), r.show.start_ms - M).state
    assert state.ended
    new = rundown(edited(("- {id: z, title: Z, duration: 1m, scene: SZ}", "")))
    with pytest.raises(Refused, match="'z' is still on program"):
        swap_rundown(state, new, r.show.start_ms + 2 * M)


def test_before_the_show_anything_may_change() -> None:
    r = rundown(SHOW)
    new = rundown(edited(("- {id: a, title: A, duration: 1m, scene: SA, then: next}\n", "")))
    swapped, changes = swap_rundown(initial_state(r), new, r.show.start_ms - M)
    assert changes.removed == ("a",)
    assert advance(swapped, r.show.start_ms).state.on_air == "b"


# -- producer notes ---------------------------------------------------------------------------

def test_a_note_is_kept_per_segment_and_empty_clears_it() -> None:
    r = rundown(SHOW)
    now = r.show.start_ms - M
    state = initial_state(r)
    step = apply(state, C.SetNote("c", "the astronomer is late: 30 s", by="producer"), now)
    assert [(e.kind, e.segment_id, e.by, e.detail) for e in step.events] == [
        ("note", "c", "producer", "the astronomer is late: 30 s")]
    state = apply(step.state, C.SetNote("d", "科学跨年夜"), now).state
    state = apply(state, C.SetNote("c", "on time after all"), now).state
    view = show_view(state, now)
    notes = {s["id"]: s["producer_note"] for s in view["segments"]}
    assert notes == {"a": None, "b": None, "c": "on time after all", "d": "科学跨年夜",
                     "h": None, "z": None}
    for blank in ("", "  \n"):
        cleared = apply(state, C.SetNote("c", blank), now)
        assert cleared.state.producer_note("c") is None
        assert cleared.events[0].detail is None
    assert view["segments"][0]["notes"] is None  # the rundown's own notes stay apart


def test_notes_are_refused_for_unknown_segments_and_long_texts() -> None:
    state = initial_state(rundown(SHOW))
    with pytest.raises(Refused, match="no segment 'nope'"):
        apply(state, C.SetNote("nope", "x"), 0)
    with pytest.raises(Refused, match="at most 2000"):
        apply(state, C.SetNote("a", "x" * 2001), 0)
    assert apply(state, C.SetNote("a", "x" * 2000), 0).state.producer_note("a") == "x" * 2000


def test_notes_survive_a_reload() -> None:
    state, t0 = on_air_b()
    state = apply(state, C.SetNote("c", "keep"), t0 + 61 * S).state
    swapped, _ = swap_rundown(state, rundown(edited(("{id: c, title: C,", "{id: c, title: C3,"))),
                              t0 + 62 * S)
    assert swapped.producer_note("c") == "keep"


def test_the_note_command_round_trips_as_json() -> None:
    cmd = C.SetNote("c", "科" * 2000, by="producer")
    assert C.from_json(C.to_json(cmd)) == cmd
    with pytest.raises(C.BadCommand, match="2001 characters long; at most 2000"):
        C.from_json({"kind": "note", "segment_id": "c", "text": "x" * 2001})
    with pytest.raises(C.BadCommand, match="'text'"):
        C.from_json({"kind": "note", "segment_id": "c", "text": None})
