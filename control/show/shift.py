"""Rehearsal time: how far to move a rundown so that it starts when the crew wants."""

from __future__ import annotations

from datetime import datetime, timedelta

from .localtime import LocalTimeError, parse_datetime, to_local, zone
from .model import Rundown

_HALF_DAY = timedelta(hours=12)


def start_shift(rundown: Rundown, spec: str, now_ms: int) -> int:
    """Milliseconds to add to every time of `rundown` so it starts at `spec`:
    `now` (the next whole second), `HH:MM[:SS]` (the nearest such local time, within
    twelve hours either way) or a full local `YYYY-MM-DD HH:MM[:SS]`."""
    tz = zone(rundown.show.timezone)
    spec = spec.strip()
    if spec == "now":
        target = -(-now_ms // 1000) * 1000
    elif "-" in spec:
        target, _ = parse_datetime(spec, tz)
    else:
        parts = spec.split(":")
        if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
            raise LocalTimeError(f"--start: expected now, HH:MM[:SS] or a date and time, "
                                 f"got {spec!r}")
        h, m, s = (int(p) for p in [*parts, "0"][:3])
        if h > 23 or m > 59 or s > 59:
            raise LocalTimeError(f"--start: no such time of day {spec!r}")
        here = to_local(now_ms, tz)
        wanted = here.replace(hour=h, minute=m, second=s, microsecond=0)
        if wanted - here > _HALF_DAY:
            wanted -= timedelta(days=1)
        elif here - wanted >= _HALF_DAY:
            wanted += timedelta(days=1)
        target, _ = parse_datetime(datetime.strftime(wanted, "%Y-%m-%d %H:%M:%S"), tz)
    return target - rundown.show.start_ms
