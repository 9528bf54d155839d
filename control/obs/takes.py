"""Takes and transitions in flight: what OBS was asked to cut to and has not confirmed yet.

Pure (``now`` is given, seconds on a monotonic clock). Two facts make this more than a flag:
a take sent during a transition cuts it short, and OBS then never reports the end of the one
cut short (nor, in studio mode, its program change); and OBS 5.1 sends events from a thread
pool, so a transition's start and end may arrive swapped. Hence counts, and deadlines.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

TAKE_MARGIN = 1.0
"""Seconds past a transition's length after which its end counts as lost (OBS does not report
the end of a transition that a later take cut short)."""
LATENCY_SAMPLES = 20


@dataclass(slots=True)
class Take:
    """A take sent to OBS whose CurrentProgramSceneChanged has not arrived yet."""

    scene: str
    sent: float
    expected: float  # when its transition should end: the program event is due
    cut: bool

    @property
    def deadline(self) -> float:
        return self.expected + TAKE_MARGIN


@dataclass(slots=True)
class Transitions:
    """Transitions OBS reported as started and ended."""

    started: int = 0
    ended: int = 0
    busy_until: float = 0.0

    def busy(self, now: float) -> bool:
        if self.started > self.ended and now >= self.busy_until:
            self.ended = self.started  # its end was lost
        return self.started > self.ended


@dataclass(slots=True)
class InFlight:
    """Our takes not confirmed yet, anyone's transitions running, and the Cut takes' latency
    (batch sent to program event, seconds; the take lead is made from them)."""

    pending: list[Take] = field(default_factory=list)
    transitions: Transitions = field(default_factory=Transitions)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))

    def reset(self) -> None:
        """OBS is read again: what was in flight is history (latencies stay: same OBS)."""
        self.pending.clear()
        self.transitions = Transitions()

    def sent(self, scene: str, transition_s: float | None, now: float) -> Take:
        """A take goes now; ``transition_s`` None: a Cut."""
        take = Take(scene, now, now + (transition_s or 0.0), transition_s is None)
        self.pending.append(take)
        return take

    def failed(self, take: Take) -> None:
        if take in self.pending:
            self.pending.remove(take)

    def arrived(self, scene: str, now: float) -> bool:
        """OBS reports ``scene`` on program: True if a take of ours explains it (that take and
        any older, cut short, are done)."""
        for i, take in enumerate(self.pending):
            if take.scene == scene:
                if take.cut:
                    self.latencies.append(now - take.sent)
                del self.pending[: i + 1]
                return True
        return False

    def explains(self, scene: str) -> bool:
        """A pending take of ours goes to ``scene`` (its event may still come)."""
        return any(t.scene == scene for t in self.pending)

    def transition_started(self, now: float, transition_ms: int | None) -> None:
        self.transitions.started += 1
        self.transitions.busy_until = now + (transition_ms or 0) / 1e3 + TAKE_MARGIN

    def transition_ended(self) -> None:
        self.transitions.ended += 1

    def busy(self, now: float) -> bool:
        """A transition (ours or anyone's) runs, or a take of ours is unconfirmed."""
        self.pending = [t for t in self.pending if t.deadline > now]
        return bool(self.pending) or self.transitions.busy(now)

    def settle_deadline(self, now: float) -> float | None:
        """When ``busy()`` turns False at the latest; None if it is False now."""
        if not self.busy(now):
            return None
        deadlines = [t.deadline for t in self.pending]
        if self.transitions.started > self.transitions.ended:
            deadlines.append(self.transitions.busy_until)
        return min(deadlines)
