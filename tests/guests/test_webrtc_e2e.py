"""End to end, loopback only: headless Chromium with a fake camera opens the invite link,
joins over WHIP, and the mixer receives its frames. The body runs again in a network
namespace that has nothing but loopback (unshare -n), so no packet can leave 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from aiohttp import web
from guests.support import page_until
from helpers import CHROMIUM, launch_chromium, until
from netns import only_inside, rerun_inside

from control.guests.gateway import Gateway, configure_ice_hosts, guest_statuses
from control.guests.invites import invite_url, make_token
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.routes import install

INNER = "SHOWCTL_TEST_NETNS"
ROOT = Path(__file__).resolve().parents[2]


def test_in_a_loopback_namespace():
    rerun_inside(__file__, "::test_chromium_joins", INNER, timeout=90, needs=(CHROMIUM,))


@pytest.mark.timeout(60)
async def test_chromium_joins():
    only_inside(INNER, "test_in_a_loopback_namespace")
    from playwright.async_api import async_playwright

    configure_ice_hosts(["127.0.0.1"])
    mixer = ProgramMixer(MixerSettings(port=9))  # not started: we only read what it receives
    gateway = Gateway(mixer)
    secret = b"e2e"
    roster = {"ada": {"id": "ada", "name": "Ada", "name_zh": None, "role": None}}

    def view():
        return guest_statuses(list(roster.values()), gateway, on_air=[], ready=[])

    app = web.Application()
    install(app, gateway, secret=secret, roster=lambda: roster,
            status=lambda g: {"status": view()[0]["status"], "on_air": False})
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    link = invite_url("127.0.0.1", port, "ada", make_token(secret, "ada", time.time() + 600))
    try:
        async with async_playwright() as pw:
            browser = await launch_chromium(pw, media=True)
            context = await browser.new_context()  # one browser: it keeps the rejoin secret
            page = await context.new_page()
            await page.goto(link)
            await page_until(page, "window.showctlGuest !== undefined", 10, "the page's script")
            await page.evaluate("showctlGuest.join()")
            await until(lambda: gateway.phase("ada") == "connected", 20, "the guest connected")
            await until(lambda: mixer.frames("ada").received > 10, 15, "frames in the mixer")
            frame = mixer.frames("ada").latest()
            assert frame is not None and frame.width >= 320
            assert view()[0]["status"] == "green-room"
            await page_until(page, "showctlGuest.state().status === 'green-room'", 5,
                             "the page showing green-room")
            await until(lambda: "ada" in gateway.link, 10, "the page's stats")
            # the guest closes the page; the same link joins again and takes over
            await page.close()
            before = mixer.frames("ada").received
            page = await context.new_page()
            await page.goto(link)
            await page_until(page, "window.showctlGuest !== undefined", 10, "the page's script")
            await page.evaluate("showctlGuest.join()")
            await until(lambda: mixer.frames("ada").received > before + 10
                         and gateway.phase("ada") == "connected", 10, "the slot restored")
            assert len(gateway.sessions) == 1
            await browser.close()
    finally:
        await runner.cleanup()
