"""The doors of the API against a real server on 127.0.0.1 (issue 13): wrong tokens back
off per address, unknown Host names are refused, one token's logins never end another's
sessions, a login link from another site swaps no session, slow and broken bodies, and the
Server header."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from web.support import DIRECTOR, TOKENS, VIEWER, FakeShow, bearer, call, make_app

from control.bodies import BODY_TIMEOUT
from control.web.auth import Auth
from control.web.sessions import COOKIE, Sessions
from control.web.throttle import Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def door(fake: FakeShow, clock: Clock) -> AsyncIterator[TestClient]:
    auth = Auth.from_settings(**TOKENS, throttle=Throttle(5))
    auth._clock = clock  # the throttle's clock: the test moves time instead of sleeping
    app = make_app(fake, auth=auth)
    app[BODY_TIMEOUT] = 0.5
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        yield c


async def test_wrong_tokens_back_off_per_address(door: TestClient, clock: Clock) -> None:
    for _ in range(5):
        assert (await call(door, "GET", "/api/state", token="w" * 24))[0] == 401
    status, body = await call(door, "GET", "/api/state", token="w" * 24)
    assert (status, body["error"]) == (401, "unauthorized")  # the 6th counts and blocks
    async with door.get("/api/state", headers=bearer(DIRECTOR)) as resp:
        # while blocked, not even the right token is looked at: guessing gains nothing
        assert resp.status == 429 and resp.headers["Retry-After"] == "1"
        assert (await resp.json())["error"] == "too_many_tries"
    status, _ = await call(door, "POST", "/api/login", token=None, body={"token": "w" * 24})
    assert status == 429
    clock.now += 1.5
    assert (await call(door, "GET", "/api/state", token=VIEWER))[0] == 200
    assert (await call(door, "GET", "/api/state", token="w" * 24))[0] == 401
    async with door.get("/api/state", headers=bearer(DIRECTOR)) as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "2"  # doubled


async def test_three_hundred_wrong_logins_are_refused_quickly(door: TestClient) -> None:
    statuses = []
    for _ in range(300):
        statuses.append((await call(door, "POST", "/api/login", token=None,
                                    body={"token": "x" * 30}))[0])
    assert statuses[:5] == [401] * 5 and statuses.count(429) >= 290


async def test_the_login_link_backs_off_too(door: TestClient) -> None:
    for _ in range(6):
        async with door.get("/?token=" + "w" * 24, allow_redirects=False) as resp:
            assert resp.status == 303 and COOKIE not in resp.cookies
    async with door.get("/?token=" + DIRECTOR, allow_redirects=False) as resp:
        assert resp.status == 429 and "Retry-After" in resp.headers
        assert COOKIE not in resp.cookies


@pytest.mark.parametrize(("host", "served"), [
    ("127.0.0.1:8080", True), ("localhost:8080", True), ("LOCALHOST.", True),
    ("[::1]:8080", True), ("192.168.1.10", True), ("studio.example:8080", True),
    ("evil.example", False), ("localhost.evil.example:8080", False), ("", False),
    ("bad host", False),
])
async def test_only_known_host_names_are_served(fake: FakeShow, host: str, served: bool) -> None:
    app = make_app(fake, hosts=("localhost", "studio.example"))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for path in ("/api/state", "/", "/static/app.css"):
            async with client.get(path, headers={**bearer(DIRECTOR), "Host": host}) as resp:
                if served:
                    assert resp.status != 400, (path, await resp.text())
                else:
                    assert resp.status == 400, path
                    assert "allowed_hosts" in await resp.text()


async def test_a_rebinding_page_cannot_try_tokens(door: TestClient) -> None:
    # the attacker's name resolved to this server: Origin and Host agree, Host is foreign
    headers = {"Host": "rebind.evil.example:8080", "Origin": "http://rebind.evil.example:8080"}
    status, body = await call(door, "POST", "/api/login", token=None,
                              body={"token": DIRECTOR}, headers=headers)
    assert (status, body["error"]) == (400, "unknown_host")


async def test_viewer_logins_never_end_the_directors_session(fake: FakeShow) -> None:
    auth = Auth.from_settings(**TOKENS, sessions=Sessions(max_per_token=20))
    async with TestClient(TestServer(make_app(fake, auth=auth), host="127.0.0.1")) as client:
        async with client.post("/api/login", json={"token": DIRECTOR}) as resp:
            director = resp.cookies[COOKIE].value
        first_viewer = None
        for _ in range(60):
            async with client.post("/api/login", json={"token": VIEWER}) as resp:
                first_viewer = first_viewer or resp.cookies[COOKIE].value
        client.session.cookie_jar.clear()
        for session, role in ((director, "director"), (first_viewer, None)):
            async with client.get("/api/whoami", cookies={COOKIE: session}) as resp:
                assert (resp.status == 200) == (role is not None)
                if role:
                    assert (await resp.json())["role"] == role
        assert len(auth.sessions) == 21  # 20 viewers (the newest) and the director


@pytest.mark.parametrize(("headers", "swapped"), [
    ({"Sec-Fetch-Site": "cross-site"}, False),
    ({"Sec-Fetch-Site": "same-site"}, False),
    ({"Referer": "http://evil.example/page"}, False),
    ({"Origin": "http://evil.example"}, False),
    ({"Sec-Fetch-Site": "none"}, True),       # typed, pasted or bookmarked
    ({}, True),                               # not a browser led by a page
])
async def test_a_login_link_from_another_site_swaps_no_session(
        client: TestClient, headers: dict[str, str], swapped: bool) -> None:
    async with client.get("/?token=" + DIRECTOR, headers=headers,
                          allow_redirects=False) as resp:
        assert resp.status == 303
        assert (COOKIE in resp.cookies) == swapped
        assert resp.headers["Location"] == ("/" if swapped else "/?login=refused")


async def test_the_server_header_names_no_versions(client: TestClient) -> None:
    for path in ("/api/state", "/", "/nope", "/api/nope"):
        async with client.get(path, headers=bearer(DIRECTOR)) as resp:
            assert resp.headers["Server"] == "showctl", path


async def _raw(server: TestServer, data: bytes, *, close: bool = False) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(data)
    await writer.drain()
    if close:
        writer.close()
        await writer.wait_closed()
        return b""
    try:
        async with asyncio.timeout(10):
            return await reader.read(65536)
    finally:
        writer.close()


def _post(length: int) -> bytes:
    return (f"POST /api/hold HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {DIRECTOR}"
            f"\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode()


async def test_a_body_sent_too_slowly_is_a_408(door: TestClient, fake: FakeShow) -> None:
    answer = await _raw(door.server, _post(100) + b'{"on": ')  # and then nothing
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"body_timeout" in answer
    assert fake.received == []


async def test_a_client_hanging_up_mid_body_is_a_quiet_400(
        door: TestClient, fake: FakeShow, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(3):
        await _raw(door.server, _post(100) + b'{"on": tr', close=True)
    # the server is still up and answers, and logged no internal error for the hang-ups
    assert (await call(door, "POST", "/api/hold", body={"on": True}))[0] == 200
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not any("internal error" in r.getMessage() or r.exc_info for r in caplog.records)
    assert len(fake.received) == 1
