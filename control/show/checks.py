"""Checks on a whole rundown that need time: hard starts in order, in range, reachable."""

from __future__ import annotations

from .diagnostics import Collector
from .durations import format_duration as fd
from .localtime import clock_text, zone
from .model import Rundown
from .plan import static_plan


def check_rundown(rundown: Rundown, out: Collector, complete: bool = True) -> None:
    """Append every timing error and warning of `rundown` to `out`. An incomplete rundown
    (some segments did not load) gets only the checks that do not add up durations."""
    show = rundown.show
    tz = zone(show.timezone)
    previous = None
    ordered = True
    for seg in rundown.segments:
        if seg.at_ms is None:
            continue
        where = seg.pos("at")
        if seg.at_ms < show.start_ms:
            out.error(where, f"hard start of {seg.id!r} at {clock_text(seg.at_ms, tz)} is "
                      f"before the show starts ({clock_text(show.start_ms, tz)})")
            ordered = False
        if show.end_ms is not None and seg.at_ms >= show.end_ms:
            out.error(where, f"hard start of {seg.id!r} at {clock_text(seg.at_ms, tz)} is "
                      f"not before the show's end ({clock_text(show.end_ms, tz)})")
            ordered = False
        if previous is not None and previous.at_ms is not None and seg.at_ms <= previous.at_ms:
            out.error(where, f"hard start of {seg.id!r} is not after the hard start of "
                      f"{previous.id!r} ({clock_text(previous.at_ms, tz)}): out of order")
            ordered = False
        previous = seg
    if not ordered or not complete:
        return  # reachability means nothing until the order is right and all segments load
    plan = static_plan(rundown)
    for hs in plan.hard_starts:
        seg = rundown.segment(hs.segment_id)
        where = seg.pos("at")
        block = _block_before(rundown, seg.id)
        at = clock_text(hs.target_ms, tz)
        if hs.min_arrival_ms > hs.target_ms:
            late = hs.min_arrival_ms - hs.target_ms
            out.error(where, f"hard start {seg.id!r} at {at} cannot be reached: with every flex "
                      f"segment at its minimum, {', '.join(block) or 'the show'} still runs "
                      f"{fd(late)} past it; cut {fd(late)} from those segments")
        elif hs.nominal_arrival_ms > hs.target_ms:
            over = hs.nominal_arrival_ms - hs.target_ms
            out.warning(where, f"hard start {seg.id!r} at {at} is reached only by flex: "
                        f"{fd(over)} taken from {', '.join(hs.flexed)}")
        elif hs.max_arrival_ms < hs.target_ms:
            gap = hs.target_ms - hs.max_arrival_ms
            filler = block[-1] if block else "nothing (the show is not on air yet)"
            out.warning(where, f"hard start {seg.id!r} at {at} leaves a gap of {fd(gap)} even "
                        f"with every flex segment at its maximum: {filler} fills it")
    end = plan.end_ms
    if show.end_ms is not None and end is not None and end > show.end_ms:
        out.warning(show.pos("end"), f"planned content ends at {clock_text(end, tz)}, "
                    f"{fd(end - show.end_ms)} past the show's end")
    for seg in rundown.segments:
        if seg.layout == "solo" and len(seg.guests) > 1:
            out.warning(seg.pos("layout"), f"segment {seg.id!r}: layout solo shows one guest, "
                        f"but {len(seg.guests)} are listed")


def _block_before(rundown: Rundown, hard_start_id: str) -> list[str]:
    """Ids of the segments between the previous hard start (or the top) and this one."""
    ids: list[str] = []
    for seg in rundown.segments:
        if seg.id == hard_start_id:
            return ids
        if seg.at_ms is not None:
            ids = []
        ids.append(seg.id)
    return ids
