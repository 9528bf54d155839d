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
    assert mixer.output.frames > 0 and mixer.output.ticker.errors == mixer.output.encode_errors == 0
