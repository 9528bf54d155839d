"""The control API over real HTTP on 127.0.0.1: routes, commands, errors, roles."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from web.support import (
    CHANGES,
    DIRECTOR,
    MODEL,
    PRODUCER,
    SAMPLE,
    VIEWER,
    FakeShow,
    call,
    make_app,
)

from control.show.commands import (
    Arm,
    Back,
    Command,
    Extend,
    Hold,
    Panic,
    SetMode,
    SetNext,
    SetNote,
    Skip,
    Take,
)
from control.show.diagnostics import Diagnostic, RundownError
from control.show.engine import Refused
from control.show.loader import load_rundown
from control.show.state import initial_state
from control.show.view import show_view
from control.web.app import ROUTES

D = "director"

HAPPY: list[tuple[str, str, Any, dict[str, str], Command]] = [
    ("POST", "/api/take", None, {}, Take(source="api", by=D)),
    ("POST", "/api/take", {}, {}, Take(source="api", by=D)),
    ("POST", "/api/take", None, {"X-Showctl-Source": "console"}, Take(source="console", by=D)),
    ("POST", "/api/take", None, {"X-Showctl-Source": "osc"}, Take(source="osc", by=D)),
    ("POST", "/api/take/weather", None, {}, Take("weather", source="api", by=D)),
    ("POST", "/api/take/weather", {}, {"X-Showctl-Source": "osc"},
     Take("weather", source="osc", by=D)),
    ("POST", "/api/next/midnight-sky", None, {}, SetNext("midnight-sky", by=D)),
    ("DELETE", "/api/next", None, {}, SetNext(None, by=D)),
    ("POST", "/api/hold", None, {}, Hold(on=True, by=D)),
    ("POST", "/api/hold", {"on": False}, {}, Hold(on=False, by=D)),
    ("POST", "/api/extend", {"seconds": 30}, {}, Extend(ms=30_000, by=D)),
    ("POST", "/api/extend", {"seconds": -12.5}, {}, Extend(ms=-12_500, by=D)),
    ("POST", "/api/extend", {"seconds": 3600}, {}, Extend(ms=3_600_000, by=D)),
    ("POST", "/api/skip/weather", None, {}, Skip("weather", skip=True, by=D)),
    ("POST", "/api/skip/weather", {"skip": False}, {}, Skip("weather", skip=False, by=D)),
    ("POST", "/api/back", None, {}, Back(by=D)),
    ("POST", "/api/panic", {}, {}, Panic(by=D)),
    ("POST", "/api/mode", {"mode": "live"}, {}, SetMode("live", by=D)),
    ("POST", "/api/mode", {"mode": "rehearsal"}, {}, SetMode("rehearsal", by=D)),
    ("POST", "/api/arm", {"armed": False}, {}, Arm(armed=False, by=D)),
    ("POST", "/api/arm", {"armed": True}, {}, Arm(armed=True, by=D)),
    # /api/command: the journal's form; by and a take's source come from the server
    ("POST", "/api/command", {"kind": "take", "segment_id": "weather", "by": "mallory",
                              "source": "osc"}, {}, Take("weather", source="api", by=D)),
    ("POST", "/api/command", {"kind": "take", "by": 7}, {"X-Showctl-Source": "console"},
     Take(source="console", by=D)),
    ("POST", "/api/command", {"kind": "next", "segment_id": None}, {}, SetNext(None, by=D)),
    ("POST", "/api/command", {"kind": "next", "segment_id": "opening"}, {},
     SetNext("opening", by=D)),
    ("POST", "/api/command", {"kind": "hold", "on": False}, {}, Hold(on=False, by=D)),
    ("POST", "/api/command", {"kind": "extend", "ms": -90_000}, {}, Extend(ms=-90_000, by=D)),
    ("POST", "/api/command", {"kind": "skip"}, {}, Skip(by=D)),
    ("POST", "/api/command", {"kind": "skip", "segment_id": "weather", "skip": False}, {},
     Skip("weather", skip=False, by=D)),
    ("POST", "/api/command", {"kind": "back"}, {}, Back(by=D)),
    ("POST", "/api/command", {"kind": "panic", "by": None}, {}, Panic(by=D)),
    ("POST", "/api/command", {"kind": "mode", "mode": "live"}, {}, SetMode("live", by=D)),
    ("POST", "/api/command", {"kind": "arm"}, {}, Arm(armed=True, by=D)),
    ("POST", "/api/command", {"kind": "note", "segment_id": "weather", "text": "wrap"}, {},
     SetNote("weather", "wrap", by=D)),
    ("POST", "/api/notes/weather", {"text": "wrap at 2 min"}, {},
     SetNote("weather", "wrap at 2 min", by=D)),
    ("POST", "/api/notes/weather", {"text": ""}, {}, SetNote("weather", "", by=D)),
    ("POST", "/api/notes/weather", {"text": "科" * 2000}, {}, SetNote("weather", "科" * 2000, by=D)),
]
# routes that are not one engine command: tested in test_console.py and below
NOT_COMMANDS = {("POST", "/api/login"), ("POST", "/api/logout"), ("POST", "/api/reload"),
                ("POST", "/api/stream"), ("POST", "/api/record")}
DIRECTOR_ROUTES = [(m, p.replace("{id}", "weather")) for m, p, _, role in ROUTES
                   if m != "GET" and role == "director"]


@pytest.mark.parametrize(("method", "path", "body", "headers", "expected"), HAPPY)
async def test_each_route_hands_the_controller_one_command(
        client: TestClient, fake: FakeShow, method: str, path: str, body: Any,
        headers: dict[str, str], expected: Command) -> None:
    status, answer = await call(client, method, path, body=body, headers=headers)
    assert (status, answer) == (200, {"ok": True, "state": MODEL})
    assert fake.received == [expected]
    assert type(fake.received[0]) is type(expected)


def test_every_command_route_has_a_happy_case() -> None:
    covered = {(m, p.replace("weather", "{id}").replace("midnight-sky", "{id}"))
               for m, p, *_ in HAPPY}
    assert covered == {(m, p) for m, p, _, _ in ROUTES if m != "GET"} - NOT_COMMANDS


@pytest.mark.parametrize("token", [VIEWER, PRODUCER, DIRECTOR])
async def test_every_role_reads_the_state(client: TestClient, token: str) -> None:
    assert await call(client, "GET", "/api/state", token=token) == (200, MODEL)


async def test_the_state_is_the_real_read_model() -> None:
    """With the core's own read model (Chinese titles, nulls), ids and JSON still fit."""
    rundown = load_rundown(SAMPLE.read_text("utf-8"), str(SAMPLE)).rundown
    model = show_view(initial_state(rundown), rundown.show.start_ms - 60_000)
    fake = FakeShow(model)
    async with TestClient(TestServer(make_app(fake), host="127.0.0.1")) as client:
        status, answer = await call(client, "GET", "/api/state", token=VIEWER)
        assert (status, answer) == (200, model)
        first = model["segments"][0]["id"]
        status, answer = await call(client, "POST", f"/api/next/{first}")
        assert status == 200 and answer["state"] == model
        assert fake.received == [SetNext(first, by=D)]


# --- authentication and roles ---------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), [("GET", "/api/state"), ("POST", "/api/take"),
                                              ("GET", "/api/openapi.json"), ("GET", "/api/nope"),
                                              ("PUT", "/api/state")])
async def test_no_token_is_401(client: TestClient, fake: FakeShow, method: str,
                               path: str) -> None:
    async with client.request(method, path) as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await resp.json())["error"] == "unauthorized"
    assert fake.received == []


@pytest.mark.parametrize("header", ["Bearer wrong-token", f"Bearer {DIRECTOR}x", "Bearer",
                                    f"Basic {DIRECTOR}", DIRECTOR, f"Bearer {DIRECTOR} extra",
                                    "Bearer ☃"])
async def test_a_wrong_token_is_401(client: TestClient, fake: FakeShow,
                                    header: str) -> None:
    async with client.post("/api/take", headers={"Authorization": header}) as resp:
        assert resp.status == 401
        assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
        assert await resp.json() == {"error": "unauthorized", "reason": "the token is not valid"}
    assert fake.received == []


async def test_the_scheme_is_case_insensitive(client: TestClient) -> None:
    async with client.get("/api/state", headers={"Authorization": f"bearer  {VIEWER}"}) as resp:
        assert resp.status == 200


async def test_a_token_in_the_url_only_opens_the_websocket(client: TestClient) -> None:
    async with client.get("/api/state", params={"token": DIRECTOR}) as resp:
        assert resp.status == 401
        assert "only accepted on /api/ws" in (await resp.json())["reason"]


@pytest.mark.parametrize("token", [VIEWER, PRODUCER])
@pytest.mark.parametrize(("method", "path"), DIRECTOR_ROUTES)
async def test_commands_are_for_directors(client: TestClient, fake: FakeShow, token: str,
                                         method: str, path: str) -> None:
    status, answer = await call(client, method, path, token=token, body={})
    assert status == 403
    assert answer["error"] == "forbidden" and "needs the director role" in answer["reason"]
    assert fake.received == [] and fake.reloads == 0 and fake.outputs == []


async def test_producers_write_notes_and_viewers_do_not(client: TestClient,
                                                        fake: FakeShow) -> None:
    status, answer = await call(client, "POST", "/api/notes/weather", token=PRODUCER,
                                body={"text": "keep it short, the astronomer is late"})
    assert (status, answer) == (200, {"ok": True, "state": MODEL})
    assert fake.received == [SetNote("weather", "keep it short, the astronomer is late",
                                     by="producer")]
    status, answer = await call(client, "POST", "/api/notes/weather", token=VIEWER,
                                body={"text": "x"})
    assert status == 403 and "needs the producer role" in answer["reason"]
    # a producer may not take, nor slip a take in through the command route
    for path, body in (("/api/take", {}), ("/api/take/weather", {}),
                       ("/api/command", {"kind": "take"}),
                       ("/api/command", {"kind": "note", "segment_id": "weather", "text": "x"})):
        status, answer = await call(client, "POST", path, token=PRODUCER, body=body)
        assert status == 403, path
    assert len(fake.received) == 1


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "where"), [
    ('{"on": tru}', "line 1, column 8"),
    ('{\n  "seconds": 10,\n}', "line 3, column 1"),
    ("{", "line 1, column 2"),
    ("\ufeff{}", "line 1, column 1"),
])
async def test_malformed_json_is_400_with_its_position(client: TestClient, fake: FakeShow,
                                                       data: str, where: str) -> None:
    status, answer = await call(client, "POST", "/api/hold", data=data)
    assert status == 400 and answer["error"] == "bad_json"
    assert where in answer["reason"]
    assert fake.received == []


@pytest.mark.parametrize(("data", "words"), [
    (b'{"seconds": NaN}', "NaN is not JSON"),
    (b'{"seconds": -Infinity}', "-Infinity is not JSON"),
    (b"[" * 30_000 + b"]" * 30_000, "nested too deeply"),
    (b'{"seconds": ' + b"9" * 5000 + b"}", "malformed JSON"),
    (b'{"seconds": "\xff"}', "not UTF-8 (byte 13)"),
])
async def test_json_that_python_chokes_on_is_400(client: TestClient, data: bytes,
                                                 words: str) -> None:
    status, answer = await call(client, "POST", "/api/extend", data=data)
    assert status == 400 and answer["error"] == "bad_json"
    assert words in answer["reason"]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/hold", {"on": "yes"}, "'on'"),
    ("/api/hold", {"on": 1}, "'on'"),
    ("/api/hold", {"of": True}, "'of'"),
    ("/api/extend", {"seconds": "10"}, "'seconds'"),
    ("/api/extend", {"seconds": True}, "'seconds'"),
    ("/api/extend", {"seconds": 3600.5}, "'seconds'"),
    ("/api/extend", {"seconds": -10**400}, "'seconds'"),
    ("/api/extend", {}, "'seconds'"),
    ("/api/skip/weather", {"skip": None}, "'skip'"),
    ("/api/mode", {"mode": "dress"}, "'mode'"),
    ("/api/mode", {"mode": ["live"]}, "'mode'"),
    ("/api/arm", {}, "'armed'"),
    ("/api/arm", {"armed": "false"}, "'armed'"),
    ("/api/back", {"segment_id": "weather"}, "'segment_id'"),
    ("/api/take/weather", {"source": "osc"}, "'source'"),
    ("/api/command", {"kind": "hold", "on": "x"}, "'on'"),
    ("/api/command", {"kind": "extend", "ms": 1.5}, "'ms'"),
    ("/api/command", {"kind": "extend", "ms": 3_600_001}, "'ms'"),
    ("/api/command", {"kind": "next"}, "'segment_id'"),
    ("/api/command", {"kind": "back", "segment_id": "weather"}, "segment_id"),
    ("/api/command", {"kind": "hold", "source": "osc"}, "source"),
    ("/api/command", {"kind": "take", "segment_id": 3}, "'segment_id'"),
    ("/api/command", {"kind": "launch"}, "unknown command kind 'launch'"),
    ("/api/command", {"kind": "note", "segment_id": "weather", "text": "x" * 2001},
     "'text' is 2001 characters long; at most 2000"),
    ("/api/command", {"kind": "note", "segment_id": "weather"}, "'text'"),
    ("/api/notes/weather", {}, "'text'"),
    ("/api/notes/weather", {"text": None}, "'text'"),
    ("/api/notes/weather", {"text": ["a"]}, "'text'"),
    ("/api/notes/weather", {"text": "x" * 2001}, "'text' is 2001 characters long; at most 2000"),
    ("/api/notes/weather", {"text": "a", "by": "eve"}, "'by'"),
    ("/api/stream", {}, "'active'"),
    ("/api/stream", {"active": "yes"}, "'active'"),
    ("/api/record", {"active": 1}, "'active'"),
    ("/api/record", {"on": True}, "'on'"),
    ("/api/reload", {"file": "/etc/passwd"}, "'file'"),
    ("/api/command", {}, "unknown command kind None"),
])
async def test_wrong_fields_are_400_naming_the_field(client: TestClient, fake: FakeShow,
                                                     path: str, body: Any, field: str) -> None:
    status, answer = await call(client, "POST", path, body=body)
    assert status == 400 and answer["error"] in ("bad_field", "bad_command"), answer
    assert field in answer["reason"]
    assert fake.received == [] and fake.reloads == 0 and fake.outputs == []


@pytest.mark.parametrize("data", ['{"kind": "back", "\\udc80": 1}', '{"\\ud800": true}'])
async def test_lone_surrogates_in_field_names_are_a_400_not_a_crash(client: TestClient,
                                                                    data: str) -> None:
    for path in ("/api/command", "/api/hold"):
        status, answer = await call(client, "POST", path, data=data)
        assert status == 400 and answer["error"] in ("bad_field", "bad_command"), answer


@pytest.mark.parametrize("body", [[], "take", 3, None, True])
async def test_a_body_that_is_not_an_object_is_400(client: TestClient, body: Any) -> None:
    status, answer = await call(client, "POST", "/api/hold", data=_json(body))
    assert status == 400 and "must be a JSON object" in answer["reason"]
    status, answer = await call(client, "POST", "/api/command", data=_json(body))
    assert status == 400 and "must be a JSON object" in answer["reason"]


async def test_an_unknown_source_header_is_400(client: TestClient, fake: FakeShow) -> None:
    status, answer = await call(client, "POST", "/api/take",
                                headers={"X-Showctl-Source": "keyboard"})
    assert (status, answer["error"]) == (400, "bad_header")
    assert "console" in answer["reason"]
    assert fake.received == []


@pytest.mark.parametrize(("path", "body"), [
    ("/api/take/nope", None), ("/api/next/nope", None), ("/api/skip/nope", {"skip": False}),
    ("/api/take/Weather", None), ("/api/command", {"kind": "take", "segment_id": "nope"}),
    ("/api/command", {"kind": "next", "segment_id": "nope"}),
    ("/api/command", {"kind": "skip", "segment_id": "nope"}),
    ("/api/command", {"kind": "note", "segment_id": "nope", "text": "x"}),
    ("/api/notes/nope", {"text": "x"}),
])
async def test_an_unknown_segment_is_404(client: TestClient, fake: FakeShow, path: str,
                                         body: Any) -> None:
    status, answer = await call(client, "POST", path, body=body)
    assert status == 404 and answer["error"] == "unknown_segment"
    assert "no segment 'nope'" in answer["reason"] or "'Weather'" in answer["reason"]
    assert fake.received == []
    # the show is asked about the one segment; no read model is built to find it
    assert (fake.segment_checks, fake.reads) == (1, 0)


async def test_refused_is_409_with_the_engines_reason(client: TestClient,
                                                      fake: FakeShow) -> None:
    fake.refuse = "'weather' is on air; it cannot be next"
    status, answer = await call(client, "POST", "/api/next/weather")
    assert (status, answer) == (409, {"error": "refused",
                                      "reason": "'weather' is on air; it cannot be next"})


async def test_a_crash_is_500_with_an_id_in_the_log(client: TestClient, fake: FakeShow,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    fake.crash = KeyError("obs")
    with caplog.at_level(logging.ERROR, logger="control.web.errors"):
        status, answer = await call(client, "POST", "/api/panic")
    assert status == 500 and answer["error"] == "internal"
    incident = answer["reason"].split()[2].rstrip(";")
    assert len(incident) == 8
    assert any(incident in r.getMessage() and r.exc_info for r in caplog.records)
    fake.crash = None
    assert (await call(client, "POST", "/api/panic"))[0] == 200  # still serving


async def test_an_oversized_body_is_413_json(client: TestClient, fake: FakeShow) -> None:
    status, answer = await call(client, "POST", "/api/command",
                                data=b'{"kind": "back", "x": "' + b"x" * 70_000 + b'"}')
    assert (status, answer["error"]) == (413, "too_large")
    assert "65536 bytes" in answer["reason"]
    assert fake.received == []


async def test_unknown_routes_are_404_json(client: TestClient) -> None:
    for path in ("/api/nope", "/api/take/weather/now", "/api", "/api/"):
        status, answer = await call(client, "GET", path)
        assert (status, answer["error"]) == (404, "not_found"), path


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/api/take", "POST"), ("PUT", "/api/state", "GET"), ("POST", "/api/next", "DELETE"),
    ("DELETE", "/api/take/weather", "POST"),
])
async def test_a_wrong_method_is_405_json(client: TestClient, fake: FakeShow, method: str,
                                          path: str, allow: str) -> None:
    async with client.request(method, path, headers={"Authorization": f"Bearer {DIRECTOR}"}
                              ) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == allow
        answer = await resp.json()
    assert answer["error"] == "method_not_allowed" and allow in answer["reason"]
    assert fake.received == []


def _json(value: Any) -> bytes:
    import json
    return json.dumps(value).encode()


# --- reload, stream, record ------------------------------------------------------------------

async def test_reload_answers_with_the_changes_and_the_state(client: TestClient,
                                                             fake: FakeShow) -> None:
    status, answer = await call(client, "POST", "/api/reload")
    assert (status, answer) == (200, {"ok": True, "changes": CHANGES, "warnings": [],
                                      "state": MODEL})
    assert fake.reloads == 1 and fake.received == []


async def test_an_invalid_rundown_is_422_with_every_error(client: TestClient,
                                                          fake: FakeShow) -> None:
    fake.reload_error = RundownError([
        Diagnostic("show.yaml", 12, 5, "error", "unknown key 'durtion'"),
        Diagnostic("show.yaml", 3, 1, "warning", "no safe_scene"),
        Diagnostic("show.yaml", 20, 11, "error", "bad duration '5 minutes'")])
    status, answer = await call(client, "POST", "/api/reload")
    assert status == 422
    assert answer["error"] == "invalid_rundown"
    assert answer["errors"] == ["show.yaml:12:5: error: unknown key 'durtion'",
                                "show.yaml:20:11: error: bad duration '5 minutes'"]
    assert "2 error(s)" in answer["reason"] and "show.yaml:12:5" in answer["reason"]


async def test_a_reload_without_the_on_air_segment_is_409(client: TestClient,
                                                          fake: FakeShow) -> None:
    fake.reload_error = Refused("'weather' is on air and the new rundown has no segment "
                                "'weather': take another segment first, then reload")
    status, answer = await call(client, "POST", "/api/reload")
    assert status == 409 and answer["error"] == "refused"
    assert "take another segment first" in answer["reason"]


@pytest.mark.parametrize("name", ["stream", "record"])
async def test_stream_and_record_go_to_the_controller(client: TestClient, fake: FakeShow,
                                                      name: str) -> None:
    status, answer = await call(client, "POST", f"/api/{name}", body={"active": True})
    assert (status, answer) == (200, {"ok": True, "state": MODEL})
    status, _ = await call(client, "POST", f"/api/{name}", body={"active": False})
    assert status == 200
    assert fake.outputs == [(name, True), (name, False)]
    fake.output_error = "OBS could not start the stream: it stopped again at once"
    status, answer = await call(client, "POST", f"/api/{name}", body={"active": True})
    assert (status, answer) == (502, {"error": "output_failed", "reason": fake.output_error})
