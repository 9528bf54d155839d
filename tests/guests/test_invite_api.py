"""The console's invite controls (director only, each logged with who): mint, revoke,
release, answer a claim; the read model's `guests[*].invite`."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from control.guests.bindings import BindingStore, Verdict
from control.guests.invites import check_token
from control.web.app import create_app
from control.web.auth import Auth
from control.wiring.guest_controls import OPENAPI_PATHS, GuestApi, api_routes, install

TOKENS = {"director": "d" * 24, "producer": "p" * 24, "viewer": "v" * 24}
ROSTER = {g: {"id": g, "name": g.title(), "name_zh": None, "role": None} for g in ("ada", "bob")}
NOW = 1_700_000_000.0


class NoShow:
    def read_model(self) -> dict[str, Any]:
        return {"segments": []}


@pytest.fixture
async def client(tmp_path):
    app = create_app(NoShow(), Auth.from_settings(**TOKENS),  # type: ignore[arg-type]
                     extra_routes=api_routes(), openapi_paths=OPENAPI_PATHS)
    revoked: list[str] = []
    store = BindingStore(tmp_path)

    async def deliver(guest: str, text: str) -> int:
        return 0

    async def revoke(guest: str) -> int:
        revoked.append(guest)
        generation = store.bindings.revoke(guest)
        store.save()
        return generation

    api = install(app, GuestApi(roster=lambda: ROSTER, deliver=deliver, secret=b"k", ttl_s=86400,
                                mixer=lambda: None, on_change=lambda: None, invites=store,
                                revoke=revoke, clock=lambda: NOW))
    async with TestClient(TestServer(app)) as c:
        c.api, c.store, c.revoked = api, store, revoked  # type: ignore[attr-defined]
        yield c


async def call(client: TestClient, path: str, role: str = "director", body: Any = None
               ) -> tuple[int, Any]:
    r = await client.post(path, json=body, headers={"Authorization": f"Bearer {TOKENS[role]}"})
    return r.status, await r.json()


async def test_only_the_director_mints_revokes_releases_and_answers(client) -> None:
    for path, body in (("invite", None), ("revoke", None), ("release", None),
                       ("claim", {"claim": "x", "allow": True})):
        for role in ("producer", "viewer"):
            assert (await call(client, f"/api/guests/ada/{path}", role, body))[0] == 403
    assert client.revoked == [] and client.store.bindings.generation("ada") == 0
    roles = {p: r for _, p, r in api_routes()}
    assert {roles[f"/api/guests/{{id}}/{p}"] for p in ("invite", "revoke", "release",
                                                       "claim")} == {"director"}


async def test_a_minted_link_carries_the_generation_and_is_logged(client, caplog) -> None:
    caplog.set_level(logging.INFO, "control.wiring.guest_controls")
    status, data = await call(client, "/api/guests/ada/invite")
    assert status == 200 and data["generation"] == 0
    assert data["expires_ms"] == (NOW + 86400) * 1000
    assert check_token(b"k", data["url"].partition("?t=")[2], "ada", NOW) == 0
    assert any("ada: invite link made" in r.message and "by the director (bearer) from 127.0.0.1"
               in r.message for r in caplog.records), [r.message for r in caplog.records]
    assert (await call(client, "/api/guests/ada/revoke"))[1] == {"ok": True, "generation": 1}
    assert client.revoked == ["ada"]
    data = (await call(client, "/api/guests/ada/invite"))[1]
    assert check_token(b"k", data["url"].partition("?t=")[2], "ada", NOW) == 1
    assert client.store.bindings.generation("bob") == 0  # the others' links untouched
    assert any("every invite link revoked" in r.message for r in caplog.records)
    assert (await call(client, "/api/guests/nobody/revoke"))[0] == 404


async def test_the_director_answers_a_claim(client, caplog) -> None:
    caplog.set_level(logging.INFO, "control.wiring.guest_controls")
    b = client.store.bindings
    b.decide("ada", 0, None, None, NOW)
    b.bind("ada", NOW)
    view = client.api.invite_view("ada", ZoneInfo("Asia/Shanghai"))
    assert view == {"generation": 0, "bound": True, "claim": None}
    claim = b.decide("ada", 0, None, None, NOW, address="10.1.2.3", agent="Firefox").claim
    view = client.api.invite_view("ada", ZoneInfo("Asia/Shanghai"))
    assert view["claim"]["id"] == claim and view["claim"]["address"] == "10.1.2.3"
    assert view["claim"]["at"].endswith("+08:00") and not view["claim"]["allowed"]
    for body, error in (({}, "bad_field"), ({"claim": claim}, "bad_field"),
                        ({"claim": claim, "allow": "yes"}, "bad_field"),
                        ({"claim": "other", "allow": True}, "no_claim")):
        status, data = await call(client, "/api/guests/ada/claim", body=body)
        assert status in (400, 409) and data["error"] == error, (body, data)
    assert (await call(client, "/api/guests/ada/claim", body={"claim": claim, "allow": True}))[0] \
        == 200
    assert client.api.invite_view("ada", ZoneInfo("UTC"))["claim"]["allowed"] is True
    assert b.decide("ada", 0, None, claim, NOW + 1).verdict is Verdict.ADMIT
    assert any("10.1.2.3 allowed to replace the bound one by the director" in r.message
               for r in caplog.records)
    # refused: the request goes
    claim = b.decide("ada", 0, None, None, NOW).claim
    assert (await call(client, "/api/guests/ada/claim", body={"claim": claim, "allow": False})
            )[1] == {"ok": True, "allowed": False}
    assert b.pending("ada", NOW) is None


async def test_release_keeps_the_links_and_unbinds(client) -> None:
    b = client.store.bindings
    b.bind("ada", NOW)
    assert (await call(client, "/api/guests/ada/release"))[1] == {"ok": True, "was_bound": True}
    assert not b.bound("ada") and b.generation("ada") == 0
    assert not BindingStore(client.store.path.parent).bindings.bound("ada")  # saved
    assert (await call(client, "/api/guests/ada/release"))[1]["was_bound"] is False
