"""The program feed in a real OBS: MPEG-TS over UDP into a media source shows the guests.

One OBS Studio 29 (Debian) under its own Xvfb; the media source is created over the
websocket exactly as the show's preflight would; every wait is a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import io
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from guests.support import RGB, solid

from control.guests.layouts import Program, layout_boxes, to_pixels
from control.guests.mixer import MixerSettings, ProgramMixer
from control.obs.client import ObsClient
from control.obs.launcher import ObsLauncher, ObsLaunchError

Image = pytest.importorskip("PIL.Image")
SHOT_W, SHOT_H = 320, 180


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def near(pixel: np.ndarray, rgb: tuple[int, int, int], tol: int = 45) -> bool:
    return all(abs(int(p) - q) <= tol for p, q in zip(pixel[:3], rgb, strict=True))


async def screenshot(client: ObsClient, source: str) -> np.ndarray:
    answer = await client.call("GetSourceScreenshot", {
        "sourceName": source, "imageFormat": "png", "imageWidth": SHOT_W,
        "imageHeight": SHOT_H})
    png = base64.b64decode(answer["imageData"].split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_obs_shows_the_program_feed(tmp_path: Path) -> None:
    port = free_udp_port()
    launcher = ObsLauncher(tmp_path / "obs", scenes={"Guests": []}, start_timeout=25)
    mixer = ProgramMixer(MixerSettings(port=port, stale_after=60.0))
    guests = ("red", "blue")
    mixer.set_program(Program(guests, "two-up"))
    for guest in guests:
        mixer.frames(guest).put(solid(guest, captured=time.monotonic()))
    centres = []
    for box in layout_boxes("two-up", 2):
        r = to_pixels(box, SHOT_W, SHOT_H)
        centres.append((r.y + r.h // 2, r.x + r.w // 2))

    async def main() -> np.ndarray:
        async with ObsClient(launcher.url, launcher.password) as client:
            await client.wait_connected(timeout=10)
            await client.call("CreateInput", {
                "sceneName": "Guests", "inputName": "Guest Mix", "inputKind": "ffmpeg_source",
                "sceneItemEnabled": True,
                "inputSettings": {"is_local_file": False, "input": f"udp://127.0.0.1:{port}",
                                  "input_format": "mpegts", "close_when_inactive": False,
                                  "restart_on_activate": False}})
            await asyncio.to_thread(mixer.start)  # the sender after the source (notes)
            shot = None
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                shot = await screenshot(client, "Guest Mix")
                if all(near(shot[c], RGB[g]) for c, g in zip(centres, guests, strict=True)):
                    return shot
                await asyncio.sleep(0.3)
            return shot

    try:
        try:
            launcher.start()
        except ObsLaunchError as exc:
            pytest.fail(str(exc), pytrace=False)
        shot = asyncio.run(asyncio.wait_for(main(), 25))
    finally:
        mixer.stop()
        launcher.close()
    for centre, guest in zip(centres, guests, strict=True):
        assert near(shot[centre], RGB[guest]), (guest, shot[centre], mixer.stats())
    assert mixer.feed.frames > 0 and mixer.feed.ticker.errors == mixer.feed.encode_errors == 0


def test_a_stopped_or_stalled_feed_is_restarted_by_the_watcher(tmp_path: Path) -> None:
    """The Program Feed as preflight provisions it; the watcher (control.obs.mediafeed)
    running as the controller runs it. The stream breaks off for longer than the stall
    time (OBS's source stays PLAYING on a frozen picture): the watcher restarts it, and it
    shows the mix again once the stream is back. OBS stops the source (an operator, a read
    error): it plays again (OBS's own reconnect, 1 s, usually comes first; the watcher is
    the second line)."""
    from control.obs.mediafeed import FeedWatch, watch_feed
    from control.obs.preflight import FEED_KIND, FEED_SOURCE, feed_settings

    port = free_udp_port()
    launcher = ObsLauncher(tmp_path / "obs", scenes={"Guests": []}, start_timeout=25)
    mixer = ProgramMixer(MixerSettings(port=port, stale_after=60.0, keyframe_every=8))
    mixer.set_program(Program(("red",), "solo"))
    mixer.frames("red").put(solid("red", captured=1e12))
    sending = [True]
    watch = FeedWatch(stall_after=1.5, backoff=0.5)
    centre = (SHOT_H // 2, SHOT_W // 2)

    async def main() -> dict[str, int]:
        async with ObsClient(launcher.url, launcher.password) as client:
            await client.wait_connected(timeout=10)
            await client.call("CreateInput", {
                "sceneName": "Guests", "inputName": FEED_SOURCE, "inputKind": FEED_KIND,
                "sceneItemEnabled": True,
                "inputSettings": feed_settings(f"udp://127.0.0.1:{port}")})
            await asyncio.to_thread(mixer.start)
            watcher = asyncio.create_task(watch_feed(client, FEED_SOURCE, lambda: sending[0],
                                                     watch=watch, every=0.2))

            async def until(check, timeout: float, what: str) -> None:
                deadline = time.monotonic() + timeout
                while not await check():
                    assert time.monotonic() < deadline, f"timed out waiting for {what}"
                    await asyncio.sleep(0.1)

            async def red() -> bool:
                return near((await screenshot(client, FEED_SOURCE))[centre], RGB["red"])

            async def state() -> str:
                status = await client.call("GetMediaInputStatus", {"inputName": FEED_SOURCE})
                return str(status["mediaState"])

            try:
                await until(red, 15, "the mix in OBS")
                assert watch.restarts["start"] == 1
                # the stream breaks off (the encoder stops; the mixer still wants to send)
                await asyncio.to_thread(mixer.feed.stop)
                t0 = time.monotonic()
                await until(lambda: asyncio.sleep(0, watch.restarts["stalled"] >= 1), 10,
                            "the watcher to restart the stalled source")
                print(f"stalled feed restarted after {time.monotonic() - t0:.2f} s")
                await asyncio.to_thread(mixer.feed.start)
                await until(red, 15, "the mix back once the stream is")
                # someone stops the source: OBS says STOPPED, then ENDED
                await client.call("TriggerMediaInputAction", {
                    "inputName": FEED_SOURCE,
                    "mediaAction": "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_STOP"})
                await until(lambda: state_is(state, "OBS_MEDIA_STATE_PLAYING"), 10, "playing")
                await until(red, 15, "the mix back after the stop")
                return dict(watch.restarts)
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)

    try:
        try:
            launcher.start()
        except ObsLaunchError as exc:
            pytest.fail(str(exc), pytrace=False)
        restarts = asyncio.run(asyncio.wait_for(main(), 80))
    finally:
        mixer.stop()
        launcher.close()
    assert restarts["start"] == 1 and restarts["stalled"] >= 1


async def state_is(state, wanted: str) -> bool:
    return await state() == wanted


OFF_PROGRAM_S = 15.0  # the feed's scene off program while the mixer sends (black: no guest)


def test_the_feed_shows_the_mix_of_now_after_time_off_program(tmp_path: Path) -> None:
    """The Program Feed as preflight provisions it, its scene off program for 15 s while
    the mixer goes on sending (guests in the green room between guest segments), then on
    program again with another guest: OBS shows that guest at once, not the backlog of the
    time off program. (Kept open off program, OBS's source stopped reading while ffmpeg
    buffered the stream, and played it late at the take: 13 s late after 15 s off.)"""
    from helpers import until

    from control.obs.preflight import FEED_KIND, FEED_SOURCE, feed_settings

    port = free_udp_port()
    launcher = ObsLauncher(tmp_path / "obs", scenes={"Guests": [], "Wide": []},
                           start_timeout=25)
    mixer = ProgramMixer(MixerSettings(port=port, stale_after=60.0, keyframe_every=8))
    for guest in ("red", "blue"):
        mixer.frames(guest).put(solid(guest, captured=1e12))
    centre = (SHOT_H // 2, SHOT_W // 2)

    async def main() -> float:
        async with ObsClient(launcher.url, launcher.password) as client:
            await client.wait_connected(timeout=10)
            await client.call("CreateInput", {
                "sceneName": "Guests", "inputName": FEED_SOURCE, "inputKind": FEED_KIND,
                "sceneItemEnabled": True,
                "inputSettings": feed_settings(f"udp://127.0.0.1:{port}")})

            async def take(scene: str, guests: tuple[str, ...]) -> None:
                mixer.set_program(Program(guests, "solo"))
                await client.call("SetCurrentProgramScene", {"sceneName": scene})

            async def shows(guest: str) -> bool:
                return near((await screenshot(client, FEED_SOURCE))[centre], RGB[guest])

            await asyncio.to_thread(mixer.start)
            await take("Guests", ("red",))
            await until(lambda: shows("red"), 20, "the first guest in OBS", interval=0.1)
            await take("Wide", ())
            await asyncio.sleep(OFF_PROGRAM_S)  # the time off program is what is tested
            t0 = time.monotonic()
            await take("Guests", ("blue",))
            await until(lambda: shows("blue"), OFF_PROGRAM_S + 10, "the next guest in OBS",
                        interval=0.05)
            return time.monotonic() - t0

    try:
        try:
            launcher.start()
        except ObsLaunchError as exc:
            pytest.fail(str(exc), pytrace=False)
        after = asyncio.run(asyncio.wait_for(main(), 90))
    finally:
        mixer.stop()
        launcher.close()
    print(f"the next guest in OBS {after:.2f} s after the take, {OFF_PROGRAM_S:g} s off program")
    # 0.5-1 s measured under a load of 10 on two cores; the backlog would be ~OFF_PROGRAM_S
    assert after < OFF_PROGRAM_S / 2, after
