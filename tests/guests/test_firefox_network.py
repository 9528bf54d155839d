"""A network drop, in Firefox ESR and in Chromium (Playwright; its executable a script that
enters the namespace): the guest's browser lives in a network namespace of its own, joined
to the studio's by a veth pair (10.99.0.2 - 10.99.0.1, addresses of the test's own, inside
the loopback-only namespace the test re-runs in: nothing leaves it). The page joins; the
link goes down (``ip link set … down``: media, signalling and the page's socket all lose
the studio); the page says so, tries again and says why that fails; once the link is back
it joins again by itself and the mixer receives its camera again. The figures are printed
(``pytest -s``)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from firefox import FIREFOX, available, launch_firefox
from guests.test_firefox_guest import open_page
from helpers import CHROMIUM, CHROMIUM_ARGS, MEDIA_ARGS, until, wait_for
from netns import only_inside, rerun_inside

from control.guests.gateway import Gateway, configure_ice_hosts
from control.guests.invites import invite_url, make_token
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.routes import install

pytestmark = [pytest.mark.browser, pytest.mark.live]
INNER = "SHOWCTL_TEST_NETNS_FIREFOX_DROP"
STUDIO, GUEST = "10.99.0.1", "10.99.0.2"
SECRET = b"firefox-drop"
WORDS = json.loads((Path(__file__).resolve().parents[2] / "control" / "guests" / "static"
                    / "i18n.en.json").read_text("utf-8"))
STATE = "showctlGuest.pc() ? showctlGuest.pc().connectionState : 'none'"


def test_in_a_loopback_namespace():
    rerun_inside(__file__, " -k 'rejoins_after_a_network_drop or https'", INNER, timeout=360,
                 needs=(FIREFOX, CHROMIUM, "node", "ip", "nsenter"), passed=4)


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


async def state(page: Any) -> str:
    return str(await page.evaluate(STATE))


@contextlib.contextmanager
def guest_namespace() -> Iterator[int]:
    """A network namespace for the guest's browser (loopback up), held by a process of the
    test's own, joined to this one (the studio's) by the veth pair; its process id names it."""
    holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && exec sleep 600"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.readlink(f"/proc/{holder.pid}/ns/net") != os.readlink(
            "/proc/self/ns/net") and holder.poll() is None, 10, "the guest's namespace")
        link_guest(holder.pid)
        yield holder.pid
    finally:
        # at once: a namespace's own teardown (taking the pair with it) is the kernel's, later
        subprocess.run(["ip", "link", "del", "studio0"], capture_output=True, timeout=10)
        holder.kill()
        holder.wait(10)


@contextlib.asynccontextmanager
async def firefox_in(pid: int, secure: bool = True) -> AsyncIterator[Any]:
    # the studio is plain http on a private address: Firefox treats it as a secure context
    # here as a real guest's browser does the studio's https address
    async with launch_firefox(prefs={"dom.securecontext.allowlist": STUDIO if secure else ""},
                              wrap=("nsenter", "-t", str(pid), "-n")) as firefox:
        yield firefox


@contextlib.asynccontextmanager
async def chromium_in(pid: int, home: Path, port: int, secure: bool = True
                      ) -> AsyncIterator[Any]:
    """Playwright drives Chromium over a pipe, so it may live in another namespace: its
    executable is a script entering the guest's."""
    from playwright.async_api import async_playwright

    wrapper = home / "chromium-in-namespace"
    wrapper.write_text(f'#!/bin/sh\nexec nsenter -t {pid} -n {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    origin = [f"--unsafely-treat-insecure-origin-as-secure=http://{STUDIO}:{port}"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(wrapper), headless=True,
                                           args=[*CHROMIUM_ARGS, *MEDIA_ARGS,
                                                 *(origin if secure else ())])
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


@pytest.mark.timeout(150)
@pytest.mark.parametrize("kind", ["firefox", "chromium"])
async def test_rejoins_after_a_network_drop(kind: str, tmp_path: Path):
    only_inside(INNER, "test_in_a_loopback_namespace")
    if kind == "firefox" and (why := available()):
        pytest.skip(why)
    configure_ice_hosts([STUDIO])
    mixer = ProgramMixer(MixerSettings(port=9))  # not started: we only read what it receives
    gateway = Gateway(mixer)
    with guest_namespace() as pid:
        async with studio(mixer, gateway) as port, (
                firefox_in(pid) if kind == "firefox" else chromium_in(pid, tmp_path, port)) as page:
            link = invite_url(STUDIO, port, "ada", make_token(SECRET, "ada", time.time() + 600))
            await open_page(page, link)
            await page.click("#join")
            await until(lambda: gateway.phase("ada") == "connected", 30, "the guest connected")
            await until(lambda: mixer.frames("ada").received > 10, 20, "frames in the mixer")
            first = await page.evaluate("showctlGuest.state()")
            assert first["session"] and first["problem"] == ""
            noticed, back = await drop_and_restore(page, first["attempt"], mixer)
            await until(lambda: _connected(page), 20, "the page connected again",
                        interval=0.2)
            assert await _said(page, "")  # nothing wrong any more
            print(f"{kind}: drop noticed after {noticed:.1f} s; camera back "
                  f"{back:.1f} s after the link")
            # a new WHIP session: the page rejoined by itself; the old one is not kept beside it
            assert await page.evaluate("showctlGuest.state().session") not in (
                None, first["session"])
            assert len(gateway.sessions) == 1


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kind", ["firefox", "chromium"])
async def test_plain_http_page_says_to_use_https(kind: str, tmp_path: Path):
    """At the studio's address over plain http (not a secure context) the browser has no
    camera API: the page says to open its https:// link, in words, and joins nothing."""
    only_inside(INNER, "test_in_a_loopback_namespace")
    if kind == "firefox" and (why := available()):
        pytest.skip(why)
    configure_ice_hosts([STUDIO])
    mixer = ProgramMixer(MixerSettings(port=9))
    gateway = Gateway(mixer)
    with guest_namespace() as pid:
        async with studio(mixer, gateway) as port, (
                firefox_in(pid, secure=False) if kind == "firefox"
                else chromium_in(pid, tmp_path, port, secure=False)) as page:
            link = invite_url(STUDIO, port, "ada", make_token(SECRET, "ada", time.time() + 600))
            await open_page(page, link)
            assert await page.evaluate("isSecureContext") is False
            said = WORDS["device.insecure"]
            await until(lambda: _error_has(page, said), 15, "the page saying to use https",
                        interval=0.1)
            await page.click("#join")
            await until(lambda: _said(page, "link.error"), 15, "the join refused in words",
                        interval=0.1)
            assert await _error_has(page, said)
            assert gateway.sessions == {}


async def _error_has(page: Any, text: str) -> bool:
    return text in await page.evaluate("document.getElementById('error').textContent")


async def drop_and_restore(page: Any, attempt: int, mixer: ProgramMixer) -> tuple[float, float]:
    """The link down until the page has said so, tried again and said why that failed;
    then up until the camera is back. Returns (seconds to notice, seconds to come back)."""
    ip("link", "set", "studio0", "down")
    t0 = time.monotonic()
    try:
        await until(lambda: _said(page, "link.lost", "link.failed"), 60,
                    "the page saying the connection was lost", interval=0.2)
        noticed = time.monotonic() - t0
        await until(lambda: _retried(page, attempt), 30, "the page trying to join again",
                    interval=0.2)
        await until(lambda: _said(page, "link.unreachable", "link.no_route"), 30,
                    "the page saying the studio cannot be reached", interval=0.2)
    finally:
        ip("link", "set", "studio0", "up")
    t1 = time.monotonic()
    before = mixer.frames("ada").received
    await until(lambda: mixer.frames("ada").received > before + 10, 60,
                "the camera back in the mixer after the link came back", interval=0.1)
    return noticed, time.monotonic() - t1


async def _said(page: Any, *keys: str) -> bool:
    """The page shows one of these problems (keys of i18n.*.json; "" is none)."""
    return await page.evaluate("showctlGuest.state().problem") in keys


async def _retried(page: Any, first: int) -> bool:
    return int(await page.evaluate("showctlGuest.state().attempt")) > first


async def _connected(page: Any) -> bool:
    return await state(page) == "connected"
