"""The mixer's SRT caller against Debian's ffmpeg as the listener (libavformat59 with
libsrt 1.5: what OBS's media source opens the feed with), on loopback, without OBS.

Nobody listening: ``start`` returns after one bounded try, the frame clock runs, the
encoder thread tries again with a growing pause (no hammering). A listener appears: the
feed connects and the listener gets the mixer's picture, decodable. The listener goes
away: the write error drops the stream, the frame clock goes on, and the next listener
gets the picture again.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from pathlib import Path

import av
import numpy as np
import pytest
from guests.support import RGB, solid
from helpers import wait_for

from control.guests.feed import Link, Transport
from control.guests.layouts import Program
from control.guests.mixer import MixerSettings, ProgramMixer

pytestmark = pytest.mark.live
W, H, FPS = 320, 180, 30


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listener(port: int, phrase: str, out: Path) -> subprocess.Popen[bytes]:
    """ffmpeg as OBS's media source would open the feed (same URL form), 2 s to a file."""
    url = (f"srt://127.0.0.1:{port}?mode=listener&transtype=live&latency=120000"
           f"&pbkeylen=16&passphrase={phrase}")
    return subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", url,
                             "-c", "copy", "-t", "2", "-f", "mpegts", str(out)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def centre_colour(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert frames, f"{path}: no picture"
    return frames[-1][H // 2, W // 2]


def test_the_caller_waits_for_a_listener_and_comes_back_after_it_goes(tmp_path: Path) -> None:
    port, phrase = free_udp_port(), secrets.token_urlsafe(18)
    mixer = ProgramMixer(MixerSettings(port=port, width=W, height=H, fps=FPS,
                                       stale_after=600.0, keyframe_every=8,
                                       transport=Transport.SRT, passphrase=phrase))
    mixer.set_program(Program(("guest",), "solo"))
    mixer.frames("guest").put(solid("red", W, H, captured=time.monotonic()))
    feed = mixer.feed
    procs: list[subprocess.Popen[bytes]] = []
    try:
        t0 = time.monotonic()
        mixer.start()
        assert time.monotonic() - t0 < 5, "start waited for OBS"
        time.sleep(4)  # nobody listens for 4 s (what is measured is this window)
        elapsed = time.monotonic() - t0
        assert feed.link is Link.CONNECTING and feed.frames == 0
        assert 2 <= feed.link_errors <= 5, feed.link_errors  # tries again, with pauses
        assert feed.ticker.ticks >= 0.3 * elapsed * FPS and feed.ticker.errors == 0
        for round_ in (1, 2):
            out = tmp_path / f"got{round_}.ts"
            errors = feed.link_errors
            procs.append(proc := listener(port, phrase, out))
            wait_for(lambda: feed.link is Link.SENDING, timeout=15)
            assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
            # the listener has gone: the stream is dropped, the clock goes on
            wait_for(lambda: feed.link_errors > errors, timeout=15)  # noqa: B023
            ticks = feed.ticker.ticks
            wait_for(lambda: feed.ticker.ticks > ticks + FPS, timeout=10)  # noqa: B023
            colour = centre_colour(out)
            assert all(abs(int(c) - r) < 50 for c, r in zip(colour, RGB["red"], strict=True))
        assert feed.connects == 2 and feed.encode_errors == feed.ticker.errors == 0
    finally:
        mixer.stop()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
