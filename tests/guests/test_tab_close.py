"""A guest who closes the tab leaves "ready" (the green room, next up) and "on-air" at once:
the status follows the page (its socket closes, its peer connection closes, or its media
stops), whichever comes first. Chromium joins with the invite link and closes the page, six
times in the green room and six times on air; the controller runs in-process
(``control.wiring.run_show``, OBS a closed port, no mixer); each time the read model's
status must leave within a generous bound (the figures are printed: ``pytest -s``).
Re-runs itself in a loopback-only namespace, like test_webrtc_e2e."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

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

INNER = "SHOWCTL_TEST_NETNS_TAB_CLOSE"
TRIES = 6
BOUND_S = 3.0  # the goal is a second; the old behaviour took 10 s (a websocket heartbeat)
RUNDOWN = guest_show("Tab close")


def test_tab_close_in_a_loopback_namespace():
    out = rerun_inside(__file__, "::test_closing_the_tab_leaves_ready_and_on_air -s", INNER,
                       timeout=240, needs=(CHROMIUM,))
    print(*(line[line.index("left "):] for line in out.splitlines() if "left " in line),
          sep="\n")  # (the inner pytest's progress may share a line with the first)


@pytest.mark.timeout(200)
async def test_closing_the_tab_leaves_ready_and_on_air(tmp_path: Path):
    only_inside(INNER, "test_tab_close_in_a_loopback_namespace")
    from playwright.async_api import async_playwright

    rundown = tmp_path / "show.yaml"
    rundown.write_text(RUNDOWN, "utf-8")
    port = free_port()
    settings = Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_port=port,
                        director_token="t" * 24, state_dir=tmp_path / "state",
                        mixer_enabled=False, guest_ice_hosts="127.0.0.1",
                        guest_secret="tab-close-secret", guest_joins_per_guest=100,
                        guest_joins_per_address=100, guest_joins_per_minute=100)
    secret = load_secret(tmp_path, {SECRET_ENV: "tab-close-secret"})
    link = invite_url("127.0.0.1", port, "ada", make_token(secret, "ada", time.time() + 600))
    figures: dict[str, list[float]] = {"ready": [], "on-air": []}
    async with run_show(rundown, settings, start="now", fresh=True) as ctl, \
            async_playwright() as pw:
        browser = await launch_chromium(pw, media=True)
        context = await browser.new_context()  # the guest's one browser (its rejoin secret)

        def status() -> str:
            return next(g["status"] for g in ctl.read_model()["guests"] if g["id"] == "ada")

        for live in ("ready", "on-air"):
            if live == "on-air":
                await ctl.command(Take(segment_id="talk"))
            for _ in range(TRIES):
                page = await context.new_page()
                await page.goto(link)
                await page_until(page, "window.showctlGuest !== undefined", 10, "the page's script")
                await page.evaluate("showctlGuest.join()")
                await until(lambda live=live: status() == live, 20, f"ada {live}")
                await until(lambda: ctl.guests.gateway.liveness.lost("ada") is None
                            and ctl.guests.gateway.phase("ada") == "connected", 5, "media")

                async def page_shows(page=page, live=live) -> bool:  # its socket is up
                    return await page.evaluate("showctlGuest.state().status") == live

                await until(page_shows, 5, f"the page showing {live}", interval=0.05)
                t0 = time.monotonic()
                await page.close()
                await until(lambda live=live: status() != live, 15, f"ada leaving {live}",
                            interval=0.01)
                figures[live].append(time.monotonic() - t0)
        await browser.close()
    for live, took in figures.items():
        print(f"left {live} after (s): {[round(t, 3) for t in took]}, median "
              f"{statistics.median(took):.3f}, max {max(took):.3f}")
    for live, took in figures.items():
        assert max(took) < BOUND_S, (live, took)
