"""The as-run report producers ask for after the show: planned against actual, per segment.

One row per segment in running order (Ontime #1139's "planned vs actual" export), from the
engine's as-run log, so the report says exactly what the program did: a segment that went
on air counts as aired even if it was skipped before or after; one that was taken twice
reports its first start, its last end and its total time on air. Times are ISO 8601 in the
show's zone (the offset changes across DST), durations in seconds, over/under positive when
long. `asrun_rows(replay(read_journal(path)).state)` makes the report from a journal.
The `iso` column links each segment's full-quality guest recordings (`iso_links`: paths
relative to the state directory, e.g. `iso/ada/talk-1.webm`; docs/guests.md).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from control.guests.iso import IsoStore, Phase
from control.show.durations import seconds
from control.show.localtime import iso, zone
from control.show.state import Aired, ShowState, Skipped

COLUMNS = (
    "id", "title", "status", "planned_start", "actual_start", "actual_end",
    "planned_duration_s", "actual_duration_s", "over_under_s", "skipped_reason", "skipped_by",
    "source", "taken_by", "hard_start", "hard_start_error_s", "iso",
)
# aired | on air (the report was made mid-show) | skipped | not reached
STATUSES = ("aired", "on air", "skipped", "not reached")


def iso_links(root: Path) -> dict[str, list[str]]:
    """Segment id -> its complete guest recordings under ``root`` (STATE_DIR/iso), as paths
    relative to the state directory, in guest and take order."""
    links: dict[str, list[str]] = {}
    for upload, path in sorted(IsoStore(root).files(),
                               key=lambda f: (f[0].guest, f[0].segment, f[0].take)):
        if upload.phase is Phase.COMPLETE:
            links.setdefault(upload.segment, []).append(
                f"{root.name}/{path.relative_to(root).as_posix()}")
    return links


def asrun_rows(state: ShowState, recordings: Mapping[str, Sequence[str]] | None = None
               ) -> list[dict[str, Any]]:
    """The report's rows (keys: COLUMNS). Values are str, float or None, ready for JSON;
    `recordings`: each segment's recordings (`iso_links`), joined by spaces."""
    rundown = state.rundown
    tz = zone(rundown.show.timezone)
    rows = []
    for seg in rundown.segments:
        airings = [e for e in state.asrun if isinstance(e, Aired) and e.segment_id == seg.id]
        skips = [e for e in state.asrun if isinstance(e, Skipped) and e.segment_id == seg.id]
        planned = state.plan.slot(seg.id)
        p_dur = planned.duration_ms if planned else None
        first = airings[0] if airings else None
        skip = skips[-1] if skips and not airings and seg.id in state.skipped else None
        if seg.id == state.on_air:
            status = "on air"
        elif airings:
            status = "aired"
        else:
            status = "skipped" if skip else "not reached"
        closed = [e for e in airings if e.end_ms is not None]
        duration = None
        if airings and len(closed) == len(airings):
            duration = sum(e.end_ms - e.start_ms for e in closed)  # type: ignore[operator]
        rows.append({
            "id": seg.id,
            "title": seg.title,
            "status": status,
            "planned_start": iso(planned.start_ms if planned else None, tz),
            "actual_start": iso(first.start_ms if first else None, tz),
            "actual_end": iso(airings[-1].end_ms if airings else None, tz),
            "planned_duration_s": seconds(p_dur),
            "actual_duration_s": seconds(duration),
            "over_under_s": (seconds(duration - p_dur)
                             if duration is not None and p_dur is not None else None),
            "skipped_reason": skip.reason if skip else None,
            "skipped_by": skip.by if skip else None,
            "source": first.source if first else None,
            "taken_by": first.by if first else None,
            "hard_start": iso(seg.at_ms, tz),
            "hard_start_error_s": (seconds(first.start_ms - seg.at_ms)
                                   if first is not None and seg.at_ms is not None else None),
            "iso": " ".join((recordings or {}).get(seg.id, ())) or None,
        })
    return rows


def _cell(value: Any) -> str:
    """Seconds without float noise (60, 59.5, -0.25); empty for nothing."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def write_csv(rows: list[dict[str, Any]], file: TextIO) -> None:
    """Write the rows as CSV with a header. For Excel, open the file with
    encoding="utf-8-sig" and newline="" (titles may be Chinese)."""
    writer = csv.writer(file)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in COLUMNS])
