"""The state machine: commands, scheduled takes, hard starts, resume without bursts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rundowns import rundown

from control.show import commands as C
from control.show.desired import desired
from control.show.engine import Refused, advance, apply, next_event_ms, next_segment
from control.show.model import Rundown
from control.show.state import Aired, ShowState, Skipped, initial_state

S, M = 1000, 60_000

SHOW = """\
- {id: a, title: A, duration: 1m, scene: SA, then: next, show: [Logo], hide: [Mix]}
- {id: b, title: B, duration: 2m, flex: 1m..3m, scene: SB, guests: [zhu], layout: solo}
- {id: c, title: C, duration: 1m, scene: SC, then: next}
- {id: d, title: D, duration: 1m, scene: SD, then: next}
- {id: h, title: H, duration: 1m, scene: SH, at: "22:10:00", then: next}
- {id: z, title: Z, duration: 1m, scene: SZ}
"""


@pytest.fixture
def show() -> Rundown:
    return rundown(SHOW)


def started(r: Rundown, **kw) -> tuple[ShowState, int]:
    t0 = r.show.start_ms
    return advance(initial_state(r, **kw), t0).state, t0


def aired(state: ShowState) -> list[tuple[str, int, int | None, str]]:
    t0 = state.rundown.show.start_ms
    return [(e.segment_id, e.start_ms - t0, None if e.end_ms is None else e.end_ms - t0, e.source)
            for e in state.asrun if isinstance(e, Aired)]


def skipped(state: ShowState) -> list[tuple[str, str]]:
    return [(e.segment_id, e.reason) for e in state.asrun if isinstance(e, Skipped)]


def test_nothing_happens_before_the_start_then_the_first_segment_goes_on_air(show):
    s0 = initial_state(show)
    assert next_event_ms(s0) == show.show.start_ms
    early = advance(s0, show.show.start_ms - 1).state
    assert early.on_air is None
    assert desired(early, show.show.start_ms - 1).program_scene == "Slate"
    s1 = advance(s0, show.show.start_ms + 40).state  # the tick came late; the take did not
    assert (s1.on_air, s1.since_ms) == ("a", show.show.start_ms)
    assert aired(s1) == [("a", 0, None, "show-start")]


def test_disarmed_the_director_starts_the_show(show):
    s0 = initial_state(show, armed=False)
    s = advance(s0, show.show.start_ms + 5 * S).state
    assert s.on_air is None
    s = apply(s, C.Take(by="dir"), show.show.start_ms + 5 * S).state
    assert aired(s) == [("a", 5 * S, None, "director")]


def test_auto_advance_happens_at_the_exact_planned_end(show):
    s, t0 = started(show)
    assert next_event_ms(s) == t0 + M
    s = advance(s, t0 + M + 31).state
    assert aired(s) == [("a", 0, M, "show-start"), ("b", M, None, "auto")]
    assert s.target_ms == 3 * M  # b (flex 1m..3m) stretched: a+b+c+d must reach h at 10m


def test_a_held_segment_stays_on_air_past_its_end(show):
    s, t0 = started(show)
    s = advance(s, t0 + M).state
    s = advance(s, t0 + 10 * M - 1).state  # b is then: hold; h would fire at 10m
    assert s.on_air == "b" and next_event_ms(s) == t0 + 10 * M


def test_double_take_is_refused_with_a_reason_and_changes_nothing(show):
    s, t0 = started(show)
    s = apply(s, C.Take(), t0 + 10 * S).state
    with pytest.raises(Refused, match=r"take refused: 200 ms after the last take \(minimum 500 ms"):
        apply(s, C.Take(), t0 + 10 * S + 200)
    again = apply(s, C.Take(), t0 + 10 * S + 500).state
    assert again.on_air == "c"


def test_a_take_right_after_an_auto_advance_is_refused_too(show):
    s, t0 = started(show)
    with pytest.raises(Refused):
        apply(s, C.Take(), t0 + M + 100)  # a auto-advanced to b at 1m


def test_take_by_id_set_next_and_back(show):
    s, t0 = started(show)
    with pytest.raises(Refused, match="no segment 'nope'"):
        apply(s, C.Take("nope"), t0 + S)
    with pytest.raises(Refused, match="already on air"):
        apply(s, C.Take("a"), t0 + S)
    s = apply(s, C.SetNext("d"), t0 + S).state
    assert next_segment(s).id == "d"
    s = apply(s, C.Take(), t0 + 2 * S).state
    assert s.on_air == "d" and next_segment(s).id == "h"
    s = apply(s, C.Back(), t0 + 3 * S).state
    assert next_segment(s).id == "c"
    s = apply(s, C.Take(source="osc", by="companion"), t0 + 4 * S).state
    assert aired(s)[-1] == ("c", 4 * S, None, "osc")


def test_skip_and_unskip(show):
    s, t0 = started(show)
    s = apply(s, C.Skip(), t0 + S).state  # skips b, the next one
    assert skipped(s) == [("b", "director")] and next_segment(s).id == "c"
    s = apply(s, C.Skip("b", skip=False), t0 + 2 * S).state
    assert next_segment(s).id == "b"
    with pytest.raises(Refused, match="on air"):
        apply(s, C.Skip("a"), t0 + 3 * S)
    s = apply(s, C.Take(), t0 + 4 * S).state
    with pytest.raises(Refused, match="'a' has aired already"):
        apply(s, C.Skip("a"), t0 + 5 * S)


def test_hard_start_cuts_what_is_on_air_and_skips_what_never_aired(show):
    s, t0 = started(show)
    s = advance(s, t0 + M).state                      # b on air (held) at 1m
    s = advance(s, t0 + 10 * M + 250).state            # h fires at 10m, exactly
    assert aired(s) == [("a", 0, M, "show-start"), ("b", M, 10 * M, "auto"),
                        ("h", 10 * M, None, "hard-start")]
    assert skipped(s) == [("c", "hard-start"), ("d", "hard-start")]
    entry = s.asrun[-1]
    assert isinstance(entry, Aired)
    assert entry.shortfall_ms == 2 * M  # c and d, 1m each, never aired
    assert next_segment(s).id == "z"


def test_hard_start_shortfall_is_the_content_cut(show):
    s, t0 = started(show)
    s = advance(s, t0 + M).state
    s = apply(s, C.Take(), t0 + 7 * M).state           # b ran 6m; c on air 7m..8m
    s = advance(s, t0 + 8 * M).state                   # d on air 8m..9m, then fills to 10m
    assert s.on_air == "d" and next_event_ms(s) == t0 + 10 * M
    s = advance(s, t0 + 10 * M).state
    assert aired(s)[-2:] == [("d", 8 * M, 10 * M, "auto"), ("h", 10 * M, None, "hard-start")]
    assert s.asrun[-1].shortfall_ms == -M             # one minute of fill
    assert skipped(s) == []


def test_the_segment_before_a_hard_start_never_auto_advances_into_it(show):
    s, t0 = started(show)
    s = apply(s, C.Take("d"), t0 + 5 * S).state
    s = advance(s, t0 + 5 * S + M + 1).state
    assert s.on_air == "d"  # its planned end passed; it fills until 22:10


def test_take_lead_fires_scheduled_takes_early_but_records_the_target(show):
    s, t0 = started(show, lead_ms=44)
    assert next_event_ms(s) == t0 + M - 44
    s = advance(s, t0 + M - 44).state
    assert s.on_air == "b" and s.since_ms == t0 + M


def test_resume_late_does_not_burst_through_missed_segments(show):
    s, t0 = started(show)
    s = apply(s, C.Take("c"), t0 + 5 * S).state        # c (next) then d (next), then h at 10m
    # the controller was down from 6s to 1m30s: c ended at 1m05, d should be on air now
    s2 = advance(s, t0 + 90 * S)
    assert aired(s2.state) == [("a", 0, 5 * S, "show-start"), ("c", 5 * S, 65 * S, "director"),
                               ("d", 65 * S, None, "auto")]
    assert [e.kind for e in s2.events] == ["take"]
    # down for longer: d's whole slot passed too; it was never on program
    s3 = advance(s, t0 + 10 * M + 30 * S)
    assert aired(s3.state)[-1] == ("h", 10 * M, None, "hard-start")
    assert ("d", "missed") in skipped(s3.state)
    assert any("d was not aired" in n for n in s3.state.notices)
    assert [(e.kind, e.segment_id) for e in s3.events if e.segment_id in ("d", "h")] == [
        ("skip", "d"), ("take", "h")]  # d's take never reached the program: no take event
    # down past h's end as well: only z, where the show is now, goes on air
    s4 = advance(s, t0 + 11 * M + 5 * S)
    assert aired(s4.state)[-1] == ("z", 11 * M, None, "auto")
    assert skipped(s4.state) == [("d", "missed"), ("b", "hard-start"), ("h", "missed")]
    assert next_event_ms(s4.state) is None


def test_a_hard_start_due_with_an_auto_advance_wins_and_skips_the_next_segment():
    r = rundown("""\
- {id: a, title: A, duration: 9m, scene: S, then: next}
- {id: b, title: B, duration: 1m, scene: S, then: next}
- {id: h, title: H, duration: 1m, scene: S, at: "22:10:00"}
""")
    s = advance(initial_state(r), r.show.start_ms).state
    s = apply(s, C.Extend(M), r.show.start_ms + S).state  # a now ends at 10m, with h due
    s = advance(s, r.show.start_ms + 10 * M).state
    assert aired(s) == [("a", 0, 10 * M, "show-start"), ("h", 10 * M, None, "hard-start")]
    assert skipped(s) == [("b", "hard-start")]
    assert s.asrun[-1].shortfall_ms == M


def test_extend_moves_the_end_and_hold_stops_the_auto_advance(show):
    s, t0 = started(show)
    s = apply(s, C.Extend(30 * S), t0 + S).state
    assert next_event_ms(s) == t0 + 90 * S
    s = apply(s, C.Hold(), t0 + 2 * S).state
    assert next_event_ms(s) == t0 + 10 * M  # only the hard start is scheduled now
    s = apply(s, C.Hold(on=False), t0 + 3 * S).state
    assert next_event_ms(s) == t0 + 90 * S


def test_panic_needs_a_safe_scene_is_sticky_and_the_next_take_leaves_it(show):
    s, t0 = started(show)
    s = apply(s, C.Panic(), t0 + S).state
    assert desired(s, t0 + S).program_scene == "Slate" and desired(s, t0 + S).panic
    s = advance(s, t0 + M).state                     # auto-advance keeps panic
    assert s.on_air == "b" and desired(s, t0 + M).program_scene == "Slate"
    s = apply(s, C.Take(), t0 + 2 * M).state
    assert desired(s, t0 + 2 * M).program_scene == "SC"
    bare = initial_state(replace(show, show=replace(show.show, safe_scene=None)))
    with pytest.raises(Refused, match="no safe_scene"):
        apply(bare, C.Panic(), t0)


def test_take_with_nothing_next_ends_the_show_and_keeps_the_last_scene(show):
    s, t0 = started(show)
    s = apply(s, C.Take("z"), t0 + S).state
    s = apply(s, C.Skip("h"), t0 + 2 * S).state
    s = apply(s, C.Take(), t0 + 3 * S).state
    assert s.ended and s.on_air is None
    assert desired(s, t0 + 4 * S).program_scene == "SZ"
    with pytest.raises(Refused, match="nothing left"):
        apply(s, C.Take(), t0 + 5 * S)
    assert next_event_ms(s) is None


def test_mode_and_arming(show):
    s, t0 = started(show)
    s = apply(s, C.SetMode("live"), t0).state
    assert s.mode == "live"
    with pytest.raises(Refused):
        apply(s, C.SetMode("party"), t0)  # type: ignore[arg-type]
    s = apply(s, C.Arm(False), t0).state
    s = advance(s, t0 + M).state               # auto-advance still runs
    s = advance(s, t0 + 11 * M).state          # the hard start does not fire disarmed
    assert s.on_air == "b"


def test_desired_outputs_follow_the_on_air_segment(show):
    s, t0 = started(show)
    out = desired(s, t0)
    assert out.program_scene == "SA" and out.preview_scene == "SB"
    assert out.items == (("SA", "Logo", True), ("SA", "Mix", False))
    assert out.transition is not None and out.transition.name == "Cut"
    s = advance(s, t0 + M).state
    out = desired(s, t0 + M)
    assert out.guests == ("zhu",) and out.layout == "solo"


def test_refusals_leave_the_state_untouched(show):
    s, t0 = started(show)
    for cmd in [C.Take("x"), C.SetNext("x"), C.Skip("x"), C.SetNext("a")]:
        with pytest.raises(Refused):
            apply(s, cmd, t0 + S)
    assert apply(s, C.SetNext(None), t0 + S).state.next_id is None
