"""The overlay hub: the board (pure state, board.py) and the pages that show it.

Every template page (OBS browser sources, preview pages, the console's thumbnails) holds a
websocket on /overlays/ws. Server to page: a `snapshot` first, then every `delta` and
`settings` change in revision order, and `pong`s. Page to server: `ping` {t0} (answered
with t1, the receive time, and t2, stamped just before the send: NTP-style clock offset),
`resync` (a page that saw a gap gets a snapshot), `hello`. Each page is a `Peer`
(control/fanout) with its own ordered outbox and sender task: a slow page holds up only
itself; one that falls far behind gets a snapshot instead of the backlog (at most one is
ever pending, made when sent); one that stops reading is cut after `send_timeout` and
reconnects (and gets a snapshot).

Writers run on the event loop, one at a time: the runner's listener (`follow`: the rundown's
cues) and the API's manual verbs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from aiohttp import web

from control.fanout import Limits, Pacer, Peer, Peers
from control.show.desired import OverlayState

from .board import PROGRAM, Board, Bus, Graphic, Message
from .schema import Catalog

log = logging.getLogger(__name__)

dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
LIMITS = Limits(max_message=4096, send_timeout=5.0)


def precise_clock_ms() -> float:
    return time.time_ns() / 1_000_000


class _Page(Peer):
    """A peer that is a template page: what it shows, for `pages()`."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, **kwargs: Any) -> None:
        super().__init__(request, ws, **kwargs)
        self.template = request.query.get("template", "")[:64]
        self.bus = request.query.get("bus", PROGRAM)[:16]


class OverlayHub:
    def __init__(self, catalog: Catalog | None = None, *, delay_ms: int = 0,
                 clock: Callable[[], float] = precise_clock_ms, send_timeout: float = 5.0,
                 heartbeat: float | None = 15.0, limits: Limits | None = None) -> None:
        self.catalog = catalog if catalog is not None else Catalog()
        self.board = Board(self.catalog, delay_ms=delay_ms)
        self.clock = clock
        self.limits = limits or replace(LIMITS, send_timeout=send_timeout)
        self.heartbeat = heartbeat
        self._pages: Peers[_Page] = Peers(self.limits)
        self._pacer = Pacer()
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
            data = dumps(message).encode()
            for page in self._pages:
                page.outbox.push(data)  # (past the backlog: a snapshot, made when sent)
                page.wake()

    def _snapshot(self) -> tuple[bytes, int]:
        """The board as a page's first message (or after a gap), made when it is sent."""
        snapshot = self.board.snapshot(self.now_ms())
        return dumps(snapshot).encode(), self.board.rev

    # -- pages

    async def serve(self, request: web.Request) -> web.StreamResponse:
        # the read key (in every OBS browser source URL) is one credential; a login another
        credential = "read key" if "key" in request.query else "login"
        refused = self._pages.refuse(request, credential)
        if refused is not None:
            return refused  # (before the upgrade: 429, Retry-After)
        ws = web.WebSocketResponse(heartbeat=self.heartbeat, max_msg_size=self.limits.max_message)
        await ws.prepare(request)
        if self._closed:
            await ws.close()
            return ws
        page = _Page(request, ws, limits=self.limits, pacer=self._pacer,
                     snapshot=self._snapshot, name="overlay page")
        # the snapshot is made when sent and covers every delta queued before: nothing missed
        page.outbox.want_snapshot()
        await self._pages.serve(page, credential, lambda data: self._receive(page, data))
        return ws

    def _receive(self, page: _Page, data: str | bytes) -> None:
        t1 = self.clock()
        if isinstance(data, bytes):
            return
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "ping":
            t0 = message.get("t0")
            # finite and in float's range (no NaN, Infinity or 10**400 in the pong)
            if isinstance(t0, int | float) and not isinstance(t0, bool) and abs(t0) < 1e300:
                page.outbox.reply(partial(self._pong, float(t0), t1))  # ahead of deltas
                page.wake()
        elif kind == "resync":
            page.outbox.want_snapshot()  # one pending at most, however often asked
            page.wake()

    def _pong(self, t0: float, t1: float) -> bytes:
        """A pong, stamped (t2) just before it is sent."""
        return dumps({"type": "pong", "t0": t0, "t1": t1, "t2": self.clock()}).encode()

    def abort_all(self) -> None:
        """Cut every page's connection (as a network failure would): they reconnect and
        start again from a snapshot."""
        for page in list(self._pages):
            page.abort()

    async def close(self) -> None:
        self._closed = True
        await self._pages.close()
