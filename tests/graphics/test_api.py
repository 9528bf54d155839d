"""The overlay API and websocket over a real aiohttp server (no browser): who may do what,
bad input refused with a reason, the pages' key, the websocket protocol."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from graphics.support import PRODUCER, VIEWER, HubServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

LT = {"name": "Zhu Dingzhen", "name_zh": "朱定真"}


async def test_director_and_producer_play_viewer_and_strangers_do_not(hub_server: HubServer) -> None:
    s = hub_server
    status, body = await s.api("POST", "/api/overlays/lower-third/play", {"data": LT})
    assert status == 200 and body["state"]["visible"] and body["rev"] == 1
    status, body = await s.api("POST", "/api/overlays/lower-third/stop", {}, token=PRODUCER)
    assert status == 200 and not body["state"]["visible"]
    status, body = await s.api("POST", "/api/overlays/lower-third/play", {"data": LT}, token=VIEWER)
    assert status == 403 and body["error"] == "forbidden"
    status, body = await s.api("POST", "/api/overlays/lower-third/play", {"data": LT}, token=None)
    assert status == 401 and body["error"] == "unauthorized"
    status, body = await s.api("GET", "/api/overlays", token=None)
    assert status == 401
    assert s.hub.board.rev == 2


@pytest.mark.parametrize(("path", "body", "raw", "status", "code"), [
    ("/api/overlays/lower-third/play", {"data": {"nmae": "x"}}, None, 422, "invalid_data"),
    ("/api/overlays/lower-third/play", {"data": {"name": "x" * 500}}, None, 422, "invalid_data"),
    ("/api/overlays/lower-third/play", {"data": "Zhu"}, None, 400, "bad_field"),
    ("/api/overlays/lower-third/play", {"data": LT, "colour": "red"}, None, 400, "bad_field"),
    ("/api/overlays/lower-third/play", {"data": LT, "bus": "air"}, None, 400, "bad_field"),
    ("/api/overlays/lower-third/play", None, b"{not json", 400, "bad_json"),
    ("/api/overlays/lower-third/play", None, b"[1, 2]", 400, "bad_json"),
    ("/api/overlays/lower-third/play", None, b"\xff\xfe", 400, "bad_json"),
    ("/api/overlays/lower-third/play", None, b"{" + b" " * 70000 + b"}", 413, "too_large"),
    ("/api/overlays/lower-third/dance", {}, None, 404, "not_found"),
    ("/api/overlays/no-such/play", {"data": {}}, None, 404, "unknown_template"),
    ("/api/overlays/lower-third/next", {}, None, 409, "not_playing"),
    ("/api/overlays/countdown/play", {"data": {"target": "tonight"}}, None, 422, "invalid_data"),
])
async def test_bad_input_is_a_4xx_with_a_reason(hub_server: HubServer, path: str, body: Any,
                                                raw: bytes | None, status: int, code: str) -> None:
    got, answer = await hub_server.api("POST", path, body, raw=raw)
    assert (got, answer["error"]) == (status, code), answer
    assert answer["reason"]
    assert hub_server.hub.board.rev == 0
    got, _ = await hub_server.api("POST", "/api/overlays/lower-third/play", {"data": LT})
    assert got == 200  # and the process is still up


async def test_the_state_lists_every_graphic_with_the_url_obs_loads(hub_server: HubServer) -> None:
    await hub_server.api("POST", "/api/overlays/lower-third/preview", {"data": LT})
    status, body = await hub_server.api("GET", "/api/overlays", token=PRODUCER)
    assert status == 200
    graphics = {g["template"]: g for g in body["graphics"]}
    assert set(graphics) >= {"lower-third", "countdown", "up-next", "fact-card", "ticker",
                             "logo-bug", "tally"}
    lt = graphics["lower-third"]
    assert lt["url"] == f"{hub_server.url}/overlays/lower-third?key={hub_server.key}"
    assert lt["preview_url"] == lt["url"] + "&preview=1"
    assert lt["preview"]["visible"] and not lt["program"]["visible"]
    assert lt["schema"]["properties"]["name"]["maxLength"] == 60
    async with aiohttp.ClientSession() as http, http.get(lt["url"]) as resp:
        assert resp.status == 200
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["Referrer-Policy"] == "no-referrer"


async def test_pages_need_the_read_key_and_the_key_only_reads(hub_server: HubServer) -> None:
    base = hub_server.url
    async with aiohttp.ClientSession() as http:
        for url, status in ((f"{base}/overlays/lower-third", 403),
                            (f"{base}/overlays/lower-third?key=wrong", 403),
                            (hub_server.page_url("lower-third"), 200),
                            (f"{base}/overlays/lower-third.js", 200),
                            (f"{base}/overlays/lower-third.schema.json", 200),
                            (f"{base}/overlays/lib/graphic.js", 200),
                            (f"{base}/overlays/lib/theme.css", 200),
                            (f"{base}/overlays/..%2Fpyproject.toml", 404),
                            (f"{base}/overlays/lib/../../pyproject.toml", 404),
                            (f"{base}/overlays/nope?key={hub_server.key}", 404)):
            async with http.get(url) as resp:
                assert resp.status == status, url
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(f"{base}/overlays/ws?key=wrong")
        async with http.post(f"{base}/api/overlays/lower-third/play?key={hub_server.key}",
                             json={"data": LT}) as resp:
            assert resp.status == 401


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            message = json.loads((await ws.receive()).data)
            if message["type"] == kind:
                return message


async def test_the_websocket_snapshot_deltas_resync_and_clock(hub_server: HubServer) -> None:
    hub = hub_server.hub
    hub.play("logo-bug", {})
    async with aiohttp.ClientSession() as http, http.ws_connect(
            f"{hub_server.url}/overlays/ws?key={hub_server.key}") as ws:
        snap = await _next(ws, "snapshot")
        assert snap["rev"] == 1 and snap["program"]["logo-bug"]["visible"]
        hub.play("lower-third", LT)
        delta = await _next(ws, "delta")
        assert (delta["prev"], delta["rev"], delta["graphic"]) == (1, 2, "lower-third")
        # a change the page never hears of (as if lost): the next delta shows the gap
        hub.board.stop("logo-bug", hub.now_ms())
        hub.stop("lower-third")
        delta = await _next(ws, "delta")
        assert delta["prev"] == 3 != 2
        await ws.send_json({"type": "resync"})
        snap = await _next(ws, "snapshot")
        assert snap["rev"] == 4 and not snap["program"]["logo-bug"]["visible"]
        # NTP-style: t0 echoed, t1 <= t2 stamped by the server
        await ws.send_json({"type": "ping", "t0": 123.5})
        pong = await _next(ws, "pong")
        assert pong["t0"] == 123.5 and pong["t1"] <= pong["t2"]
        # rubbish from a page is ignored, and an oversized message closes only that page
        await ws.send_str("not json")
        await ws.send_json([1, 2])
        await ws.send_json({"type": "ping", "t0": "x"})
        await ws.send_json({"type": "ping", "t0": 1})
        assert (await _next(ws, "pong"))["t0"] == 1
        assert len(hub) == 1
        await ws.send_str("x" * 10000)
        async with asyncio.timeout(5):
            while not ws.closed:
                await ws.receive()
    status, _ = await hub_server.api("GET", "/api/overlays")
    assert status == 200


async def test_the_broadcast_delay_reaches_the_pages(make_hub) -> None:
    server = await make_hub(delay_ms=1500)
    async with aiohttp.ClientSession() as http, http.ws_connect(
            f"{server.url}/overlays/ws?key={server.key}") as ws:
        assert (await _next(ws, "snapshot"))["settings"] == {"delay_ms": 1500}
        server.hub.set_delay(2500)
        message = await _next(ws, "settings")
        assert message["settings"] == {"delay_ms": 2500} and message["prev"] == 0


async def test_the_api_goes_through_the_apps_guard_and_json_errors(
        hub_server: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """One guard for all of /api/: a console session counts only from this server's pages,
    and a crash is the app's JSON 500 with an incident id."""
    s = hub_server
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{s.url}/api/login", json={"token": PRODUCER}) as resp:
            assert resp.status == 200
        play = f"{s.url}/api/overlays/lower-third/play"
        async with http.post(play, json={"data": LT},
                             headers={"Origin": "http://evil.example"}) as resp:
            assert resp.status == 403 and (await resp.json())["error"] == "cross_site"
        assert s.hub.board.rev == 0
        async with http.post(play, json={"data": LT}, headers={"Origin": s.url}) as resp:
            assert resp.status == 200
        async with http.get(f"{s.url}/api/overlays") as resp:  # a safe method: no Origin
            assert resp.status == 200
        async with http.head(f"{s.url}/api/overlays") as resp:
            assert resp.status == 405  # no route but the table's

    def crash(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(s.hub, "stop", crash)
    status, body = await s.api("POST", "/api/overlays/lower-third/stop", {})
    assert status == 500 and body["error"] == "internal" and "boom" not in body["reason"]


async def test_install_refuses_an_app_that_would_serve_the_api_unguarded() -> None:
    from aiohttp import web

    from control.overlays import OverlayHub, install

    with pytest.raises(ValueError, match="does not guard GET /api/overlays"):
        install(web.Application(), OverlayHub(), authorize=lambda request, role: None)
