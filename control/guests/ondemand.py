"""The program mixer runs only while it is needed: a guest on air or a guest connected.

A controller in a test, or a show with no guests on air and none in the green room, spends
no CPU on composing and encoding. ``OnDemand.want(needed)`` is called from the event loop
(a runner listener, the gateway's changes) and returns at once; starting and stopping the
mixer (opening the encoder, joining its threads) run on a worker thread, one at a time, and
the last wish wins: a burst of changes costs at most one start and one stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Protocol

log = logging.getLogger(__name__)


class Startable(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def needed(on_air: Iterable[str], connected: Iterable[str]) -> bool:
    """The mixer is needed while any guest is on air (their box, or their slate, is in the
    program) or any guest has a session (frames arrive; the take may come any moment)."""
    return any(True for _ in on_air) or any(True for _ in connected)


class OnDemand:
    """Starts and stops ``mixer`` off the event loop to follow the latest ``want``."""

    def __init__(self, mixer: Startable) -> None:
        self.mixer = mixer
        self.running = False  # the mixer was started (and not stopped since)
        self.wanted = False
        self.starts = 0
        self.error: str | None = None  # the last start that failed, and why
        self._task: asyncio.Task[None] | None = None

    def want(self, wanted: bool) -> None:
        """Call from the event loop; never blocks."""
        self.wanted = wanted
        if wanted != self.running and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._settle(),
                                                                name="mixer-on-demand")

    async def settled(self) -> None:
        """Wait until the mixer is as last wanted (for tests and shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait([self._task])

    async def _settle(self) -> None:
        while self.wanted != self.running:
            wanted = self.wanted
            try:
                await asyncio.to_thread(self.mixer.start if wanted else self.mixer.stop)
            except Exception as exc:
                self.error = f"program mixer could not {'start' if wanted else 'stop'}: {exc}"
                log.exception("%s", self.error)
                if wanted:  # leave it stopped; the next change tries again
                    with contextlib.suppress(Exception):
                        await asyncio.to_thread(self.mixer.stop)
                    return
            self.running = wanted
            if wanted:
                self.starts += 1
                self.error = None

    async def close(self) -> None:
        """Stop the mixer (waits for a start or stop under way)."""
        self.wanted = False
        await self.settled()
        if self.running:
            self.running = False
            await asyncio.to_thread(self.mixer.stop)
