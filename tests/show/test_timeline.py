"""Live timing view and graphics cues, on hand-computed cases."""

from __future__ import annotations

from rundowns import rundown

from control.show import commands as C
from control.show.desired import cue_boundaries, cue_states, desired
from control.show.engine import advance, apply
from control.show.state import initial_state
from control.show.timeline import timeline

S, M = 1000, 60_000

SHOW = """\
- {id: a, title: A, duration: 10m, scene: S}
- {id: b, title: B, duration: 20m, flex: 15m..25m, scene: S}
- {id: c, title: C, duration: 10m, scene: S, then: next}
- {id: h, title: H, duration: 5m, scene: S, at: "22:40:00", then: next}
- {id: z, title: Z, duration: 5m, scene: S}
"""


def by_id(tl):
    return {s.id: s for s in tl.segments}


def test_before_the_show_everything_is_at_its_planned_time():

    r = rundown(SHOW)
    t0 = r.show.start_ms
    tl = timeline(initial_state(r), t0 - 5 * M)
    segs = by_id(tl)
    assert segs["a"].status == "next" and segs["b"].status == "pending"
    assert [segs[k].expected_start_ms - t0 for k in "abchz"] == [0, 10 * M, 30 * M, 40 * M, 45 * M]
    assert [segs[k].planned_start_ms - t0 for k in "abchz"] == [0, 10 * M, 30 * M, 40 * M, 45 * M]
    assert tl.offset_ms == 0 and tl.over_under_ms == 0
    [h] = tl.hard_starts
    assert (h.id, h.countdown_ms, h.shortfall_ms, h.slack_ms) == ("h", 45 * M, 0, 0)


def test_an_overrunning_held_segment_pushes_the_projection_and_flex_absorbs_it():

    r = rundown(SHOW)
    t0 = r.show.start_ms
    s = advance(initial_state(r), t0).state
    s = apply(s, C.Take(), t0 + 12 * M).state     # a overran by 2m (director held it)
    tl = timeline(s, t0 + 12 * M)
    segs = by_id(tl)
    assert segs["a"].status == "done" and segs["a"].over_under_ms == 2 * M
    b = segs["b"]
    assert b.status == "on-air" and b.remaining_ms == 18 * M  # b was asked for 18m at its take
    assert segs["c"].expected_start_ms == t0 + 30 * M
    assert tl.hard_starts[0].shortfall_ms == 0
    # b runs long: at 33m it counts as max(planned, elapsed) = 21m
    tl = timeline(s, t0 + 33 * M)
    segs = by_id(tl)
    assert segs["b"].remaining_ms == -3 * M and segs["b"].over_under_ms == 1 * M
    assert segs["c"].expected_start_ms == t0 + 33 * M and segs["c"].status == "next"
    h = tl.hard_starts[0]
    assert (h.arrival_ms - t0, h.shortfall_ms, h.countdown_ms) == (43 * M, 3 * M, 7 * M)
    assert tl.offset_ms == 3 * M     # c starts 3m behind its planned start
    assert tl.over_under_ms == 0     # the hard start absorbs it: the show ends on time


def test_the_on_air_segment_before_a_hard_start_shows_the_fill():

    r = rundown(SHOW)
    t0 = r.show.start_ms
    s = advance(initial_state(r), t0).state
    s = apply(s, C.Take("c"), t0 + 20 * M).state      # c will end at 30m; h at 40m
    tl = timeline(s, t0 + 21 * M)
    h = tl.hard_starts[0]
    assert h.shortfall_ms == -10 * M and by_id(tl)["h"].expected_start_ms == t0 + 40 * M


def test_cues_play_update_and_leave_on_time():
    r = rundown("""\
- id: a
  title: A
  duration: 1m
  scene: S
  cues:
    - {at: 5s, overlay: lower-third, for: 8s, data: {name: Zhu}}
    - {at: 10s, overlay: lower-third, action: update, data: {role: CMA}}
    - {at: 20s, overlay: ticker, data: {items: [x]}}
    - {at: 30s, overlay: ticker, action: next}
    - {at: 40s, overlay: ticker, action: stop}
""")
    seg = r.segments[0]
    t0 = 1_000_000
    assert cue_states(seg, t0, t0 + 4 * S) == ()
    [lt] = cue_states(seg, t0, t0 + 11 * S)
    assert (lt.visible, lt.data, lt.since_ms) == (True, {"name": "Zhu", "role": "CMA"}, t0 + 5 * S)
    lt, ticker = cue_states(seg, t0, t0 + 31 * S)
    assert not lt.visible and lt.since_ms == t0 + 13 * S
    assert ticker.visible and ticker.step == 1
    _, ticker = cue_states(seg, t0, t0 + 41 * S)
    assert not ticker.visible
    assert cue_boundaries(seg, t0) == [t0 + x * S for x in (5, 10, 13, 20, 30, 40)]
    s = advance(initial_state(r), r.show.start_ms).state
    [lt] = desired(s, r.show.start_ms + 6 * S).overlays
    assert lt.overlay == "lower-third" and lt.visible
