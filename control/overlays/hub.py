"""The overlay hub: the board (pure state, board.py) and the pages that show it.

Every template page (OBS browser sources, preview pages, the console's thumbnails) holds a
websocket on /overlays/ws. Server to page: a `snapshot` first, then every `delta` and
`settings` change in revision order, and `pong`s. Page to server: `ping` {t0} (answered
with t1, the receive time, and t2, stamped just before the send: NTP-style clock offset),
`resync` (a page that saw a gap gets a snapshot), `hello`. Each page has its own ordered
queue and sender task: a slow page holds up only itself; one that falls far behind gets a
snapshot instead of the backlog; one that stops reading is cut after `send_timeout` and
reconnects (and gets a snapshot).

Writers run on the event loop, one at a time: the runner's listener (`follow`: the rundown's
cues) and the API's manual verbs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from aiohttp import WSMsgType, web

from control.show.outputs import OverlayState, desired
from control.show.state import ShowState

from .board import PROGRAM, Board, Bus, Graphic, Message
from .cues import cue_defaults
from .schema import Catalog

log = logging.getLogger(__name__)

dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
MAX_CLIENT_MESSAGE = 4096
MAX_BACKLOG = 256  # queued messages for one page; past this it gets a snapshot instead


def precise_clock_ms() -> float:
    return time.time_ns() / 1_000_000


class _Pong:
    __slots__ = ("t0", "t1")

    def __init__(self, t0: float, t1: float) -> None:
        self.t0, self.t1 = t0, t1


class _Page:
    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        self.request = request
        self.ws = ws
        self.queue: deque[str | _Pong] = deque()
        self.wake = asyncio.Event()
        self.sender: asyncio.Task[None] | None = None
        self.template = request.query.get("template", "")[:64]
        self.bus = request.query.get("bus", PROGRAM)[:16]

    def push(self, item: str | _Pong) -> None:
        self.queue.append(item)
        self.wake.set()

    def abort(self) -> None:
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class OverlayHub:
    def __init__(self, catalog: Catalog | None = None, *, delay_ms: int = 0,
                 clock: Callable[[], float] = precise_clock_ms, send_timeout: float = 5.0,
                 heartbeat: float | None = 15.0) -> None:
        self.catalog = catalog if catalog is not None else Catalog()
        self.board = Board(self.catalog, delay_ms=delay_ms)
        self.clock = clock
        self.send_timeout = send_timeout
        self.heartbeat = heartbeat
        self._pages: set[_Page] = set()
        self._closed = False

    def __len__(self) -> int:
        """Connected pages."""
        return len(self._pages)

    def __bool__(self) -> bool:  # an empty hub is still a hub
        return True

    def now_ms(self) -> int:
        return int(self.clock())

    def pages(self) -> list[dict[str, str]]:
        return [{"template": p.template, "bus": p.bus} for p in self._pages]

    # -- writers (the event loop's one task at a time)

    def follow(self, state: ShowState, now: int) -> None:
        """The runner's listener: apply the rundown's cues as `desired(state, now)` has them."""
        self.want(desired(state, now).overlays, now, shift_ms=state.rundown.shift_ms,
                  defaults=cue_defaults(state))

    def want(self, overlays: Iterable[OverlayState], now: int, *, shift_ms: int = 0,
             defaults: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._broadcast(self.board.want(overlays, now, shift_ms=shift_ms, defaults=defaults))
        while self.board.warnings:
            log.warning("%s", self.board.warnings.pop(0))

    def play(self, name: str, data: Mapping[str, Any] | None = None,
             bus: Bus = PROGRAM) -> Graphic:
        self._broadcast(self.board.play(name, data, self.now_ms(), bus))
        return self.board.graphic(name, bus)

    def preview(self, name: str, data: Mapping[str, Any] | None = None) -> Graphic:
        self._broadcast(self.board.preview(name, data, self.now_ms()))
        return self.board.graphic(name, "preview")

    def update(self, name: str, data: Mapping[str, Any] | None,
               bus: Bus = PROGRAM) -> Graphic:
        self._broadcast(self.board.update(name, data, self.now_ms(), bus))
        return self.board.graphic(name, bus)

    def next(self, name: str, bus: Bus = PROGRAM) -> Graphic:
        self._broadcast(self.board.next(name, self.now_ms(), bus))
        return self.board.graphic(name, bus)

    def stop(self, name: str, bus: Bus = PROGRAM) -> Graphic:
        self._broadcast(self.board.stop(name, self.now_ms(), bus))
        return self.board.graphic(name, bus)

    def set_delay(self, delay_ms: int) -> None:
        self._broadcast(self.board.set_delay(delay_ms, self.now_ms()))

    def _broadcast(self, messages: list[Message]) -> None:
        if self._closed:
            return
        for message in messages:
            text = dumps(message)
            for page in self._pages:
                if len(page.queue) >= MAX_BACKLOG:
                    page.queue.clear()  # too far behind: the present, not the backlog
                    page.push(dumps(self.board.snapshot(self.now_ms())))
                else:
                    page.push(text)

    # -- pages

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=self.heartbeat, max_msg_size=MAX_CLIENT_MESSAGE)
        await ws.prepare(request)
        if self._closed:
            await ws.close()
            return ws
        page = _Page(request, ws)
        # the snapshot and joining the fan-out happen with no await between: nothing missed
        page.push(dumps(self.board.snapshot(self.now_ms())))
        self._pages.add(page)
        page.sender = asyncio.create_task(self._send(page), name="overlay-page-sender")
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                t1 = self.clock()
                self._receive(page, msg.data, t1)
        finally:
            self._pages.discard(page)
            page.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await page.sender
        return ws

    def _receive(self, page: _Page, text: str, t1: float) -> None:
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "ping":
            t0 = message.get("t0")
            # finite and in float's range (no NaN, Infinity or 10**400 in the pong)
            if isinstance(t0, int | float) and not isinstance(t0, bool) and abs(t0) < 1e300:
                page.queue.appendleft(_Pong(float(t0), t1))  # ahead of queued deltas
                page.wake.set()
        elif kind == "resync":
            page.push(dumps(self.board.snapshot(self.now_ms())))

    async def _send(self, page: _Page) -> None:
        try:
            while True:
                await page.wake.wait()
                page.wake.clear()
                while page.queue:
                    item = page.queue.popleft()
                    if isinstance(item, _Pong):
                        text = dumps({"type": "pong", "t0": item.t0, "t1": item.t1,
                                      "t2": self.clock()})
                    else:
                        text = item
                    async with asyncio.timeout(self.send_timeout):
                        await page.ws.send_str(text)
        except (TimeoutError, ConnectionError, RuntimeError) as exc:
            log.warning("overlay page %s (%s) dropped: %s", page.template or "?",
                        page.request.remote, exc or type(exc).__name__)
            page.abort()

    def abort_all(self) -> None:
        """Cut every page's connection (as a network failure would): they reconnect and
        start again from a snapshot."""
        for page in list(self._pages):
            page.abort()

    async def close(self) -> None:
        self._closed = True
        pages = list(self._pages)
        for page in pages:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await page.ws.close()
        for page in pages:
            page.abort()
