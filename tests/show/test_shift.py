from __future__ import annotations

import pytest
from rundowns import REHEARSAL

from control.show.loader import load_rundown
from control.show.localtime import LocalTimeError, parse_datetime, zone
from control.show.shift import start_shift

R = load_rundown(REHEARSAL.read_text("utf-8"), "r.yaml").rundown
SH = zone("Asia/Shanghai")


def at(text: str) -> int:
    return parse_datetime(text, SH)[0]


def test_now_rounds_up_to_the_next_second():
    now = at("2026-11-29 17:40:00") + 250
    shift = start_shift(R, "now", now)
    assert R.show.start_ms + shift == at("2026-11-29 17:40:01")
    moved = R.shifted(shift)
    assert moved.segment("countdown").at_ms - moved.show.start_ms == \
        R.segment("countdown").at_ms - R.show.start_ms
    assert moved.shift_ms == shift


@pytest.mark.parametrize(("now", "spec", "start"), [
    ("2026-11-29 13:00:00", "14:00", "2026-11-29 14:00:00"),
    ("2026-11-29 15:00:00", "14:00", "2026-11-29 14:00:00"),   # an hour ago: today
    ("2026-11-29 23:50:00", "00:10:30", "2026-11-30 00:10:30"),  # across midnight
    ("2026-11-29 00:10:00", "23:50", "2026-11-28 23:50:00"),
    ("2026-11-29 10:00:00", "2026-12-01 09:30", "2026-12-01 09:30:00"),
])
def test_start_at_a_time(now, spec, start):
    assert R.show.start_ms + start_shift(R, spec, at(now)) == at(start)


@pytest.mark.parametrize("spec", ["later", "25:00", "1:2:3:4", "12:60"])
def test_bad_start(spec):
    with pytest.raises(LocalTimeError):
        start_shift(R, spec, at("2026-11-29 10:00:00"))
