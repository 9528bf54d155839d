"""Fixtures for the web adapter: a fake controller and a real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from web.support import FakeShow, make_app


@pytest.fixture
def fake() -> FakeShow:
    return FakeShow()


@pytest.fixture
async def client(fake: FakeShow) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(make_app(fake), host="127.0.0.1")) as c:
        yield c
