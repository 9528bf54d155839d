"""Behind a TLS proxy: the forwarded scheme and client address are believed only from the
configured proxies and only as far as they wrote them (control/web/forwarded.py); then the
cookie is Secure, HSTS is sent, the access log and the guests' join limits see the client,
and invite links are https (one base URL: control/wiring/listeners.py)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from helpers import until
from web.support import DIRECTOR, FakeShow, make_app

from control.config import Settings
from control.guests.invites import token_guest
from control.networks import parse_networks
from control.web import forwarded
from control.web.accesslog import AccessLogger
from control.web.forwarded import Client, Hop, Scheme, hops_of, resolve
from control.wiring.guest_controls import OPENAPI_PATHS, GuestApi, api_routes, install
from control.wiring.listeners import public_base_url

PROXY = parse_networks("127.0.0.1, 10.0.0.0/8")
HTTP, HTTPS = Scheme.HTTP, Scheme.HTTPS


@pytest.mark.parametrize(("peer", "hops", "expected"), [
    # not a trusted proxy: its headers mean nothing
    ("203.0.113.9", [Hop("198.51.100.1", "https")], Client("203.0.113.9", HTTP)),
    # the proxy's entry is the last; what the client wrote further left is ignored
    ("127.0.0.1", [Hop("6.6.6.6"), Hop("198.51.100.7", "https")],
     Client("198.51.100.7", HTTPS, proxied=True)),
    # two trusted proxies: the first address that is not one of them is the client
    ("127.0.0.1", [Hop("6.6.6.6"), Hop("198.51.100.7", "https"), Hop("10.1.2.3", "http")],
     Client("198.51.100.7", HTTPS, proxied=True)),
    # every hop a trusted proxy: the leftmost is the client
    ("127.0.0.1", [Hop("10.0.0.9", "https")], Client("10.0.0.9", HTTPS, proxied=True)),
    # Forwarded's node forms: quoted IPv6 with a port, IPv4 with a port
    ("127.0.0.1", [Hop('"[2001:db8::7]:4711"', "https")],
     Client("2001:db8::7", HTTPS, proxied=True)),
    ("::ffff:127.0.0.1", [Hop("192.0.2.60:5000", "HTTPS")],
     Client("192.0.2.60", HTTPS, proxied=True)),
    # a proxy that hides the client ("unknown"), or says no scheme: the connection's own
    ("127.0.0.1", [Hop("unknown", None)], Client("127.0.0.1", HTTP, proxied=True)),
    ("127.0.0.1", [Hop("198.51.100.7", "gopher")], Client("198.51.100.7", HTTP, proxied=True)),
    # a trusted proxy that sent nothing: the connection as it is
    ("127.0.0.1", [], Client("127.0.0.1", HTTP)),
])
def test_resolve(peer: str, hops: list[Hop], expected: Client) -> None:
    assert resolve(peer, False, hops, PROXY) == expected


def test_no_trusted_proxy_believes_nothing() -> None:
    assert resolve("127.0.0.1", True, [Hop("198.51.100.7", "http")], ()) == \
        Client("127.0.0.1", HTTPS)


def test_hops_from_the_headers() -> None:
    headers = {"X-Forwarded-For": "6.6.6.6, 198.51.100.7", "X-Forwarded-Proto": "http, https"}
    assert hops_of(headers, ()) == [Hop("6.6.6.6"), Hop("198.51.100.7", "https")]
    assert hops_of({"X-Forwarded-Proto": "https"}, ()) == [Hop(None, "https")]
    assert hops_of({}, ()) == []
    # Forwarded wins over X-Forwarded-*
    assert hops_of(headers, [{"for": "192.0.2.1", "proto": "https"}]) == \
        [Hop("192.0.2.1", "https")]


@pytest.mark.parametrize("bad", ["example.org", "10.0.0.0/33", "1.2.3"])
def test_bad_trusted_proxies_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an IP address or network"):
        parse_networks(f"127.0.0.1, {bad}")


def _console(trusted: str) -> web.Application:
    app = make_app(FakeShow())
    forwarded.install(app, parse_networks(trusted), 86400)

    async def who(request: web.Request) -> web.Response:
        return web.json_response({"remote": request.remote, "secure": request.secure,
                                  "client": forwarded.client(request).address})

    app.router.add_get("/who", who)
    return app


async def _login(client: TestClient, headers: dict[str, str]) -> tuple[str, str | None]:
    async with client.post("/api/login", json={"token": DIRECTOR}, headers=headers) as resp:
        assert resp.status == 200
        return resp.headers["Set-Cookie"], resp.headers.get("Strict-Transport-Security")


FROM_PROXY = {"X-Forwarded-For": "6.6.6.6, 198.51.100.7", "X-Forwarded-Proto": "https"}


async def test_a_trusted_proxy_saying_https_gets_secure_cookies_and_hsts() -> None:
    async with TestClient(TestServer(_console("127.0.0.1"), host="127.0.0.1")) as client:
        cookie, hsts = await _login(client, FROM_PROXY)
        assert "; Secure" in cookie and hsts == "max-age=86400"
        async with client.get("/who", headers=FROM_PROXY) as resp:
            assert await resp.json() == {"remote": "198.51.100.7", "secure": True,
                                         "client": "198.51.100.7"}
        # the same proxy, a plain-HTTP client: no Secure, no HSTS
        cookie, hsts = await _login(client, {"X-Forwarded-Proto": "http"})
        assert "Secure" not in cookie and hsts is None
        # Forwarded (RFC 7239)
        forwarded_header = {"Forwarded": 'for="[2001:db8::7]:4711";proto=https'}
        async with client.get("/who", headers=forwarded_header) as resp:
            assert (await resp.json())["remote"] == "2001:db8::7"
            assert resp.headers["Strict-Transport-Security"] == "max-age=86400"


async def test_headers_from_anyone_else_are_not_believed() -> None:
    async with TestClient(TestServer(_console("10.0.0.0/8"), host="127.0.0.1")) as client:
        cookie, hsts = await _login(client, FROM_PROXY)
        assert "Secure" not in cookie and hsts is None
        async with client.get("/who", headers=FROM_PROXY) as resp:
            assert await resp.json() == {"remote": "127.0.0.1", "secure": False,
                                         "client": "127.0.0.1"}


async def test_the_access_log_names_the_client(caplog: pytest.LogCaptureFixture) -> None:
    import aiohttp

    runner = web.AppRunner(_console("127.0.0.1"), access_log_class=AccessLogger,
                           access_log=logging.getLogger("test.access"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        with caplog.at_level(logging.INFO, logger="test.access"):
            async with aiohttp.ClientSession() as http, \
                    http.get(f"http://127.0.0.1:{port}/who?token=secret",
                             headers=FROM_PROXY) as resp:
                assert resp.status == 200
                await resp.read()
            await until(lambda: [r for r in caplog.records if r.name == "test.access"], 5,
                        "the access log line")
    finally:
        await runner.cleanup()
    lines = [r.getMessage() for r in caplog.records if r.name == "test.access"]
    assert any(line.startswith("198.51.100.7 GET /who 200 ") for line in lines), lines
    assert not any("secret" in line for line in lines)


def _request(headers: dict[str, str], secure: bool = False) -> web.Request:
    request = make_mocked_request("POST", "/api/guests/ada/invite", headers=headers)
    if secure:
        request = request.clone(scheme="https")
    return request


def test_the_public_base_url() -> None:
    plain = Settings(http_host="0.0.0.0", http_port=8080)
    tls = Settings(http_host="0.0.0.0", http_port=8443, tls_cert_file=__file__,  # type: ignore[arg-type]
                   tls_key_file=__file__)  # type: ignore[arg-type]
    # from the command line: the listener (a wildcard address is this machine)
    assert public_base_url(plain) == "http://127.0.0.1:8080"
    assert public_base_url(tls) == "https://127.0.0.1:8443"
    # from the console: the host it reached us by, in its client's scheme
    assert public_base_url(plain, _request({"Host": "studio.lan:8080"})) == \
        "http://studio.lan:8080"
    request = _request({"Host": "show.example.org"})
    request[forwarded.CLIENT] = Client("198.51.100.7", HTTPS, proxied=True)
    assert public_base_url(plain, request) == "https://show.example.org"
    # with a door: the door's port on that host name, HTTPS when there is a certificate
    door = Settings(http_port=8443, door_host="0.0.0.0", door_port=9443,
                    tls_cert_file=__file__, tls_key_file=__file__)  # type: ignore[arg-type]
    assert public_base_url(door, _request({"Host": "studio.lan:8443"})) == \
        "https://studio.lan:9443"
    assert public_base_url(door, _request({"Host": "[fd00::5]:8443"})) == "https://[fd00::5]:9443"
    assert public_base_url(door) == "https://127.0.0.1:9443"
    # the configured public address beats everything
    public = Settings(guest_public_url="https://guests.example.org")
    assert public_base_url(public, _request({"Host": "studio.lan"})) == \
        "https://guests.example.org"


async def test_the_console_mints_https_invites_behind_the_proxy() -> None:
    from web.support import TOKENS

    from control.web.app import create_app
    from control.web.auth import Auth
    from control.web.hosts import AllowedHosts

    app = create_app(FakeShow(), Auth.from_settings(**TOKENS), extra_routes=api_routes(),
                     openapi_paths=OPENAPI_PATHS,
                     allowed_hosts=AllowedHosts(["show.example.org"]))

    async def deliver(_guest: str, _text: str) -> int:
        return 0

    roster: dict[str, Any] = {"ada": {"id": "ada", "name": "Ada"}}
    install(app, GuestApi(roster=lambda: roster, deliver=deliver, secret=b"k", ttl_s=60,
                          mixer=lambda: None, on_change=lambda: None))
    forwarded.install(app, parse_networks("127.0.0.1"), 0)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        headers = {"Authorization": f"Bearer {DIRECTOR}", "X-Forwarded-Proto": "https",
                   "Host": "show.example.org"}
        async with client.post("/api/guests/ada/invite", json={}, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            assert "Strict-Transport-Security" not in resp.headers  # max-age 0: none
            url = (await resp.json())["url"]
    assert url.startswith("https://show.example.org/guest/ada?t=")
    assert token_guest(b"k", url.partition("?t=")[2], 0) == "ada"


async def test_the_state_websocket_through_the_proxy() -> None:
    """A websocket upgrade on the request the middleware cloned."""
    async with TestClient(TestServer(_console("127.0.0.1"), host="127.0.0.1")) as client, \
            client.ws_connect(f"/api/ws?token={DIRECTOR}", headers=FROM_PROXY) as ws:
        message = await ws.receive_json(timeout=10)
        assert "New Year's Eve of Science" in str(message)


def test_the_listener_settings(tmp_path: Any) -> None:
    from control.config import ConfigError, load_settings

    path = tmp_path / "show.yaml"
    path.write_text("tls: {cert_file: c.pem, key_file: /etc/k.pem}\n"
                    "http: {trusted_proxies: '127.0.0.1, 10.0.0.0/8', hsts_max_age: 0s}\n"
                    "door: {host: 0.0.0.0, port: 8443}\n"
                    "guests: {public_url: 'https://guests.example.org/'}\n", "utf-8")
    s = load_settings(path, {})
    assert s.tls_cert_file is not None and s.tls_cert_file.name == "c.pem"
    assert str(s.tls_key_file) == "/etc/k.pem"
    assert (s.trusted_proxies, s.hsts_max_age_ms) == ("127.0.0.1, 10.0.0.0/8", 0)
    assert (s.door_host, s.door_port) == ("0.0.0.0", 8443)
    assert s.guest_public_url == "https://guests.example.org"
    s = load_settings(path, {"SHOWCTL_DOOR_PORT": "off", "SHOWCTL_TLS_CERT_FILE": "/a.pem",
                             "SHOWCTL_TLS_KEY_FILE": "/b.pem"})
    assert s.door_port is None and str(s.tls_cert_file) == "/a.pem"
    defaults = load_settings(None, {})
    assert (defaults.tls_cert_file, defaults.door_port, defaults.trusted_proxies) == \
        (None, None, "")
    for env, message in [
            ({"SHOWCTL_TLS_KEY_FILE": "/k.pem"}, "go together"),
            ({"SHOWCTL_TRUSTED_PROXIES": "proxy.lan"}, "SHOWCTL_TRUSTED_PROXIES"),
            ({"SHOWCTL_DOOR_PORT": "8080"}, "the console's own port"),
            ({"SHOWCTL_DOOR_PORT": "99999"}, "SHOWCTL_DOOR_PORT"),
            ({"SHOWCTL_GUEST_PUBLIC_URL": "guests.example.org"}, "https://HOST"),
            ({"SHOWCTL_GUEST_PUBLIC_URL": "https://x.org/show"}, "no path")]:
        with pytest.raises(ConfigError, match=message):
            load_settings(None, env)
