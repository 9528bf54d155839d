"""Debian's Chromium over HTTPS with the test's own certificate authority: the console loads
and its login cookie is Secure; a guest opens the invite link at the guests-only door, gets
a camera (a secure context) and joins over WHIP.

The controller listens on 10.77.0.1, an address the test adds to loopback inside a network
namespace of its own: not 127.0.0.1, which browsers treat as secure even over plain HTTP, so
the camera here is HTTPS's doing (plain http://10.77.0.1 gets none, checked too). Chromium
trusts the CA by its key: `--ignore-certificate-errors-spki-list` (Playwright gives it a
profile folder, which the flag needs).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from helpers import CHROMIUM, launch_chromium, until
from netns import only_inside, rerun_inside

from control.config import Settings
from control.guests.invites import invite_link, load_secret, make_token
from control.obs.launcher import free_port
from control.web.certs import write_demo_certificates
from control.wiring.listeners import public_base_url
from control.wiring.live import run_show

INNER = "SHOWCTL_TEST_TLS_NETNS"
HOST = "10.77.0.1"
DIRECTOR = "director-token-browser-0123456789abcdef"
RUNDOWN = """\
show:
  title: HTTPS
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  safe_scene: Slate
guests:
  ada: {name: Ada}
segments:
  - {id: intro, title: Intro, duration: 10m, scene: Studio Wide, then: hold}
  - {id: talk, title: Talk, duration: 10m, scene: Studio Interview, guests: [ada]}
"""
CAMERA = """() => {
  const v = document.getElementById("preview").srcObject;
  return !!v && v.getVideoTracks().some((t) => t.readyState === "live");
}"""


def test_in_a_namespace_of_its_own():
    rerun_inside(__file__, "::test_chromium_over_https", INNER, timeout=150,
                 needs=(CHROMIUM, "ip"))


@pytest.mark.timeout(120)
async def test_chromium_over_https(tmp_path: Path) -> None:
    only_inside(INNER, "test_in_a_namespace_of_its_own")
    from playwright.async_api import async_playwright

    subprocess.run(["ip", "addr", "add", f"{HOST}/32", "dev", "lo"], check=True)
    certs = write_demo_certificates(tmp_path / "tls", [HOST])
    (tmp_path / "show.yaml").write_text(RUNDOWN, "utf-8")
    settings = Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_host=HOST,
                        http_port=free_port(), door_host=HOST, door_port=free_port(),
                        director_token=DIRECTOR, state_dir=tmp_path / "state",
                        mixer_enabled=False, guest_ice_hosts="127.0.0.1",
                        tls_cert_file=certs.cert, tls_key_file=certs.key)
    token = make_token(load_secret(settings.state_dir), "ada", int(time.time()) + 600)
    link = invite_link(public_base_url(settings), "ada", token)
    assert link.startswith(f"https://{HOST}:{settings.door_port}/guest/ada?t=")
    async with run_show(tmp_path / "show.yaml", settings, start="now") as show, \
            async_playwright() as pw:
        browser = await launch_chromium(
            pw, media=True, args=[f"--ignore-certificate-errors-spki-list={certs.spki}"])
        context = await browser.new_context()
        console = await context.new_page()
        await console.goto(f"https://{HOST}:{settings.http_port}/?token={DIRECTOR}")
        await console.wait_for_selector("#console:not([hidden])", timeout=15_000)
        cookies = await context.cookies()
        session = [c for c in cookies if c["name"] == "showctl_session"]
        assert session and session[0]["secure"] and session[0]["httpOnly"], cookies

        guest = await context.new_page()
        await guest.goto(link)
        # polled by evaluate, not wait_for_function: its polling evals a string, which the
        # guest page's CSP refuses while the page's script is still loading
        await until(lambda: guest.evaluate("window.showctlGuest !== undefined"), 15,
                    "the guest page's script", interval=0.05)
        assert await guest.evaluate("window.isSecureContext")
        await until(lambda: guest.evaluate(CAMERA), 15, "the fake camera", interval=0.1)
        await guest.evaluate("showctlGuest.join()")
        await until(lambda: show.guests.gateway.phase("ada") == "connected", 30,
                    "the guest connected through the door")
        # the console is not behind the door
        assert await guest.evaluate("fetch('/api/state').then((r) => r.status)") == 404
        # a page over plain HTTP at the same address: no secure context, no camera
        plain_url, stop_plain = await plain_page()
        try:
            plain = await context.new_page()
            await plain.goto(plain_url)
            assert await plain.evaluate("[window.isSecureContext, !!navigator.mediaDevices]") \
                == [False, False]
        finally:
            await stop_plain()
        await browser.close()


async def plain_page() -> tuple[str, Callable[[], Awaitable[None]]]:
    async def page(_request: web.Request) -> web.Response:
        return web.Response(text="<p>plain</p>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, HOST, port).start()
    return f"http://{HOST}:{port}/", runner.cleanup
