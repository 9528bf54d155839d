"""Fixtures for the overlay tests: Debian's Chromium at 1920x1080 (never `playwright
install`), and the overlay hub alone on a real aiohttp server on 127.0.0.1.

Everything runs on one session-wide event loop (async Playwright and aiohttp side by side),
so a test can change the hub and watch the pages in the same task."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest_asyncio
from graphics.support import HubServer, start_hub
from helpers import launch_chromium
from playwright.async_api import Browser, Playwright, async_playwright


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as p:
        yield p


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    b = await launch_chromium(playwright)
    try:
        yield b
    finally:
        await b.close()


@pytest_asyncio.fixture(loop_scope="session")
async def hub_server() -> AsyncIterator[HubServer]:
    server = await start_hub()
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture(loop_scope="session")
async def make_hub() -> AsyncIterator[Callable[..., Awaitable[HubServer]]]:
    servers: list[HubServer] = []

    async def make(**kwargs: object) -> HubServer:
        server = await start_hub(**kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()
