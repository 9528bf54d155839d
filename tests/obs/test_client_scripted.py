"""Client behaviour that a healthy OBS 29 cannot be made to show (OBS too old, malformed or
missing answers), against a scripted obs-websocket server on 127.0.0.1. Everything a real
OBS can do is tested against the real one in test_obs_live.py."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest
from websockets.asyncio.server import ServerConnection, serve

from control.obs import (
    Backoff,
    Event,
    ObsClient,
    ObsFatalError,
    ObsNotConnected,
    ObsProtocolError,
    ObsTimeoutError,
)
from control.obs.client import EventStream

T = TypeVar("T")
Script = Callable[[ServerConnection], Awaitable[None]]


def run(coro: Coroutine[Any, Any, T], timeout: float = 15) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


async def handshake(ws: ServerConnection) -> None:
    await ws.send(json.dumps({"op": 0, "d": {"obsWebSocketVersion": "5.1.0", "rpcVersion": 1}}))
    identify = json.loads(await ws.recv())
    assert identify["op"] == 1
    await ws.send(json.dumps({"op": 2, "d": {"negotiatedRpcVersion": 1}}))


def answer(request: dict[str, Any], **extra: Any) -> str:
    d = {"requestType": request["requestType"], "requestId": request["requestId"],
         "requestStatus": {"result": True, "code": 100}, **extra}
    return json.dumps({"op": 7, "d": d})


async def with_server(script: Script, body: Callable[[str], Awaitable[T]]) -> T:
    async with serve(script, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        return await body(f"ws://127.0.0.1:{port}")


def test_backoff_schedule() -> None:
    delays = list(itertools.islice(Backoff().delays(), 6))
    assert delays == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_bad_url_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="bad OBS websocket URL"):
        ObsClient("http//nope")


def test_call_without_session_fails_fast() -> None:
    async def main() -> None:
        client = ObsClient("ws://127.0.0.1:9")
        with pytest.raises(ObsNotConnected):
            await client.call("GetVersion")

    run(main())


def test_obs_too_old_is_fatal() -> None:
    async def script(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"op": 0, "d": {"obsWebSocketVersion": "4.9", "rpcVersion": 0}}))
        await ws.recv()
        await ws.close(4010, "Your requested RPC version is not supported by this server.")

    async def body(url: str) -> tuple[ObsFatalError, int]:
        async with ObsClient(url) as client:
            with pytest.raises(ObsFatalError) as info:
                await client.wait_connected(timeout=5)
            await asyncio.sleep(0.6)  # a retry would come after 0.25 s: observe none
            return info.value, client.connection_attempts

    error, attempts = run(with_server(script, body))
    assert error.code == 4010 and "too old" in str(error)
    assert attempts == 1


def test_malformed_answer_fails_only_that_call_and_timeouts_keep_the_session() -> None:
    async def script(ws: ServerConnection) -> None:
        await handshake(ws)
        async for raw in ws:
            req = json.loads(raw)["d"]
            if req["requestType"] == "Broken":
                await ws.send(json.dumps({"op": 7, "d": {"requestType": "Broken",
                                                         "requestId": req["requestId"]}}))
            elif req["requestType"] == "Slow":
                await asyncio.sleep(0.3)
                await ws.send(answer(req))  # late: the client has given up on it
            else:
                await ws.send(json.dumps({"op": 5, "d": {"eventType": "Ping", "eventIntent": 1}}))
                await ws.send("this is not json")
                await ws.send(answer(req, responseData={"obsVersion": "test"}))

    async def body(url: str) -> None:
        async with ObsClient(url) as client:
            await client.wait_connected(timeout=5)
            with pytest.raises(ObsProtocolError, match="requestStatus"):
                await client.call("Broken")
            with pytest.raises(ObsTimeoutError):
                await client.call("Slow", timeout=0.1)
            with client.events() as events:
                assert await client.call("GetVersion") == {"obsVersion": "test"}
                assert (await events.get()).event_type == "Ping"
            await asyncio.sleep(0.3)  # let the late "Slow" answer arrive and be dropped
            assert await client.call("GetVersion") == {"obsVersion": "test"}
            assert client.connected and client.sessions == 1

    run(with_server(script, body))


def test_event_stream_drops_oldest_when_full() -> None:
    async def main() -> None:
        client = ObsClient("ws://127.0.0.1:9")
        stream = EventStream(client, maxsize=2)
        for i in range(5):
            stream._put(Event("E", 1, {"i": i}))
        assert stream.dropped == 3
        assert [(await stream.get()).data["i"] for _ in range(2)] == [3, 4]

    run(main())
