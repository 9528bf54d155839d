"""Two browsers, one invite link, in Debian's Chromium: the first joins and is taken on air;
a second browser (its own profile: no rejoin secret) is told the link is in use, its join is
refused, and the director's console shows "wants to replace Ada ON AIR". Refuse drops the
request; Allow lets that browser in and the first browser's page says it was replaced.

The controller runs in-process (``control.wiring.run_show``, OBS a closed port, no mixer).
Re-runs itself in a loopback-only namespace, like test_tab_close."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from guests.support import page_until
from helpers import CHROMIUM, launch_chromium, until
from netns import only_inside, rerun_inside
from rundowns import guest_show

from control.config import Settings
from control.guests.invites import SECRET_ENV, invite_url, load_secret, make_token
from control.obs.launcher import free_port
from control.show.commands import Take
from control.wiring.live import run_show

INNER = "SHOWCTL_TEST_NETNS_INVITE_BROWSER"
DIRECTOR = "director-token-invites-0123456789"
RUNDOWN = guest_show("Invites")


def test_invites_in_a_loopback_namespace():
    rerun_inside(__file__, "::test_a_second_browser_waits_for_the_director", INNER,
                 timeout=240, needs=(CHROMIUM,))


async def open_guest(browser: Any, link: str) -> Any:
    """A browser of its own (a fresh context: no rejoin secret) on the guest page."""
    page = await (await browser.new_context()).new_page()
    await page.goto(link)
    await page_until(page, "window.showctlGuest !== undefined", 10, "the guest page's script")
    return page


@pytest.mark.timeout(200)
async def test_a_second_browser_waits_for_the_director(tmp_path: Path):
    only_inside(INNER, "test_invites_in_a_loopback_namespace")
    from playwright.async_api import async_playwright, expect

    rundown = tmp_path / "show.yaml"
    rundown.write_text(RUNDOWN, "utf-8")
    port = free_port()
    settings = Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_port=port,
                        director_token=DIRECTOR, state_dir=tmp_path / "state",
                        mixer_enabled=False, guest_ice_hosts="127.0.0.1",
                        guest_secret="invite-browser-secret")
    secret = load_secret(tmp_path, {SECRET_ENV: "invite-browser-secret"})
    link = invite_url("127.0.0.1", port, "ada", make_token(secret, "ada", time.time() + 600))
    async with run_show(rundown, settings, start="now", fresh=True) as ctl, \
            async_playwright() as pw:
        gateway = ctl.guests.gateway

        def ada() -> dict[str, Any]:
            return next(g for g in ctl.read_model()["guests"] if g["id"] == "ada")

        browser = await launch_chromium(pw, media=True)
        first = await open_guest(browser, link)
        await first.evaluate("showctlGuest.join()")
        await until(lambda: gateway.phase("ada") == "connected", 20, "the first browser")
        await ctl.command(Take(segment_id="talk"))
        await until(lambda: ada()["status"] == "on-air", 10, "ada on air")
        assert ada()["invite"]["bound"] is True
        session = gateway.sessions["ada"].id

        console = await (await browser.new_context(locale="en-US")).new_page()
        await console.goto(f"http://127.0.0.1:{port}/?token={DIRECTOR}")
        await console.wait_for_selector("#console:not([hidden])", timeout=15_000)
        row = console.locator('#guests-list li.guest[data-id="ada"]')
        prompt = row.locator(".guest-claim")
        await expect(prompt).to_be_hidden()

        # a stranger with the link: told, refused, the director asked; refused by the director
        stranger = await open_guest(browser, link)
        assert "already in use" in await stranger.evaluate("showctlGuest.state().notice")
        await stranger.evaluate("showctlGuest.join()")
        await page_until(stranger, "showctlGuest.state().claim !== ''", 15, "a claim")
        await expect(prompt).to_be_visible(timeout=10_000)
        await expect(prompt).to_contain_text("wants to replace Ada ON AIR")
        await prompt.locator(".claim-refuse").click()
        await page_until(stranger, "showctlGuest.state().ended === 'invite.denied'", 15,
                         "the stranger told no")
        assert "did not let this browser in" in await stranger.evaluate(
            "showctlGuest.state().notice")
        await expect(prompt).to_be_hidden(timeout=10_000)  # and not asked again
        assert gateway.sessions["ada"].id == session and ada()["status"] == "on-air"
        assert ada()["invite"]["claim"] is None

        # a guest's second computer: asks, the director allows it, it replaces the first
        second = await open_guest(browser, link)
        await second.evaluate("showctlGuest.join()")
        await expect(prompt).to_be_visible(timeout=10_000)
        await prompt.locator(".claim-allow").click()
        await page_until(second, "showctlGuest.state().session !== null", 20,
                         "the second browser in")
        await until(lambda: gateway.sessions["ada"].id != session
                    and gateway.phase("ada") == "connected", 20, "the new session connected")
        await page_until(first, "showctlGuest.state().ended === 'invite.replaced'", 10,
                         "the first page told")
        assert "another browser" in await first.evaluate("showctlGuest.state().notice")
        await expect(prompt).to_be_hidden(timeout=10_000)
        assert ada()["invite"]["claim"] is None
        await browser.close()
