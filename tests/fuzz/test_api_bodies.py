"""Every route of the API, as the app's own OpenAPI document lists them (a new route is fuzzed
the day it is documented), with bodies of every kind: random JSON, the route's own fields with
wrong types, huge numbers, unicode, deep nesting, broken JSON, wrong content types, odd path
parameters and headers.

The rule: a 4xx that says why (JSON `{"error", "reason"}` under /api/, never a 500, never a
traceback), the controller alive (the next request works), and nothing changed by a refusal
(the show's state, the journal, the graphics, the guests)."""

from __future__ import annotations

from fuzz.routes import Route, fill, routes
from fuzz.strategies import CONTENT_TYPES, NASTY_BODIES, body_bytes, texts
from fuzz.support import DIRECTOR, PRODUCER, VIEWER, Live, assert_clean_error, fuzz
from hypothesis import example, given
from hypothesis import strategies as st

# a refusal by OBS, not by the API: OBS is down in these tests
UPSTREAM = {("POST", "/api/stream"), ("POST", "/api/record")}


def check(live: Live, route: Route, path: str, body: bytes, content_type: str | None,
          token: str | None, extra: dict[str, str] | None = None,
          method: str | None = None) -> int:
    """One request; the rule for its answer; returns the status."""
    before = live.snapshot()
    headers = {**({"Content-Type": content_type} if content_type else {}), **(extra or {})}
    resp = live.request(method or route.method, path, body, headers, token=token)
    api = path.startswith("/api")
    where = (f"{method or route.method} {path[:200]} {body[:200]!r} ({content_type}) -> "
             f"{resp.status}")
    if resp.status >= 500:
        assert resp.status == 502 and (route.method, route.path) in UPSTREAM, \
            (where, resp.body[:500])
        assert resp.json()["error"] == "output_failed"
    elif resp.status >= 400:
        assert_clean_error(resp, json_body=api, protocol="Content-Encoding" in headers)
        assert live.snapshot() == before, f"a refusal changed the show: {where}"
    elif api and resp.status != 204:
        assert resp.content_type == "application/json", where
        resp.json()  # strict JSON: no NaN, no Infinity
    assert live.request("GET", "/api/whoami").status == 200, f"not answering after {where}"
    return resp.status


def test_every_route_refuses_nasty_bodies_cleanly(live: Live) -> None:
    """Each documented route with each nasty body, and with wrong content types."""
    statuses: dict[tuple[str, str], set[int]] = {}
    for route in routes(live):
        path = fill(route, {name: (known or ("x",))[0] for name, known in route.params})
        tries = [(body, "application/json") for body in NASTY_BODIES] + [
            (body, content_type) for body in (b"{}", b"[]", b"\x00")
            for content_type in ("text/plain", "multipart/form-data; boundary=x", None)]
        for body, content_type in tries:
            status = check(live, route, path, body, content_type, DIRECTOR)
            statuses.setdefault((route.method, route.path), set()).add(status)
    live.runner_alive()
    # the body-reading routes did refuse bodies: 400 (bad JSON) and 413 (too large)
    assert {400, 413} <= statuses[("POST", "/api/command")]
    assert {400, 413} <= statuses[("POST", "/api/overlays/{template}/{verb}")]


def test_every_route_with_odd_path_parameters(live: Live) -> None:
    odd = ["", " ", "..", "%", "\x00", "\udc80", "科学", "a" * 5000, "intro/../talk", "INTRO",
           "intro ", "<script>", "{id}", "talk?x=1", "#", "\\", "😀"]
    for route in routes(live):
        for name, _ in route.params:
            for value in odd:
                values = {n: (k or ("x",))[0] for n, k in route.params}
                values[name] = value
                check(live, route, fill(route, values), b"{}", "application/json", DIRECTOR)


@st.composite
def requests(draw: st.DrawFn, table: list[Route]) -> tuple[Route, str, bytes, str | None,
                                                          str | None, dict[str, str], str]:
    route = draw(st.sampled_from(table))
    values = {name: draw(st.sampled_from(known) | texts if known else texts)
              for name, known in route.params}
    body = draw(body_bytes(route.schema))
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    token = draw(st.sampled_from([DIRECTOR] * 6 + [PRODUCER, VIEWER, None, "nope", "a b"]))
    extra: dict[str, str] = draw(st.fixed_dictionaries({}, optional={
        "X-Showctl-Source": st.sampled_from(["api", "console", "osc", "", "OSC", "x" * 300]),
        "Origin": st.sampled_from(["http://evil.example", "null"]),
        "Content-Encoding": st.sampled_from(["gzip", "br", "deflate", "x"]),
        "Transfer-Encoding": st.just("chunked"),
    }))
    if "Transfer-Encoding" in extra:  # a real chunked body (one chunk), no Content-Length
        body = (f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n") if body else b"0\r\n\r\n"
        extra["Content-Length"] = ""
    method = draw(st.sampled_from([route.method] * 8 + ["PUT", "PATCH", "DELETE"]))
    return route, fill(route, values), body, content_type, token, extra, method


def test_random_requests_on_every_route(live: Live) -> None:
    table = routes(live)
    seen: set[tuple[str, str]] = set()

    @fuzz(400)
    @given(req=requests(table))
    @example(req=(next(r for r in table if r.path == "/api/extend"), "/api/extend",
                  b'{"seconds": 1e308}', "application/json", DIRECTOR, {}, "POST"))
    # a lone surrogate, escaped (valid JSON, not Unicode): it once reached the journal,
    # which could not encode it, and the runner died with the request hanging
    @example(req=(next(r for r in table if r.path == "/api/notes/{id}"), "/api/notes/talk",
                  b'{"text": "a\\udc80"}', "application/json", DIRECTOR, {}, "POST"))
    @example(req=(next(r for r in table if r.path == "/api/command"), "/api/command",
                  b'{"kind": "note", "segment_id": "talk", "text": "\\ud800"}',
                  "application/json", DIRECTOR, {}, "POST"))
    def run(req: tuple[Route, str, bytes, str | None, str | None, dict[str, str], str]) -> None:
        route, path, body, content_type, token, extra, method = req
        if extra.get("Content-Length") == "":
            del extra["Content-Length"]
            live_request_chunked(live, route, path, body, content_type, token, extra, method)
        else:
            check(live, route, path, body, content_type, token, extra, method)
        seen.add((route.method, route.path))

    run()
    assert len(seen) > len(table) // 2, "the fuzzer reached too few routes"
    live.runner_alive()


def live_request_chunked(live: Live, route: Route, path: str, body: bytes,
                         content_type: str | None, token: str | None, extra: dict[str, str],
                         method: str) -> None:
    """A chunked request: `live.request` would add a Content-Length, so build it here."""
    before = live.snapshot()
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{live.port}", "Connection: close"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{k}: {v}" for k, v in extra.items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body
    resp = live.send(raw)
    if resp.status >= 500:
        assert resp.status == 502 and (route.method, route.path) in UPSTREAM, resp
    elif resp.status >= 400:
        assert_clean_error(resp, json_body=path.startswith("/api"), protocol=True)
        assert live.snapshot() == before
    assert live.request("GET", "/api/whoami").status == 200
