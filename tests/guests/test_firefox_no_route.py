"""A guest whose browser has no network path to the studio sees why, in Firefox ESR and in
Chromium. In the loopback-only namespace, a browser not allowed to use loopback for WebRTC
has no address to offer: Firefox's ICE fails at once, inside the page's gathering wait
(before, its retry closed that attempt, which threw "Peer connection is closed", never
posted its offer, and the guest read only that). Now each attempt owns its peer connection:
the page says, in the guest's language, that no path was found, and tries again; nothing
is thrown unhandled, no offer without an address reaches the gateway."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from firefox import FIREFOX, available, launch_firefox
from guests.test_firefox_guest import open_page
from helpers import CHROMIUM, launch_chromium, until
from netns import only_inside, rerun_inside

from control.guests.gateway import Gateway, configure_ice_hosts
from control.guests.invites import invite_url, make_token
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.routes import install

pytestmark = [pytest.mark.browser, pytest.mark.live]
INNER = "SHOWCTL_TEST_NETNS_NO_ROUTE"
SECRET = b"no-route"
STATIC = Path(__file__).resolve().parents[2] / "control" / "guests" / "static"
WORDS = {lang: json.loads((STATIC / f"i18n.{lang}.json").read_text("utf-8")) for lang in ("en", "zh")}
LINK_KEYS = ("link.no_route", "link.failed")
# the page's unhandled errors, kept from before Join on
WATCH = """(() => { window.unhandled = [];
  addEventListener('unhandledrejection', (e) => unhandled.push(String(e.reason)));
  addEventListener('error', (e) => unhandled.push(String(e.message))); return true; })()"""
SEEN = "({problem: showctlGuest.state().problem, attempt: showctlGuest.state().attempt, " \
       "text: document.getElementById('error').textContent, unhandled: window.unhandled})"


def test_in_a_loopback_namespace():
    rerun_inside(__file__, " -k 'sees_why'", INNER, timeout=200,
                 needs=(FIREFOX, "node", CHROMIUM), passed=2)


@contextlib.asynccontextmanager
async def studio() -> AsyncIterator[tuple[str, Gateway]]:
    configure_ice_hosts(["127.0.0.1"])
    gateway = Gateway(ProgramMixer(MixerSettings(port=9)))
    roster = {"ada": {"id": "ada", "name": "Ada", "name_zh": None, "role": None}}
    app = web.Application()
    install(app, gateway, secret=SECRET, roster=lambda: roster,
            status=lambda g: {"status": "invited", "on_air": False})
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield invite_url("127.0.0.1", port, "ada", make_token(SECRET, "ada", time.time() + 600)), gateway
    finally:
        await gateway.close()
        await runner.cleanup()


async def sees_why(page: Any, gateway: Gateway) -> None:
    """Join, then watch three attempts: each says why in words, none throws."""
    assert await page.evaluate(WATCH)
    await page.click("#join")
    seen: list[dict[str, Any]] = []

    async def three_attempts() -> bool:
        now = await page.evaluate(SEEN)
        seen.append(now)
        return now["attempt"] >= 3 and now["problem"] in LINK_KEYS

    await until(three_attempts, 40, "three attempts, each saying why", interval=0.1)
    shown = {s["text"] for s in seen if s["text"]}
    assert shown, seen
    assert shown <= {WORDS["en"][key] for key in LINK_KEYS}, shown  # never a raw exception
    assert seen[-1]["unhandled"] == [], seen[-1]
    assert gateway.sessions == {}  # no offer without an address was posted
    await page.click("#lang")  # the guest's language: the same problem, in Chinese
    text = await page.evaluate("document.getElementById('error').textContent")
    assert text in {WORDS["zh"][key] for key in LINK_KEYS}, text


@pytest.mark.timeout(120)
async def test_firefox_guest_sees_why():
    only_inside(INNER, "test_in_a_loopback_namespace")
    if why := available():
        pytest.skip(why)
    async with studio() as (link, gateway), launch_firefox(
            prefs={"media.peerconnection.ice.loopback": False}) as firefox:
        await open_page(firefox, link)
        await sees_why(firefox, gateway)


@pytest.mark.timeout(120)
async def test_chromium_guest_sees_why():
    only_inside(INNER, "test_in_a_loopback_namespace")
    from playwright.async_api import async_playwright

    fake_devices = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
    async with studio() as (link, gateway), async_playwright() as pw:
        browser = await launch_chromium(pw, args=fake_devices)  # no loopback for WebRTC
        try:
            page = await browser.new_page()
            await open_page(page, link)
            await sees_why(page, gateway)
        finally:
            await browser.close()
