"""Swap a reloaded rundown into a running show: the show goes on where it is.

Pure: (state, new rundown, now) -> (state, changes). The live controller (through its one
writer) and journal replay both call `swap_rundown`, so a crash after a reload resumes the
very same state.

What carries over:
- the on-air segment stays on air with its start (so its elapsed time) and the time the
  director added; if its id is gone, the reload is refused: take another segment first.
  If its own timing changed (duration, flex), its target is planned again from its start
  over the new rundown, as a take would; otherwise it keeps the target it went on air with.
  After the end, the last segment aired is still on program: it must stay too;
- the as-run log, mode, arming, panic, hold, producer notes: unchanged;
- the director's next choice and skips: kept for the segments that still exist.
"""

from __future__ import annotations

from dataclasses import replace

from .changes import RundownChanges, diff_rundowns
from .engine import Refused
from .model import Rundown
from .plan import project, static_plan
from .state import Aired, Reloaded, ShowState


def _last_aired(state: ShowState) -> str | None:
    return next((e.segment_id for e in reversed(state.asrun) if isinstance(e, Aired)), None)


def swap_rundown(state: ShowState, rundown: Rundown, now: int
                 ) -> tuple[ShowState, RundownChanges]:
    """The state with `rundown` in place of the running one. Raises Refused when the
    segment on air is not in the new rundown."""
    ids = {seg.id for seg in rundown.segments}
    if state.on_air is not None and state.on_air not in ids:
        raise Refused(f"{state.on_air!r} is on air and the new rundown has no segment "
                      f"{state.on_air!r}: take another segment first, then reload")
    last = _last_aired(state)
    if state.on_air is None and last is not None and last not in ids:
        # after the end, the last segment's scene stays on program: it must not change
        raise Refused(f"{last!r} is still on program (the show has ended) and the new "
                      f"rundown has no segment {last!r}")
    changes = diff_rundowns(state.rundown, rundown)
    skipped = frozenset(s for s in state.skipped if s in ids)
    target = state.target_ms
    if state.on_air is not None and state.since_ms is not None:
        old, new = state.rundown.segment(state.on_air), rundown.segment(state.on_air)
        if (old.duration_ms, old.flex) != (new.duration_ms, new.flex):
            following = [s.id for s in rundown.segments[rundown.index(new.id) + 1:]
                         if s.id not in skipped]
            target = project(rundown, [new.id, *following], state.since_ms).slots[0].duration_ms
    new_state = replace(
        state,
        rundown=rundown,
        plan=static_plan(rundown),
        target_ms=target,
        next_id=state.next_id if state.next_id in ids else None,
        skipped=skipped,
        # what became due through the new timing happens now, not back in time
        clock_ms=now if state.clock_ms is None else max(state.clock_ms, now),
        last_reload=Reloaded(now, changes),
    )
    return new_state, changes
