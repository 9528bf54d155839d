"""The take lead (control/obs/lead.py): bounded by one frame, robust to slow outliers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from control.obs.lead import MIN_SAMPLES, frame_ms, low_quantile, take_lead_ms

FRAME_30 = 1000 / 30
MS = 1e-3


def test_no_lead_until_a_few_takes_were_measured() -> None:
    assert take_lead_ms([]) is None
    assert take_lead_ms([0.02] * (MIN_SAMPLES - 1)) is None
    assert take_lead_ms([0.02] * MIN_SAMPLES) == 20


def test_a_quiet_obs_gets_its_fast_end_not_its_median() -> None:
    samples = [s * MS for s in (12, 30, 25, 14, 40, 22, 18, 27, 31, 16,
                                24, 13, 29, 21, 33, 19, 26, 23, 17, 28)]
    assert take_lead_ms(samples) == 13  # the 2nd fastest of 20


def test_one_slow_moment_does_not_move_it() -> None:
    quiet = [20 * MS] * 19
    assert take_lead_ms([*quiet, 0.5]) == 20
    assert take_lead_ms([0.5, 0.4, 0.3, *quiet[3:]]) == 20


def test_the_112_ms_early_case_a_lead_inflated_by_a_busy_moment_is_capped_at_a_frame() -> None:
    """Every sample inflated (a busy stretch): the old median rule gave ~150 ms, and a take
    sent that early landed 112 ms early once OBS was quick again."""
    busy = [s * MS for s in (150, 160, 140, 155, 170, 145, 150, 165, 148, 152)]
    assert take_lead_ms(busy) == 33


def test_it_rises_only_when_nearly_every_recent_take_was_slower() -> None:
    window = [15 * MS] * 20
    for slow in range(1, 21):
        samples = [60 * MS] * slow + [15 * MS] * (20 - slow)
        expected = 15 if slow <= 18 else 33
        assert take_lead_ms(samples) == expected, slow
    assert take_lead_ms(window) == 15


def test_two_fast_takes_lower_it_at_once() -> None:
    assert take_lead_ms([30 * MS] * 18 + [5 * MS, 6 * MS]) == 6


def test_the_cap_follows_the_frame_rate() -> None:
    slow = [0.2] * 20
    assert take_lead_ms(slow, frame_ms(60)) == 16
    assert take_lead_ms(slow, frame_ms(25)) == 40
    assert take_lead_ms(slow, frame_ms(30000 / 1001)) == 33


@pytest.mark.parametrize("fps", [None, 0, -5, float("nan"), float("inf")])
def test_an_unknown_frame_rate_is_30_fps(fps: float | None) -> None:
    assert frame_ms(fps) == pytest.approx(FRAME_30)


def test_nonsense_samples_are_ignored() -> None:
    assert take_lead_ms([float("nan"), -1.0, float("inf"), 0.02, 0.02, 0.02]) == 20
    assert take_lead_ms([float("nan")] * 5) is None


def test_low_quantile_is_a_sample_it_saw() -> None:
    assert low_quantile([]) is None
    assert low_quantile([3.0]) == 3.0
    assert low_quantile([5.0, 1.0, 4.0, 2.0, 3.0], 0.5) == 3.0
    assert low_quantile(range(1, 21)) == 2  # nearest rank of 10 % of 20


@given(st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), max_size=40),
       st.floats(min_value=1, max_value=240))
def test_never_more_than_one_frame_never_negative(samples: list[float], fps: float) -> None:
    """The promise: a take sent this early cannot cut more than one frame early."""
    lead = take_lead_ms(samples, frame_ms(fps))
    assert lead is None or 0 <= lead <= frame_ms(fps)


@given(st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=MIN_SAMPLES,
                max_size=40),
       st.floats(min_value=0, max_value=1, allow_nan=False))
def test_a_take_moves_the_lead_only_toward_itself(samples: list[float], extra: float) -> None:
    """A take faster than the lead never raises it; a slower one never lowers it."""
    before = take_lead_ms(samples)
    after = take_lead_ms([*samples, extra])
    assert before is not None and after is not None
    if extra * 1000 <= before:
        assert after <= before
    if extra * 1000 >= before + 1:
        assert after >= before
