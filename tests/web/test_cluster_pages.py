"""Pages follow the leader, in Debian's Chromium: two web apps (control/web) on two origins,
each with a fake ClusterView over one shared "who leads" (the election is not what is
tested here: control/cluster's tests are), and a real browser that must end up on the
leader, with the director still logged in."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from helpers import launch_chromium
from web.support import DIRECTOR, TOKENS, VIEWER, FakeShow

from control.obs.launcher import free_port
from control.web.app import create_app
from control.web.auth import Auth
from control.web.clusterview import ClusterStatus
from control.web.hosts import AllowedHosts
from control.web.hub import StateHub
from control.web.sessions import COOKIE

SECRET = "shared-cluster-secret-0123456789"
BOUND_S = 15  # generous: the goal (2 s) is the drill's to measure, not this test's


@dataclass
class Pair:
    """Who leads, shared by both fakes; the nodes' public URLs (two origins: cookies of
    one are never sent to the other)."""
    leader: str | None = "main"
    nodes: dict[str, str] = field(default_factory=dict)


class FakeCluster:
    def __init__(self, name: str, pair: Pair) -> None:
        self.name = name
        self.pair = pair

    def status(self) -> ClusterStatus:
        leads = self.pair.leader == self.name
        return ClusterStatus(name=self.name, role="leader" if leads else "follower",
                             leader=self.pair.leader,
                             leader_url=self.pair.nodes.get(self.pair.leader or ""),
                             nodes=dict(self.pair.nodes),
                             standby_lag_s=0.05 if leads else None, etcd_reachable=True)

    def hand_over(self) -> bool:
        self.pair.leader = next(n for n in self.pair.nodes if n != self.name)
        return True


# a page like the overlays' (a CSP that allows only its own origin to be reached, which the
# cluster widens to the nodes), on the shared socket client
PAGE = """<!doctype html><title>follower</title>
<script type="module">
import { Socket, wsUrl } from "/lib/socket.js";
window.opens = 0;
const s = new Socket({ url: () => wsUrl("/api/ws", { token: "%s" }),
  onMessage: () => {}, onOpen: () => { window.opens += 1; } });
window.sock = s;
s.start();
</script>"""


async def page_handler(request: web.Request) -> web.Response:
    return web.Response(text=PAGE % VIEWER, content_type="text/html", headers={
        "Content-Security-Policy": "default-src 'none'; script-src 'self' 'unsafe-inline'; "
                                   "connect-src 'self'"})


@dataclass
class Node:
    name: str
    url: str
    runner: web.AppRunner
    view: FakeCluster


async def start_node(name: str, host: str, pair: Pair, fake: FakeShow) -> Node:
    port = free_port()
    url = f"http://{host}:{port}"
    pair.nodes[name] = url
    view = FakeCluster(name, pair)
    app = create_app(fake, Auth.from_settings(**TOKENS),
                     hub=StateHub(send_timeout=2.0, close_timeout=0.5),
                     allowed_hosts=AllowedHosts(("localhost",)), cluster=view,
                     cluster_secret=SECRET)
    app.router.add_get("/follower", page_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return Node(name, url, runner, view)


@pytest.fixture
async def nodes() -> AsyncIterator[tuple[Pair, Node, Node]]:
    pair, fake = Pair(), FakeShow()
    main = await start_node("main", "localhost", pair, fake)
    backup = await start_node("backup", "127.0.0.1", pair, fake)
    try:
        yield pair, main, backup
    finally:
        await main.runner.cleanup()
        await backup.runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright
    async with async_playwright() as pw:
        chromium = await launch_chromium(pw)
        try:
            yield chromium
        finally:
            await chromium.close()


async def on_node(page: Any, node: Node) -> None:
    """Wait until the page is `node`'s (bounded)."""
    deadline = time.monotonic() + BOUND_S
    while not page.url.startswith(node.url + "/"):
        assert time.monotonic() < deadline, f"the page stayed at {page.url}, not {node.url}"
        await page.wait_for_timeout(100)


async def console_live(page: Any) -> None:
    await page.wait_for_selector("#console:not([hidden])", timeout=BOUND_S * 1000)
    await page.wait_for_function("() => window.showctl && window.showctl.live.feed.connected",
                                 timeout=BOUND_S * 1000)


@pytest.mark.timeout(120)
async def test_the_console_follows_a_hand_over_and_stays_logged_in(nodes, browser) -> None:
    pair, main, backup = nodes
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{main.url}/?token={DIRECTOR}")
    await console_live(page)
    await page.wait_for_function("() => window.showctl.pair.ticket !== ''",
                                 timeout=BOUND_S * 1000)
    assert "main" in await page.text_content("#cluster-node")
    assert "0.05" in await page.text_content("#cluster-standby")
    button = page.locator("#cluster-hand-over")
    await button.click()
    assert pair.leader == "main"  # the first press only arms it
    await button.click()
    await on_node(page, backup)
    await console_live(page)
    assert "#" not in page.url  # the ticket left the address bar
    assert await page.evaluate("fetch('/api/whoami').then((r) => r.json())") == {
        "role": "director"}
    cookies = {(c["domain"], c["name"]): c for c in await context.cookies()}
    assert cookies[("127.0.0.1", COOKIE)]["httpOnly"] is True  # backup's own session
    await context.close()


@pytest.mark.timeout(120)
async def test_a_page_on_the_standby_goes_to_the_leader(nodes, browser) -> None:
    _, main, backup = nodes
    page = await browser.new_page()
    await page.goto(f"{backup.url}/follower")
    await on_node(page, main)
    await page.wait_for_function("() => window.opens >= 1", timeout=BOUND_S * 1000)


@pytest.mark.timeout(120)
async def test_pages_leave_a_dead_leader_for_the_new_one(nodes, browser) -> None:
    pair, main, backup = nodes
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{main.url}/follower")
    await page.wait_for_function("() => window.opens >= 1", timeout=BOUND_S * 1000)
    console = await context.new_page()
    await console.goto(f"{main.url}/?token={DIRECTOR}")
    await console_live(console)
    await console.wait_for_function("() => window.showctl.pair.ticket !== ''",
                                    timeout=BOUND_S * 1000)
    await main.runner.cleanup()  # the leader's machine is gone
    pair.leader = "backup"       # and the standby took the lease
    await on_node(page, backup)
    await page.wait_for_function("() => window.opens >= 1", timeout=BOUND_S * 1000)
    await on_node(console, backup)
    await console_live(console)
    assert await console.evaluate("fetch('/api/whoami').then((r) => r.json())") == {
        "role": "director"}
    await context.close()


@pytest.mark.timeout(120)
async def test_a_director_who_logs_in_on_the_standby_lands_on_the_leader_logged_in(
        nodes, browser) -> None:
    _, main, backup = nodes
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{backup.url}/?token={DIRECTOR}")
    await on_node(page, main)
    await console_live(page)
    assert await page.evaluate("fetch('/api/whoami').then((r) => r.json())") == {
        "role": "director"}
    await context.close()
