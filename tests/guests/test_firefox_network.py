"""A network drop, in Firefox ESR: the guest's browser lives in a network namespace of its
own, joined to the studio's by a veth pair (10.99.0.2 ↔ 10.99.0.1, addresses of the test's
own, inside the loopback-only namespace the test re-runs in: nothing leaves it). The page
joins; the link goes down (``ip link set … down``: media, signalling and the page's socket
all lose the studio); the page notices, and once the link is back it joins again by itself
and the mixer receives its camera again. The figures are printed (``pytest -s``)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from firefox import FIREFOX, Firefox, available, launch_firefox
from guests.test_firefox_guest import open_page
from helpers import until
from netns import only_inside, rerun_inside

from control.guests.gateway import Gateway, configure_ice_hosts
from control.guests.invites import invite_url, make_token
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.routes import install

pytestmark = [pytest.mark.browser, pytest.mark.live]
INNER = "SHOWCTL_TEST_NETNS_FIREFOX_DROP"
STUDIO, GUEST = "10.99.0.1", "10.99.0.2"
SECRET = b"firefox-drop"
# the guest's own namespace: loopback up (the bridge talks to Firefox over it), then exec
# the bridge, so its process id names the namespace
OWN_NAMESPACE = ("unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"')
STATE = "showctlGuest.pc() ? showctlGuest.pc().connectionState : 'none'"


def test_in_a_loopback_namespace():
    rerun_inside(__file__, "::test_firefox_rejoins_after_a_network_drop", INNER, timeout=200,
                 needs=(FIREFOX, "node", "ip", "nsenter"))


def ip(*args: str, pid: int | None = None) -> None:
    prefix = ("nsenter", "-t", str(pid), "-n") if pid else ()
    subprocess.run([*prefix, "ip", *args], check=True, capture_output=True, timeout=10)


def link_guest(pid: int) -> None:
    """The veth pair between this namespace (the studio) and the guest's."""
    ip("link", "add", "studio0", "type", "veth", "peer", "name", "guest0", "netns", str(pid))
    ip("addr", "add", f"{STUDIO}/24", "dev", "studio0")
    ip("link", "set", "studio0", "up")
    ip("addr", "add", f"{GUEST}/24", "dev", "guest0", pid=pid)
    ip("link", "set", "guest0", "up", pid=pid)


@contextlib.asynccontextmanager
async def studio(mixer: ProgramMixer, gateway: Gateway) -> AsyncIterator[int]:
    roster = {"ada": {"id": "ada", "name": "Ada", "name_zh": None, "role": None}}
    app = web.Application()
    install(app, gateway, secret=SECRET, roster=lambda: roster,
            status=lambda g: {"status": "green-room", "on_air": False})
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, STUDIO, 0)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    finally:
        await gateway.close()
        await runner.cleanup()


async def state(firefox: Firefox) -> str:
    return str(await firefox.evaluate(STATE))


@pytest.mark.timeout(150)
async def test_firefox_rejoins_after_a_network_drop():
    only_inside(INNER, "test_in_a_loopback_namespace")
    if why := available():
        pytest.skip(why)
    configure_ice_hosts([STUDIO])
    mixer = ProgramMixer(MixerSettings(port=9))  # not started: we only read what it receives
    gateway = Gateway(mixer)
    # the studio is plain http on a private address: Firefox treats it as a secure context
    # here as a real guest's browser does the studio's https address
    prefs = {"dom.securecontext.allowlist": STUDIO}
    async with launch_firefox(prefs=prefs, wrap=OWN_NAMESPACE) as firefox:
        link_guest(firefox.proc.pid)
        async with studio(mixer, gateway) as port:
            link = invite_url(STUDIO, port, "ada", make_token(SECRET, "ada", time.time() + 600))
            await open_page(firefox, link)
            await firefox.click("#join")
            await until(lambda: gateway.phase("ada") == "connected", 30, "the guest connected")
            await until(lambda: mixer.frames("ada").received > 10, 20, "frames in the mixer")
            first = await firefox.evaluate("showctlGuest.state()")
            assert first["session"] and first["problem"] == ""

            ip("link", "set", "studio0", "down")
            t0 = time.monotonic()
            try:
                await until(lambda: _said(firefox, "link.lost"), 60,
                            "the page saying the connection was lost", interval=0.2)
                noticed = time.monotonic() - t0
                # held down until the page tries again by itself, and says why it fails
                await until(lambda: _retried(firefox, first["attempt"]), 30,
                            "the page trying to join again", interval=0.2)
                await until(lambda: _said(firefox, "link.unreachable", "link.no_route"), 30,
                            "the page saying the studio cannot be reached", interval=0.2)
            finally:
                ip("link", "set", "studio0", "up")
            t1 = time.monotonic()
            before = mixer.frames("ada").received
            await until(lambda: mixer.frames("ada").received > before + 10
                        and gateway.phase("ada") == "connected", 60,
                        "the camera back in the mixer after the link came back", interval=0.1)
            back = time.monotonic() - t1
            await until(lambda: _connected(firefox), 20, "the page connected again",
                        interval=0.2)
            assert await _said(firefox, "")  # nothing wrong any more
            print(f"Firefox: drop noticed after {noticed:.1f} s; camera back "
                  f"{back:.1f} s after the link")
            # a new WHIP session: the page rejoined by itself; the old one is not kept beside it
            assert await firefox.evaluate("showctlGuest.state().session") not in (
                None, first["session"])
            assert len(gateway.sessions) == 1


async def _said(firefox: Firefox, *keys: str) -> bool:
    """The page shows one of these problems (keys of i18n.*.json; "" is none)."""
    return await firefox.evaluate("showctlGuest.state().problem") in keys


async def _retried(firefox: Firefox, first: int) -> bool:
    return int(await firefox.evaluate("showctlGuest.state().attempt")) > first


async def _connected(firefox: Firefox) -> bool:
    return await state(firefox) == "connected"
