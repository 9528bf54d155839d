from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from control.show.durations import DurationError, format_clock, format_duration, parse_duration


@pytest.mark.parametrize(("text", "ms"), [
    ("90s", 90_000), ("1m30s", 90_000), ("500ms", 500), ("00:04:00", 240_000), ("1h", 3_600_000),
    ("1h2m3s4ms", 3_723_004), ("1.5s", 1500), ("0.001s", 1), ("01:00:00.250", 3_600_250),
    (" 4m ", 240_000), ("1m 30s", 90_000), ("0s", 0),
])
def test_parse(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["90", "", "1x", "m", "1m1h", "1s1s", "0.0001s", "1:2", "-5s",
                                  "00:61:00", "1e3s"])
def test_refused(text):
    with pytest.raises(DurationError):
        parse_duration(text)


@given(st.integers(min_value=-10**10, max_value=10**10))
def test_format_round_trips(ms):
    text = format_duration(abs(ms))
    assert parse_duration(text) == abs(ms)


def test_format_clock():
    assert format_clock(3_723_999) == "1:02:03"
    assert format_clock(-61_000) == "-0:01:01"
