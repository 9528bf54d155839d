"""The program feed over SRT with a passphrase into a real OBS (Debian's OBS 29, its
libavformat59 with libsrt 1.5), the "Program Feed" source created as preflight plans it.

Before the mixer connects, three senders try to put a green picture into it: a caller with
another passphrase (the system ffmpeg, libavformat's srt), a caller without encryption, and
plain MPEG-TS over UDP to the same port: none gets its picture shown. Then the mixer's
picture plays (the media cursor advances), and comes back after the media source restarts,
after the mixer's encoder stops and starts, and after OBS restarts; the mixer's frame clock
runs through all of it. Every wait is a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import io
import secrets
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest
from guests.support import RGB, solid

from control.guests.feed import FeedSettings, Link, Transport, TsEncoder
from control.guests.layouts import Program
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.srt import LinkError
from control.obs.client import ObsClient
from control.obs.launcher import ObsLauncher, ObsLaunchError
from control.obs.mediafeed import FeedWatch, watch_feed
from control.obs.preflight import FEED_SOURCE, feed_input_url, plan_feed

pytestmark = pytest.mark.live
Image = pytest.importorskip("PIL.Image")
SHOT_W, SHOT_H = 160, 90
CENTRE = (SHOT_H // 2, SHOT_W // 2)
W, H = 640, 360


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def near(pixel: np.ndarray, colour: str, tol: int = 50) -> bool:
    return all(abs(int(p) - q) <= tol for p, q in zip(pixel[:3], RGB[colour], strict=True))


async def centre(client: ObsClient) -> np.ndarray:
    answer = await client.call("GetSourceScreenshot", {
        "sourceName": FEED_SOURCE, "imageFormat": "png", "imageWidth": SHOT_W,
        "imageHeight": SHOT_H})
    png = base64.b64decode(answer["imageData"].split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))[CENTRE]


async def until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while not await check():
        assert time.monotonic() - t0 < timeout, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(0.2)
    return time.monotonic() - t0


def ffmpeg_caller(port: int, query: str) -> subprocess.CompletedProcess[str]:
    """Debian's ffmpeg (libavformat's srt) calls OBS's listener and sends green for 4 s."""
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
         f"color=c=0x1EC828:s={W}x{H}:r=30:d=4", "-c:v", "libx264", "-preset", "ultrafast",
         "-g", "10", "-f", "mpegts",
         f"srt://127.0.0.1:{port}?mode=caller&transtype=live&connect_timeout=2000{query}"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def udp_green(port: int) -> None:
    """Plain MPEG-TS over UDP at the SRT port (what reached OBS before): 2 s of green."""
    encoder = TsEncoder(FeedSettings(port=port, width=W, height=H, audio=False))
    try:
        for index in range(60):
            encoder.encode_video(solid("green", W, H), index)
            time.sleep(1 / 30)
    finally:
        encoder.close()


async def attackers(client: ObsClient, port: int, phrase: str) -> list[str]:
    """Three senders without the passphrase; what each one got. OBS must never show green."""
    outcomes = []
    for name, query in (("another passphrase", f"&pbkeylen=16&passphrase={phrase[::-1]}"),
                        ("no encryption", "")):
        run = asyncio.create_task(asyncio.to_thread(ffmpeg_caller, port, query))
        while not run.done():
            assert not near(await centre(client), "green"), f"{name}: green is on OBS"
            await asyncio.sleep(0.2)
        result = run.result()
        assert result.returncode != 0, f"{name}: ffmpeg sent its stream: {result.stderr}"
        outcomes.append(f"{name}: ffmpeg exit {result.returncode}, "
                        f"{result.stderr.strip().splitlines()[-1:]}")
    run = asyncio.create_task(asyncio.to_thread(udp_green, port))
    while not run.done():
        assert not near(await centre(client), "green"), "plain UDP: green is on OBS"
        await asyncio.sleep(0.2)
    run.result()
    outcomes.append("plain UDP: sent 2 s, not shown")
    # the mixer's own sender, with a wrong passphrase: refused at the handshake
    wrong = ("x" if phrase[0] != "x" else "y") + phrase[1:]
    with pytest.raises(LinkError, match="passphrase"):
        TsEncoder(FeedSettings(port=port, width=W, height=H, transport=Transport.SRT,
                               passphrase=wrong))
    return outcomes


async def provision(client: ObsClient, url: str) -> None:
    """The Program Feed as `showctl preflight --provision` makes it (if missing)."""
    inputs = {i["inputName"]: i["inputKind"]
              for i in (await client.call("GetInputList")).get("inputs", [])}
    items = {FEED_SOURCE} if FEED_SOURCE in inputs else set()
    for step in plan_feed({"Guests"}, inputs, {"Guests": items}, ["Guests"], url):
        assert step.request is not None
        assert (await client.batch([step.request]))[0].ok


async def cursor_moves(client: ObsClient) -> bool:
    first = await client.call("GetMediaInputStatus", {"inputName": FEED_SOURCE})
    await asyncio.sleep(0.6)
    second = await client.call("GetMediaInputStatus", {"inputName": FEED_SOURCE})
    return (second.get("mediaState") == "OBS_MEDIA_STATE_PLAYING"
            and (second.get("mediaCursor") or 0) > (first.get("mediaCursor") or 0))


def showing(client: ObsClient, colour: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return near(await centre(client), colour)
    return check


class Rig:
    """OBS, the mixer sending one guest's colour over SRT, the figures measured."""

    def __init__(self, root: Path) -> None:
        self.port, self.phrase = free_udp_port(), secrets.token_urlsafe(18)
        self.url = feed_input_url("srt", "127.0.0.1", self.port, passphrase=self.phrase,
                                  latency_ms=120)
        self.launcher = ObsLauncher(root / "obs", scenes={"Guests": []}, start_timeout=40)
        self.mixer = ProgramMixer(MixerSettings(
            port=self.port, width=W, height=H, stale_after=600.0, keyframe_every=8,
            transport=Transport.SRT, passphrase=self.phrase, latency_ms=120))
        self.mixer.set_program(Program(("guest",), "solo"))
        self.feed = self.mixer.feed
        self.figures: dict[str, float] = {}
        self.show("red")

    def show(self, colour: str) -> None:
        self.mixer.frames("guest").put(solid(colour, W, H, captured=time.monotonic()))

    async def session(self, check: Callable[[ObsClient], Awaitable[None]]) -> None:
        """``check`` with an OBS client, the feed watcher running as the controller runs it."""
        async with ObsClient(self.launcher.url, self.launcher.password) as client:
            await client.wait_connected(timeout=15)
            watch = FeedWatch(restart_on_start=False, stall_after=3.0, backoff=1.0)
            watcher = asyncio.create_task(watch_feed(
                client, FEED_SOURCE, lambda: self.feed.link is not Link.STOPPED,
                watch=watch, every=0.5))
            try:
                await check(client)
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)

    async def first_run(self, client: ObsClient) -> None:
        await provision(client, self.url)
        print("\n".join(await attackers(client, self.port, self.phrase)))
        await asyncio.to_thread(self.mixer.start)
        self.figures["first picture s"] = await until(showing(client, "red"), 30, "the mix")
        await until(lambda: cursor_moves(client), 15, "the media cursor to advance")
        # the media source restarts (an operator, the watcher): the picture goes on
        await client.call("TriggerMediaInputAction", {
            "inputName": FEED_SOURCE, "mediaAction": "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART"})
        self.show("blue")
        self.figures["after source restart s"] = await until(
            showing(client, "blue"), 30, "the mix after a source restart")
        # the mixer's encoder stops (no guest) and starts again
        await asyncio.to_thread(self.feed.stop)
        await asyncio.to_thread(self.feed.start)
        self.show("red")
        self.figures["after mixer restart s"] = await until(
            showing(client, "red"), 30, "the mix after the mixer restarts")

    async def after_obs_restart(self, client: ObsClient) -> None:
        await provision(client, self.url)  # kept in OBS's scene collection; else made again
        self.show("blue")
        self.figures["after OBS restart s"] = await until(
            showing(client, "blue"), 40, "the mix after OBS restarts")
        await until(lambda: cursor_moves(client), 15, "the media cursor after OBS restarts")


def test_the_srt_feed_plays_only_with_the_passphrase_and_comes_back(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    feed = rig.feed
    try:
        try:
            rig.launcher.start()
        except ObsLaunchError as exc:
            pytest.fail(str(exc), pytrace=False)
        asyncio.run(asyncio.wait_for(rig.session(rig.first_run), 180))
        ticks, connects, t0 = feed.ticker.ticks, feed.connects, time.monotonic()
        rig.launcher.restart(timeout=40)
        outage = rig.figures["OBS restart took s"] = time.monotonic() - t0
        # the frame clock ran on while OBS was away (the encoder thread kept calling)
        assert feed.ticker.ticks - ticks >= 0.3 * outage * 30, (feed.ticker.ticks, ticks)
        asyncio.run(asyncio.wait_for(rig.session(rig.after_obs_restart), 120))
    finally:
        rig.mixer.stop()
        rig.launcher.close()
    print({k: round(v, 2) for k, v in rig.figures.items()},
          {"connects": feed.connects, "link_errors": feed.link_errors})
    assert feed.connects > connects, "the mixer did not connect again after OBS restarted"
    assert feed.link_errors >= 2  # the cut-off connections, seen as write errors
    # no tick and no frame raised through any of it
    assert feed.ticker.errors == 0 and feed.encode_errors == 0
