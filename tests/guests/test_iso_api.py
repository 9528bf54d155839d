"""The console's side of the ISO recordings (control/wiring/iso.py) behind the API's own
guard: anyone with the console sees the list; only the director downloads, and each
download is logged with who and from where."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from control.guests.iso import IsoStore
from control.web.app import create_app
from control.web.auth import Auth
from control.wiring.iso import OPENAPI_PATHS, IsoApi, api_routes, install

pytestmark = pytest.mark.unit

TOKENS = {"director": "d" * 24, "producer": "p" * 24, "viewer": "v" * 24}
ROSTER = {g: {"id": g, "name": g.title()} for g in ("bob", "ada")}


class NoShow:
    def read_model(self) -> dict[str, Any]:
        return {"segments": []}


@pytest.fixture
async def client(tmp_path: Path):
    store = IsoStore(tmp_path / "iso")
    for guest, key, data, finish in (("ada", "key-0001", b"whole", True),
                                      ("bob", "key-0002", b"half", False)):
        up, _ = store.ledger.open(guest, "talk", key, now=1.0)
        store.append(up, data, hashlib.sha256(data).hexdigest())
        if finish:
            store.complete(up, 1, 61_000.0, now=2.0)
    app = create_app(NoShow(), Auth.from_settings(**TOKENS),  # type: ignore[arg-type]
                     extra_routes=api_routes(), openapi_paths=OPENAPI_PATHS)
    install(app, IsoApi(store, lambda: ROSTER))
    async with TestClient(TestServer(app)) as c:
        yield c


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


async def test_the_list_in_roster_order(client):
    r = await client.get("/api/iso", headers=bearer("viewer"))
    assert r.status == 200
    got = [(v["guest"], v["file"], v["phase"], v["bytes"], v["url"])
           for v in (await r.json())["recordings"]]
    assert got == [("bob", "talk-1.webm", "uploading", 4, None),
                   ("ada", "talk-1.webm", "complete", 5, "/api/iso/ada/talk-1.webm")]
    assert (await client.get("/api/iso")).status == 401


async def test_only_the_director_downloads_and_it_is_logged(client, caplog):
    caplog.set_level(logging.INFO, "control.wiring.iso")
    for role in ("viewer", "producer"):
        assert (await client.get("/api/iso/ada/talk-1.webm", headers=bearer(role))).status == 403
    r = await client.get("/api/iso/ada/talk-1.webm", headers=bearer("director"))
    assert r.status == 200 and await r.read() == b"whole"
    assert r.headers["Content-Type"] == "video/webm"
    assert "attachment" in r.headers["Content-Disposition"]
    assert any("talk-1.webm of guest ada downloaded by the director" in m
               for m in caplog.messages), caplog.messages
    for path, status in (("/api/iso/bob/talk-1.webm", 409), ("/api/iso/ada/talk-2.webm", 404),
                         ("/api/iso/ada/talk-1.json", 404),
                         ("/api/iso/ada/..%2F..%2Fetc%2Fpasswd", 404)):
        assert (await client.get(path, headers=bearer("director"))).status == status, path
