"""Oversized requests and slow-loris clients.

- A body over the limit (64 KiB) is refused with 413 once the limit is passed: the client
  announced 50 MB and the answer comes after 256 KiB, so the server never read it whole.
  Every documented route that reads a body, and WHIP; chunked bodies too.
- Request lines and headers over aiohttp's limits: a 4xx, the server goes on.
- Slow bodies: a body that does not arrive whole within the body timeout is a 408 on every
  route that reads one; foreign Host names (DNS rebinding) are a 400 on every route.
- Slow-loris: clients that send their headers one byte per second neither slow anyone else
  down nor stay: the server cuts them after its idle timeout (`HTTP_IDLE_TIMEOUT_S`, patched
  down to `HEADER_TIMEOUT_S` here to keep the test short).
"""

from __future__ import annotations

import http.client
import json
import socket
import time

from fuzz.routes import routes
from fuzz.support import (
    BODY_TIMEOUT_S,
    DIRECTOR,
    GUEST,
    HEADER_TIMEOUT_S,
    Live,
    Response,
    assert_clean_error,
)

import control.wiring.http as wiring_http

ANNOUNCED = 50 * 1024 * 1024
SENT = 256 * 1024


def oversized(live: Live, path: str, headers: dict[str, str], *, chunked: bool = False
              ) -> tuple[Response, int]:
    """Announce a 50 MB body, send up to 256 KiB of it, read the answer: (answer, bytes the
    server took before it)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{live.port}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items()),
             "Transfer-Encoding: chunked" if chunked else f"Content-Length: {ANNOUNCED}"]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    chunk = b"[" * 8192
    if chunked:
        chunk = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=10)
    sent = 0
    try:
        sock.sendall(head)
        sock.settimeout(0.5)
        try:
            while sent < SENT:
                sock.sendall(chunk)
                sent += len(chunk)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading (it has answered): what the test wants
        sock.settimeout(10)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        return Response(resp.status, resp.headers, resp.read()), sent
    finally:
        sock.close()


def test_oversized_bodies_are_refused_early(live: Live) -> None:
    targets = [(r.path, r.params) for r in routes(live) if r.method == "POST"]
    assert targets
    before = live.snapshot()
    for path, params in targets:
        for name, known in params:
            path = path.replace("{" + name + "}", (known or ("x",))[0])
        for chunked in (False, True):
            resp, sent = oversized(live, path, {"Authorization": f"Bearer {DIRECTOR}",
                                                "Content-Type": "application/json"},
                                   chunked=chunked)
            assert resp.status == 413, (path, chunked, resp.status, resp.body[:200])
            assert_clean_error(resp)
            assert sent < ANNOUNCED
    resp, _ = oversized(live, f"/whip/{GUEST}?t={live.guest_token()}",
                        {"Content-Type": "application/sdp"})
    assert resp.status == 413, resp
    assert_clean_error(resp, json_body=False)
    assert live.snapshot() == before
    assert live.request("GET", "/api/whoami").status == 200


def test_oversized_request_lines_and_headers(live: Live) -> None:
    for raw in [
        b"GET /api/state?" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/state HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
        b"GET /api/state HTTP/1.1\r\nHost: x\r\n" + b"".join(
            b"X-%d: 1\r\n" % i for i in range(300)) + b"\r\n",
        b"GET /api/state HTTP/1.1\r\nHost: x\r\nCookie: " + b"a=b; " * 5000 + b"\r\n\r\n",
        b"POST /api/take HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST /api/take HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST /api/take HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST /api/take HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /api/take HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ]:
        try:
            resp = live.send(raw + b"")
        except (ConnectionError, http.client.HTTPException):  # hung up on garbage: fine
            continue
        assert 400 <= resp.status < 500, (raw[:80], resp.status, resp.body[:200])
        assert b"Traceback" not in resp.body
    assert live.request("GET", "/api/whoami").status == 200


def test_slow_loris_clients_block_no_one_and_are_cut_off(live: Live) -> None:
    assert 0 < wiring_http.HTTP_IDLE_TIMEOUT_S <= 60, "the product's idle timeout"
    request = b"GET /api/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 64
    slow = [socket.create_connection(("127.0.0.1", live.port), timeout=5) for _ in range(4)]
    opened = time.monotonic()
    cut: dict[int, float] = {}
    latencies = []
    try:
        for byte in request:  # one byte a second from each, as a slow-loris client does
            for i, sock in enumerate(slow):
                if i in cut:
                    continue
                try:
                    sock.sendall(bytes([byte]))
                    sock.setblocking(False)
                    try:
                        if sock.recv(1024) == b"":
                            cut[i] = time.monotonic() - opened
                    except BlockingIOError:
                        pass
                    finally:
                        sock.setblocking(True)
                except (BrokenPipeError, ConnectionResetError):
                    cut[i] = time.monotonic() - opened
            started = time.monotonic()  # meanwhile, everyone else is served at once
            ok = live.request("GET", "/api/whoami", timeout=5)
            latencies.append(time.monotonic() - started)
            assert ok.status == 200 and json.loads(ok.body) == {"role": "director"}
            if len(cut) == len(slow) or time.monotonic() - opened > HEADER_TIMEOUT_S + 10:
                break
            time.sleep(1.0)  # (the slow client's pace, not a wait for an event)
    finally:
        for sock in slow:
            sock.close()
    assert len(cut) == len(slow), f"slow clients still connected after " \
        f"{time.monotonic() - opened:.1f} s: {len(slow) - len(cut)}"
    assert max(cut.values()) < HEADER_TIMEOUT_S + 3, cut
    assert max(latencies) < 1.5, latencies  # never held up until a slow one is cut


def _api_posts(live: Live) -> list[str]:
    paths = []
    for route in routes(live):
        if route.method == "POST" and route.path.startswith("/api/"):
            path = route.path
            for name, known in route.params:
                path = path.replace("{" + name + "}", (known or ("x",))[0])
            paths.append(path)
    return paths


def test_slow_bodies_are_cut_with_a_408(live: Live) -> None:
    before = live.snapshot()
    for path in _api_posts(live):
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\nConnection: close"
                f"\r\nAuthorization: Bearer {DIRECTOR}\r\nContent-Type: application/json\r\n"
                f"Content-Length: 1000\r\n\r\n{{").encode()
        started = time.monotonic()
        resp = live.send(head, timeout=BODY_TIMEOUT_S + 10)  # and the rest never comes
        assert resp.status == 408, (path, resp.status, resp.body[:200])
        assert_clean_error(resp)
        assert time.monotonic() - started < BODY_TIMEOUT_S + 5
    assert live.snapshot() == before
    assert live.request("GET", "/api/whoami").status == 200


def test_foreign_host_names_are_refused_everywhere(live: Live) -> None:
    before = live.snapshot()
    paths = [r.path for r in routes(live) if "{" not in r.path] + ["/", "/static/app.js",
                                                                    "/metrics", "/healthz"]
    for host in ("evil.example", "rebind.evil.example:8080", "localhost.evil.example",
                 "127.0.0.1.evil.example", "x" * 300):
        for path in paths:
            resp = live.request("POST" if path.startswith("/api/take") else "GET", path,
                                b"{}", {"Content-Type": "application/json"}, host=host)
            assert resp.status == 400, (host, path, resp.status)
            assert b"allowed_hosts" in resp.body
    assert live.snapshot() == before
    assert live.request("GET", "/api/whoami", host="localhost").status == 200
