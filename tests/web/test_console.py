"""The console's side of the web adapter: its files, cookie sessions, cross-site refusal."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from web.support import DIRECTOR, MODEL, PRODUCER, TOKENS, VIEWER, FakeShow, make_app

from control.show.commands import SetNote, Take
from control.web.auth import Auth
from control.web.sessions import COOKIE, Sessions

INDEX = "<!doctype html><title>showctl</title><script type=module src=/static/app.js></script>"


@pytest.fixture
def static(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    (root / "lib").mkdir(parents=True)
    (root / "index.html").write_text(INDEX, "utf-8")
    (root / "app.js").write_text("export const ok = 1;\n", "utf-8")
    (root / "style.css").write_text("body { color: red }\n", "utf-8")
    (root / "lib" / "clock.mjs").write_text("export {};\n", "utf-8")
    (root / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>", "utf-8")
    (root / ".secret").write_text("hidden", "utf-8")
    (tmp_path / "app.py").write_text("SECRET = 'outside the static directory'\n", "utf-8")
    (root / "escape.js").symlink_to(tmp_path / "app.py")
    return root


@pytest.fixture
async def console(fake: FakeShow, static: Path) -> AsyncIterator[TestClient]:
    app = make_app(fake, static_dir=static, hosts=("localhost", "console.local"))
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        yield c


def origin(client: TestClient) -> dict[str, str]:
    return {"Origin": f"http://127.0.0.1:{client.port}"}


async def login(client: TestClient, token: str = DIRECTOR) -> str:
    """Log in; returns the session id (the client's cookie jar keeps it too)."""
    async with client.post("/api/login", json={"token": token}, headers=origin(client)) as resp:
        assert resp.status == 200, await resp.text()
        assert await resp.json() == {"role": TOKENS_BY_VALUE[token]}
        return resp.cookies[COOKIE].value


TOKENS_BY_VALUE = {value: role for role, value in TOKENS.items()}


def cookie(session_id: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={session_id}"}


async def send(client: TestClient, method: str, path: str, *, headers: dict[str, str],
               body: Any = None) -> tuple[int, Any]:
    """A request with exactly these headers (no cookie jar)."""
    client.session.cookie_jar.clear()
    async with client.request(method, path, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


# --- logging in ------------------------------------------------------------------------------

async def test_login_sets_an_httponly_strict_session_cookie(console: TestClient) -> None:
    async with console.post("/api/login", json={"token": DIRECTOR},
                            headers=origin(console)) as resp:
        assert resp.status == 200 and await resp.json() == {"role": "director"}
        assert resp.headers["Cache-Control"] == "no-store"
        morsel = SimpleCookie(resp.headers["Set-Cookie"])[COOKIE]
    assert morsel["httponly"] and morsel["samesite"] == "Strict" and morsel["path"] == "/"
    assert int(morsel["max-age"]) > 3600
    assert not morsel["secure"]  # plain http on the gallery network; https would set it
    session_id = morsel.value
    assert len(session_id) >= 40 and DIRECTOR not in session_id
    status, answer = await send(console, "GET", "/api/whoami", headers=cookie(session_id))
    assert (status, answer) == (200, {"role": "director"})
    assert await send(console, "GET", "/api/state", headers=cookie(session_id)) == (200, MODEL)


async def test_the_cookie_jar_flow_of_a_browser(console: TestClient, fake: FakeShow
                                                ) -> None:
    await login(console)
    async with console.get("/api/whoami") as resp:  # the jar sends the cookie
        assert await resp.json() == {"role": "director"}
    async with console.post("/api/take", headers={**origin(console),
                                                  "X-Showctl-Source": "console"}) as resp:
        assert resp.status == 200
    assert fake.received == [Take(source="console", by="director")]
    async with console.post("/api/logout", headers=origin(console)) as resp:
        assert resp.status == 200 and await resp.json() == {"ok": True}
        assert SimpleCookie(resp.headers["Set-Cookie"])[COOKIE]["max-age"] == "0"
    async with console.get("/api/whoami") as resp:
        assert resp.status == 401


@pytest.mark.parametrize("body", [{"token": "wrong"}, {"token": DIRECTOR + "x"},
                                  {"token": f"Bearer {DIRECTOR}"}])
async def test_a_wrong_token_is_401_and_no_cookie(console: TestClient, body: dict) -> None:
    async with console.post("/api/login", json=body, headers=origin(console)) as resp:
        assert resp.status == 401
        assert await resp.json() == {"error": "unauthorized", "reason": "the token is not valid"}
        assert "Set-Cookie" not in resp.headers


@pytest.mark.parametrize(("body", "status"), [({}, 400), ({"token": 7}, 400), ({"token": ""}, 400),
                                              ({"token": DIRECTOR, "role": "director"}, 400),
                                              ([], 400)])
async def test_a_malformed_login_is_400(console: TestClient, body: Any, status: int) -> None:
    assert (await send(console, "POST", "/api/login", headers={}, body=body))[0] == status


async def test_a_login_from_another_site_is_refused(console: TestClient) -> None:
    status, answer = await send(console, "POST", "/api/login", body={"token": DIRECTOR},
                                headers={"Origin": "https://evil.example"})
    assert (status, answer["error"]) == (403, "cross_site")
    # tools (curl) send no Origin: fine
    assert (await send(console, "POST", "/api/login", headers={}, body={"token": VIEWER}))[0] == 200


async def test_after_logout_the_old_session_is_dead(console: TestClient) -> None:
    session_id = await login(console)
    status, _ = await send(console, "POST", "/api/logout", headers={**cookie(session_id),
                                                                    **origin(console)})
    assert status == 200
    async with console.get("/api/state", headers=cookie(session_id)) as resp:
        assert resp.status == 401
        answer = await resp.json()
        assert "log in again" in answer["reason"]
        assert SimpleCookie(resp.headers["Set-Cookie"])[COOKIE]["max-age"] == "0"


async def test_a_made_up_session_is_401(console: TestClient) -> None:
    for value in ("x", DIRECTOR, "a" * 5000):
        status, answer = await send(console, "GET", "/api/state", headers=cookie(value))
        assert status == 401 and "session" in answer["reason"]


async def test_bearer_wins_over_the_cookie(console: TestClient) -> None:
    session_id = await login(console, VIEWER)
    status, answer = await send(console, "GET", "/api/whoami",
                                headers={**cookie(session_id), "Authorization": f"Bearer {DIRECTOR}"})
    assert (status, answer) == (200, {"role": "director"})


# --- the login link --------------------------------------------------------------------------

async def test_a_login_link_sets_the_cookie_and_clears_the_address_bar(console: TestClient,
                                                                       fake: FakeShow
                                                                       ) -> None:
    async with console.get("/", params={"token": DIRECTOR}, allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        morsel = SimpleCookie(resp.headers["Set-Cookie"])[COOKIE]
    assert morsel["httponly"] and morsel["samesite"] == "Strict"
    assert DIRECTOR not in morsel.value
    status, _ = await send(console, "POST", "/api/take/weather",
                                headers={**cookie(morsel.value), **origin(console)})
    assert status == 200 and fake.received == [Take("weather", source="api", by="director")]


async def test_a_login_link_follows_to_the_console(console: TestClient) -> None:
    async with console.get("/", params={"token": PRODUCER}) as resp:  # follows the 303
        assert resp.status == 200 and await resp.text() == INDEX
        assert resp.url.query == {}
    async with console.get("/api/whoami") as resp:
        assert await resp.json() == {"role": "producer"}


async def test_a_login_link_with_a_wrong_token_says_so(console: TestClient) -> None:
    async with console.get("/", params={"token": "nope"}, allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == "/?login=failed"
        assert "Set-Cookie" not in resp.headers


# --- cross-site requests with the cookie ----------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "http://127.0.0.1:1"},                 # another port is another origin
    {"Origin": "null"},                               # sandboxed frames, file: pages
    {"Origin": "http://127.0.0.1.evil.example"},
    {},                                               # neither Origin nor Referer
    {"Referer": "https://evil.example/page"},
])
async def test_a_cross_site_post_with_the_cookie_is_403(console: TestClient, fake: FakeShow,
                                                        headers: dict[str, str]) -> None:
    session_id = await login(console)
    # (logout is open to tools: without an Origin, anyone may end a session they hold)
    logout = ("/api/logout",) if "Origin" in headers else ()
    for path in ("/api/take", "/api/panic", "/api/reload", *logout):
        status, answer = await send(console, "POST", path,
                                    headers={**cookie(session_id), **headers})
        assert (status, answer["error"]) == (403, "cross_site"), (path, headers)
    assert fake.received == [] and fake.reloads == 0
    # the session is still good from the console's own pages
    assert (await send(console, "GET", "/api/whoami", headers=cookie(session_id)))[0] == 200


async def test_same_origin_is_the_host_the_browser_used(console: TestClient,
                                                        fake: FakeShow) -> None:
    session_id = await login(console)
    port = console.port
    for headers in ({"Origin": f"http://127.0.0.1:{port}"},
                    {"Origin": f"HTTP://127.0.0.1:{port}"},
                    {"Referer": f"http://127.0.0.1:{port}/?x=1"},
                    {"Origin": "http://console.local", "Host": "console.local"},
                    {"Origin": "http://console.local", "Host": "console.local:80"},
                    {"Origin": "https://console.local", "Host": "console.local"}):
        status, _ = await send(console, "POST", "/api/back", headers={**cookie(session_id),
                                                                      **headers})
        assert status == 200, headers
    assert len(fake.received) == 6
    status, _ = await send(console, "POST", "/api/back", headers={
        **cookie(session_id), "Origin": "https://console.local", "Host": "console.local:80"})
    assert status == 403


async def test_bearer_tokens_need_no_origin(console: TestClient, fake: FakeShow) -> None:
    status, _ = await send(console, "POST", "/api/take", headers={
        "Authorization": f"Bearer {DIRECTOR}", "Origin": "https://evil.example"})
    assert status == 200 and len(fake.received) == 1


async def test_roles_hold_with_the_cookie(console: TestClient, fake: FakeShow) -> None:
    producer = await login(console, PRODUCER)
    viewer = await login(console, VIEWER)
    headers = origin(console)
    status, _ = await send(console, "POST", "/api/notes/weather", body={"text": "2 min left"},
                           headers={**cookie(producer), **headers})
    assert status == 200
    status, answer = await send(console, "POST", "/api/take",
                                headers={**cookie(producer), **headers})
    assert status == 403 and answer["reason"].endswith("needs the director role; this "
                                                       "session is producer")
    status, _ = await send(console, "POST", "/api/notes/weather", body={"text": "x"},
                           headers={**cookie(viewer), **headers})
    assert status == 403
    assert fake.received == [SetNote("weather", "2 min left", by="producer")]


# --- the websocket with the cookie -----------------------------------------------------------

async def test_the_websocket_opens_with_the_cookie_from_the_console(console: TestClient) -> None:
    session_id = await login(console, VIEWER)
    console.session.cookie_jar.clear()
    async with console.ws_connect("/api/ws", headers={**cookie(session_id),
                                                      **origin(console)}) as ws:
        assert await ws.receive_json() == {"type": "state", "state": MODEL}


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}])
async def test_the_websocket_refuses_the_cookie_from_elsewhere(console: TestClient,
                                                               headers: dict[str, str]) -> None:
    session_id = await login(console, VIEWER)
    console.session.cookie_jar.clear()
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await console.ws_connect("/api/ws", headers={**cookie(session_id), **headers})
    assert info.value.status == 403


# --- sessions --------------------------------------------------------------------------------

async def test_sessions_survive_a_restart_and_the_file_holds_no_session_id(tmp_path: Path
                                                                           ) -> None:
    path = tmp_path / "state" / "sessions.json"
    first = Auth.from_settings(**TOKENS, sessions=Sessions(path))
    session_id = await first.sessions.create("producer", PRODUCER)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text("utf-8")
    assert session_id not in text and PRODUCER not in text
    again = Auth.from_settings(**TOKENS, sessions=Sessions(path))
    assert again.session_role(session_id) == "producer"
    await again.sessions.drop(session_id)
    assert Auth.from_settings(**TOKENS, sessions=Sessions(path)).session_role(session_id) is None


async def test_a_changed_token_ends_its_sessions(tmp_path: Path) -> None:
    sessions = Sessions(tmp_path / "sessions.json")
    auth = Auth.from_settings(**TOKENS, sessions=sessions)
    director = await sessions.create("director", DIRECTOR)
    viewer = await sessions.create("viewer", VIEWER)
    rotated = Auth.from_settings(**{**TOKENS, "director": "a-brand-new-token-0123456789"}, sessions=sessions)
    assert auth.session_role(director) == "director"
    assert rotated.session_role(director) is None
    assert rotated.session_role(viewer) == "viewer"


async def test_sessions_expire() -> None:
    now = [1000.0]
    sessions = Sessions(ttl_s=60, clock=lambda: now[0])
    session_id = await sessions.create("viewer", VIEWER)
    assert sessions.lookup(session_id) is not None
    now[0] += 61
    assert sessions.lookup(session_id) is None
    await sessions.create("viewer", VIEWER)
    assert len(sessions) == 1  # the expired one was swept


def test_a_damaged_sessions_file_means_logging_in_again(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "sessions.json"
    for junk in ("{", "[]", '{"sessions": {"x": {"role": "viewer"}}}'):
        path.write_text(junk, "utf-8")
        assert len(Sessions(path)) == 0
    assert "everyone logs in again" in caplog.text


# --- the console's files ---------------------------------------------------------------------

async def test_the_console_is_served_without_a_credential(console: TestClient) -> None:
    async with console.get("/") as resp:
        assert resp.status == 200 and await resp.text() == INDEX
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        assert resp.headers["Cache-Control"] == "no-cache"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("path", "content_type"), [
    ("app.js", "text/javascript; charset=utf-8"),
    ("lib/clock.mjs", "text/javascript; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("logo.svg", "image/svg+xml"),
    ("index.html", "text/html; charset=utf-8"),
])
async def test_static_files_have_their_content_types(console: TestClient, static: Path,
                                                     path: str, content_type: str) -> None:
    async with console.get(f"/static/{path}") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == content_type
        assert resp.headers["Cache-Control"] == "no-cache"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert await resp.read() == (static / path).read_bytes()


async def test_a_changed_file_is_revalidated(console: TestClient) -> None:
    async with console.get("/static/app.js") as resp:
        modified = resp.headers["Last-Modified"]
    async with console.get("/static/app.js", headers={"If-Modified-Since": modified}) as resp:
        assert resp.status == 304


async def raw_get(client: TestClient, target: str) -> tuple[int, bytes]:
    """GET exactly `target` (no client-side normalisation of dot-segments or escapes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{client.port}\r\n"
                     "Connection: close\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize("target", [
    "/static/../app.py", "/static/%2e%2e/app.py", "/static/%2E%2E/app.py", "/static/..%2fapp.py",
    "/static/..%2Fapp.py", "/static/lib/../../app.py", "/static/%2e%2e%2fapp.py",
    "/static//etc/passwd", "/static/..\\app.py", "/static/lib/%2e%2e/%2e%2e/app.py",
    "/static/escape.js", "/static/.secret", "/static/lib", "/static/lib/", "/static/",
    "/static", "/static/nope.js", "/static/%00", "/static/app.js%00.html",
])
async def test_nothing_outside_the_static_directory_is_served(console: TestClient,
                                                              target: str) -> None:
    status, body = await raw_get(console, target)
    assert status == 404, (target, body)
    assert b"SECRET" not in body and b"hidden" not in body


async def test_without_the_console_files_the_index_is_a_clear_404(client: TestClient,
                                                                  tmp_path: Path) -> None:
    app = make_app(FakeShow(), static_dir=tmp_path / "none")
    async with TestClient(TestServer(app, host="127.0.0.1")) as c, c.get("/") as resp:
        assert resp.status == 404 and "the console is not installed" in await resp.text()


async def test_the_api_stays_closed(console: TestClient) -> None:
    for path in ("/api/state", "/api/whoami", "/api/openapi.json"):
        async with console.get(path) as resp:
            assert resp.status == 401, path
