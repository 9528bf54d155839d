"""One health figure per guest: a score 0..100, its grade and the worst cause.

Pure: the guest page's own report (``getStats()`` and the Battery Status API, checked by
``clean_report``), the loss the server measures itself (control.guests.linkstats) and the
report's age in; a ``Health`` out. Nothing here reads a clock or does I/O.

Why a number *and* a grade: the number is what Prometheus keeps and the alert compares
(``showctl_guest_health``, ``GuestLinkPoor``); the grade is what a director reads at a glance
(the console's bars), and its boundaries are defined once, here.

Why the worst cause sets the score (not a sum): the symptoms are correlated (a congested
link shows loss, jitter and a bandwidth limit at once); summing counts one problem three
times, and the console could not say what to fix. ``100 - max(penalty)`` keeps the figure
explained by the one cause it names. Each signal's penalty rises linearly from 0 at its
``good`` bound to ``POOR_PENALTY`` at its ``poor`` bound (the ``GuestLinkBad`` thresholds for
loss, RTT and jitter) and to 100 at its ``lost`` bound.

Absence never punishes: a browser without the Battery Status API (Firefox, Safari) or a
figure not reported yet adds no penalty. Only a guest whose reports stopped is ``LOST``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Grade(StrEnum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    LOST = "lost"


class Cause(StrEnum):
    """What makes the figure what it is (the console says it in the director's language)."""

    LOSS = "loss"
    RTT = "rtt"
    JITTER = "jitter"
    FRAMES = "frames"  # frames the browser captured but did not send
    LATE = "late"  # frames the controller received but skipped: a newer one came first
    CPU = "cpu"  # the browser lowers quality: its CPU cannot keep up
    BANDWIDTH = "bandwidth"  # the browser lowers quality: its estimate of the link is low
    BATTERY = "battery"
    SILENT = "silent"  # the page stopped reporting


GOOD_FROM = 75  # a score >= this is GOOD
FAIR_FROM = 45  # >= this is FAIR, below is POOR
POOR_PENALTY = 60  # a signal at its `poor` bound leaves 40: POOR, and GuestLinkPoor's limit
SILENT_AFTER_S = 10.0  # the page reports every 2 s: five missed reports

# signal -> (good, poor, lost): penalty 0, POOR_PENALTY, 100 (linear between, capped)
BOUNDS: dict[Cause, tuple[float, float, float]] = {
    Cause.LOSS: (1.0, 5.0, 15.0),  # % of packets
    Cause.RTT: (150.0, 300.0, 1000.0),  # ms
    Cause.JITTER: (10.0, 30.0, 100.0),  # ms
    Cause.FRAMES: (2.0, 10.0, 40.0),  # % of captured frames not sent
    Cause.LATE: (5.0, 20.0, 60.0),  # % of received frames skipped (bursts after a stall)
}
# the browser itself lowers resolution or frame rate: visible, not yet broken
LIMITATION_PENALTY = {Cause.CPU: 35.0, Cause.BANDWIDTH: 35.0}
BATTERY_LOW = (20.0, 30.0)  # battery % at or under which, not charging: penalty
BATTERY_CRITICAL = (8.0, POOR_PENALTY)  # the laptop may sleep within minutes


@dataclass(frozen=True, slots=True)
class Signals:
    """What is known of one guest's link now; None: not known (never a penalty)."""

    loss_pct: float | None = None
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    frames_dropped_pct: float | None = None
    late_pct: float | None = None  # the receive side's (FrameWindow)
    limitation: str | None = None  # the browser's qualityLimitationReason
    battery_pct: float | None = None
    charging: bool | None = None
    age_s: float | None = None  # since the page's last report


@dataclass(frozen=True, slots=True)
class Health:
    score: int  # 0..100
    grade: Grade
    cause: Cause | None  # None: nothing costs anything
    value: float | None = None  # the cause's figure (loss %, ms, battery %...)

    @property
    def bars(self) -> int:
        """0..4, the console's signal meter."""
        return {Grade.GOOD: 4, Grade.FAIR: 3, Grade.POOR: 1 if self.score > 15 else 0,
                Grade.LOST: 0}[self.grade]

    def view(self) -> dict[str, Any]:
        return {"score": self.score, "grade": self.grade.value, "bars": self.bars,
                "cause": self.cause.value if self.cause else None, "value": self.value}


def penalty(value: float, bounds: tuple[float, float, float]) -> float:
    good, poor, lost = bounds
    if value <= good:
        return 0.0
    if value <= poor:
        return POOR_PENALTY * (value - good) / (poor - good)
    return min(100.0, POOR_PENALTY + (100 - POOR_PENALTY) * (value - poor) / (lost - poor))


def grade_of(score: float) -> Grade:
    return Grade.GOOD if score >= GOOD_FROM else Grade.FAIR if score >= FAIR_FROM else Grade.POOR


def _battery(pct: float | None, charging: bool | None) -> float:
    if pct is None or charging:  # unknown, or on the charger: never a penalty
        return 0.0
    for limit, cost in (BATTERY_CRITICAL, BATTERY_LOW):
        if pct <= limit:
            return cost
    return 0.0


def assess(s: Signals) -> Health:
    """The health of one guest from its signals (see the module's docstring for why)."""
    if s.age_s is not None and s.age_s > SILENT_AFTER_S:
        return Health(0, Grade.LOST, Cause.SILENT, round(s.age_s, 1))
    costs: list[tuple[float, Cause, float | None]] = []
    for cause, value in ((Cause.LOSS, s.loss_pct), (Cause.RTT, s.rtt_ms),
                         (Cause.JITTER, s.jitter_ms), (Cause.FRAMES, s.frames_dropped_pct),
                         (Cause.LATE, s.late_pct)):
        if value is not None:
            costs.append((penalty(value, BOUNDS[cause]), cause, round(value, 1)))
    for cause, cost in LIMITATION_PENALTY.items():
        if s.limitation == cause.value:
            costs.append((cost, cause, None))
    costs.append((_battery(s.battery_pct, s.charging), Cause.BATTERY, s.battery_pct))
    worst = max(costs, key=lambda c: c[0])  # the first listed wins a tie
    if worst[0] <= 0:
        return Health(100, Grade.GOOD, None)
    score = max(0, min(100, round(100 - worst[0])))
    return Health(score, grade_of(score), worst[1], worst[2])


# --- the page's report, as received (hostile input: only these keys, bounded) -------------

NUMBERS: dict[str, tuple[float, float]] = {  # key -> the range a real browser reports
    "rtt_ms": (0, 60_000), "jitter_ms": (0, 60_000), "packetsLost": (-1e9, 1e12),
    "loss_pct": (0, 100), "framesPerSecond": (0, 1000), "bitrate_kbps": (0, 1e7),
    "frames_dropped_pct": (0, 100), "framesSent": (0, 1e12), "battery_pct": (0, 100),
}
WORDS: dict[str, frozenset[str] | None] = {  # key -> the words allowed (None: any, cut)
    "candidateType": None,
    "qualityLimitationReason": frozenset({"none", "cpu", "bandwidth", "other"}),
    "power": frozenset({"battery", "charging"}),  # a word, not a bool: the read model's
}                                                 # link values are numbers and strings
MAX_KEYS = 64  # a report with more keys than this is not a browser's
MAX_WORD = 16


class ReportError(ValueError):
    """The page's report cannot be used at all (the socket says why, and stays open)."""


def clean_report(stats: Any) -> dict[str, Any]:
    """The page's report with only known keys of the right type and range; others dropped
    (a newer page may report more). ReportError when it is not a report at all."""
    if not isinstance(stats, Mapping):
        raise ReportError("stats must be an object")
    if len(stats) > MAX_KEYS:
        raise ReportError(f"stats has {len(stats)} keys; at most {MAX_KEYS}")
    clean: dict[str, Any] = {}
    for key, (low, high) in NUMBERS.items():
        v = stats.get(key)
        # the range check alone: NaN fails it, and a 400-digit int must not reach float()
        if isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high:
            clean[key] = v
    for key, allowed in WORDS.items():
        v = stats.get(key)
        if isinstance(v, str) and v and (allowed is None or v in allowed):
            clean[key] = v[:MAX_WORD]
    return clean


def signals(link: Mapping[str, Any] | None, loss_ratio: float | None,
            age_s: float | None, late_pct: float | None = None) -> Signals:
    """A guest's signals from its cleaned page report and the server's own loss ratio (the
    worse of the two losses: each side sees a different direction of trouble)."""
    link = link or {}

    def num(key: str) -> float | None:
        v = link.get(key)
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    losses = [v for v in (num("loss_pct"), loss_ratio * 100 if loss_ratio is not None
                          else None) if v is not None]
    power = link.get("power")
    return Signals(loss_pct=max(losses) if losses else None, rtt_ms=num("rtt_ms"),
                   jitter_ms=num("jitter_ms"), frames_dropped_pct=num("frames_dropped_pct"),
                   late_pct=late_pct,
                   limitation=link.get("qualityLimitationReason"),
                   battery_pct=num("battery_pct"),
                   charging=None if power is None else power == "charging", age_s=age_s)


# --- the receive side: frames the controller skipped -------------------------------------

MIN_FRAMES = 30  # a window is at least this many received frames (1 s at 30 fps)


@dataclass(frozen=True, slots=True)
class FrameWindow:
    """The receive side's counters at the start of the current window, and the skipped
    share of the last full window (None: not known yet)."""

    received: int = 0
    skipped: int = 0
    late_pct: float | None = None


def frame_window(previous: FrameWindow | None, received: int, skipped: int) -> FrameWindow:
    """Advance the window once it holds ``MIN_FRAMES`` frames (reads come at any rate: each
    publish and each scrape); a new session's counters (smaller) start a new one."""
    if previous is None or received < previous.received or skipped < previous.skipped:
        return FrameWindow(received, skipped)
    frames = received - previous.received
    if frames < MIN_FRAMES:
        return previous
    pct = 100.0 * (skipped - previous.skipped) / frames
    return FrameWindow(received, skipped, round(min(100.0, pct), 1))
