"""The peer's promise over HTTP, on loopback, without etcd: only with the shared secret, and
only from a follower that cannot reach etcd itself (docs/redundancy.md#the-fencing-rule)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from control.cluster.client import EtcdClient
from control.cluster.election import Timing
from control.cluster.node import ClusterNode, Holder
from control.wiring.cluster import PROMISE_PATH, keys_for, peer_asker, promise_handler

SECRET = "s" * 32
T = Timing.for_ttl(1)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def standby() -> AsyncIterator[tuple[ClusterNode, Clock, str]]:
    clock = Clock()
    client = EtcdClient(["http://127.0.0.1:9"])  # never called: the node is not started
    node = ClusterNode(client, keys_for("show.yaml"), Holder("backup"), timing=T, clock=clock)
    app = web.Application()
    app.router.add_post(PROMISE_PATH, promise_handler(node, SECRET))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield node, clock, str(server.make_url("/"))
    finally:
        await server.close()
        await client.close()


async def test_a_standby_without_etcd_promises_to_the_secret_holder(standby) -> None:
    node, clock, url = standby
    node.election.key_held("main", 7, clock.now)
    node.election.unreachable(clock.now + 0.1)
    clock.now += 0.5
    async with aiohttp.ClientSession() as session:
        assert await peer_asker(session, url, SECRET)() == T.promise_s
        assert await peer_asker(session, url, "wrong")() is None
        assert await peer_asker(session, url, None)() is None
        async with session.post(url.rstrip("/") + PROMISE_PATH) as resp:
            assert resp.status == 401
    assert node.election.promised_until == pytest.approx(clock.now + T.promise_s)


async def test_a_standby_that_reaches_etcd_refuses(standby) -> None:
    node, clock, url = standby
    node.election.key_held("main", 7, clock.now)
    async with aiohttp.ClientSession() as session:
        assert await peer_asker(session, url, SECRET)() is None
    assert node.election.promised_until == float("-inf")


async def test_no_secret_configured_no_promise(standby) -> None:
    node, clock, _ = standby
    app = web.Application()
    app.router.add_post(PROMISE_PATH, promise_handler(node, None))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    node.election.unreachable(clock.now)
    try:
        async with aiohttp.ClientSession() as session:
            assert await peer_asker(session, str(server.make_url("/")), SECRET)() is None
    finally:
        await server.close()
