"""Small JPEG pictures of each guest for the console: made on request, at most one per
guest per interval, off the event loop.

The console shows every connected guest as a thumbnail. Sending the guests' video to each
console would cost a WebRTC link per console; a 160x90 JPEG a second costs a few kB. Nothing
is encoded while nobody asks (a console that is closed, or hidden, stops asking), and any
number of consoles asking at once share one encode per guest per interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av

from control.guests.avframes import video_to_av
from control.guests.video import VideoFrame

WIDTH, HEIGHT = 160, 90
QUALITY = 5  # mjpeg qscale (2 best .. 31 worst): ~2-4 kB at 160x90
MIN_INTERVAL = 1.0  # s between two encodes of one guest

Pictures = Callable[[str], VideoFrame | None]  # guest -> their newest frame (None: none yet)


def fit(width: int, height: int, box_w: int = WIDTH, box_h: int = HEIGHT) -> tuple[int, int]:
    """The size of a ``width`` x ``height`` picture scaled into the box, aspect kept, even."""
    scale = min(box_w / width, box_h / height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def jpeg(frame: VideoFrame, box_w: int = WIDTH, box_h: int = HEIGHT,
         quality: int = QUALITY) -> bytes:
    """``frame`` as a JPEG that fits in the box (CPU work: call it off the event loop)."""
    width, height = fit(frame.width, frame.height, box_w, box_h)
    small = video_to_av(frame).reformat(width=width, height=height, format="yuvj420p")
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 1)
    codec.options = {"qmin": str(quality), "qmax": str(quality)}
    return b"".join(bytes(p) for p in [*codec.encode(small), *codec.encode(None)])


@dataclass(frozen=True, slots=True)
class Thumbnail:
    jpeg: bytes
    made: float  # when it was encoded (``clock``)
    source: VideoFrame  # the frame it shows (a newer one is a reason to encode again)


class Thumbnails:
    """Per guest: the last thumbnail, reused until it is ``min_interval`` old and the guest
    has a newer frame. One encode per guest at a time; waiting requests share it."""

    def __init__(self, pictures: Pictures, *, min_interval: float = MIN_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.pictures = pictures
        self.min_interval = min_interval
        self.clock = clock
        self.encodes = 0
        self._last: dict[str, Thumbnail] = {}
        self._pending: dict[str, asyncio.Future[Thumbnail]] = {}

    async def get(self, guest: str) -> bytes | None:
        """The guest's thumbnail as JPEG bytes; None when there is no picture of them."""
        frame = self.pictures(guest)
        if frame is None:
            self._last.pop(guest, None)
            return None
        last = self._last.get(guest)
        if last is not None and (last.source is frame
                                 or self.clock() - last.made < self.min_interval):
            return last.jpeg
        pending = self._pending.get(guest)
        if pending is None:
            pending = asyncio.ensure_future(self._make(guest, frame))
            self._pending[guest] = pending
            pending.add_done_callback(lambda _f: self._pending.pop(guest, None))
        return (await asyncio.shield(pending)).jpeg

    async def _make(self, guest: str, frame: VideoFrame) -> Thumbnail:
        data = await asyncio.to_thread(jpeg, frame)
        self.encodes += 1
        thumb = Thumbnail(data, self.clock(), frame)
        self._last[guest] = thumb
        return thumb
