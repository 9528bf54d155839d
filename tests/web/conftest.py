"""Fixtures for the web adapter: a fake controller and a real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from web.support import FakeController, make_app


@pytest.fixture
def fake() -> FakeController:
    return FakeController()


@pytest.fixture
async def client(fake: FakeController) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(make_app(fake), host="127.0.0.1")) as c:
        yield c
