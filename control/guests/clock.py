"""A periodic clock on its own thread: the 20 ms audio clock and the frame clock.

The mixer's clocks are its own, never a guest's: the program keeps its frame rate and the
audio its 20 ms blocks whatever any guest does, so a stalled guest cannot stall the show
(they show a slate, they sound silent). Deadlines are absolute (start + n·period), so
the rate does not drift with the time each tick takes, and the tick index is wall-clock
locked: when a tick runs too late it is skipped, not queued, so timestamps derived from
the index stay in sync with real time (audio and video stay aligned) and delay cannot build.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

TickFn = Callable[[int, float], None]
"""Called with (tick index since start, the tick's due time in ``clock`` seconds)."""


class Ticker:
    """Calls ``fn`` every ``period`` seconds on a daemon thread.

    A tick that is due while an earlier one still runs is run at once, up to ``catch_up``
    ticks behind; further behind, the late ticks are skipped (counted in ``skipped``).
    Audio wants a few catch-up ticks (no gap in the sound after a hiccup); video wants none
    (a late frame is worth less than the next one). An exception in ``fn`` is logged and
    counted, and the clock goes on: one bad frame must not end the program output.
    """

    def __init__(self, name: str, period: float, fn: TickFn, *, catch_up: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if period <= 0:
            raise ValueError("period must be positive")
        self.name = name
        self.period = period
        self.fn = fn
        self.catch_up = catch_up
        self.clock = clock
        self.ticks = 0
        self.skipped = 0
        self.errors = 0
        self.started_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        start = self.started_at = self.clock()
        index = 0
        while not self._stop.is_set():
            due = start + index * self.period
            wait = due - self.clock()
            if wait > 0:
                if self._stop.wait(wait):
                    break
            else:
                behind = int(-wait / self.period)
                if behind > self.catch_up:
                    index += behind  # run the newest due tick, skip the ones before
                    self.skipped += behind
                    due = start + index * self.period
            try:
                self.fn(index, due)
            except Exception:
                self.errors += 1
                log.exception("%s: tick %d failed", self.name, index)
            self.ticks += 1
            index += 1
