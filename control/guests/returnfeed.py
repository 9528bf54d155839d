"""A guest's return feed (mix-minus) back over their own peer connection.

The mixer's audio clock hands each guest a 20 ms s16 block on its own thread
(``ProgramMixer.route_return``); aiortc's sender pulls frames with ``recv`` on the event
loop at its own pace. ``ReturnTrack`` sits between them: a few blocks in a bounded deque
(the oldest dropped when the mixer runs ahead: delay cannot build), silence when there is
none (the mixer is stopped or late: the sender never stalls), and a 20 ms pace of its own
from the monotonic clock, as aiortc's own audio tracks keep.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from control.guests.audio import BLOCK, CHANNELS, RATE

log = logging.getLogger(__name__)

MAX_BLOCKS = 5  # 100 ms: the most return audio waiting for the sender
MAX_LATE = 0.1  # s: a sender further behind than this skips ahead instead of bursting
TIME_BASE = Fraction(1, RATE)
_SILENCE = np.zeros((BLOCK, CHANNELS), np.int16)


class ReturnTrack(MediaStreamTrack):
    """An outbound aiortc audio track: 48 kHz stereo s16 in 20 ms frames from ``feed``."""

    kind = "audio"

    def __init__(self, *, max_blocks: int = MAX_BLOCKS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._blocks: deque[np.ndarray] = deque(maxlen=max_blocks)
        self._clock = clock
        self._start: float | None = None
        self._pts = 0
        self.fed = 0
        self.dropped = 0
        """Blocks the mixer gave that were thrown away because the sender fell behind."""
        self.silent = 0
        """Frames sent as silence because no block was there."""

    def feed(self, block: np.ndarray) -> None:
        """One 20 ms return block, s16 (BLOCK, CHANNELS). Any thread; never waits (deque
        append and popleft are atomic)."""
        if block.shape != (BLOCK, CHANNELS) or block.dtype != np.int16:
            raise ValueError(f"a return block is s16 ({BLOCK}, {CHANNELS}), not "
                             f"{block.dtype} {block.shape}")
        if len(self._blocks) == self._blocks.maxlen:
            self.dropped += 1
        self._blocks.append(block)
        self.fed += 1

    @property
    def waiting(self) -> int:
        return len(self._blocks)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = self._clock()
        if self._start is None:
            self._start = now
        else:
            self._pts += BLOCK
            wait = self._start + self._pts / RATE - now
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -MAX_LATE:  # the loop stalled: go on from now, pts stay continuous
                self._start = now - self._pts / RATE
        try:
            block = self._blocks.popleft()
        except IndexError:
            block = _SILENCE
            self.silent += 1
        frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16",
                                           layout="stereo")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        return frame


def attach_return(pc: Any, guest: str, sink: Any) -> ReturnTrack | None:
    """After ``setRemoteDescription(offer)``: send ``guest``'s return feed on the offer's
    audio m-line, if the offer lets us send there (sendrecv or recvonly; a send-only WHIP
    publisher gets none). The sink (the ``ProgramMixer``) feeds it when it can
    (``route_return``); otherwise the guest hears silence."""
    if not any(t.kind == "audio" and "send" in (getattr(t, "_offerDirection", None) or "")
               for t in pc.getTransceivers()):
        return None
    track = ReturnTrack()
    pc.addTrack(track)
    route = getattr(sink, "route_return", None)
    if route is not None:
        route(guest, track.feed)
    return track


def detach_return(track: ReturnTrack | None, guest: str, sink: Any) -> None:
    """The session ended: stop the track and the mixer's deliveries to it."""
    if track is None:
        return
    unroute = getattr(sink, "unroute_return", None)
    if unroute is not None:
        unroute(guest, track.feed)
    track.stop()
