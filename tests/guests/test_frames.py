"""Scaling and PyAV conversion of frames (what the gateway and the encoder rely on)."""

from __future__ import annotations

import av
import numpy as np
from guests.support import COLOURS, close, sample, solid

from control.guests.avframes import AudioConverter, audio_to_av, video_from_av, video_to_av
from control.guests.layouts import Rect
from control.guests.video import VideoFrame, fit, resize_plane


def test_resize_keeps_flat_colours_and_gradients() -> None:
    flat = np.full((720, 1280), 77, np.uint8)
    for w, h in [(640, 360), (426, 240), (1920, 1080), (100, 50)]:
        out = resize_plane(flat, w, h)
        assert out.shape == (h, w) and (out == 77).all()
    ramp = np.tile(np.arange(256, dtype=np.uint8), (4, 1))
    half = resize_plane(ramp, 128, 2)
    assert np.all(np.diff(half[0].astype(int)) >= 0)  # still a ramp
    assert abs(int(half[0, 64]) - 128) <= 2


def test_fit_centres_with_even_edges() -> None:
    assert fit(1280, 720, Rect(0, 0, 640, 360)) == Rect(0, 0, 640, 360)
    r = fit(640, 480, Rect(0, 0, 1280, 720))
    assert (r.w, r.h) == (960, 720) and r.x == 160
    r = fit(360, 640, Rect(10, 20, 640, 360))
    assert r.h == 360 and r.w % 2 == 0 and r.x % 2 == 0


def test_av_round_trip() -> None:
    frame = solid("orange", 640, 360, captured=5.0)
    av_frame = video_to_av(frame, pts=3)
    assert (av_frame.width, av_frame.height, av_frame.pts) == (640, 360, 3)
    back = video_from_av(av_frame, captured=5.0)
    assert close(sample(back, 320, 180), COLOURS["orange"], tol=0)
    odd = av.VideoFrame.from_ndarray(np.zeros((361, 641, 3), np.uint8), format="rgb24")
    trimmed = video_from_av(odd, 0.0)
    assert (trimmed.width, trimmed.height) == (640, 360)
    assert isinstance(VideoFrame.from_i420(back.i420(), 1.0), VideoFrame)


def test_audio_conversion() -> None:
    pcm = (np.arange(960 * 2, dtype=np.int16) - 960).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="stereo")
    frame.sample_rate = 48_000
    block = AudioConverter().convert(frame)
    assert block.shape == (960, 2) and block.dtype == np.float32
    assert np.allclose(block[:, 0], (np.arange(0, 1920, 2) - 960) / 32768)
    assert audio_to_av(block, pts=0).samples == 960
