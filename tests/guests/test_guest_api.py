"""The console's guest API beyond level/message/invite: the A/V offset (producer+) and the
live thumbnail (viewer+) behind the API's own guard, with a synthetic frame in the sink."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from guests.support import RGB, solid

from control.guests.gateway import HeldFrames
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.thumbnails import Thumbnails, fit, jpeg
from control.guests.video import VideoFrame
from control.web.app import create_app
from control.web.auth import Auth
from control.wiring.guest_controls import OPENAPI_PATHS, GuestApi, api_routes, install

Image = pytest.importorskip("PIL.Image")
TOKENS = {"director": "d" * 24, "producer": "p" * 24, "viewer": "v" * 24}
ROSTER = {g: {"id": g, "name": g.title(), "name_zh": None, "role": None}
          for g in ("ada", "bob")}


class NoShow:
    def read_model(self) -> dict[str, Any]:
        return {"segments": []}

    async def command(self, cmd: Any) -> None:
        raise AssertionError

    async def reload(self) -> dict[str, Any]:
        raise AssertionError

    async def output(self, name: str, active: bool) -> None:
        raise AssertionError


@pytest.fixture
async def client():
    mixer = ProgramMixer(MixerSettings(port=1))
    sink = HeldFrames()
    app = create_app(NoShow(), Auth.from_settings(**TOKENS),  # type: ignore[arg-type]
                     extra_routes=api_routes(), openapi_paths=OPENAPI_PATHS)
    changes: list[int] = []

    async def deliver(guest: str, text: str) -> int:
        return 0

    api = install(app, GuestApi(roster=lambda: ROSTER, deliver=deliver, secret=b"k",
                                ttl_s=60, mixer=lambda: mixer,
                                on_change=lambda: changes.append(1), pictures=sink.picture,
                                av_offsets={"bob": -120}))
    async with TestClient(TestServer(app)) as c:
        c.api, c.mixer, c.sink, c.changes = api, mixer, sink, changes  # type: ignore[attr-defined]
        yield c


async def call(client: TestClient, method: str, path: str, role: str | None = "producer",
               body: Any = None) -> tuple[int, Any, bytes]:
    headers = {"Authorization": f"Bearer {TOKENS[role]}"} if role else {}
    r = await client.request(method, path, json=body, headers=headers)
    raw = await r.read()
    data = await r.json() if r.content_type == "application/json" else r.content_type
    return r.status, data, raw


async def test_av_offset_is_set_kept_and_reaches_the_mixer(client) -> None:
    # from config, before any guest connects
    assert client.api.av_offset("bob") == -120 and client.api.av_offset("ada") == 0
    assert client.mixer.frames("bob").delay == pytest.approx(0.12)
    status, body, _ = await call(client, "POST", "/api/guests/ada/av-offset",
                                 body={"av_offset_ms": 80.4})
    assert status == 200 and body == {"ok": True, "av_offset_ms": 80}
    assert client.api.av_offset("ada") == 80 and client.changes
    assert client.mixer.audio.ring("ada").delay == 80 * 48


@pytest.mark.parametrize(("body", "error"), [
    ({"av_offset_ms": 501}, "bad_field"), ({"av_offset_ms": "10"}, "bad_field"),
    ({}, "bad_field"), ({"av_offset_ms": 10, "x": 1}, "bad_field"), ([1], "bad_body")])
async def test_av_offset_refusals(client, body: Any, error: str) -> None:
    status, answer, _ = await call(client, "POST", "/api/guests/ada/av-offset", body=body)
    assert status == 400 and answer["error"] == error, answer
    assert answer["reason"]  # a reason a person can act on
    assert client.api.av_offset("ada") == 0


async def test_av_offset_roles_and_unknown_guests(client) -> None:
    body = {"av_offset_ms": 10}
    assert (await call(client, "POST", "/api/guests/ada/av-offset", "viewer", body))[0] == 403
    assert (await call(client, "POST", "/api/guests/ada/av-offset", None, body))[0] == 401
    assert (await call(client, "POST", "/api/guests/nobody/av-offset", body=body))[0] == 404
    assert (await call(client, "POST", "/api/guests/ada/av-offset", "director", body))[0] == 200


async def test_thumbnail_of_the_newest_frame(client) -> None:
    status, body, _ = await call(client, "GET", "/api/guests/ada/thumbnail.jpg", "viewer")
    assert status == 404 and body["error"] == "no_picture"  # no frame yet
    assert (await call(client, "GET", "/api/guests/nobody/thumbnail.jpg", "viewer"))[0] == 404
    assert (await call(client, "GET", "/api/guests/ada/thumbnail.jpg", None))[0] == 401
    client.sink.frames("ada").put(solid("red", 640, 360))
    r = await client.get("/api/guests/ada/thumbnail.jpg?v=1",
                         headers={"Authorization": f"Bearer {TOKENS['viewer']}"})
    assert r.status == 200 and r.content_type == "image/jpeg"
    assert r.headers["Cache-Control"] == "no-store"
    data = await r.read()
    assert len(data) < 8000  # low bitrate
    picture = Image.open(io.BytesIO(data)).convert("RGB")
    assert picture.size == (160, 90)
    assert np.abs(np.asarray(picture)[45, 80].astype(int) - RGB["red"]).max() < 30


async def test_thumbnails_are_made_at_most_once_a_second_off_the_loop() -> None:
    now = [0.0]
    frames: dict[str, VideoFrame] = {"ada": solid("blue", 1280, 720)}
    thumbs = Thumbnails(frames.get, clock=lambda: now[0])
    # ten consoles at once: one encode
    results = await asyncio.gather(*(thumbs.get("ada") for _ in range(10)))
    assert len(set(results)) == 1 and thumbs.encodes == 1
    frames["ada"] = solid("red", 1280, 720)  # a newer frame, but within the second
    assert await thumbs.get("ada") == results[0] and thumbs.encodes == 1
    now[0] = 1.5
    assert await thumbs.get("ada") != results[0] and thumbs.encodes == 2
    now[0] = 3.0  # no newer frame: nothing to encode
    await thumbs.get("ada")
    assert thumbs.encodes == 2
    assert await thumbs.get("bob") is None


def test_the_thumbnail_keeps_the_aspect() -> None:
    assert fit(1280, 720) == (160, 90)
    assert fit(360, 640) == (50, 90)  # a phone held upright
    assert fit(640, 480) == (120, 90)
    data = jpeg(solid("green", 360, 640))
    assert Image.open(io.BytesIO(data)).size == (50, 90)


def test_the_routes_are_in_the_openapi_paths() -> None:
    documented = {(m.upper(), p) for p, item in OPENAPI_PATHS.items() for m in item}
    assert {(m, p) for m, p, _ in api_routes()} == documented
    roles = {p: r for _, p, r in api_routes()}
    assert roles["/api/guests/{id}/thumbnail.jpg"] == "viewer"
    assert roles["/api/guests/{id}/av-offset"] == "producer"
    assert "image/jpeg" in str(OPENAPI_PATHS["/api/guests/{id}/thumbnail.jpg"])
