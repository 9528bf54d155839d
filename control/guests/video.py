"""Guest pictures in, one program picture out: frames, the latest-frame holder, the compositor.

Frames stay in YUV 4:2:0 planes from decoder to encoder. Measured here: a 2x2 composite of
four 720p frames costs ~22 ms through bgr24 and ~5 ms in yuv420p planes (notes/webrtc.md),
and both WebRTC decoders and x264 speak yuv420p, so no colour conversion is ever needed.

The mixer reads a guest only through ``FrameSource.latest()``: never a queue. aiortc's
receive queues are unbounded and a slow consumer builds delay without limit (1 s → 6 s in
20 s); keeping only the newest frame makes delay impossible by construction, and a guest that
stops sending simply leaves an old frame that the compositor replaces with a named slate.

``compose`` is a pure function of frames; ``Compositor`` adds the choice of frame or slate and
memoises scaled pictures. Both are CPU work: call them from the output thread, never the
event loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, runtime_checkable

import numpy as np

from control.guests.layouts import BUILTIN, BoxesFor, Program, Rect, placements
from control.guests.slate import GuestName, SlateMaker

BLACK = (16, 128, 128)  # video black in limited-range YUV (BT.709), what OBS shows as black


@dataclass(frozen=True, slots=True, eq=False)
class VideoFrame:
    """One picture in YUV 4:2:0: planes Y (h, w), U and V (h/2, w/2) as uint8 arrays.

    ``captured`` is when the camera took it, in the mixer's clock (``time.monotonic()``
    seconds; the gateway maps the sender's timestamps to it). Staleness and glass-to-glass
    latency are measured from it. Frames are never modified after creation.
    """

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    captured: float
    packed: np.ndarray | None = None
    """The planes as one contiguous I420 buffer (h*3/2, w) when they are views of one, so an
    encoder can take the frame without a copy (``av.VideoFrame.from_numpy_buffer``)."""

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    @classmethod
    def blank(cls, width: int, height: int, yuv: tuple[int, int, int] = BLACK,
              captured: float = 0.0) -> VideoFrame:
        """A frame of one colour in a packed buffer (width, height even; height % 4 == 0)."""
        if width % 2 or height % 4:
            raise ValueError(f"{width}x{height}: width must be even, height a multiple of 4")
        buf = np.empty((height * 3 // 2, width), np.uint8)
        quarter = height // 4
        y = buf[:height]
        u = buf[height:height + quarter].reshape(height // 2, width // 2)
        v = buf[height + quarter:].reshape(height // 2, width // 2)
        y.fill(yuv[0])
        u.fill(yuv[1])
        v.fill(yuv[2])
        return cls(y, u, v, captured, buf)

    @classmethod
    def from_i420(cls, buf: np.ndarray, captured: float) -> VideoFrame:
        """Views onto a packed I420 buffer (h*3/2, w), as ``av.VideoFrame.to_ndarray`` gives."""
        rows, width = buf.shape
        height = rows * 2 // 3
        quarter = height // 4
        if height % 4 or width % 2:
            raise ValueError(f"{width}x{height}: width must be even, height a multiple of 4")
        return cls(buf[:height], buf[height:height + quarter].reshape(height // 2, width // 2),
                   buf[height + quarter:].reshape(height // 2, width // 2), captured, buf)

    def i420(self) -> np.ndarray:
        """The packed I420 buffer (a copy only when the planes are separate arrays)."""
        if self.packed is not None:
            return self.packed
        return np.concatenate([self.y.ravel(), self.u.ravel(), self.v.ravel()]).reshape(
            self.height * 3 // 2, self.width)


@runtime_checkable
class FrameSource(Protocol):
    """Where the mixer gets one guest's pictures: the newest frame, or None before the first.

    Must return at once (no I/O, no waiting): the output clock calls it every frame for every
    guest. An aiortc track consumer, an SFU subscriber or a test implements it, usually by
    writing into a ``LatestFrame``.
    """

    def latest(self) -> VideoFrame | None: ...


class LatestFrame:
    """Holds only the newest frame of one guest. The producer (a decoder thread or task)
    calls ``put``; the output thread calls ``latest``. Replacing one reference is atomic in
    CPython, so no lock and no queue: a slow reader skips frames instead of falling behind."""

    __slots__ = ("_frame", "received")

    def __init__(self) -> None:
        self._frame: VideoFrame | None = None
        self.received = 0
        """Frames put so far (their rate is the guest's received frame rate)."""

    def put(self, frame: VideoFrame) -> None:
        self._frame = frame
        self.received += 1

    def latest(self) -> VideoFrame | None:
        return self._frame

    def clear(self) -> None:
        """Forget the last picture (the guest left): the slate shows at once."""
        self._frame = None


# --- scaling ---------------------------------------------------------------------------------

def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def fit(src_w: int, src_h: int, rect: Rect) -> Rect:
    """The largest rect of the source's aspect that fits in ``rect``, centred (letterbox or
    pillarbox), with even edges. Pixels are square (WebRTC sends square pixels)."""
    scale = min(rect.w / src_w, rect.h / src_h)
    w = min(rect.w, _even(src_w * scale))
    h = min(rect.h, _even(src_h * scale))
    x = rect.x + (rect.w - w) // 4 * 2
    y = rect.y + (rect.h - h) // 4 * 2
    return Rect(x, y, w, h)


@lru_cache(maxsize=256)
def _taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear taps from ``src`` samples to ``dst``: two indexes and the second one's
    weight in 1/256 (pixel centres aligned, as swscale does)."""
    pos = (np.arange(dst) + 0.5) * (src / dst) - 0.5
    pos = np.clip(pos, 0, src - 1)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, src - 1)
    w1 = np.round((pos - i0) * 256).astype(np.uint16)
    return i0, i1, w1


def _box_reduce(plane: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Average fy x fx blocks: an anti-aliased integer downscale (2x: 1080p guest → 540p)."""
    h, w = plane.shape[0] // fy, plane.shape[1] // fx
    acc = np.zeros((h, w), np.uint16)
    for dy in range(fy):
        for dx in range(fx):
            acc += plane[dy:h * fy:fy, dx:w * fx:fx]
    n = fy * fx
    acc += n // 2
    acc //= n
    return acc.astype(np.uint8)


def resize_plane(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    """One plane scaled to ``width`` x ``height``: integer box averaging for the large part
    of a downscale (no aliasing), then bilinear for the rest, in uint16 fixed point."""
    sh, sw = plane.shape
    if (sh, sw) == (height, width):
        return plane
    fy, fx = min(16, sh // height), min(16, sw // width)
    if fy >= 2 or fx >= 2:
        plane = _box_reduce(plane, max(1, fy), max(1, fx))
        sh, sw = plane.shape
        if (sh, sw) == (height, width):
            return plane
    if sh != height:
        i0, i1, w1 = _taps(sh, height)
        w1c = w1[:, None]
        rows = plane[i0].astype(np.uint16)
        rows *= 256 - w1c
        rows += plane[i1].astype(np.uint16) * w1c
        rows >>= 8
    else:
        rows = plane.astype(np.uint16)
    if sw != width:
        j0, j1, v1 = _taps(sw, width)
        out = rows[:, j0] * (256 - v1)
        out += rows[:, j1] * v1
        out >>= 8
        return out.astype(np.uint8)
    return rows.astype(np.uint8)


def scale_frame(frame: VideoFrame, width: int, height: int) -> tuple[np.ndarray, ...]:
    """Y, U, V planes of the frame scaled to ``width`` x ``height`` (both even)."""
    return (resize_plane(frame.y, width, height),
            resize_plane(frame.u, width // 2, height // 2),
            resize_plane(frame.v, width // 2, height // 2))


# --- composition -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Canvas:
    """The program picture: 1280x720 or 1920x1080 and the colour where no guest is."""

    width: int = 1280
    height: int = 720
    background: tuple[int, int, int] = BLACK

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 4 or self.width <= 0 or self.height <= 0:
            raise ValueError(f"canvas {self.width}x{self.height}: width must be even and "
                             "height a multiple of 4")


@dataclass(frozen=True, slots=True, eq=False)
class Tile:
    """One picture to draw in ``rect``; ``letterbox`` keeps its aspect with black bars."""

    rect: Rect
    frame: VideoFrame
    letterbox: bool = True


Scaler = Callable[[VideoFrame, int, int], tuple[np.ndarray, ...]]


def _paint(out: VideoFrame, rect: Rect, planes: Sequence[np.ndarray | tuple[int, ...] | int]
           ) -> None:
    x, y, w, h = rect.x, rect.y, rect.w, rect.h
    out.y[y:y + h, x:x + w] = planes[0]
    out.u[y // 2:(y + h) // 2, x // 2:(x + w) // 2] = planes[1]
    out.v[y // 2:(y + h) // 2, x // 2:(x + w) // 2] = planes[2]


def compose(canvas: Canvas, tiles: Sequence[Tile], captured: float = 0.0,
            scale: Scaler = scale_frame) -> VideoFrame:
    """The program picture: ``tiles`` drawn in order (bottom first) on the background.
    A letterboxed tile's bars are video black. Pure: same tiles, same picture."""
    out = VideoFrame.blank(canvas.width, canvas.height, canvas.background, captured)
    for tile in tiles:
        if tile.rect.w <= 0 or tile.rect.h <= 0:
            continue
        target = tile.rect
        if tile.letterbox:
            target = fit(tile.frame.width, tile.frame.height, tile.rect)
            if target != tile.rect:
                _paint(out, tile.rect, BLACK)
        _paint(out, target, scale(tile.frame, target.w, target.h))
    return out


class Compositor:
    """Builds each program frame from whatever frames the guests have now.

    A guest with no frame, or with one older than ``stale_after`` seconds, is shown as a
    named slate ("Zhu Dingzhen · 朱定真 · connecting…"): never black, never a frozen face.
    Scaled pictures are memoised per frame object, so a guest at 20 fps in a 30 fps program,
    or a slate, is scaled once.
    """

    def __init__(self, canvas: Canvas = Canvas(), *, stale_after: float = 1.0,
                 layouts: Mapping[str, BoxesFor] = BUILTIN,
                 names: Mapping[str, GuestName] | None = None,
                 slates: SlateMaker | None = None) -> None:
        self.canvas = canvas
        self.stale_after = stale_after
        self.layouts = layouts
        self.names: Mapping[str, GuestName] = dict(names or {})
        self.slates = slates or SlateMaker()
        self._scaled: dict[tuple[int, int, int], tuple[VideoFrame, tuple[np.ndarray, ...]]] = {}
        self.slated: tuple[str, ...] = ()
        """Guests shown as a slate in the last frame (for the console and metrics)."""

    def usable(self, frame: VideoFrame | None, now: float) -> bool:
        return frame is not None and now - frame.captured <= self.stale_after

    def slate(self, guest: str, rect: Rect) -> VideoFrame:
        name = self.names.get(guest) or GuestName(guest)
        y, u, v = self.slates.render(name, rect.w, rect.h)
        return VideoFrame(y, u, v, math.inf)  # a slate is never stale

    def _scale(self, frame: VideoFrame, width: int, height: int) -> tuple[np.ndarray, ...]:
        key = (id(frame), width, height)
        hit = self._scaled.get(key)
        if hit is not None and hit[0] is frame:
            return hit[1]
        planes = scale_frame(frame, width, height)
        self._scaled[key] = (frame, planes)
        return planes

    def render(self, program: Program, frames: Mapping[str, VideoFrame | None],
               now: float) -> VideoFrame:
        """The program frame at ``now`` for the guests on air in ``program``."""
        tiles: list[Tile] = []
        slated: list[str] = []
        for guest, rect in placements(program, self.canvas.width, self.canvas.height,
                                      self.layouts):
            frame = frames.get(guest)
            if frame is not None and self.usable(frame, now):
                tiles.append(Tile(rect, frame))
            else:
                slated.append(guest)
                tiles.append(Tile(rect, self.slate(guest, rect), letterbox=False))
        self.slated = tuple(slated)
        used = {id(t.frame) for t in tiles}
        for key in [k for k in self._scaled if k[0] not in used]:
            del self._scaled[key]  # keep only what this frame used: memory stays flat
        return compose(self.canvas, tiles, now, self._scale)
