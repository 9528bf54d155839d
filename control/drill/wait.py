"""The drill's one way to wait: a condition polled with a deadline, never a bare sleep."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp


async def until(predicate: Callable[[], Awaitable[Any]], timeout: float, what: str,
                interval: float = 0.02) -> Any:
    """Await `predicate` until truthy and return its value; TimeoutError naming `what` after
    `timeout` s. A request that fails (the controller restarting) counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            value = await predicate()
            if value:
                return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)
