"""GET /metrics and GET /healthz: who may scrape, what comes back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from metrics.support import Fakes, value

from control.metrics import install

TOKENS = {"viewer-token", "director-token"}


async def serve(public: bool) -> TestClient:
    app = web.Application()
    install(app, Fakes().metrics(), token_ok=lambda t, _request: t in TOKENS, public=public)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def private() -> AsyncIterator[TestClient]:
    client = await serve(public=False)
    yield client
    await client.close()


@pytest.fixture
async def public() -> AsyncIterator[TestClient]:
    client = await serve(public=True)
    yield client
    await client.close()


async def test_a_scrape_needs_a_token_by_default(private: TestClient):
    response = await private.get("/metrics")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "showctl_" not in await response.text()
    for header in ("Bearer wrong", "Basic dmlld2VyLXRva2Vu", "Bearer", "viewer-token"):
        response = await private.get("/metrics", headers={"Authorization": header})
        assert response.status == 401, header


async def test_any_roles_token_may_scrape(private: TestClient):
    for token in TOKENS:
        response = await private.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert value(await response.read(), "showctl_show_on_air") == 1


async def test_a_public_scrape_needs_no_token(public: TestClient):
    response = await public.get("/metrics")
    assert response.status == 200
    assert value(await response.read(), "showctl_obs_up") == 1


async def test_healthz_is_open_and_says_only_ok(private: TestClient):
    response = await private.get("/healthz")
    assert response.status == 200
    assert await response.text() == "ok\n"


async def test_the_loop_lag_probe_runs_with_the_app(private: TestClient):
    import asyncio

    async def observed() -> None:
        while True:
            response = await private.get("/metrics",
                                         headers={"Authorization": "Bearer viewer-token"})
            if value(await response.read(), "showctl_event_loop_lag_seconds_count"):
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(observed(), 5)
