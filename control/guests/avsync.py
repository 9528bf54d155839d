"""A guest's A/V offset: their sound and picture arrive on separate tracks with no common
clock (aiortc gives no lip-sync across tracks), so the producer sets an offset per guest.

Positive: the sound is late relative to the picture is *wanted*, i.e. the sound is delayed
(``AudioRing.set_delay``, the ring holds more). Negative: the picture is delayed instead
(``DelayedFrames``), because sound cannot be played before it arrives. Either way the other
track is untouched, so the offset never adds delay to both.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace

from control.guests.audio import MAX_DELAY_MS
from control.guests.video import LatestFrame, VideoFrame

MAX_OFFSET_MS = MAX_DELAY_MS
MAX_HELD_FRAMES = 64  # 500 ms at up to 120 fps: the memory a delayed picture may use


def split_offset(offset_ms: float) -> tuple[float, float]:
    """An A/V offset (ms, + delays the sound) as (audio delay, video delay) in ms."""
    offset_ms = max(-MAX_OFFSET_MS, min(MAX_OFFSET_MS, offset_ms))
    return (offset_ms, 0.0) if offset_ms >= 0 else (0.0, -offset_ms)


class DelayedFrames(LatestFrame):
    """A latest-frame holder whose ``latest`` lags by ``delay`` seconds (0: exactly a
    ``LatestFrame``). It keeps only the frames of the last ``delay`` seconds (at most
    MAX_HELD_FRAMES), and hands out the newest one due, its ``captured`` moved by the delay
    so the compositor's staleness check sees when it is shown, not when it came in."""

    __slots__ = ("_clock", "_held", "_lock", "_shown", "delay")

    def __init__(self, delay: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.delay = max(0.0, delay)
        self._clock = clock
        self._held: deque[VideoFrame] = deque(maxlen=MAX_HELD_FRAMES)
        self._shown: VideoFrame | None = None
        self._lock = threading.Lock()

    def set_delay(self, delay: float) -> None:
        with self._lock:
            if delay > 0 and self.delay <= 0:  # hold the picture still until frames are due
                self._shown = self._frame
            self.delay = max(0.0, delay)
            if self.delay <= 0:
                self._held.clear()
                self._shown = None

    def put(self, frame: VideoFrame) -> None:
        super().put(frame)
        if self.delay > 0:
            with self._lock:
                self._held.append(frame)

    def latest(self) -> VideoFrame | None:
        if self.delay <= 0:
            return self._frame
        with self._lock:
            due = self._clock() - self.delay
            while self._held and self._held[0].captured <= due:
                frame = self._held.popleft()
                self._shown = replace(frame, captured=frame.captured + self.delay)
            return self._shown

    def clear(self) -> None:
        super().clear()
        with self._lock:
            self._held.clear()
            self._shown = None
