"""WHIP join floods: limited per address and per guest (429 + Retry-After) while another
guest from another address still joins; only accepted joins count."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from control.guests.gateway import Gateway, GatewayError, HeldFrames
from control.guests.invites import make_token
from control.guests.ratelimit import JoinLimiter
from control.guests.routes import install

SECRET = b"k"
ROSTER = {g: {"id": g, "name": g.title(), "name_zh": None, "role": None}
          for g in ("ada", "bob", "cy")}


def test_per_address_flood_leaves_others_in():
    limit = JoinLimiter(total=30, per_address=3, per_guest=10)
    assert [limit.admit("ada", "10.0.0.1", 0.0) for _ in range(3)] == [None] * 3
    refused = limit.admit("ada", "10.0.0.1", 10.0)
    assert refused is not None and "10.0.0.1" in refused.reason
    assert refused.retry_after == 51  # the oldest join leaves the window at 60 s
    assert limit.admit("bob", "10.0.0.1", 10.0) is not None  # the address, any guest
    assert limit.admit("bob", "10.0.0.2", 10.0) is None
    assert limit.admit("ada", "10.0.0.1", 60.0) is None  # the window moved on


def test_per_guest_flood_from_many_addresses():
    limit = JoinLimiter(total=30, per_address=3, per_guest=2)
    assert limit.admit("ada", "10.0.0.1", 0.0) is None
    assert limit.admit("ada", "10.0.0.2", 0.0) is None
    refused = limit.admit("ada", "10.0.0.3", 1.0)
    assert refused is not None and "ada" in refused.reason and refused.retry_after >= 1
    assert limit.admit("bob", "10.0.0.3", 1.0) is None  # refusals did not count


def test_total_is_the_last_resort_and_zero_is_no_limit():
    limit = JoinLimiter(total=2, per_address=0, per_guest=0)
    assert limit.admit("ada", "a", 0.0) is None and limit.admit("bob", "b", 0.0) is None
    refused = limit.admit("cy", "c", 0.0)
    assert refused is not None and "all guests" in refused.reason
    open_ = JoinLimiter(total=0, per_address=0, per_guest=0)
    assert all(open_.admit("ada", "a", 0.0) is None for _ in range(100))


async def test_gateway_refuses_the_flood_before_any_work():
    gateway = Gateway(HeldFrames(), joins_per_minute=30, joins_per_address=2,
                      joins_per_guest=5, clock=lambda: 100.0)
    for _ in range(2):  # admitted (then refused as bad SDP: they count)
        with pytest.raises(GatewayError) as bad:
            await gateway.join("ada", "v=0", address="10.0.0.9")
        assert bad.value.status == 400
    with pytest.raises(GatewayError) as flood:
        await gateway.join("ada", "v=0", address="10.0.0.9")
    assert flood.value.status == 429 and flood.value.retry_after == 61
    with pytest.raises(GatewayError) as other:
        await gateway.join("bob", "v=0", address="10.0.0.7")
    assert other.value.status == 400  # past the limiter: another guest still joins


@pytest.fixture
async def client():
    @web.middleware
    async def remote_from_header(request: web.Request, handler):  # stand-in addresses
        return await handler(request.clone(remote=request.headers.get("X-Test-Remote")))

    app = web.Application(middlewares=[remote_from_header])
    gateway = Gateway(HeldFrames(), joins_per_minute=30, joins_per_address=3,
                      joins_per_guest=4)
    install(app, gateway, secret=SECRET, roster=lambda: ROSTER,
            status=lambda g: {"status": gateway.phase(g), "on_air": False}, clock=lambda: 100)
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_whip_flood_gets_429_with_retry_after_per_address_and_per_guest(client):
    def post(guest: str, remote: str):
        return client.post(f"/whip/{guest}", data="v=0", headers={
            "Content-Type": "application/sdp", "X-Test-Remote": remote,
            "Authorization": f"Bearer {make_token(SECRET, guest, 1000)}"})

    statuses = [(await post("ada", "203.0.113.5")).status for _ in range(3)]
    assert statuses == [400, 400, 400]  # answered (bad SDP): admitted
    r = await post("ada", "203.0.113.5")
    assert r.status == 429 and int(r.headers["Retry-After"]) > 0
    assert "203.0.113.5" in await r.text()
    r = await post("bob", "198.51.100.7")  # another guest, another address: still joins
    assert r.status == 400
    r = await post("ada", "198.51.100.8")  # ada's fourth join of the minute: the last one
    assert r.status == 400
    r = await post("ada", "198.51.100.9")
    assert r.status == 429 and "ada" in await r.text()
    r = await post("cy", "198.51.100.9")
    assert r.status == 400
