"""The console's live guest thumbnails, end to end and loopback only: the controller runs
(in-process, no OBS needed), headless Chromium with a fake camera joins as a guest, and a
viewer's console in the same Chromium shows the guest's picture and refreshes it about once
a second; when the guest leaves, the picture goes.

Re-runs itself under ``unshare -n`` (nothing but loopback), like tests/guests' WebRTC tests.
"""

from __future__ import annotations

import asyncio
import io
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import CHROMIUM, launch_chromium, until
from netns import only_inside, rerun_inside
from rundowns import guest_show

from control.config import Settings
from control.guests.invites import SECRET_ENV, invite_url, load_secret, make_token
from control.obs.launcher import free_port
from control.wiring.live import run_show

Image = pytest.importorskip("PIL.Image")
INNER = "SHOWCTL_TEST_NETNS_THUMBNAILS"
ROOT = Path(__file__).resolve().parents[2]
VIEWER = "viewer-thumbnail-token-0123"
RUNDOWN = guest_show("Thumbnails", ('ada', 'bob'))


def test_in_a_loopback_namespace():
    rerun_inside(__file__, "::test_the_console_shows_a_live_thumbnail", INNER, timeout=150, needs=(CHROMIUM,))


def get(url: str, token: str | None) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}
                                 if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read()


@pytest.mark.timeout(120)
async def test_the_console_shows_a_live_thumbnail(tmp_path: Path):
    only_inside(INNER, "test_in_a_loopback_namespace")
    from playwright.async_api import async_playwright

    rundown = tmp_path / "thumbs.yaml"
    rundown.write_text(RUNDOWN, "utf-8")
    port = free_port()
    settings = replace(Settings(), obs_url=f"ws://127.0.0.1:{free_port()}",  # no OBS
                       http_port=port, director_token="d" * 24, viewer_token=VIEWER,
                       state_dir=tmp_path, armed=False, guest_ice_hosts="127.0.0.1",
                       guest_secret="thumb-secret", mixer_port=free_port(),
                       mixer_width=320, mixer_height=180, mixer_fps=10)
    secret = load_secret(tmp_path, {SECRET_ENV: "thumb-secret"})
    link = invite_url("127.0.0.1", port, "ada", make_token(secret, "ada",
                                                           int(time.time()) + 600))
    base = f"http://127.0.0.1:{port}"
    thumb_url = f"{base}/api/guests/ada/thumbnail.jpg"
    async with run_show(rundown, settings, fresh=True), async_playwright() as pw:
        status, kind, _ = await asyncio.to_thread(get, thumb_url, VIEWER)
        assert status == 404 and kind.startswith("application/json")  # nobody: no picture
        browser = await launch_chromium(pw, media=True)
        try:
            console = await (await browser.new_context(viewport={"width": 1600,
                                                                 "height": 900})).new_page()
            errors: list[str] = []
            console.on("pageerror", lambda e: errors.append(str(e)))
            await console.goto(base + "/")
            await console.locator("#login-token").fill(VIEWER)
            await console.locator("#login-submit").click()
            row = console.locator('#guests-list li.guest[data-id="ada"]')
            thumb = row.locator("img.guest-thumb")
            await thumb.wait_for(state="attached", timeout=10_000)
            assert await thumb.is_hidden()  # invited, not connected: no picture

            guest = await (await browser.new_context()).new_page()
            await guest.goto(link)
            # polled by evaluate, not wait_for_function: its polling evals a string, which the
            # guest page's CSP refuses while the page's script is still loading
            await until(lambda: guest.evaluate("window.showctlGuest !== undefined"), 10,
                        "the guest page's script", interval=0.05)
            await guest.evaluate("showctlGuest.join()")

            async def loaded() -> str | None:
                src = await thumb.get_attribute("src")
                ok = await thumb.evaluate(
                    "img => img.complete && img.naturalWidth === 160 && !img.hidden")
                return src if ok else None

            first = await until(loaded, 30, "the guest's thumbnail in the console")
            assert "thumbnail.jpg?v=" in first
            assert await thumb.get_attribute("alt") == "Live picture of Ada"

            async def refreshed() -> bool:
                src = await loaded()
                return src is not None and src != first

            await until(refreshed, 10, "a newer thumbnail (refreshed about once a second)")
            # the picture is the fake camera's, a real JPEG for any role's credential
            status, kind, data = await asyncio.to_thread(get, thumb_url, VIEWER)
            assert (status, kind) == (200, "image/jpeg")
            picture = Image.open(io.BytesIO(data))
            assert picture.size == (160, 90) and len(data) < 10_000
            assert (await asyncio.to_thread(get, thumb_url, None))[0] == 401
            # another guest, not connected, has no picture
            assert await row.page.locator(
                '#guests-list li.guest[data-id="bob"] img.guest-thumb').is_hidden()

            await guest.click("#join")  # "Leave": their picture goes from the console

            async def gone() -> bool:
                return await thumb.is_hidden()

            await until(gone, 15, "the thumbnail hidden after the guest left")
            status, _, _ = await asyncio.to_thread(get, thumb_url, VIEWER)
            assert status == 404  # and no picture is served any more
            assert errors == []
        finally:
            await browser.close()
