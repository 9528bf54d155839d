"""The Janus API against a real Janus (Debian's 1.1.2, started by the test): sessions,
the VideoRoom's rooms and publishers, typed errors, keepalives, and a Janus killed and
started again (the client says so once and makes a new session)."""

from __future__ import annotations

import asyncio

import pytest
from helpers import until

from control.janus import protocol
from control.janus.client import JanusClient, JanusGone, State
from control.janus.protocol import JanusError
from control.janus.server import JanusServer

pytestmark = [pytest.mark.live, pytest.mark.timeout(60)]
ROOM = 4242


async def test_rooms_publishers_and_typed_errors(janus_server: JanusServer):
    client = JanusClient(janus_server.url)
    await client.connect()
    try:
        handle = await client.attach()
        key, secret = janus_server.admin_key, "room-secret"
        made = await client.request(handle, protocol.create_room(ROOM, admin_key=key,
                                                                 secret=secret))
        assert protocol.room_created(made) == ROOM
        with pytest.raises(JanusError) as again:  # the VideoRoom's error, typed
            await client.request(handle, protocol.create_room(ROOM, admin_key=key,
                                                              secret=secret))
        assert again.value.code == protocol.ROOM_EXISTS
        with pytest.raises(JanusError):  # no room without the plugin's admin key
            await client.request(handle, protocol.create_room(ROOM + 1, admin_key="wrong",
                                                              secret=secret))
        # join is asynchronous: an ack, then the event with the same transaction
        feed = protocol.joined(await client.call(handle, protocol.join_publisher(ROOM, "ada")))
        assert feed > 0
        with pytest.raises(JanusError) as locked:  # forwarding needs the secret too
            await client.request(handle, protocol.rtp_forward(
                ROOM, feed, "127.0.0.1", [("0", 9)], secret="wrong", admin_key=key))
        assert locked.value.code != 0
        other = await client.attach()
        with pytest.raises(JanusError) as missing:
            await client.call(other, protocol.join_publisher(ROOM + 7, "bob"))
        assert missing.value.code == protocol.NO_SUCH_ROOM
        assert client.transactions.pending == {}  # every transaction matched and closed
    finally:
        await client.close()
    assert client.state is State.CLOSED


async def test_keepalives_hold_the_session(tmp_path):
    with JanusServer(tmp_path / "j", interface="127.0.0.1", session_timeout=2) as server:
        client = JanusClient(server.url, keepalive_every=0.5)
        try:
            await client.connect()
            session = client.session
            await asyncio.sleep(3.5)  # past Janus's timeout: only the keepalives hold it
            assert client.state is State.CONNECTED and client.session == session
            assert await client.attach() > 0
        finally:
            await client.close()


async def test_without_keepalives_janus_ends_the_session(tmp_path):
    """The test above can fail: with keepalives too rare, Janus times the session out and
    the client sees it (the long poll's `timeout` event, or error 458)."""
    with JanusServer(tmp_path / "j", interface="127.0.0.1", session_timeout=1) as server:
        lost: list[int] = []
        client = JanusClient(server.url, keepalive_every=60, on_lost=lambda: lost.append(1))
        try:
            await client.connect()
            await until(lambda: lost == [1], 10, "the session timed out")
            assert client.state is State.LOST
        finally:
            await client.close()


async def test_a_killed_janus_is_noticed_and_the_session_made_again(janus_server):
    lost, back = [], []
    client = JanusClient(janus_server.url, retry_every=0.1,
                         on_lost=lambda: lost.append(1), on_back=lambda: back.append(1))
    supervisor = asyncio.create_task(client.stay_connected())
    try:
        await asyncio.wait_for(client.ready.wait(), 10)
        first = client.session
        await asyncio.to_thread(janus_server.kill)
        await until(lambda: lost == [1], 10, "the loss noticed (the long poll broke)")
        assert client.state is State.LOST
        with pytest.raises(JanusGone):
            await client.attach()
        await asyncio.to_thread(janus_server.start)
        await until(lambda: back == [1, 1] and client.ready.is_set(), 15, "a new session")
        assert client.session != first and lost == [1]
        assert await client.attach() > 0
    finally:
        supervisor.cancel()
        await client.close()


async def test_what_fails_after_connecting_is_tried_again(janus_server):
    """`on_back` (the room made again) refused once: the client is not ready until it
    succeeds, and it is tried again without a new loss."""
    calls: list[int] = []

    async def back() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise JanusError(403, "refused once")

    client = JanusClient(janus_server.url, retry_every=0.05, on_back=back)
    supervisor = asyncio.create_task(client.stay_connected())
    try:
        await asyncio.wait_for(client.ready.wait(), 10)
        assert len(calls) == 2 and client.state is State.CONNECTED
    finally:
        supervisor.cancel()
        await client.close()
