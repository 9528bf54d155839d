"""The overlay hub's limits on its pages (control/fanout): a page far behind gets one
snapshot, not the backlog; a page that floods messages is closed with 1008."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import aiohttp
import pytest
from aiohttp import WSMsgType
from graphics.support import HubServer, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_page_far_behind_gets_one_snapshot_not_the_backlog(hub_server: HubServer
                                                                   ) -> None:
    hub = hub_server.hub
    hub.limits = dataclasses.replace(hub.limits, max_backlog=4)
    async with aiohttp.ClientSession() as http, http.ws_connect(
            f"{hub_server.url}/overlays/ws?key={hub_server.key}") as ws:
        first = json.loads((await ws.receive()).data)
        assert first["type"] == "snapshot"
        rev = first["rev"]
        for n in range(10):  # all in one loop turn: no sender could run between
            hub.play("lower-third", {"name": f"Guest {n}", "name_zh": "嘉宾"})
        message = json.loads((await ws.receive()).data)
        assert message["type"] == "snapshot" and message["rev"] == rev + 10
        for n in range(3):  # within the backlog: each delta, in order
            hub.update("lower-third", {"name": f"Guest {n}"})
        deltas = [json.loads((await ws.receive()).data) for _ in range(3)]
        assert [(d["type"], d["prev"], d["rev"]) for d in deltas] == [
            ("delta", rev + 10 + n, rev + 11 + n) for n in range(3)]


async def test_a_page_that_floods_messages_is_closed_with_1008(hub_server: HubServer) -> None:
    hub = hub_server.hub
    hub.limits = dataclasses.replace(hub.limits, rate=1, burst=5, close_timeout=0.5)
    url = f"{hub_server.url}/overlays/ws?key={hub_server.key}"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as calm, \
            http.ws_connect(url) as flood:
        await calm.receive()
        await flood.receive()
        for n in range(20):
            await flood.send_json({"type": "resync", "rev": n})
        async with asyncio.timeout(10):
            while (msg := await flood.receive()).type is WSMsgType.TEXT:
                pass
        assert msg.type is WSMsgType.CLOSE and msg.data == 1008
        await wait_until(lambda: len(hub) == 1, what="the flooding page to be gone")
        await calm.send_json({"type": "ping", "t0": 1})
        assert json.loads((await calm.receive()).data)["type"] == "pong"
