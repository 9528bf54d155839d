"""Flex fitting and projection on hand-computed cases."""

from __future__ import annotations

from rundowns import rundown

from control.show.model import Flex, Segment
from control.show.plan import fit, project, static_plan

M = 60_000


def seg(sid: str, minutes: float, lo: float | None = None, hi: float | None = None) -> Segment:
    flex = Flex(int(lo * M), int(hi * M)) if lo is not None and hi is not None else None
    return Segment(sid, sid, int(minutes * M), "S", flex=flex)


def test_fit_shrinks_in_proportion_to_each_segments_room():
    # rooms 3m and 5m; 2m late -> 45s and 75s
    segs = [seg("a", 10, 7, 12), seg("b", 12), seg("c", 15, 10, 18)]
    assert fit(segs, 37 * M - 2 * M) == [10 * M - 45_000, 12 * M, 15 * M - 75_000]


def test_fit_stretches_in_proportion_and_stops_at_the_maximum():
    segs = [seg("a", 10, 7, 12), seg("c", 15, 10, 18)]  # stretch rooms 2m and 3m
    assert fit(segs, 25 * M + 60_000) == [10 * M + 24_000, 15 * M + 36_000]
    assert fit(segs, 40 * M) == [12 * M, 18 * M]  # capped: 10m short, a fill
    assert fit(segs, 10 * M) == [7 * M, 10 * M]   # floored: 7m over, a cut


def test_fit_hands_out_rounding_remainders_exactly():
    segs = [seg("a", 3, 1, 5), seg("b", 3, 1, 5), seg("c", 3, 1, 5)]
    out = fit(segs, 9 * M - 1)  # 1 ms cannot split three ways
    assert sum(out) == 9 * M - 1 and max(out) - min(out) == 1


def test_fit_without_flex_keeps_durations():
    assert fit([seg("a", 4), seg("b", 6)], 5 * M) == [4 * M, 6 * M]
    assert fit([], 5 * M) == []


R = """\
- {id: a, title: A, duration: 10m, scene: S, then: next}
- {id: b, title: B, duration: 20m, flex: 15m..25m, scene: S}
- {id: c, title: C, duration: 5m, scene: S, at: "22:40:00"}
- {id: d, title: D, duration: 10m, flex: 5m..20m, scene: S}
- {id: e, title: E, duration: 10m, scene: S, at: "23:10:00"}
- {id: f, title: F, duration: 5m, scene: S}
"""


def test_static_plan_fits_each_block_to_its_hard_start():
    r = rundown(R)
    start = r.show.start_ms
    plan = static_plan(r)
    slots = {s.segment_id: (s.start_ms - start, s.duration_ms) for s in plan.slots}
    # block 1: a+b must fill 40m: b stretches 20m -> 30m? capped at 25m: 5m fill
    assert slots["a"] == (0, 10 * M)
    assert slots["b"] == (10 * M, 25 * M)
    assert slots["c"] == (40 * M, 5 * M)
    # block 2: c+d must fill 30m from 22:40: d stretches to 20m (max), 5m fill
    assert slots["d"] == (45 * M, 20 * M)
    assert slots["e"] == (70 * M, 10 * M)
    assert slots["f"] == (80 * M, 5 * M)
    h1, h2 = plan.hard_starts
    assert (h1.segment_id, h1.shortfall_ms, h1.slack_ms) == ("c", -5 * M, 10 * M)
    assert (h2.segment_id, h2.shortfall_ms, h2.slack_ms) == ("e", -5 * M, 15 * M)
    assert h1.flexed == ("b",) and h2.flexed == ("d",)
    assert plan.end_ms == start + 85 * M


def test_projection_from_a_late_cursor_shrinks_then_cuts():
    r = rundown(R)
    start = r.show.start_ms
    # 20m late into b: b can give 5m, so 15m of content will be cut at 22:40
    p = project(r, ["b", "c", "d", "e", "f"], start + 30 * M)
    assert p.slot("b") is not None and p.slot("b").duration_ms == 15 * M
    h = p.hard_starts[0]
    assert (h.target_ms - start, h.arrival_ms - start, h.shortfall_ms) == (40 * M, 45 * M, 5 * M)
    assert h.min_arrival_ms == h.arrival_ms and h.start_ms == h.target_ms  # armed: on time


def test_disarmed_hard_start_starts_when_the_show_arrives():
    r = rundown(R)
    start = r.show.start_ms
    p = project(r, ["b", "c"], start + 30 * M, armed=False)
    assert p.slot("c").start_ms - start == 45 * M  # late, not cut
    p = project(r, ["b", "c"], start, armed=False)
    assert p.slot("c").start_ms - start == 40 * M  # early: waits for its time (fill)


def test_first_segment_starts_at_the_cursor_even_with_a_hard_start():
    r = rundown(R)
    p = project(r, ["c", "d"], r.show.start_ms + 41 * M)
    assert p.slot("c").start_ms == r.show.start_ms + 41 * M
    p = project(r, ["c", "d"], r.show.start_ms, starts_now=False)
    assert p.slot("c").start_ms == r.show.start_ms + 40 * M
