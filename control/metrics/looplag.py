"""A fine-grained event-loop lag probe, on demand: for benchmarks and show-day debugging.

The always-on probe in ``core`` wakes every 0.25 s into a Prometheus histogram; this one
sleeps ``interval`` (10 ms by default) again and again and keeps each wake-up's overshoot,
so a short window (a fan-out, a take) gives exact medians, p99 and maximum. It runs only
when asked, for a bounded time, so it costs nothing on air unless an engineer starts it:

    POST   /debug/looplag[?interval_ms=10&max_s=1200]  start a fresh window
    GET    /debug/looplag                              the figures so far (still running)
    DELETE /debug/looplag                              stop; the figures of the window

Each wants ``Authorization: Bearer TOKEN`` (any role; read-only for the show). The same
``LoopLagProbe`` runs in a bare loop as the benchmarks' baseline (bench/fanout.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from .http import CHALLENGE, bearer

DEBUG_PATH = "/debug/looplag"
DEFAULT_INTERVAL = 0.010  # s
MAX_WINDOW = 1200.0       # s: a forgotten probe stops by itself (a 10-minute load run fits)
CAPACITY = 120_000        # samples kept (20 min at 10 ms); the oldest go first


def summarize(samples: Iterable[float], interval: float) -> dict[str, Any]:
    """Overshoots (seconds) as milliseconds: n, median, p95, p99, max, wake-ups over 50 ms."""
    ms = sorted(s * 1000 for s in samples)
    out: dict[str, Any] = {"n": len(ms), "interval_ms": interval * 1000}
    if not ms:
        return out

    def pct(q: float) -> float:
        return ms[min(len(ms) - 1, round(q * (len(ms) - 1)))]

    out.update(median_ms=statistics.median(ms), p95_ms=pct(.95), p99_ms=pct(.99),
               min_ms=ms[0], max_ms=ms[-1], over_50ms=sum(v > 50 for v in ms))
    return out


class LoopLagProbe:
    """Sleeps ``interval`` in the running loop, again and again; how late each wake-up
    comes is a sample (seconds). Start it in the loop to watch; ``summary()`` any time."""

    def __init__(self, interval: float = DEFAULT_INTERVAL, capacity: int = CAPACITY) -> None:
        self.interval = interval
        self.samples: deque[float] = deque(maxlen=capacity)
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, *, interval: float | None = None, duration: float = MAX_WINDOW) -> None:
        """Start a fresh window (the old samples go) for at most ``duration`` seconds."""
        if self._task is not None:
            self._task.cancel()
        if interval is not None:
            self.interval = interval
        self.samples.clear()
        self._task = asyncio.create_task(self._run(duration), name="looplag-probe")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def summary(self) -> dict[str, Any]:
        return {**summarize(self.samples, self.interval), "running": self.running}

    async def _run(self, duration: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + duration
        while loop.time() < end:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.samples.append(max(0.0, loop.time() - before - self.interval))


def install_debug(app: web.Application, probe: LoopLagProbe, *,
                  token_ok: Callable[[str, web.Request], bool]) -> None:
    """Add ``/debug/looplag`` (POST start, GET read, DELETE stop) for ``probe``.
    ``token_ok(token, request)`` as for ``/metrics`` (control/metrics/http.py)."""

    def denied(request: web.Request) -> web.Response | None:
        token = bearer(request)
        if token is not None and token_ok(token, request):
            return None
        return web.json_response({"error": "a token is required: Authorization: Bearer TOKEN"},
                                 status=401, headers={"WWW-Authenticate": CHALLENGE})

    def number(request: web.Request, name: str, default: float, low: float,
               high: float) -> float:
        try:
            value = float(request.query.get(name, default))
        except ValueError:
            raise web.HTTPBadRequest(text=f"{name}: a number\n") from None
        if not low <= value <= high:
            raise web.HTTPBadRequest(text=f"{name}: between {low:g} and {high:g}\n")
        return value

    async def start(request: web.Request) -> web.Response:
        if (no := denied(request)) is not None:
            return no
        interval = number(request, "interval_ms", DEFAULT_INTERVAL * 1000, 1, 1000) / 1000
        probe.start(interval=interval,
                    duration=number(request, "max_s", MAX_WINDOW, 0.1, MAX_WINDOW))
        return web.json_response(probe.summary())

    async def read(request: web.Request) -> web.Response:
        return denied(request) or web.json_response(probe.summary())

    async def stop(request: web.Request) -> web.Response:
        if (no := denied(request)) is not None:
            return no
        await probe.stop()
        return web.json_response(probe.summary())

    async def cleanup(app: web.Application) -> None:
        await probe.stop()

    app.router.add_post(DEBUG_PATH, start, name="looplag-start")
    app.router.add_get(DEBUG_PATH, read, name="looplag")
    app.router.add_delete(DEBUG_PATH, stop, name="looplag-stop")
    app.on_cleanup.append(cleanup)
