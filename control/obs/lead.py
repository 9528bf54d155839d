"""The take lead: how early to send a scheduled (hard-start) take so OBS cuts on time.

Pure functions of the recent take latencies (seconds from the take's batch sent to OBS's
CurrentProgramSceneChanged, Cut takes only) and OBS's frame time; no clock, no I/O.

The rule, and why:

1. **Never more than one frame.** A cut cannot happen before its request is sent, so a take
   sent at most one frame before its target can never land more than one frame early,
   whatever the samples say. That is the promise (a cut may be late, never early by more
   than a frame), and it holds on any machine without trusting the measurement. The old rule
   (median of the last 20, capped at 500 ms) let one busy moment inflate the lead to well
   over 100 ms while OBS was fast again: the midnight hard start landed 112 ms early. A cap
   of two frames would still break the promise whenever OBS answers in under a frame (10 ms
   takes are common on a quiet machine: send 66 ms early, cut 56 ms early).
2. **A low percentile, not the median.** Within that cap, the lead is the 10th percentile of
   the recent samples (nearest rank: the 2nd fastest of 20). Latency has a floor (OBS's
   request handling) and a long tail upward (load, a busy event loop), so the fast end is
   the part that says how soon OBS *can* cut; a slow outlier never moves it.
3. **Slow to rise, quick to fall.** For the 10th percentile to rise, 19 of the last 20 takes
   must have been slower: only a sustained change raises the lead, and then at most to the
   frame cap. Two fast takes lower it at once, which is the safe direction.

The samples are upper bounds of the real send-to-cut time (they include the event's trip
back), which errs the same safe way: a little late rather than early.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

DEFAULT_FPS = 30.0
"""OBS's frame rate when it has not been read yet (the launcher's profile and OBS's default)."""
LEAD_QUANTILE = 0.10
MIN_SAMPLES = 3
"""Fewer Cut takes than this say nothing yet: no lead (the runner keeps what it has)."""


def frame_ms(fps: float | None) -> float:
    """One frame in ms at ``fps`` (OBS's ``fpsNumerator / fpsDenominator``); 30 fps if unknown."""
    if fps is None or not math.isfinite(fps) or fps <= 0:
        fps = DEFAULT_FPS
    return 1000.0 / fps


def low_quantile(samples: Iterable[float], q: float = LEAD_QUANTILE) -> float | None:
    """The nearest-rank ``q`` quantile (the ceil(q*n)-th smallest); None without samples.
    Nearest rank, not interpolation: the answer is a latency OBS really showed."""
    ordered = sorted(samples)
    if not ordered:
        return None
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def take_lead_ms(latencies_s: Iterable[float], frame: float = frame_ms(None)) -> int | None:
    """Wall ms to send a scheduled take early: min(10th percentile, one frame), rounded down.

    ``latencies_s``: recent Cut take latencies in seconds, oldest first (their order does not
    matter); ``frame``: OBS's frame time in ms. None until ``MIN_SAMPLES`` takes were seen.
    """
    samples = [s for s in latencies_s if math.isfinite(s) and s >= 0]
    if len(samples) < MIN_SAMPLES:
        return None
    low = low_quantile(samples)
    assert low is not None
    return max(0, math.floor(min(low * 1000.0, frame)))
