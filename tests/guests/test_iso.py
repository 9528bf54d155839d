"""ISO uploads' bookkeeping (control.guests.iso) and their routes against a real server:
in order, repeats, other checksums, quotas, another guest's upload, path tricks, resume
after a restart, and a file that is whole only once every chunk is verified."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from helpers import until

from control.guests.bindings import BindingStore
from control.guests.gateway import Gateway, HeldFrames
from control.guests.invites import make_token
from control.guests.iso import IsoError, IsoStore, Ledger, Limits, Phase, Step
from control.guests.isoroutes import CHECKSUM, MAX_READING
from control.guests.isoroutes import install as install_iso
from control.guests.routes import REJOIN, install

pytestmark = pytest.mark.unit

SECRET = b"k"
ROSTER = {g: {"id": g, "name": g.title(), "name_zh": None, "role": None} for g in ("ada", "bob")}
SEGMENTS = {"intro", "talk"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the pure ledger -------------------------------------------------------------------

def test_chunks_go_in_order_and_a_repeat_is_harmless():
    ledger = Ledger()
    up, new = ledger.open("ada", "talk", "key-0001", now=1.0)
    assert new and up.name == "talk-1" and up.next == 0
    assert ledger.check_chunk(up, 0, sha(b"a"), 1) is Step.APPEND
    up.appended(sha(b"a"), 1)
    assert ledger.check_chunk(up, 0, sha(b"a"), 1) is Step.ALREADY  # its answer was lost
    with pytest.raises(IsoError) as e:
        ledger.check_chunk(up, 0, sha(b"b"), 1)
    assert e.value.status == 409 and "another checksum" in e.value.reason
    with pytest.raises(IsoError) as e:
        ledger.check_chunk(up, 2, sha(b"c"), 1)
    assert e.value.status == 409 and "send chunk 1 next" in e.value.reason


def test_the_same_key_resumes_and_a_new_key_is_the_next_take():
    ledger = Ledger()
    first, _ = ledger.open("ada", "talk", "key-0001", now=1.0)
    again, new = ledger.open("ada", "talk", "key-0001", now=2.0)
    assert again is first and not new
    second, new = ledger.open("ada", "talk", "key-0002", now=3.0)
    assert new and second.name == "talk-2"
    other, _ = ledger.open("bob", "talk", "key-0001", now=3.0)  # bob's own, not ada's
    assert other.name == "talk-1" and other is not first
    with pytest.raises(IsoError) as e:
        ledger.open("ada", "intro", "key-0001", now=4.0)
    assert e.value.status == 409


@pytest.mark.parametrize("guest,segment,key", [
    ("../etc", "talk", "key-0001"), ("ada", "../../x", "key-0001"), ("ada", "talk", "../k/../k"),
    ("ada", "Talk", "key-0001"), ("ada", "talk", "short"), ("ada", "", "key-0001"),
    ("ada", "talk", None)])
def test_ids_and_keys_are_checked(guest, segment, key):
    with pytest.raises(IsoError) as e:
        Ledger().open(guest, segment, key, now=1.0)
    assert e.value.status == 400


def test_limits_chunk_size_per_guest_quota_and_uploads():
    ledger = Ledger(Limits(max_chunk_bytes=10, max_guest_bytes=25, max_uploads=2))
    up, _ = ledger.open("ada", "talk", "key-0001", now=1.0)
    with pytest.raises(IsoError) as e:
        ledger.check_chunk(up, 0, sha(b"x"), 11)
    assert e.value.status == 413
    for i in range(2):
        ledger.check_chunk(up, i, sha(bytes([i])), 10)
        up.appended(sha(bytes([i])), 10)
    with pytest.raises(IsoError) as e:
        ledger.check_chunk(up, 2, sha(b"z"), 10)  # 30 > 25
    assert e.value.status == 413 and "iso_max_mb" in e.value.reason
    bob, _ = ledger.open("bob", "talk", "key-0001", now=1.0)  # bob's quota is his own
    assert ledger.check_chunk(bob, 0, sha(b"z"), 10) is Step.APPEND
    ledger.open("ada", "talk", "key-0002", now=1.0)
    with pytest.raises(IsoError) as e:
        ledger.open("ada", "talk", "key-0003", now=1.0)
    assert e.value.status == 413


def test_finish_needs_every_chunk():
    up, _ = Ledger().open("ada", "talk", "key-0001", now=1.0)
    with pytest.raises(IsoError):
        up.finish(0, None, now=2.0)  # nothing arrived
    up.appended(sha(b"a"), 1)
    with pytest.raises(IsoError) as e:
        up.finish(2, None, now=2.0)
    assert e.value.status == 409 and "send chunk 1" in e.value.reason
    up.finish(1, 1500.0, now=2.0)
    assert up.phase is Phase.COMPLETE and up.duration_ms == 1500.0
    with pytest.raises(IsoError):
        Ledger().check_chunk(up, 1, sha(b"b"), 1)  # complete: no more chunks


def test_the_store_writes_resumes_after_a_restart_and_verifies(tmp_path: Path):
    store = IsoStore(tmp_path / "iso")
    up, _ = store.ledger.open("ada", "talk", "key-0001", now=1.0)
    store.save(up)
    store.append(up, b"hello ", sha(b"hello "))
    assert store.path(up).name == "talk-1.webm.part"
    again = IsoStore(tmp_path / "iso")  # a restart: the manifest says where to go on
    up2 = again.ledger.find("ada", "talk-1")
    assert up2.next == 1 and up2.size == 6
    with open(again.path(up2), "ab") as f:  # a torn write the manifest never recorded
        f.write(b"garbage")
    again.append(up2, b"world", sha(b"world"))
    again.complete(up2, 2, 900.0, now=2.0)
    final = tmp_path / "iso" / "ada" / "talk-1.webm"
    assert final.read_bytes() == b"hello world" and not final.with_suffix(".webm.part").exists()
    assert json.loads((final.with_suffix(".json")).read_text())["phase"] == "complete"


def test_a_chunk_damaged_on_disk_is_asked_for_again(tmp_path: Path):
    store = IsoStore(tmp_path / "iso")
    up, _ = store.ledger.open("ada", "talk", "key-0001", now=1.0)
    store.append(up, b"aaaa", sha(b"aaaa"))
    store.append(up, b"bbbb", sha(b"bbbb"))
    with open(store.path(up), "r+b") as f:
        f.seek(5)
        f.write(b"X")
    with pytest.raises(IsoError) as e:
        store.complete(up, 2, None, now=2.0)
    assert e.value.status == 409 and "from chunk 1" in e.value.reason
    assert up.next == 1 and up.phase is Phase.UPLOADING
    store.append(up, b"bbbb", sha(b"bbbb"))
    store.complete(up, 2, None, now=2.0)
    assert (tmp_path / "iso" / "ada" / "talk-1.webm").read_bytes() == b"aaaabbbb"


def test_a_damaged_manifest_is_skipped_not_fatal(tmp_path: Path):
    (tmp_path / "iso" / "ada").mkdir(parents=True)
    (tmp_path / "iso" / "ada" / "talk-1.json").write_text("{not json")
    (tmp_path / "iso" / "ada" / "talk-2.json").write_text(json.dumps(
        {"guest": "ada", "segment": "../x", "take": 2, "key": "key-0001", "opened_at": 0,
         "phase": "uploading", "chunks": []}))
    store = IsoStore(tmp_path / "iso")
    assert len(store.damaged) == 2 and not store.ledger.of("ada")


# --- the routes --------------------------------------------------------------------------

async def serve(state: Path, limits: Limits | None = None) -> TestClient:
    app = web.Application()
    gateway = Gateway(HeldFrames(), joins_per_minute=100, joins_per_address=100,
                      joins_per_guest=100)
    store = BindingStore(state)
    pages = install(app, gateway, secret=SECRET, roster=lambda: ROSTER,
                    status=lambda g: {"status": "invited", "on_air": False}, store=store)
    iso = IsoStore(state / "iso", limits)
    routes = install_iso(app, pages, iso, lambda: SEGMENTS)
    client = TestClient(TestServer(app))
    await client.start_server()
    client.iso, client.bindings, client.routes = iso, store.bindings, routes  # type: ignore
    return client


@pytest.fixture
async def client(tmp_path: Path):
    c = await serve(tmp_path)
    yield c
    await c.close()


def auth(guest: str = "ada", rejoin: str | None = None, **more: str) -> dict[str, str]:
    h = {"Authorization": f"Bearer {make_token(SECRET, guest, 10**10)}", **more}
    if rejoin:
        h[REJOIN] = rejoin
    return h


async def put(client: TestClient, name: str, n: int, data: bytes, guest: str = "ada",
              checksum: str | None = None, **headers: str):
    return await client.put(f"/guest/{guest}/iso/{name}/chunks/{n}", data=data, headers=auth(
        guest, **{CHECKSUM: checksum or sha(data)}, **headers))


async def test_an_upload_end_to_end_with_a_repeat(client, tmp_path: Path):
    r = await client.post("/guest/ada/iso", json={"key": "key-0001", "segment": "talk"},
                          headers=auth())
    assert r.status == 201, await r.text()
    name = (await r.json())["name"]
    for i, data in enumerate((b"one ", b"two ", b"three")):
        assert (await put(client, name, i, data)).status == 200
    assert (await put(client, name, 1, b"two ")).status == 200  # repeated: harmless
    r = await client.get(f"/guest/ada/iso/{name}", headers=auth())
    assert (await r.json())["next"] == 3
    r = await client.post(f"/guest/ada/iso/{name}/done", json={"chunks": 3, "duration_ms": 1234},
                          headers=auth())
    assert r.status == 200 and (await r.json())["phase"] == "complete"
    assert (tmp_path / "iso" / "ada" / "talk-1.webm").read_bytes() == b"one two three"
    again = await client.post("/guest/ada/iso", json={"key": "key-0001", "segment": "talk"},
                              headers=auth())
    assert again.status == 200 and (await again.json())["phase"] == "complete"


async def test_hostile_requests_get_clear_refusals(client, tmp_path: Path):
    r = await client.post("/guest/ada/iso", json={"key": "key-0001", "segment": "talk"},
                          headers=auth())
    name = (await r.json())["name"]
    cases = [
        (await put(client, name, 0, b"data", checksum="0" * 64), 400),     # bad checksum
        (await put(client, name, 0, b"data", checksum="zz"), 400),          # not a checksum
        (await put(client, name, 3, b"data"), 409),                          # out of order
        (await put(client, name, 0, b""), 400),                              # empty
        (await put(client, "../../x", 0, b"data"), 404),                     # no such route
        (await put(client, "..%2F..%2Fx", 0, b"data"), 404),                # no such upload
        (await put(client, name, 0, b"data", guest="bob"), 404),             # bob: not his
        (await client.put(f"/guest/ada/iso/{name}/chunks/0", data=b"data",
                          headers={CHECKSUM: sha(b"data")}), 401),           # no token
        (await client.put(f"/guest/ada/iso/{name}/chunks/0", data=b"data",
                          headers=auth("bob", **{CHECKSUM: sha(b"data")})), 403),  # bob's token
        (await put(client, name, -1, b"data"), 400),
        (await client.post("/guest/ada/iso", json={"key": "key-0002", "segment": "nope"},
                           headers=auth()), 404),
        (await client.post("/guest/ada/iso", data=b"[1, 2]", headers=auth()), 400),
        (await client.post("/guest/ada/iso", data=b"x" * 5000, headers=auth()), 413),
        (await client.post(f"/guest/ada/iso/{name}/done", json={"chunks": 1},
                           headers=auth()), 409),                            # nothing arrived
        (await client.post(f"/guest/ada/iso/{name}/done", json={"chunks": "all"},
                           headers=auth()), 400),
        (await client.post("/guest/eve/iso", json={"key": "key-0001", "segment": "talk"},
                           headers=auth("eve")), 404),                       # not a guest
    ]
    for response, status in cases:
        assert response.status == status, (response.url, status, await response.text())
        if response.content_type == "application/json":
            assert "error" in await response.json()
        else:  # the router's own 404, the invite's refusals
            assert response.status in (401, 403, 404)
    written = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    assert all(str(p).startswith("iso/ada/") for p in written), written
    assert (await put(client, name, 0, b"data")).status == 200  # still up, still working


async def test_the_quota_and_chunk_size_are_enforced(tmp_path: Path):
    client = await serve(tmp_path, Limits(max_chunk_bytes=1000, max_guest_bytes=1500))
    try:
        r = await client.post("/guest/ada/iso", json={"key": "key-0001", "segment": "talk"},
                              headers=auth())
        name = (await r.json())["name"]
        assert (await put(client, name, 0, os.urandom(1001))).status == 413
        assert (await put(client, name, 0, os.urandom(1000))).status == 200
        r = await put(client, name, 1, os.urandom(600))
        assert r.status == 413 and "iso_max_mb" in (await r.json())["error"]
        assert (tmp_path / "iso" / "ada" / "talk-1.webm.part").stat().st_size == 1000
    finally:
        await client.close()


async def test_a_guest_sending_many_chunks_at_once_is_refused(client):
    r = await client.post("/guest/ada/iso", json={"key": "key-0001", "segment": "talk"},
                          headers=auth())
    name = (await r.json())["name"]
    release = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:  # a body that arrives when the test says
        yield b"da"
        await release.wait()
        yield b"ta"

    held = [asyncio.create_task(client.put(
        f"/guest/ada/iso/{name}/chunks/0", data=slow(),
        headers=auth(**{CHECKSUM: sha(b"data")}))) for _ in range(MAX_READING)]
    await until(lambda: client.routes._reading.get("ada") == MAX_READING, 5, "bodies reading")
    r = await put(client, name, 0, b"data")
    assert r.status == 429, await r.text()
    assert (await put(client, name, 0, b"data", guest="bob")).status == 404  # bob: unaffected
    release.set()
    assert sorted([(await t).status for t in held]) == [200] * MAX_READING  # one, one repeat
    assert client.iso.ledger.find("ada", name).next == 1


async def test_once_bound_only_the_bound_browser_uploads(client):
    secret = client.bindings.bind("ada", 1.0)
    r = await client.post("/guest/ada/iso", json={"key": "key-0001", "segment": "talk"},
                          headers=auth())
    assert r.status == 409  # the token alone: another browser
    r = await client.post("/guest/ada/iso", json={"key": "key-0001", "segment": "talk"},
                          headers=auth(rejoin=secret))
    assert r.status == 201


# --- the as-run report links them --------------------------------------------------------

def test_the_asrun_report_links_complete_recordings(tmp_path: Path):
    from journal.test_asrun import run

    from control.asrun import COLUMNS, asrun_rows, iso_links, write_csv

    store = IsoStore(tmp_path / "iso")
    for guest, segment, key, finish in (("bob", "b", "key-0001", True),
                                        ("ada", "b", "key-0002", True),
                                        ("ada", "b", "key-0003", True),
                                        ("ada", "c", "key-0004", False)):
        up, _ = store.ledger.open(guest, segment, key, now=1.0)
        store.append(up, b"x", sha(b"x"))
        if finish:
            store.complete(up, 1, None, now=2.0)
    links = iso_links(tmp_path / "iso")
    assert links == {"b": ["iso/ada/b-1.webm", "iso/ada/b-2.webm", "iso/bob/b-1.webm"]}
    rows = {r["id"]: r for r in asrun_rows(run(), links)}
    assert rows["b"]["iso"] == "iso/ada/b-1.webm iso/ada/b-2.webm iso/bob/b-1.webm"
    assert rows["c"]["iso"] is None and "iso" in COLUMNS  # still uploading: not linked
    assert all((tmp_path / p).is_file() for p in rows["b"]["iso"].split())
    out = io.StringIO()
    write_csv(list(rows.values()), out)
    assert "iso/bob/b-1.webm" in out.getvalue()


async def test_a_full_disk_is_507_and_the_upload_goes_on_after(client, monkeypatch):
    r = await client.post("/guest/ada/iso", json={"key": "key-0001", "segment": "talk"},
                          headers=auth())
    name = (await r.json())["name"]
    real = client.iso.append

    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(client.iso, "append", full)
    r = await put(client, name, 0, b"data")
    assert r.status == 507 and "No space left" in (await r.json())["error"]
    monkeypatch.setattr(client.iso, "append", real)
    assert (await put(client, name, 0, b"data")).status == 200
    assert client.iso.ledger.find("ada", name).next == 1
