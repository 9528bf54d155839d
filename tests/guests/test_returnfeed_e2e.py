"""The return feed end to end, loopback only: two WebRTC guests join over WHIP, each sending
a tone; what each one receives back on the same peer connection holds the other's tone
and not their own (mix-minus). Then the guest page in headless Chromium plays its return.

The body runs again in a network namespace that has nothing but loopback (unshare -n), so
no packet can leave 127.0.0.1 (as test_webrtc_e2e does)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np
import pytest
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from guests.support import amplitude_at
from helpers import CHROMIUM, launch_chromium, until
from netns import only_inside, rerun_inside

from control.guests.audio import BLOCK, RATE, s16_to_float
from control.guests.gateway import Gateway, configure_ice_hosts
from control.guests.invites import invite_url, make_token
from control.guests.layouts import Program
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.routes import install

INNER = "SHOWCTL_TEST_NETNS_RETURN"
ROOT = Path(__file__).resolve().parents[2]
SECRET = b"return-e2e"
TONES = {"ada": 500.0, "bob": 1300.0}  # whole cycles in a 1 s window; not harmonics
AMPLITUDE = 0.25


def test_in_a_loopback_namespace():
    rerun_inside(__file__, " -k 'hears or page'", INNER, timeout=150, passed=None)


def inside() -> None:
    only_inside(INNER, "test_in_a_loopback_namespace")


class NoEncoder:
    """The program output's encoder, doing nothing: this test is about the return feed."""

    def __init__(self, *_args: Any) -> None:
        pass

    def encode_video(self, *_args: Any) -> None:
        pass

    def encode_audio(self, *_args: Any) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Server:
    url: str
    mixer: ProgramMixer
    gateway: Gateway

    def link(self, guest: str) -> str:
        port = int(self.url.rsplit(":", 1)[1])
        return invite_url("127.0.0.1", port, guest, token(guest))


def token(guest: str) -> str:
    return make_token(SECRET, guest, int(time.time() + 600))


@contextlib.asynccontextmanager
async def serve() -> AsyncIterator[Server]:
    """The guest routes and a running mixer with both guests on air."""
    configure_ice_hosts(["127.0.0.1"])
    mixer = ProgramMixer(MixerSettings(port=9, width=320, height=180, fps=5),
                         encoder=NoEncoder)  # type: ignore[arg-type]
    mixer.set_program(Program(tuple(TONES), "two-up"))
    gateway = Gateway(mixer)
    roster = {g: {"id": g, "name": g.title(), "name_zh": None, "role": None} for g in TONES}
    app = web.Application()
    install(app, gateway, secret=SECRET, roster=lambda: roster,
            status=lambda g: {"status": "on-air", "on_air": True})
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    mixer.start()
    try:
        yield Server(f"http://127.0.0.1:{port}", mixer, gateway)
    finally:
        await gateway.close()
        mixer.stop()
        await runner.cleanup()


class Tone(MediaStreamTrack):
    """An outbound audio track: a sine in 20 ms frames, paced like a microphone."""

    kind = "audio"

    def __init__(self, freq: float) -> None:
        super().__init__()
        self.freq = freq
        self.n = 0
        self.start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.n / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (self.n + np.arange(BLOCK)) / RATE
        mono = np.rint(AMPLITUDE * 32767 * np.sin(2 * np.pi * self.freq * t))
        pcm = np.repeat(mono.astype(np.int16)[:, None], 2, axis=1)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts = RATE, self.n
        frame.time_base = Fraction(1, RATE)
        self.n += BLOCK
        return frame


class Guest:
    """An aiortc WHIP client: sends its tone, keeps what comes back."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: loopback only
        self.pc.addTransceiver(Tone(TONES[name]), direction="sendrecv")
        self.received: list[np.ndarray] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", lambda track: self.tasks.append(
            asyncio.create_task(self._collect(track))))

    async def _collect(self, track: Any) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.received.append(s16_to_float(frame.to_ndarray().reshape(-1)))

    async def join(self, server: Server) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with aiohttp.ClientSession() as http:
            r = await http.post(f"{server.url}/whip/{self.name}",
                                data=self.pc.localDescription.sdp,
                                headers={"Content-Type": "application/sdp",
                                         "Authorization": f"Bearer {token(self.name)}"})
            assert r.status == 201, await r.text()
            answer = await r.text()
        assert "a=sendrecv" in answer.split("m=audio", 1)[1]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    def samples(self) -> int:
        return sum(len(b) for b in self.received)

    async def close(self) -> None:
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.mark.timeout(90)
async def test_each_guest_hears_the_other_and_not_themself():
    inside()
    async with serve() as server:
        guests = {name: Guest(name) for name in TONES}
        try:
            for guest in guests.values():
                await guest.join(server)
            await until(lambda: all(server.gateway.phase(g) == "connected" for g in guests),
                        20, "both guests connected")
            await until(lambda: set(server.mixer.audio.meters) >= set(TONES)
                        and all(server.mixer.audio.meters[g] > -20 for g in TONES), 15,
                        "both tones in the mixer")
            # from now on: a settled second of what each guest hears
            for guest in guests.values():
                guest.received.clear()
            await until(lambda: all(g.samples() >= 2 * RATE for g in guests.values()), 20,
                        "two seconds of return audio")
        finally:
            for guest in guests.values():
                await guest.close()
    for name, guest in guests.items():
        heard = np.concatenate(guest.received)[RATE // 2:RATE // 2 + RATE]
        other = next(g for g in TONES if g != name)
        theirs = amplitude_at(heard, TONES[other])
        mine = amplitude_at(heard, TONES[name])
        assert theirs > 0.4 * AMPLITUDE, f"{name} hears {other} at {theirs:.3f}"
        assert mine < 0.05 * theirs, f"{name} hears themself at {mine:.4f} ({theirs:.3f})"


@pytest.mark.timeout(90)
async def test_the_guest_page_plays_its_return_feed():
    """Chromium as ada (fake microphone), bob an aiortc tone: ada's page plays what comes
    back, and it is not silence."""
    inside()
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium")
    from playwright.async_api import async_playwright

    async with serve() as server, async_playwright() as pw:
        bob = Guest("bob")
        browser = await launch_chromium(pw, media=True)
        try:
            await bob.join(server)
            page = await browser.new_page(bypass_csp=True)  # (the predicates below are strings)
            await page.goto(server.link("ada"))
            await page.wait_for_function("window.showctlGuest", timeout=10_000)
            await page.click("#join")  # a real click: the browser lets the page play sound
            await until(lambda: server.gateway.phase("ada") == "connected", 20,
                        "the page connected")
            await page.wait_for_function("showctlGuest.state().hearing", timeout=10_000)
            assert await page.locator("#hear").is_hidden()  # nobody had to click again
            # the page receives sound with energy in it (bob's tone), not silence
            await page.wait_for_function("""async () => {
                const el = document.getElementById('return');
                const track = el.srcObject.getAudioTracks()[0];
                let energy = 0;
                for (const pc of [window.showctlGuest.pc?.()].filter(Boolean)) {
                  (await pc.getStats(track)).forEach((r) => {
                    if (r.type === 'inbound-rtp') energy = r.totalAudioEnergy || 0; });
                }
                return energy > 0.01;
            }""", timeout=15_000)
        finally:
            await browser.close()
            await bob.close()
