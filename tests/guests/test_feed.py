"""The program feed keeps its frame rate whatever the guests do, and carries H.264 + AAC."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import av
import numpy as np
from guests.support import COLOURS, close, sample, solid, tone

from control.guests.feed import FeedSettings, TsEncoder
from control.guests.layouts import Program, layout_boxes, to_pixels
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.video import VideoFrame

W, H, FPS = 320, 180, 30


class Broken:
    """A frame source that fails: its guest must become a slate, the feed must go on."""

    def latest(self) -> VideoFrame | None:
        raise RuntimeError("decoder gone")


def feed(mixer: ProgramMixer, guest: str, stop: threading.Event, until: float) -> None:
    holder = mixer.frames(guest)
    while not stop.is_set() and time.monotonic() < until:
        holder.put(solid(guest, 640, 360, captured=time.monotonic()))
        mixer.push_audio(guest, tone(450.0, 960, 0.1))
        stop.wait(1 / 30)


def test_a_stalled_guest_does_not_stall_the_program(tmp_path: Path) -> None:
    path = tmp_path / "program.ts"
    settings = MixerSettings(port=1, width=W, height=H, fps=FPS, stale_after=0.3)
    mixer = ProgramMixer(settings, encoder=lambda s: TsEncoder(s, str(path)))
    guests = ("red", "blue", "broken")
    mixer.set_program(Program(guests, "grid"))
    mixer.attach("broken", Broken())
    stop = threading.Event()
    start = time.monotonic()
    feeders = [threading.Thread(target=feed, args=(mixer, "red", stop, start + 60)),
               threading.Thread(target=feed, args=(mixer, "blue", stop, start + 0.3))]
    for t in feeders:
        t.start()
    try:
        mixer.start()
        time.sleep(1.5)
        stats = mixer.stats()
        frames = mixer.feed.frames
        elapsed = time.monotonic() - (mixer.feed.ticker.started_at or start)
    finally:
        stop.set()
        for t in feeders:
            t.join()
        mixer.stop()
    # the output clock kept its rate: the stalled and the broken guest cost no frames
    assert frames >= 0.85 * elapsed * FPS, (frames, elapsed, stats)
    assert mixer.feed.ticker.errors == mixer.feed.encode_errors == 0
    assert set(mixer.compositor.slated) == {"blue", "broken"}
    assert {g["id"]: g["slate"] for g in stats["guests"]} == {
        "red": False, "blue": True, "broken": True}
    assert stats["fps"] > 0.8 * FPS

    # the stream: H.264 with a keyframe every second, AAC, and the picture as composed
    with av.open(str(path)) as container:
        vs = container.streams.video[0]
        assert vs.codec_context.name == "h264" and container.streams.audio[0].codec_context.name == "aac"
        decoded = []
        keyframes = 0
        for packet in container.demux(vs):
            keyframes += bool(packet.is_keyframe)
            decoded.extend(packet.decode())
    assert len(decoded) >= frames
    assert keyframes >= len(decoded) // FPS
    last = VideoFrame.from_i420(decoded[-1].to_ndarray(format="yuv420p"), 0.0)
    boxes = [to_pixels(b, W, H) for b in layout_boxes("grid", 3)]
    red = boxes[0]
    assert close(sample(last, red.x + red.w // 2, red.y + red.h // 2), COLOURS["red"], tol=10)
    blue = boxes[1]
    assert not close(sample(last, blue.x + blue.w // 4, blue.y + blue.h // 4),
                     COLOURS["blue"], tol=20)
    ys = [f.to_ndarray(format="yuv420p")[red.y + red.h // 2, red.x + red.w // 2]
          for f in decoded[::5]]
    assert min(ys) > 30  # never black


def test_audio_follows_the_frame_clock(tmp_path: Path) -> None:
    """Without any audio clock the feed still carries continuous audio (silence)."""
    path = tmp_path / "a.ts"
    settings = FeedSettings(port=1, width=W, height=H, fps=FPS)
    encoder = TsEncoder(settings, str(path))
    for i in range(30):
        encoder.encode_video(solid("red", W, H), i)
        encoder.encode_audio(np.zeros((1600, 2), np.float32), i * 1600)
    encoder.close()
    with av.open(str(path)) as container:
        samples = sum(f.samples for f in container.decode(audio=0))
    assert abs(samples - 48_000) <= 2048


def test_the_clock_skips_late_ticks_instead_of_queueing_them() -> None:
    from control.guests.clock import Ticker

    seen: list[int] = []
    slow: list[int] = []

    def work(index: int, _due: float) -> None:
        seen.append(index)
        if index >= 3 and not slow:
            slow.append(index)
            time.sleep(0.055)  # one slow tick: 5.5 periods

    ticker = Ticker("t", 0.01, work, catch_up=1)
    ticker.start()
    deadline = time.monotonic() + 2
    while (not seen or seen[-1] < 20) and time.monotonic() < deadline:
        time.sleep(0.01)
    ticker.stop()
    after = seen[seen.index(slow[0]) + 1]
    assert ticker.skipped >= 3  # the ticks missed during the slow one are gone ...
    assert after >= slow[0] + 4  # ... not run late one after another
    assert seen == sorted(set(seen))  # the index (the timestamp) stays on the wall clock
