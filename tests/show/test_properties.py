"""Properties of the engine over generated shows (hypothesis).

Shows are generated so that every hard start is hit exactly by the plan (its block's
nominal arrival lies within the flex range), which is the situation the properties speak of.
"""

from __future__ import annotations

import itertools

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from control.show import commands as C
from control.show.engine import Refused, advance, apply, next_event_ms
from control.show.model import Flex, Rundown, Segment, ShowInfo
from control.show.plan import static_plan
from control.show.simulate import simulate
from control.show.state import Aired, initial_state

S = 1000
START = 1_704_031_200_000  # 2023-12-31 22:00 Beijing


@st.composite
def shows(draw) -> Rundown:
    n = draw(st.integers(2, 9))
    raw = []
    for i in range(n):
        d = draw(st.integers(5, 600)) * S
        flex = None
        if draw(st.booleans()):
            lo = d - draw(st.integers(0, d // S - 1)) * S
            hi = d + draw(st.integers(0, 600)) * S
            flex = Flex(lo, hi)
        hard = i > 0 and draw(st.integers(0, 3)) == 0
        then = draw(st.sampled_from(["next", "hold"]))
        raw.append((f"s{i}", d, flex, hard, then))
    segments = []
    block: list[Segment] = []
    t = START
    for sid, d, flex, hard, then in raw:
        at = None
        if hard and block:
            nominal = sum(s.duration_ms for s in block)
            lo = sum(s.min_ms for s in block) - nominal
            hi = sum(s.max_ms for s in block) - nominal
            at = t + nominal + draw(st.integers(lo // S, hi // S)) * S
            t = at
            block = []
        seg = Segment(sid, sid.upper(), d, "Scene " + sid, flex=flex, then=then, at_ms=at)  # type: ignore[arg-type]
        block.append(seg)
        segments.append(seg)
    show = ShowInfo("Generated", "Asia/Shanghai", START, safe_scene="Slate")
    return Rundown(show, tuple(segments))


def blocks_ok(r: Rundown) -> bool:
    return all(h.shortfall_ms == 0 for h in static_plan(r).hard_starts)


@settings(max_examples=150, deadline=None)
@given(shows())
def test_with_no_overruns_every_segment_starts_at_its_planned_start(r):
    assume(blocks_ok(r))
    result = simulate(r)
    plan = result.state.plan
    for entry in result.state.asrun:
        assert isinstance(entry, Aired)
        assert entry.start_ms == plan.slot(entry.segment_id).start_ms
    for h in result.report["hard_starts"]:
        assert h["error_s"] == 0 and h["shortfall_s"] == 0


@settings(max_examples=150, deadline=None)
@given(shows(), st.dictionaries(st.sampled_from([f"s{i}" for i in range(9)]),
                                st.integers(-300, 900).map(lambda x: x * S), max_size=3))
def test_the_as_run_is_contiguous_whatever_the_director_does(r, over):
    ids = {s.id for s in r.segments}
    over = {k: v for k, v in over.items() if k in ids}
    rep = simulate(r, over)
    aired = [e for e in rep.state.asrun if isinstance(e, Aired)]
    assert rep.state.ended
    for a, b in itertools.pairwise(aired):
        assert a.end_ms == b.start_ms
    total = sum(e.end_ms - e.start_ms for e in aired)
    assert total == aired[-1].end_ms - aired[0].start_ms
    for h in rep.report["hard_starts"]:  # armed hard starts are always taken on time
        assert h["start"] is None or h["error_s"] == 0


def _block_of(r: Rundown, index: int) -> tuple[int | None, list[Segment]]:
    """The hard start after segment `index` and the segments between them."""
    after = []
    for j in range(index + 1, len(r.segments)):
        seg = r.segments[j]
        if seg.at_ms is not None:
            return j, after
        after.append(seg)
    return None, after


@settings(max_examples=150, deadline=None)
@given(shows(), st.data())
def test_overruns_flex_can_absorb_leave_no_shortfall_and_larger_ones_are_exactly_cut(r, data):
    plan = static_plan(r)
    # a segment with a hard start after it, whose overrun can end before that hard start
    # (so that all of the overrun lands on the content still planned in between)
    choices = []
    for k, seg in enumerate(r.segments):
        h_index, _ = _block_of(r, k)
        if h_index is not None and r.segments[h_index].at_ms > plan.slot(seg.id).end_ms:
            choices.append(k)
    assume(choices)
    k = data.draw(st.sampled_from(choices))
    h_index, between = _block_of(r, k)
    seg, hard = r.segments[k], r.segments[h_index]
    capacity = sum(plan.slot(s.id).duration_ms - s.min_ms for s in between)
    room_before_hard = hard.at_ms - plan.slot(seg.id).end_ms
    over = data.draw(st.integers(1, room_before_hard // S)) * S
    rep = simulate(r, {seg.id: over}).report
    h = next(x for x in rep["hard_starts"] if x["id"] == hard.id)
    assert h["error_s"] == 0
    assert round(h["shortfall_s"] * S) == max(0, over - capacity)


@st.composite
def command_lists(draw):
    ids = [f"s{i}" for i in range(9)] + ["nope"]
    cmd = st.one_of(
        st.builds(C.Take, st.none() | st.sampled_from(ids)),
        st.builds(C.SetNext, st.none() | st.sampled_from(ids)),
        st.builds(C.Hold, st.booleans()),
        st.builds(C.Extend, st.integers(-120, 120).map(lambda x: x * S)),
        st.builds(C.Skip, st.none() | st.sampled_from(ids), st.booleans()),
        st.builds(C.Back),
        st.builds(C.Panic),
        st.builds(C.Arm, st.booleans()),
        st.builds(C.SetMode, st.sampled_from(["live", "rehearsal", "bogus"])),
    )
    return draw(st.lists(st.tuples(st.integers(0, 400_000), cmd), max_size=25))


@settings(max_examples=150, deadline=None)
@given(shows(), command_lists())
def test_any_command_sequence_keeps_the_state_consistent(r, cmds):
    state = initial_state(r)
    now = START - 10 * S
    for gap, cmd in cmds:
        now += gap
        try:
            state = apply(state, cmd, now).state
        except Refused as exc:
            assert str(exc)
        open_entries = [e for e in state.asrun if isinstance(e, Aired) and e.end_ms is None]
        assert len(open_entries) == (1 if state.on_air else 0)
        if state.on_air:
            assert open_entries[0].segment_id == state.on_air
            assert open_entries[0].start_ms == state.since_ms
        starts = [e.start_ms for e in state.asrun if isinstance(e, Aired)]
        assert starts == sorted(starts)
        nxt = next_event_ms(state)
        assert nxt is None or state.clock_ms is None or nxt >= state.clock_ms  # none left behind
    later = advance(state, now + 10**8).state
    assert later.clock_ms == now + 10**8
