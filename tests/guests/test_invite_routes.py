"""Invites on the guest routes, against the real server with real WHIP offers (aiortc): the
first join binds the link, the same browser rejoins, another browser is refused (409) until
the director allows its claim, a revoked link is 401 and its page is told; a restart keeps it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from control.guests.bindings import BindingStore
from control.guests.gateway import Gateway, HeldFrames, configure_ice_hosts
from control.guests.invites import make_token
from control.guests.routes import CLAIM, CLAIMS_PER_ADDRESS, REJOIN, install

SECRET = b"k"
ROSTER = {g: {"id": g, "name": g.title(), "name_zh": None, "role": None} for g in ("ada", "bob")}
SDP = {"Content-Type": "application/sdp"}


@pytest.fixture(scope="module")
def offer() -> str:
    """A real offer (audio and video, ICE gathered on 127.0.0.1), as a browser sends it."""
    from aiortc import RTCConfiguration, RTCPeerConnection

    async def make() -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("audio", direction="sendrecv")
        pc.addTransceiver("video", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = str(pc.localDescription.sdp)
        await pc.close()
        return sdp

    configure_ice_hosts(["127.0.0.1"])
    return asyncio.run(make())


async def serve(state: Path) -> TestClient:
    app = web.Application()
    gateway = Gateway(HeldFrames(), joins_per_minute=100, joins_per_address=100,
                      joins_per_guest=100)
    routes = install(app, gateway, secret=SECRET, roster=lambda: ROSTER,
                     status=lambda g: {"status": gateway.phase(g), "on_air": False},
                     store=BindingStore(state))
    claims: list[int] = []
    routes.on_claim = lambda: claims.append(1)
    client = TestClient(TestServer(app))
    await client.start_server()
    client.routes, client.gateway, client.claims = routes, gateway, claims  # type: ignore
    return client


@pytest.fixture
async def client(tmp_path: Path):
    c = await serve(tmp_path)
    yield c
    await c.close()


def bearer(guest: str = "ada", generation: int = 0, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(SECRET, guest, 10**10, generation)}",
            **SDP, **more}


async def join(client: TestClient, offer: str, **headers: str) -> Any:
    r = await client.post("/whip/ada", data=offer, headers=bearer(**headers))
    r.body = await r.text()
    return r


async def test_the_first_join_binds_and_the_same_browser_rejoins(client, offer):
    page = await client.get("/guest/ada", params={"t": make_token(SECRET, "ada", 10**10)})
    assert '"bound": false' in await page.text()
    first = await join(client, offer)
    assert first.status == 201 and len(first.headers[REJOIN]) >= 32
    secret = first.headers[REJOIN]
    session = client.gateway.sessions["ada"].id
    page = await client.get("/guest/ada", params={"t": make_token(SECRET, "ada", 10**10)})
    assert '"bound": true' in await page.text() and secret not in await page.text()
    again = await join(client, offer, **{REJOIN: secret})
    assert again.status == 201 and again.headers[REJOIN] == secret
    assert client.gateway.sessions["ada"].id != session  # the same browser replaced itself
    # another guest's link is not bound by it
    other = await client.post("/whip/bob", data=offer, headers=bearer("bob"))
    assert other.status == 201


async def test_another_browser_waits_for_the_director(client, offer):
    secret = (await join(client, offer)).headers[REJOIN]
    session = client.gateway.sessions["ada"].id
    stranger = await join(client, offer)
    assert stranger.status == 409 and "another browser" in stranger.body
    claim = stranger.headers[CLAIM]
    assert client.claims == [1]  # the console is told
    assert client.gateway.sessions["ada"].id == session  # the guest stays
    wrong = await join(client, offer, **{REJOIN: "guessed"})
    assert wrong.status == 409
    claim = wrong.headers[CLAIM]  # the newest asker's claim is the one shown
    assert (await join(client, offer, **{CLAIM: claim})).headers[CLAIM] == claim
    assert client.gateway.sessions["ada"].id == session
    assert client.routes.store.bindings.answer("ada", claim, True, client.routes.clock())  # the director allows
    allowed = await join(client, offer, **{CLAIM: claim})
    assert allowed.status == 201
    new = allowed.headers[REJOIN]
    assert new != secret and client.gateway.sessions["ada"].id != session
    assert (await join(client, offer, **{REJOIN: secret})).status == 409  # the old browser
    assert (await join(client, offer, **{REJOIN: new})).status == 201


async def test_a_browser_the_director_refused_is_told_so(client, offer):
    await join(client, offer)
    claim = (await join(client, offer)).headers[CLAIM]
    assert client.routes.store.bindings.answer("ada", claim, False, client.routes.clock())
    denied = await join(client, offer, **{CLAIM: claim})
    assert denied.status == 403 and "did not let this browser in" in denied.body


async def test_a_flood_of_requests_from_one_address_is_limited(client, offer):
    secret = (await join(client, offer)).headers[REJOIN]
    codes = [(await join(client, offer)).status for _ in range(CLAIMS_PER_ADDRESS + 3)]
    assert codes[:CLAIMS_PER_ADDRESS] == [409] * CLAIMS_PER_ADDRESS
    assert set(codes[CLAIMS_PER_ADDRESS:]) == {429}
    claim = client.routes.store.bindings.pending("ada", client.routes.clock()).id
    assert (await join(client, offer, **{CLAIM: claim})).status == 409  # asking again: free
    assert (await join(client, offer, **{REJOIN: secret})).status == 201  # the guest: free


async def test_a_refused_offer_binds_nothing(client, offer):
    assert (await join(client, "v=0\r\n")).status == 400
    assert not client.routes.store.bindings.bound("ada")
    assert (await join(client, offer)).status == 201


async def test_the_page_socket_needs_the_secret_once_bound(client, offer):
    token = make_token(SECRET, "ada", 10**10)
    early = await client.ws_connect("/guest/ada/ws", params={"t": token})  # before binding
    secret = (await join(client, offer)).headers[REJOIN]
    refused = await client.get("/guest/ada/ws", params={"t": token},
                               headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                        "Sec-WebSocket-Version": "13",
                                        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert refused.status == 409 and "another browser" in await refused.text()
    mine = await client.ws_connect("/guest/ada/ws", params={"t": token, "r": secret})
    assert (await mine.receive_json(timeout=5))["status"] == "connecting"
    assert await client.routes.message("ada", "hello") == 1  # not to the early page
    # the director lets another browser in: the old browser's page is told and closed
    claim = (await join(client, offer)).headers[CLAIM]
    client.routes.store.bindings.answer("ada", claim, True, client.routes.clock())
    assert (await join(client, offer, **{CLAIM: claim})).status == 201
    seen = [await mine.receive_json(timeout=5) for _ in range(2)]
    assert {"type": "refused", "reason": "replaced"} in seen
    assert (await mine.receive(timeout=5)).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    await early.close()


async def test_revoking_closes_the_page_and_refuses_the_old_link(client, offer):
    token = make_token(SECRET, "ada", 10**10)
    secret = (await join(client, offer)).headers[REJOIN]
    ws = await client.ws_connect("/guest/ada/ws", params={"t": token, "r": secret})
    await ws.receive_json(timeout=5)
    bob = (await client.post("/whip/bob", data=offer, headers=bearer("bob"))).headers[REJOIN]
    assert await client.routes.revoke("ada") == 1
    assert await ws.receive_json(timeout=5) == {"type": "refused", "reason": "revoked"}
    assert "ada" not in client.gateway.sessions and "bob" in client.gateway.sessions
    for r in (await client.get("/guest/ada", params={"t": token}),
              await client.post("/whip/ada", data=offer, headers=bearer(**{REJOIN: secret}))):
        assert r.status == 401 and "revoked" in await r.text()
    page = await client.get("/guest/ada", params={"t": token})
    assert "已被撤销" in await page.text()  # the guest page says it in both languages
    assert (await client.post("/whip/ada", data=offer, headers=bearer(generation=1))
            ).status == 201
    assert (await client.post("/whip/bob", data=offer, headers=bearer("bob", **{REJOIN: bob}))
            ).status == 201


async def test_a_restart_keeps_bindings_and_revocations(tmp_path, offer):
    first = await serve(tmp_path)
    try:
        secret = (await join(first, offer)).headers[REJOIN]
        await first.routes.revoke("bob")
    finally:
        await first.close()
    second = await serve(tmp_path)
    try:
        assert (await join(second, offer)).status == 409
        assert (await join(second, offer, **{REJOIN: secret})).status == 201
        assert (await second.post("/whip/bob", data=offer, headers=bearer("bob"))).status == 401
    finally:
        await second.close()
