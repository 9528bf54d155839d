"""A test guest for the Janus tests: aiortc sending a solid colour and a tone, as a browser's
WHIP offer would (ICE fully gathered), to whoever answers it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from fractions import Fraction

import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)

RATE, BLOCK = 48_000, 960
RED = (230, 30, 30)


class Colour(VideoStreamTrack):
    """A solid picture at the track's own pace (30 fps)."""

    def __init__(self, rgb: tuple[int, int, int] = RED, size: tuple[int, int] = (320, 240)
                 ) -> None:
        super().__init__()
        self.picture = np.zeros((size[1], size[0], 3), np.uint8)
        self.picture[:, :] = rgb

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(self.picture, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class Tone(MediaStreamTrack):
    """A 440 Hz sine in 20 ms frames, paced like a microphone."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.n = 0
        self.start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.n / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (self.n + np.arange(BLOCK)) / RATE
        mono = np.rint(0.2 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(mono[:, None], 2, axis=1).reshape(1, -1),
                                           format="s16", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, self.n, Fraction(1, RATE)
        self.n += BLOCK
        return frame


class Guest:
    """One publishing guest; `join(answerer)` sends the offer and sets the answer."""

    def __init__(self, rgb: tuple[int, int, int] = RED) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN
        self.pc.addTransceiver(Tone(), direction="sendrecv")  # as the guest page: return feed
        self.pc.addTransceiver(Colour(rgb), direction="sendonly")

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())  # gathers fully
        return str(self.pc.localDescription.sdp)

    async def join(self, answerer: Callable[[str], Awaitable[str]]) -> None:
        answer = await answerer(await self.offer())
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def close(self) -> None:
        await self.pc.close()
