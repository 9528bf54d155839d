"""PyAV frames ⇄ the mixer's numpy frames, the only place the two meet.

A WebRTC decoder (aiortc), an SFU subscriber or a file all hand out ``av`` frames; the mixer
works on numpy planes. Decoded WebRTC video is already yuv420p, so the usual path is one copy
(``to_ndarray``) and no colour conversion.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from control.guests.audio import CHANNELS, RATE, s16_to_float
from control.guests.video import VideoFrame


def video_from_av(frame: av.VideoFrame, captured: float) -> VideoFrame:
    """An ``av`` frame as a ``VideoFrame`` captured at ``captured`` (mixer clock). Other
    pixel formats are converted, odd sizes trimmed to width even, height a multiple of 4."""
    width, height = frame.width // 2 * 2, frame.height // 4 * 4
    if frame.format.name != "yuv420p" or (width, height) != (frame.width, frame.height):
        frame = frame.reformat(width=width, height=height, format="yuv420p")
    return VideoFrame.from_i420(frame.to_ndarray(format="yuv420p"), captured)


def video_to_av(frame: VideoFrame, pts: int | None = None,
                time_base: Fraction | None = None) -> av.VideoFrame:
    """A ``VideoFrame`` as an ``av`` frame for an encoder (no copy when it is packed)."""
    out = av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(frame.i420()), format="yuv420p")
    if pts is not None:
        out.pts = pts
    if time_base is not None:
        out.time_base = time_base
    return out


class AudioConverter:
    """Any decoded ``av`` audio (Opus gives s16 stereo 48 kHz) → float (n, channels) at 48 kHz,
    what ``AudioMixer.push`` takes. Keeps a resampler, because a resampler has state."""

    def __init__(self, channels: int = CHANNELS) -> None:
        self.channels = channels
        self._resampler = av.AudioResampler(
            format="s16", layout="stereo" if channels == 2 else "mono", rate=RATE)

    def convert(self, frame: av.AudioFrame) -> np.ndarray:
        parts = [s16_to_float(f.to_ndarray().reshape(-1), self.channels)
                 for f in self._resampler.resample(frame)]
        if not parts:
            return np.zeros((0, self.channels), np.float32)
        return np.concatenate(parts)


def audio_to_av(block: np.ndarray, pts: int | None = None) -> av.AudioFrame:
    """A float (n, channels) block as a planar float ``av`` frame at 48 kHz (AAC's input)."""
    channels = block.shape[1]
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block.T, dtype=np.float32),
                                       format="fltp", layout="stereo" if channels == 2
                                       else "mono")
    frame.sample_rate = RATE
    if pts is not None:
        frame.pts = pts
        frame.time_base = Fraction(1, RATE)
    return frame
