"""Durations and clock times as the director writes them, and back.

All time inside the core is integer milliseconds: exact sums (a hard start is hit to the
millisecond, not to a float rounding) and cheap comparisons.
"""

from __future__ import annotations

import re
from fractions import Fraction

MS_PER_S = 1000
_UNIT_MS = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_UNITS_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|ms|m|s))+$")
_UNIT_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_CLOCK_RE = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)(?:\.(\d{1,3}))?$")
_ORDER = ("h", "m", "s", "ms")


class DurationError(ValueError):
    """A duration string that cannot be read; the message says what is accepted."""


def parse_duration(text: str) -> int:
    """Parse `90s`, `1m30s`, `500ms`, `1.5s`, `00:04:00`, `1h` into milliseconds.

    A bare number is refused on purpose: `90` could mean seconds or minutes, and a wrong
    guess on air is worse than an error while editing.
    """
    s = text.strip().replace(" ", "")
    if not s:
        raise DurationError("empty duration")
    clock = _CLOCK_RE.match(s)
    if clock:
        h, m, sec, frac = clock.groups()
        ms = int((frac or "0").ljust(3, "0"))
        return ((int(h) * 60 + int(m)) * 60 + int(sec)) * MS_PER_S + ms
    if _UNITS_RE.match(s):
        total = Fraction(0)
        last = -1
        for number, unit in _UNIT_PART_RE.findall(s):
            rank = _ORDER.index(unit)
            if rank <= last:
                raise DurationError(f"units out of order or repeated in {text!r}: write e.g. 1m30s")
            last = rank
            total += Fraction(number) * _UNIT_MS[unit]
        if total.denominator != 1:
            raise DurationError(f"{text!r} is finer than a millisecond")
        return int(total)
    raise DurationError(
        f"cannot read duration {text!r}: write e.g. 90s, 1m30s, 500ms, 1h or 00:01:30"
    )


def format_duration(ms: int) -> str:
    """Compact, exact form: `4m`, `1m30s`, `500ms`, `-2m` (round-trips with parse)."""
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    rest = abs(ms)
    parts = []
    for unit in _ORDER:
        size = _UNIT_MS[unit]
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def format_clock(ms: int) -> str:
    """`H:MM:SS` (with sign) for tables and countdowns; rounds toward zero to the second."""
    sign = "-" if ms < 0 else ""
    total = abs(ms) // MS_PER_S
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}"


def seconds(ms: int | None) -> float | None:
    """Milliseconds to seconds for JSON reports (None passes through)."""
    return None if ms is None else ms / MS_PER_S
