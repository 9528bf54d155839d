"""The stage hub and its routes on a real aiohttp server (loopback): the view to every
screen on a real change only, the operator's scroll to the prompter screens only, the
read-back forwarded once, the read key, the clock, and a flooding client cut."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from helpers import until

from control.stage import StageHub, install
from control.stage.hub import LIMITS

KEY = "read-key-for-tests"
OPERATOR = "prompter-token"


def view(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "T", "now_ms": 1000, "tally": "on-air",
        "on_air": {"id": "intro", "end_ms": 90_000, "remaining_ms": 89_000, "band": "normal"},
        "message": None, "script": {"id": "intro", "en": "a\nb", "zh": None}}
    return {**base, **changes}


class Rig:
    def __init__(self) -> None:
        self.read: list[int] = []

        async def read_back(message_id: int) -> None:
            self.read.append(message_id)

        def operator(_request: web.Request, token: str | None) -> str | None:
            return "prompter" if token == OPERATOR else None

        self.hub = StageHub(operator=operator, read_back=read_back)
        self.hub.publish(view())
        app = web.Application()
        install(app, self.hub, authorize=lambda _r, _role: None, read_key=lambda: KEY)
        self.server = TestServer(app, host="127.0.0.1")
        self.session: aiohttp.ClientSession | None = None

    async def screen(self, kind: str = "prompter") -> aiohttp.ClientWebSocketResponse:
        assert self.session is not None
        return await self.session.ws_connect(
            self.server.make_url(f"/stage/ws?key={KEY}&screen={kind}"))


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    await r.server.start_server()
    r.session = aiohttp.ClientSession()
    try:
        yield r
    finally:
        await r.session.close()
        await r.server.close()


async def receive(ws: aiohttp.ClientWebSocketResponse, kind: str,
                  timeout: float = 5.0) -> dict[str, Any]:
    """The next message of `kind` (others skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads((await ws.receive()).data)
            if message["type"] == kind:
                return message


async def test_screens_get_the_view_and_then_only_real_changes(rig: Rig) -> None:
    ws = await rig.screen("presenter")
    first = await receive(ws, "state")
    assert first["view"]["title"] == "T" and first["scroll"]["seg"] == "intro"
    rig.hub.publish(view(now_ms=2000, on_air={**view()["on_air"], "remaining_ms": 88_000}))
    rig.hub.publish(view(title="New title"))
    second = await receive(ws, "state")
    assert second["view"]["title"] == "New title" and second["rev"] == first["rev"] + 1


async def test_the_operators_scroll_reaches_the_prompter_screens_only(rig: Rig) -> None:
    operator, follower = await rig.screen(), await rig.screen()
    presenter, stranger = await rig.screen("presenter"), await rig.screen()
    for ws in (operator, follower, presenter, stranger):
        await receive(ws, "state")
    await stranger.send_json({"type": "operate", "token": "guess"})
    assert (await receive(stranger, "operator"))["ok"] is False
    await stranger.send_json({"type": "scroll", "seg": "intro", "line": 9, "frac": 0.5})
    await operator.send_json({"type": "operate", "token": OPERATOR})
    assert (await receive(operator, "operator")) == {"type": "operator", "ok": True,
                                                    "by": "prompter"}
    await operator.send_json({"type": "scroll", "seg": "other", "line": 5, "frac": 0.1})
    await operator.send_json({"type": "scroll", "seg": "intro", "line": 1, "frac": 2.5})
    got = await receive(follower, "scroll")
    assert (got["seg"], got["line"], got["frac"]) == ("intro", 1, 1.0)  # clamped; others not
    assert rig.hub.scroll["line"] == 1
    # a take: the new script from its top, in the next state
    rig.hub.publish(view(script={"id": "talk", "en": "x", "zh": None}))
    state = await receive(follower, "state")
    assert state["scroll"]["seg"] == "talk" and state["scroll"]["line"] == 0
    await presenter.send_json({"type": "ping", "t0": 1.5})
    pong = await receive(presenter, "pong")
    assert pong["t0"] == 1.5 and pong["t1"] <= pong["t2"]  # no scroll ever came before it


async def test_a_read_back_is_forwarded_once_for_the_message_shown(rig: Rig) -> None:
    ws = await rig.screen("presenter")
    await receive(ws, "state")
    rig.hub.publish(view(message={"id": 3, "text": "wrap", "read_ms": None}))
    await receive(ws, "state")
    for message_id in (2, 3, 3, "3"):
        await ws.send_json({"type": "read", "id": message_id})
    await ws.send_json({"type": "ping", "t0": 1})
    await receive(ws, "pong")
    await until(lambda: rig.read == [3], 5, "the read-back")
    await asyncio.sleep(0)
    assert rig.read == [3]


async def test_the_pages_and_their_socket_need_the_read_key(rig: Rig) -> None:
    assert rig.session is not None
    for path in ("/presenter", "/prompter", "/stage/ws"):
        async with rig.session.get(rig.server.make_url(path)) as r:
            assert r.status == 403, path
    for path in ("/presenter", "/prompter"):
        async with rig.session.get(rig.server.make_url(f"{path}?key={KEY}")) as r:
            assert r.status == 200 and r.headers["Referrer-Policy"] == "no-referrer"
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    async with rig.session.get(rig.server.make_url("/stage/static/stage.js")) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/javascript")
    for bad in ("/stage/static/nope.js", "/stage/static/presenter.html",
                "/stage/static/..%2fhub.py"):
        async with rig.session.get(rig.server.make_url(bad)) as r:
            assert r.status == 404, bad


async def test_a_flooding_client_is_cut_and_the_others_carry_on(rig: Rig) -> None:
    flood, other = await rig.screen(), await rig.screen()
    await receive(other, "state")
    for _ in range(LIMITS.burst * 5):  # far past the burst, faster than the rate refills
        await flood.send_str('{"type": "resync"}')
    async with asyncio.timeout(30):
        while (await flood.receive()).type not in (aiohttp.WSMsgType.CLOSE,
                                                   aiohttp.WSMsgType.CLOSED):
            pass
    assert flood.close_code == 1008
    for junk in ("not json", "[]", '{"type": "scroll", "line": 1e999}', '{"type": "ping",'
                 ' "t0": "x"}'):
        await other.send_str(junk)
    await other.send_json({"type": "ping", "t0": 2})
    assert (await receive(other, "pong"))["t0"] == 2


@pytest.mark.parametrize("token", [None, ""])
async def test_no_token_is_no_operator(rig: Rig, token: str | None) -> None:
    ws = await rig.screen()
    await ws.send_json({"type": "operate", "token": token})
    assert (await receive(ws, "operator"))["ok"] is False
