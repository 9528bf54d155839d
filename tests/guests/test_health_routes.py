"""Guest health over the wire, without media: a report the server cannot use is answered with
a clear error on the page's socket (which stays open); the guest's answer to a device switch
is kept and logged; the director's switch request goes to that guest's pages only, and only
the director may send it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from helpers import until

from control.guests.gateway import Gateway, HeldFrames
from control.guests.invites import make_token
from control.guests.routes import install
from control.web.app import create_app
from control.web.auth import Auth
from control.wiring.guest_controls import OPENAPI_PATHS, GuestApi, api_routes
from control.wiring.guest_controls import install as install_controls

SECRET = b"k"
TOKENS = {"director": "d" * 24, "producer": "p" * 24, "viewer": "v" * 24}
ROSTER = {g: {"id": g, "name": g.title(), "name_zh": None, "role": None}
          for g in ("ada", "bob")}


class NoShow:
    def read_model(self) -> dict[str, Any]:
        return {"segments": []}


@pytest.fixture
async def client():
    app = create_app(NoShow(), Auth.from_settings(**TOKENS),  # type: ignore[arg-type]
                     extra_routes=api_routes(), openapi_paths=OPENAPI_PATHS)
    gateway = Gateway(HeldFrames())
    pages = install(app, gateway, secret=SECRET, roster=lambda: ROSTER,
                    status=lambda g: {"status": gateway.phase(g), "on_air": False},
                    clock=lambda: 100)

    async def deliver(guest: str, text: str) -> int:
        return await pages.message(guest, text)

    install_controls(app, GuestApi(roster=lambda: ROSTER, deliver=deliver, secret=SECRET,
                                   ttl_s=60, mixer=lambda: None, on_change=lambda: None,
                                   send=pages.send))
    async with TestClient(TestServer(app)) as c:
        c.gateway, c.pages = gateway, pages  # type: ignore[attr-defined]
        yield c


def tok(guest: str = "ada") -> str:
    return make_token(SECRET, guest, 1000)


async def post(client: TestClient, path: str, role: str, body: Any) -> tuple[int, Any]:
    r = await client.post(path, json=body, headers={"Authorization": f"Bearer {TOKENS[role]}"})
    return r.status, await r.json()


async def test_a_report_the_server_cannot_use_is_answered_and_the_socket_stays(client):
    async with client.ws_connect("/guest/ada/ws", params={"t": tok()}) as ws:
        assert (await ws.receive_json(timeout=5))["status"] == "invited"
        for bad, says in (([1, 2], "must be an object"),
                          ({str(i): i for i in range(100)}, "at most 64")):
            await ws.send_json({"stats": bad})
            answer = await ws.receive_json(timeout=5)
            assert answer["type"] == "error" and says in answer["error"], answer
        # out-of-range and unknown figures are dropped, the rest kept
        await ws.send_json({"stats": {"rtt_ms": 40, "battery_pct": 400, "power": "charging",
                                      "frames_dropped_pct": 2.5, "loss_pct": -3}})
        link = await until(lambda: client.gateway.link.get("ada"), 5, "the report")
        assert link["rtt_ms"] == 40 and link["power"] == "charging"
        assert link["frames_dropped_pct"] == 2.5
        assert "battery_pct" not in link and "loss_pct" not in link
        assert not ws.closed


async def test_the_guests_answer_to_a_switch_is_kept_and_logged(client, caplog):
    caplog.set_level(logging.INFO, "control.guests.routes")
    async with client.ws_connect("/guest/ada/ws", params={"t": tok()}) as ws:
        await ws.receive_json(timeout=5)
        await ws.send_json({"device": {"kind": "camera", "outcome": "maybe"}})  # dropped
        await ws.send_json({"device": {"kind": "camera", "outcome": "accepted",
                                       "detail": "USB cam" + "x" * 500}})
        answer = await until(lambda: client.pages.device_answers.get("ada"), 5, "the answer")
    assert answer["outcome"] == "accepted" and len(answer["detail"]) == 120
    assert any("ada accepted switching camera" in r.getMessage() for r in caplog.records)


async def test_the_director_asks_one_guest_to_switch(client, caplog):
    caplog.set_level(logging.INFO, "control.wiring.guest_controls")
    async with client.ws_connect("/guest/ada/ws", params={"t": tok()}) as ada, \
            client.ws_connect("/guest/bob/ws", params={"t": tok("bob")}) as bob:
        await ada.receive_json(timeout=5)
        await bob.receive_json(timeout=5)
        status, body = await post(client, "/api/guests/ada/switch-device", "director",
                                  {"kind": "microphone"})
        assert (status, body) == (200, {"ok": True, "delivered": 1})
        assert await ada.receive_json(timeout=5) == {"type": "switch-device",
                                                     "kind": "microphone"}
        # bob's page got nothing: its next message is the request made to bob
        status, _ = await post(client, "/api/guests/bob/switch-device", "director",
                               {"kind": "camera"})
        assert status == 200
        assert (await bob.receive_json(timeout=5))["kind"] == "camera"
    assert any("ada: asked to switch microphone (1 page) by the director" in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize(("role", "body", "status"), [
    ("producer", {"kind": "camera"}, 403),
    ("viewer", {"kind": "camera"}, 403),
    ("director", {"kind": "screen"}, 400),
    ("director", {}, 400),
    ("director", {"kind": "camera", "extra": 1}, 400),
])
async def test_switch_refusals(client, role, body, status):
    assert (await post(client, "/api/guests/ada/switch-device", role, body))[0] == status


async def test_switch_for_an_unknown_guest_or_a_closed_page(client):
    status, body = await post(client, "/api/guests/zed/switch-device", "director",
                              {"kind": "camera"})
    assert status == 404
    status, body = await post(client, "/api/guests/ada/switch-device", "director",
                              {"kind": "camera"})
    assert (status, body) == (200, {"ok": True, "delivered": 0})


def test_the_switch_route_is_documented_for_the_director_only():
    assert ("POST", "/api/guests/{id}/switch-device", "director") in api_routes()
    assert "/api/guests/{id}/switch-device" in OPENAPI_PATHS
