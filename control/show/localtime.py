"""Local wall-clock times in the show's zone <-> epoch milliseconds.

The director writes local times; the engine counts real elapsed milliseconds. The two
differ exactly at midnight roll-overs and daylight-saving changes, which is why every
conversion lives here and nowhere else.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .diagnostics import did_you_mean

_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$")
_DATETIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](.+)$")


class LocalTimeError(ValueError):
    """A local time that cannot be read or does not exist in the zone."""


@cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone, or LocalTimeError with a suggestion."""
    try:
        if not name or name != name.strip() or name.startswith("/") or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise LocalTimeError(
            f"unknown timezone {name!r}{did_you_mean(name, _zone_names())}"
        ) from exc


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _clock(text: str) -> dtime:
    m = _CLOCK_RE.match(text.strip())
    if not m:
        raise LocalTimeError(f"cannot read time {text!r}: write HH:MM:SS, e.g. 23:59:50")
    h, mi, s, frac = m.groups()
    try:
        return dtime(int(h), int(mi), int(s or 0), int((frac or "0").ljust(3, "0")) * 1000)
    except ValueError as exc:
        raise LocalTimeError(f"no such time of day {text!r}") from exc


def _to_ms(dt: datetime) -> int:
    return int(dt.replace(microsecond=0).timestamp()) * 1000 + dt.microsecond // 1000


def _candidates(day: date, t: dtime, tz: ZoneInfo) -> list[int]:
    """Every instant at which the wall clock in `tz` reads `day t` (0, 1 or 2 of them)."""
    out = []
    for fold in (0, 1):
        local = datetime.combine(day, t, tzinfo=tz).replace(fold=fold)
        ms = _to_ms(local)
        back = datetime.fromtimestamp(ms // 1000, tz).replace(tzinfo=None)
        if back == datetime.combine(day, t).replace(microsecond=0) and ms not in out:
            out.append(ms)
    return sorted(out)


def parse_datetime(text: str, tz: ZoneInfo) -> tuple[int, str | None]:
    """A full local date and time. Returns (epoch ms, note on ambiguity or None)."""
    m = _DATETIME_RE.match(text.strip())
    if not m:
        raise LocalTimeError(f"cannot read date and time {text!r}: write 2023-12-31 22:00:00")
    y, mo, d, rest = m.groups()
    try:
        day = date(int(y), int(mo), int(d))
    except ValueError as exc:
        raise LocalTimeError(f"no such date {text!r}") from exc
    found = _candidates(day, _clock(rest), tz)
    if not found:
        raise LocalTimeError(f"{text.strip()} does not exist in {tz.key} (clocks go forward)")
    note = None
    if len(found) > 1:
        note = f"{text.strip()} happens twice in {tz.key} (clocks go back); the first is meant"
    return found[0], note


def resolve_time(text: str, tz: ZoneInfo, after_ms: int) -> tuple[int, str | None]:
    """A hard start: a full date-time, or a bare time of day meaning its first occurrence
    at or after `after_ms` (the show's start). Returns (epoch ms, note or None)."""
    if _DATETIME_RE.match(text.strip()):
        return parse_datetime(text, tz)
    t = _clock(text)
    start = to_local(after_ms, tz)
    for offset in range(3):
        day = start.date() + timedelta(days=offset)
        every = _candidates(day, t, tz)
        if not every and datetime.combine(day, t) >= start.replace(tzinfo=None):
            raise LocalTimeError(f"{text.strip()} does not exist in {tz.key} on {day} "
                                 "(clocks go forward)")
        found = [ms for ms in every if ms >= after_ms]
        if found:
            note = None
            if len(every) > 1:
                offset_text = to_local(found[0], tz).strftime("%z")
                offset_text = f"{offset_text[:3]}:{offset_text[3:]}"
                which = "first" if found[0] == every[0] else "second"
                note = (f"{text.strip()} happens twice in {tz.key} that night; the {which} "
                        f"(UTC{offset_text}) is meant")
            return found[0], note
    raise LocalTimeError(f"{text.strip()} does not exist in {tz.key} after the show starts")


def to_local(ms: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz)


def iso(ms: int | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 with the zone's offset at that instant (it changes across DST)."""
    if ms is None:
        return None
    return _iso(ms, tz)


@lru_cache(maxsize=8192)
def _iso(ms: int, tz: ZoneInfo) -> str:
    # the read model formats the same planned times on every push (a few per segment)
    dt = to_local(ms, tz)
    spec = "milliseconds" if ms % 1000 else "seconds"
    return dt.isoformat(timespec=spec)


def clock_text(ms: int, tz: ZoneInfo) -> str:
    """`HH:MM:SS` local, for tables."""
    return to_local(ms, tz).strftime("%H:%M:%S")
