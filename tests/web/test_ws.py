"""The state websocket: auth, snapshot, publish, pings, slow clients, shutdown."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from helpers import until
from web.support import DIRECTOR, MODEL, VIEWER, FakeShow, bearer, make_app

from control.fanout import Limits
from control.web.hub import KEPT_PATCHES, StateHub
from control.web.patch import apply

BIG = "x" * 100_000  # states this size fill socket buffers within a few dozen publishes


@pytest.mark.parametrize(("kwargs"), [{}, {"params": {"token": "wrong"}},
                                      {"headers": bearer("wrong")},
                                      {"headers": {"Authorization": "Basic x"},
                                       "params": {"token": VIEWER}}])
async def test_the_socket_needs_a_token(client: TestClient, kwargs: dict) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws_connect("/api/ws", **kwargs)
    assert info.value.status == 401


@pytest.mark.parametrize("kwargs", [{"headers": bearer(VIEWER)}, {"params": {"token": VIEWER}},
                                    {"params": {"token": DIRECTOR}}])
async def test_it_sends_a_snapshot_then_what_is_published(client: TestClient, kwargs: dict
                                                          ) -> None:
    hub = client.app["hub"]
    async with client.ws_connect("/api/ws", **kwargs) as ws:
        assert await ws.receive_json() == {"type": "state", "state": MODEL}
        hub.publish({"segments": [], "n": 1})
        assert await ws.receive_json() == {"type": "state", "state": {"segments": [], "n": 1}}


async def test_pings_are_answered_and_anything_else_is_an_error(client: TestClient) -> None:
    async with client.ws_connect("/api/ws", headers=bearer(VIEWER)) as ws:
        await ws.receive_json()
        await ws.send_json({"type": "ping"})
        assert await ws.receive_json() == {"type": "pong"}
        for bad in ('{"type": "take"}', "[]", "not json", '"ping"'):
            await ws.send_str(bad)
            answer = await ws.receive_json()
            assert answer["type"] == "error" and "ping" in answer["reason"], bad
        await ws.send_bytes(b"\x00")
        assert (await ws.receive_json())["reason"].startswith("binary messages")
        await ws.send_json({"type": "ping"})
        assert await ws.receive_json() == {"type": "pong"}  # still open


async def test_an_oversized_message_closes_the_socket(client: TestClient) -> None:
    async with client.ws_connect("/api/ws", headers=bearer(VIEWER)) as ws:
        await ws.receive_json()
        await ws.send_str("x" * 10_000)
        msg = await ws.receive()
        assert msg.type is WSMsgType.CLOSE and msg.data == 1009
    assert len(client.app["hub"]) == 0 or await until(lambda: len(client.app["hub"]) == 0)


@asynccontextmanager
async def never_reading(port: int) -> AsyncIterator[socket.socket]:
    """A websocket client that reads its handshake and first bytes, then never reads again."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, (
            "GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {VIEWER}\r\n\r\n").encode())
        seen = b""
        while b"\r\n\r\n" not in seen or seen.endswith(b"\r\n\r\n"):  # 101 + a first frame
            chunk = await loop.sock_recv(sock, 1)
            assert chunk, seen
            seen += chunk
        assert seen.startswith(b"HTTP/1.1 101"), seen
        yield sock
    finally:
        sock.close()


async def test_a_client_that_never_reads_holds_up_no_one(fake: FakeShow) -> None:
    hub = StateHub(send_timeout=60.0, close_timeout=0.2)  # the stuck client is not dropped
    async with TestClient(TestServer(make_app(fake, hub), host="127.0.0.1")) as client:
        async with never_reading(client.server.port), \
                client.ws_connect("/api/ws", headers=bearer(VIEWER)) as good:
            assert (await good.receive_json())["state"] == MODEL
            assert len(hub) == 2
            last = 200
            for n in range(1, last + 1):
                hub.publish({"segments": [], "n": n, "pad": BIG})  # returns at once
                await asyncio.sleep(0)  # let the senders run between publishes
            seen: list[int] = []
            async with asyncio.timeout(10):
                while not seen or seen[-1] != last:
                    seen.append((await good.receive_json())["state"]["n"])
            assert seen == sorted(set(seen))  # in order, latest-value: none twice
            assert len(hub) == 2 and hub.behind() == 1  # the stuck one is behind, still there
        # the stuck one went away: its sender notices and the hub forgets it
        await until(lambda: len(hub) == 0)


async def test_sockets_close_with_1001_on_shutdown_even_a_stuck_one(fake: FakeShow
                                                                    ) -> None:
    hub = StateHub(send_timeout=60.0, close_timeout=0.2)
    server = TestServer(make_app(fake, hub), host="127.0.0.1")
    async with TestClient(server) as client, never_reading(server.port), \
            client.ws_connect("/api/ws", headers=bearer(VIEWER)) as ws:
        await ws.receive_json()
        for n in range(400):  # until the stuck one's socket buffers are full (a few MB)
            hub.publish({"segments": [], "n": n, "pad": BIG})
            for _ in range(3):  # the pacer's turn, the senders' turn, one more
                await asyncio.sleep(0)
            if hub.behind():  # a state waits that a sender could not hand to its socket
                break
        assert hub.behind() >= 1  # the stuck one at least
        async with asyncio.timeout(5):  # close_timeout, not forever, for the stuck one
            closing = asyncio.create_task(server.close())
            while (msg := await ws.receive()).type is WSMsgType.TEXT:
                pass
            assert msg.type is WSMsgType.CLOSE and msg.data == 1001
            await closing
        assert len(hub) == 0


async def test_publish_without_clients_is_fine() -> None:
    hub = StateHub()
    hub.publish(MODEL)
    assert len(hub) == 0 and hub.behind() == 0


async def test_a_delta_client_gets_the_state_once_then_patches(client: TestClient) -> None:
    hub = client.app["hub"]
    async with client.ws_connect("/api/ws", params={"delta": "1"}, headers=bearer(VIEWER)) as ws, \
            client.ws_connect("/api/ws", headers=bearer(VIEWER)) as plain:
        first = await ws.receive_json()
        assert first["type"] == "state" and first["state"] == MODEL
        await plain.receive_json()
        state, rev = first["state"], first["rev"]
        for n in range(3):
            model = {**MODEL, "on_air": {"id": f"s{n}"},
                     "segments": [*MODEL["segments"][:2], {"id": "midnight-sky", "status": n}]}
            hub.publish(model)
            delta = await ws.receive_json()
            assert delta["type"] == "delta" and delta["prev"] == rev and delta["rev"] == rev + 1
            state, rev = apply(state, delta["patch"]), delta["rev"]
            assert state == model
            assert len(delta["patch"]) == 2  # the on-air id and one segment's status
            assert await plain.receive_json() == {"type": "state", "state": model}


async def test_a_delta_client_not_yet_sent_the_last_delta_gets_one_covering_both(
        client: TestClient) -> None:
    hub = client.app["hub"]
    async with client.ws_connect("/api/ws?delta=1", headers=bearer(VIEWER)) as ws:
        first = await ws.receive_json()
        hub.publish({**MODEL, "on_air": {"id": "a"}, "segments": []})
        hub.publish({**MODEL, "on_air": {"id": "b"}})  # before the first could be sent
        delta = await ws.receive_json()
        assert delta["type"] == "delta" and delta["prev"] == first["rev"]
        state = apply(first["state"], delta["patch"])
        assert state == {**MODEL, "on_air": {"id": "b"}}
        hub.publish({**MODEL, "on_air": {"id": "c"}})
        again = await ws.receive_json()
        assert again["prev"] == delta["rev"]
        assert apply(state, again["patch"])["on_air"] == {"id": "c"}


async def test_a_delta_client_far_behind_gets_the_whole_state(client: TestClient) -> None:
    hub = client.app["hub"]
    async with client.ws_connect("/api/ws?delta=1", headers=bearer(VIEWER)) as ws:
        await ws.receive_json()
        for n in range(KEPT_PATCHES + 1):  # all before the socket could send one
            hub.publish({**MODEL, "on_air": {"id": f"x{n}"}})
        message = await ws.receive_json()
        assert message["type"] == "state"
        assert message["state"]["on_air"] == {"id": f"x{KEPT_PATCHES}"}


async def test_changes_in_one_loop_turn_are_one_push(client: TestClient) -> None:
    hub = client.app["hub"]
    async with client.ws_connect("/api/ws?delta=1", headers=bearer(VIEWER)) as ws:
        first = await ws.receive_json()
        builds = []

        def build(n: int) -> dict:
            builds.append(n)
            return {**MODEL, "on_air": {"id": f"p{n}"}}
        for n in range(3):
            hub.publish_soon(lambda n=n: build(n))
        delta = await ws.receive_json()
        assert builds == [2]  # built once, from the newest
        assert delta["rev"] == first["rev"] + 1
        assert apply(first["state"], delta["patch"])["on_air"] == {"id": "p2"}


async def test_an_unchanged_state_sends_nothing_to_a_delta_client(client: TestClient) -> None:
    hub = client.app["hub"]
    async with client.ws_connect("/api/ws?delta=1", headers=bearer(VIEWER)) as ws:
        first = await ws.receive_json()
        hub.publish(dict(MODEL))
        await ws.send_json({"type": "ping"})
        assert await ws.receive_json() == {"type": "pong"}  # nothing came before the pong
        hub.publish({**MODEL, "on_air": {"id": "x"}})
        delta = await ws.receive_json()
        assert delta["prev"] == first["rev"] + 1  # the unchanged revision counts as held
        assert apply(first["state"], delta["patch"])["on_air"] == {"id": "x"}


async def test_resync_sends_the_whole_state_again(client: TestClient) -> None:
    hub = client.app["hub"]
    async with client.ws_connect("/api/ws?delta=1", headers=bearer(VIEWER)) as ws, \
            client.ws_connect("/api/ws", headers=bearer(VIEWER)) as plain:
        await ws.receive_json()
        await plain.receive_json()
        hub.publish({**MODEL, "on_air": {"id": "y"}})
        await ws.receive_json()
        await ws.send_json({"type": "resync"})
        again = await ws.receive_json()
        assert again["type"] == "state" and again["state"]["on_air"] == {"id": "y"}
        await plain.receive_json()
        await plain.send_json({"type": "resync"})
        assert "delta=1" in (await plain.receive_json())["reason"]


async def test_a_client_that_floods_messages_is_closed_with_1008(fake: FakeShow) -> None:
    """Issue 13's flood: pings sent faster than the limit close that socket (policy
    violation), and only that one; the replies it was owed never piled up."""
    hub = StateHub(limits=Limits(rate=1, burst=5, close_timeout=0.5))
    async with TestClient(TestServer(make_app(fake, hub), host="127.0.0.1")) as client, \
            client.ws_connect("/api/ws", headers=bearer(VIEWER)) as calm, \
            client.ws_connect("/api/ws", headers=bearer(VIEWER)) as flood:
        await calm.receive_json()
        await flood.receive_json()
        for _ in range(20):
            await flood.send_json({"type": "ping"})
        pongs = 0
        async with asyncio.timeout(10):
            while (msg := await flood.receive()).type is WSMsgType.TEXT:
                pongs += 1
        assert msg.type is WSMsgType.CLOSE and msg.data == 1008
        assert pongs <= 5  # one per message within the burst, no more
        await until(lambda: len(hub) == 1)
        await calm.send_json({"type": "ping"})
        assert await calm.receive_json() == {"type": "pong"}


async def test_a_flooders_address_waits_before_it_may_reconnect(fake: FakeShow) -> None:
    """A flooder closed with 1008 comes back at once (bench/flood.py): its address is
    refused new sockets (429, Retry-After) for the penalty, the other tokens' sockets are
    not affected, and it may come back after."""
    hub = StateHub(limits=Limits(rate=1, burst=5, close_timeout=0.5, penalty_s=1.0))
    async with TestClient(TestServer(make_app(fake, hub), host="127.0.0.1")) as client:
        async with client.ws_connect("/api/ws", headers=bearer(VIEWER)) as flood:
            await flood.receive_json()
            for _ in range(20):
                await flood.send_json({"type": "ping"})
            async with asyncio.timeout(10):
                while (msg := await flood.receive()).type is WSMsgType.TEXT:
                    pass
            assert msg.data == 1008
        await until(lambda: len(hub) == 0)
        async with client.get("/api/ws", headers={**bearer(VIEWER), "Connection": "Upgrade",
                                                  "Upgrade": "websocket",
                                                  "Sec-WebSocket-Version": "13",
                                                  "Sec-WebSocket-Key": "x3JJHMbDL1EzLkh9GBhXDw=="}
                              ) as resp:
            assert resp.status == 429 and resp.headers["Retry-After"] == "1"
        refused_at = asyncio.get_running_loop().time()

        async def reconnects() -> bool:
            try:
                async with client.ws_connect("/api/ws", headers=bearer(VIEWER)) as ws:
                    return (await ws.receive_json())["type"] == "state"
            except aiohttp.WSServerHandshakeError:
                return False
        await until(reconnects, timeout=10)
        assert asyncio.get_running_loop().time() - refused_at < 5


async def test_one_credential_holds_a_bounded_number_of_sockets(fake: FakeShow) -> None:
    hub = StateHub(limits=Limits(max_per_credential=3))
    async with TestClient(TestServer(make_app(fake, hub), host="127.0.0.1")) as client:
        held = [await client.ws_connect("/api/ws", headers=bearer(VIEWER)) for _ in range(3)]
        for ws in held:
            await ws.receive_json()
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/api/ws", headers=bearer(VIEWER))
        assert refused.value.status == 429
        # another token is another credential; a socket closed frees its place
        async with client.ws_connect("/api/ws", headers=bearer(DIRECTOR)) as other:
            assert (await other.receive_json())["type"] == "state"
        await held.pop().close()
        await until(lambda: len(hub) == 2)
        async with client.ws_connect("/api/ws", headers=bearer(VIEWER)) as again:
            assert (await again.receive_json())["type"] == "state"
        for ws in held:
            await ws.close()
