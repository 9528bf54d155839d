"""The Firefox harness (tests/firefox.py) itself: Debian's Firefox ESR starts through the
node bridge, answers, gets a fake camera and microphone on a loopback page, reports a page's
error as an error, bounds a call that never returns, and leaves no process behind."""

from __future__ import annotations

import os

import pytest
from aiohttp import web
from firefox import FirefoxError, available, launch_firefox

pytestmark = [pytest.mark.browser]


@pytest.fixture
async def page_url():
    app = web.Application()
    async def index(_request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>harness</title><p id=p>hi</p>",
                            content_type="text/html")

    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    await runner.cleanup()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for our purpose
        return stat.read().split(") ", 1)[1][0] != "Z"


@pytest.mark.timeout(90)
async def test_firefox_drives_a_page_and_leaves_nothing(page_url: str):
    if why := available():
        pytest.skip(why)
    firefox = await launch_firefox()
    try:
        assert firefox.version.startswith("firefox/")
        assert firefox.pid and alive(firefox.pid)
        await firefox.goto(page_url)
        assert await firefox.evaluate("document.getElementById('p').textContent") == "hi"
        labels = await firefox.evaluate(
            "navigator.mediaDevices.getUserMedia({video: true, audio: true})"
            ".then((s) => s.getTracks().map((t) => t.kind).sort())")
        assert labels == ["audio", "video"]
        with pytest.raises(FirefoxError, match="boom"):
            await firefox.evaluate("(() => { throw new Error('boom'); })()")
        with pytest.raises(FirefoxError, match="took over"):
            await firefox.evaluate("new Promise(() => {})", timeout=1)
        second = await firefox.new_page()  # tabs of their own
        await second.goto(page_url)
        assert await second.evaluate("1 + 1") == 2
        await second.close()
        assert await firefox.evaluate("document.title") == "harness"  # still answers
    finally:
        await firefox.close()
    assert not alive(firefox.pid), "Firefox outlived close()"
    assert not alive(firefox.proc.pid), "the bridge outlived close()"
    assert not firefox.profile.exists()
    with pytest.raises(FirefoxError, match="closed"):
        await firefox.evaluate("1")
