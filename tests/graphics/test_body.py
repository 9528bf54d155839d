"""The graphics routes read a body to its end: one that arrives in pieces (a slow network,
chunked transfer) is read whole, not parsed cut short; one over the limit is refused."""

from __future__ import annotations

import asyncio
import json
from unittest import mock

import pytest
from aiohttp import streams
from aiohttp.test_utils import make_mocked_request

from control.overlays.routes import MAX_BODY, _Bad, _body


def request_fed_by(loop: asyncio.AbstractEventLoop) -> tuple[object, streams.StreamReader]:
    protocol = mock.Mock(_reading_paused=False)
    payload = streams.StreamReader(protocol, 2**16, loop=loop)
    return make_mocked_request("POST", "/api/overlays/lower-third/play", payload=payload), payload


async def test_a_body_in_two_pieces_is_read_whole() -> None:
    request, payload = request_fed_by(asyncio.get_running_loop())
    text = json.dumps({"data": {"name": "Zhu Dingzhen", "name_zh": "朱定真"}}).encode()
    reading = asyncio.create_task(_body(request))
    payload.feed_data(text[:10])
    await asyncio.sleep(0)  # the reader takes the first piece before the rest arrives
    assert not reading.done()
    payload.feed_data(text[10:])
    payload.feed_eof()
    assert await reading == {"data": {"name": "Zhu Dingzhen", "name_zh": "朱定真"}}


async def test_a_body_over_the_limit_in_pieces_is_413() -> None:
    request, payload = request_fed_by(asyncio.get_running_loop())
    reading = asyncio.create_task(_body(request))
    for _ in range(MAX_BODY // 8192 + 2):
        payload.feed_data(b"[" * 8192)
        await asyncio.sleep(0)
    with pytest.raises(_Bad) as refused:
        await reading
    assert refused.value.status == 413
