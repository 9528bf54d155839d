"""`guests.sfu: janus` end to end: a guest's WHIP POST to showctl (invite token, limits as
ever) is answered by a real Janus, and the guest's picture and sound reach the program
mixer's `LatestFrame` / `push_audio` through Janus's RTP forwarders. Then Janus is killed
mid-show: the guest is slated at once, the mixer goes on, joins get 503 + Retry-After, and
the guest is back on its next offer once Janus is. The real guest page in Chromium joins the
same way. Inside a namespace of the test's own
(tests/janus/space.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import av
import numpy as np
import pytest
from aiohttp import web
from guests.support import page_until
from helpers import launch_chromium, until
from janus.guest import RED, Guest
from janus.space import STUDIO, only_in_studio, rerun_in_studio

from control.guests.gateway import configure_ice_hosts
from control.guests.invites import make_token
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.routes import REJOIN, install
from control.janus.server import JanusServer
from control.wiring.sfu import JanusGateway, janus_room

pytestmark = pytest.mark.live
INNER = "SHOWCTL_TEST_JANUS_SFU"
SECRET = b"sfu-test"


@pytest.mark.browser  # (the Chromium test runs inside)
def test_in_the_studio_namespace():
    rerun_in_studio(__file__, " -k through_janus", INNER, timeout=300, passed=3)


class CountingMixer(ProgramMixer):
    """The program mixer, counting the sound it is given."""

    def __init__(self, settings: MixerSettings) -> None:
        super().__init__(settings)
        self.samples: dict[str, int] = {}

    def push_audio(self, guest: str, pcm: np.ndarray) -> None:
        self.samples[guest] = self.samples.get(guest, 0) + len(pcm)
        super().push_audio(guest, pcm)


@dataclass
class Studio:
    url: str
    janus: JanusServer
    gateway: JanusGateway
    mixer: CountingMixer


@contextlib.asynccontextmanager
async def studio(root: Path) -> AsyncIterator[Studio]:
    """Janus on STUDIO, showctl's guest routes with a JanusGateway into a mixer."""
    configure_ice_hosts([STUDIO])
    with JanusServer(root / "janus", interface=STUDIO) as janus:
        mixer = CountingMixer(MixerSettings(port=9, width=320, height=180, fps=15))
        gateway = JanusGateway(mixer, janus_room(janus.url, 7, janus.admin_key, None))
        roster = {"ada": {"id": "ada", "name": "Ada", "name_zh": None, "role": None}}
        app = web.Application()
        install(app, gateway, secret=SECRET, roster=lambda: roster,
                status=lambda g: {"status": gateway.phase(g), "on_air": False})
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        gateway.start()
        try:
            await until(lambda: gateway.sfu_up, 15, "showctl connected to Janus")
            yield Studio(f"http://127.0.0.1:{port}", janus, gateway, mixer)
        finally:
            await runner.cleanup()  # closes the gateway (and its Janus client)
            await gateway.close()


async def whip(url: str, offer: str, rejoin: str | None = None) -> aiohttp.ClientResponse:
    headers = {"Content-Type": "application/sdp",
               "Authorization": f"Bearer {make_token(SECRET, 'ada', int(time.time()) + 600)}"}
    if rejoin:
        headers[REJOIN] = rejoin
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{url}/whip/ada", data=offer, headers=headers)
        await resp.read()
        return resp


async def join(studio: Studio, rejoin: str | None = None):
    """A guest as the page is one: offer, answer, connect. (guest, its rejoin secret)"""
    from aiortc import RTCSessionDescription

    guest = Guest()
    offer = await guest.offer()
    resp = await whip(studio.url, offer, rejoin)
    assert resp.status == 201, resp.status
    await guest.pc.setRemoteDescription(RTCSessionDescription(await resp.text(), "answer"))
    return guest, resp.headers.get(REJOIN) or rejoin


def planes(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.array([np.median(y), np.median(u), np.median(v)])


def red_as_sent() -> np.ndarray:
    """The guest's red as its encoder sees it (PyAV's RGB -> YUV 4:2:0, limited range)."""
    sent = av.VideoFrame.from_ndarray(np.full((240, 320, 3), RED, np.uint8), format="rgb24")
    i420 = sent.reformat(format="yuv420p").to_ndarray()
    return planes(i420[:240], i420[240:300].reshape(120, 160), i420[300:].reshape(120, 160))


def red_in_mixer(mixer: ProgramMixer) -> bool:
    frame = mixer.frames("ada").latest()
    return frame is not None and bool(
        np.abs(planes(frame.y, frame.u, frame.v) - red_as_sent()).max() < 8)


@pytest.mark.timeout(90)
async def test_a_guest_reaches_the_mixer_through_janus(tmp_path: Path):
    only_in_studio(INNER, "test_in_the_studio_namespace")
    async with studio(tmp_path) as s:
        guest, _ = await join(s)
        try:
            await until(lambda: s.gateway.phase("ada") == "connected", 20, "connected")
            await until(lambda: s.mixer.frames("ada").received > 15, 20, "frames in the mixer")
            assert red_in_mixer(s.mixer)
            frame = s.mixer.frames("ada").latest()
            assert frame is not None and (frame.width, frame.height) == (320, 240)
            await until(lambda: s.mixer.samples.get("ada", 0) > 48_000, 10, "a second of sound")
            # the link's bytes and loss, from the forwarded streams (Prometheus reads them)
            await until(lambda: (s.gateway.meter.metrics("ada")["received_bytes"] or 0) > 10_000
                        and s.gateway.meter.metrics("ada")["loss_ratio"] is not None, 10,
                        "link counters")
            assert len(s.gateway.sessions) == 1 and len(s.gateway.room.publishers) == 1
        finally:
            await guest.close()


@pytest.mark.timeout(150)
async def test_janus_dies_mid_show_through_janus(tmp_path: Path):
    only_in_studio(INNER, "test_in_the_studio_namespace")
    async with studio(tmp_path) as s:
        s.mixer.start()  # the show: the program feed is being made
        guest, rejoin = await join(s)
        try:
            await until(lambda: s.mixer.frames("ada").received > 15, 30, "frames in the mixer")
            killed = time.monotonic()
            await asyncio.to_thread(s.janus.kill)
            await until(lambda: s.gateway.phase("ada") == "disconnected"
                        and s.mixer.frames("ada").latest() is None, 5, "the guest slated")
            slated_in = time.monotonic() - killed
            made = s.mixer.feed.frames
            await until(lambda: s.mixer.feed.frames > made + 15, 10, "the show goes on")
            refused = await whip(s.url, await guest.offer(), rejoin)  # the page tries again
            assert refused.status == 503 and refused.headers["Retry-After"] == "2"
            await guest.close()
            await asyncio.to_thread(s.janus.start)
            await until(lambda: s.gateway.sfu_up, 20, "showctl back on Janus")
            guest, _ = await join(s, rejoin)
            await until(lambda: s.gateway.phase("ada") == "connected", 20, "connected again")
            await until(lambda: red_in_mixer(s.mixer), 20, "the guest's picture back")
            assert slated_in < 2.0, slated_in
        finally:
            await guest.close()
            s.mixer.stop()


@pytest.mark.browser
@pytest.mark.timeout(120)
async def test_chromium_guest_page_through_janus(tmp_path: Path):
    """The real guest page in Debian's Chromium (fake camera) joins through showctl's door
    and Janus; its picture reaches the mixer."""
    only_in_studio(INNER, "test_in_the_studio_namespace")
    from playwright.async_api import async_playwright

    from control.guests.invites import invite_url

    async with studio(tmp_path) as s:
        port = int(s.url.rsplit(":", 1)[1])
        link = invite_url("127.0.0.1", port, "ada",
                          make_token(SECRET, "ada", int(time.time()) + 600))
        async with async_playwright() as pw:
            browser = await launch_chromium(pw, media=True)
            try:
                page = await browser.new_page()
                await page.goto(link)
                await page_until(page, "window.showctlGuest !== undefined", 15,
                                 "the page's script")
                await page.evaluate("showctlGuest.join()")
                await until(lambda: s.gateway.phase("ada") == "connected", 30,
                            "Chromium connected to Janus")
                await until(lambda: s.mixer.frames("ada").received > 15, 20,
                            "Chromium's frames in the mixer")
                frame = s.mixer.frames("ada").latest()
                assert frame is not None and frame.width >= 320
                await until(lambda: s.mixer.samples.get("ada", 0) > 48_000, 10,
                            "a second of Chromium's sound")
            finally:
                await browser.close()
