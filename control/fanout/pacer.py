"""Wakes the senders of a push a batch per loop turn, so a push never holds the loop long.

Waking every client's sender at once puts them all in the loop's next turn: measured on the
fan-out bench (bench/fanout.py, 200 consoles), that one turn ran 200 sends and held the loop
5-10 ms of CPU, the largest recurring stall of a take (the loop-lag probe's p99). The pacer
wakes only as many as fit in `budget` seconds and leaves the rest for the following turns,
in which timers, the take's HTTP request and the lag probe get their turn in between.

The batch is sized from what the last one cost: the pacer's next run is queued behind the
senders it woke, so the time from one run to the next is those senders' work (plus whatever
else ran that turn: an over-estimate, which only makes the next batch smaller).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

FIRST_GUESS = 50e-6  # s per sender, until a batch has been timed


class Pacer:
    """Sets waiting senders' events, at most about `budget` seconds of their work a turn."""

    def __init__(self, budget: float = 0.002,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.budget = budget
        self.clock = clock
        self.per_wake = FIRST_GUESS  # smoothed seconds of work one woken sender costs
        self._waiting: deque[asyncio.Event] = deque()
        self._queued: set[asyncio.Event] = set()
        self._handle: asyncio.Handle | None = None
        self._batch = 0           # senders woken by the last run
        self._ran_at = 0.0

    def wake(self, event: asyncio.Event) -> None:
        """Set `event` in this turn or a following one (once, however often asked)."""
        if event in self._queued or event.is_set():
            return
        self._queued.add(event)
        self._waiting.append(event)
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_soon(self._run)

    def forget(self, event: asyncio.Event) -> None:
        """A sender that went away: never set its event."""
        if event in self._queued:
            self._queued.discard(event)
            self._waiting.remove(event)

    def __len__(self) -> int:
        return len(self._waiting)

    def _run(self) -> None:
        now = self.clock()
        if self._batch:
            cost = (now - self._ran_at) / self._batch
            self.per_wake = (self.per_wake + cost) / 2
        count = max(1, int(self.budget / self.per_wake))
        self._batch = min(count, len(self._waiting))
        for _ in range(self._batch):
            event = self._waiting.popleft()
            self._queued.discard(event)
            event.set()
        self._ran_at = self.clock()
        self._handle = (asyncio.get_running_loop().call_soon(self._run) if self._waiting
                        else None)
        if self._handle is None:
            self._batch = 0
