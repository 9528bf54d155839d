"""The guest routes without media: tokens (401/403), roster (404), bad SDP (400), content
type (415), floods (429), the page (text only), statuses in the read model."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from control.guests.gateway import Gateway, HeldFrames, check_offer, guest_statuses
from control.guests.invites import make_token
from control.guests.routes import install

SECRET = b"k"
ROSTER = {"ada": {"id": "ada", "name": "Ada <b>L</b>", "name_zh": "艾达", "role": None}}


@pytest.fixture
async def client():
    app = web.Application()
    gateway = Gateway(HeldFrames(), joins_per_minute=3)
    install(app, gateway, secret=SECRET, roster=lambda: ROSTER,
            status=lambda g: {"status": gateway.phase(g), "on_air": False}, clock=lambda: 100)
    async with TestClient(TestServer(app)) as c:
        c.gateway = gateway
        yield c


def tok(guest="ada", expires=1000):
    return make_token(SECRET, guest, expires)


async def test_page_needs_its_own_valid_token(client):
    assert (await client.get("/guest/ada")).status == 401
    assert (await client.get("/guest/ada", params={"t": tok(expires=50)})).status == 401
    assert (await client.get("/guest/ada", params={"t": tok()[:-3] + "xyz"})).status == 401
    assert (await client.get("/guest/ada", params={"t": tok("bob")})).status == 403
    assert (await client.get("/guest/bob", params={"t": tok("bob")})).status == 404
    r = await client.get("/guest/ada", params={"t": tok()})
    assert r.status == 200
    html = await r.text()
    assert "Ada \\u003cb>L\\u003c/b>" in html and "<b>" not in html
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert (await client.get("/guest-assets/guest.js")).status == 200


async def test_whip_refusals(client):
    sdp = {"Content-Type": "application/sdp"}
    r = await client.post("/whip/ada", data="v=0\r\n", headers=sdp)
    assert r.status == 401
    r = await client.post("/whip/ada", data="v=0\r\n",
                          headers={**sdp, "Authorization": f"Bearer {tok('bob')}"})
    assert r.status == 403
    auth = {"Authorization": f"Bearer {tok()}"}
    r = await client.post("/whip/ada", data="v=0", headers={**auth, "Content-Type": "text/plain"})
    assert r.status == 415
    r = await client.post("/whip/ada", data="hello", headers={**auth, **sdp})
    assert r.status == 400 and "v=0" in await r.text()
    r = await client.post("/whip/ada", data="v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
                          headers={**auth, **sdp})
    assert r.status == 400 and "fingerprint" in await r.text()
    r = await client.post("/whip/ada", data="v=0", headers={**auth, **sdp})
    assert r.status == 400  # the third join of the minute: still answered
    r = await client.post("/whip/ada", data="v=0", headers={**auth, **sdp})
    assert r.status == 429 and int(r.headers["Retry-After"]) > 0
    r = await client.delete("/whip/ada/nope", headers=auth)
    assert r.status == 404


def test_check_offer_reasons():
    with pytest.raises(Exception, match="no audio or video"):
        check_offer("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n")


async def test_ws_sends_status_and_takes_stats(client):
    async with client.ws_connect("/guest/ada/ws", params={"t": tok()}) as ws:
        assert await ws.receive_json(timeout=5) == {"status": "invited", "on_air": False}
        await ws.send_json({"stats": {"rtt_ms": 12.5, "jitter_ms": 3, "packetsLost": 0,
                                      "evil": "<x>", "candidateType": "host"}})
        for _ in range(50):
            if "ada" in client.gateway.link:
                break
            await asyncio.sleep(0.05)
        link = client.gateway.link["ada"]
        assert link["rtt_ms"] == 12.5 and "evil" not in link and link["candidateType"] == "host"
    assert (await client.get("/guest/ada/ws", params={"t": tok("bob")})).status == 403


def test_statuses():
    gw = Gateway(HeldFrames())
    roster = [{"id": g} for g in ("a", "b", "c", "d", "e")]
    gw.phases.update({"b": "connecting", "c": "connected", "d": "connected",
                      "e": "connected"})
    out = {g["id"]: g["status"] for g in guest_statuses(roster, gw, on_air=["c"], ready=["d"])}
    assert out == {"a": "invited", "b": "connecting", "c": "on-air", "d": "ready",
                   "e": "green-room"}


async def test_the_page_socket_tells_the_gateway_how_many_pages_are_open(client):
    gateway = client.gateway
    seen: list[int] = []
    gateway.pages = lambda guest, count: seen.append(count)  # type: ignore[method-assign]
    async with client.ws_connect("/guest/ada/ws", params={"t": tok()}) as ws:
        await ws.receive_json(timeout=5)
        async with client.ws_connect("/guest/ada/ws", params={"t": tok()}) as ws2:
            await ws2.receive_json(timeout=5)
            assert seen == [1, 2]
    for _ in range(100):  # the server notices each close
        if seen[-1] == 0:
            break
        await asyncio.sleep(0.02)
    assert seen == [1, 2, 1, 0]
