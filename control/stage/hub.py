"""The stage hub: every presenter and prompter screen, and the prompter operator's scroll.

Each screen holds a websocket on /stage/ws and is a `Peer` (control/fanout): its own sender,
the fan-out's limits (message size and rate: an operator scrolling past `rate` is cut, as any
flooding client is). Server to screen:
- `state` {rev, view, scroll}: the presenter view (control/show/stage.py) when the show
  changes; never queued, made when sent, so a slow screen skips to the newest;
- `scroll` {seg, line, frac, seq} (prompter screens only): the operator's position, the
  newest only (`Outbox.replace`), serialised once for all screens;
- `pong` {t0, t1, t2}: the NTP-style clock (control/lib/clock.js);
- `operator` {ok, by}: the answer to `operate`.
Screen to server: `ping` {t0}, `resync`, `read` {id} (the host confirms the director's
message: forwarded once as a ReadBack command), `operate` {token} and `scroll` (the operator).

The position is resolution-free: the source line of the script at the screen's marker and
how far into it (0..1), so screens of any size, font and mirroring show the same words.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from functools import partial
from typing import Any

from aiohttp import web

from control.fanout import Limits, Pacer, Peer, Peers

log = logging.getLogger(__name__)

dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
# an operator scrolls at most once a frame (60/s) and pings: well under the rate
LIMITS = Limits(max_message=2048, rate=120.0, burst=400, send_timeout=5.0)
MAX_LINE = 100_000
# now-dependent fields: a view differing only in these is no change (screens draw clocks
# from the instants themselves)
VOLATILE = ("now_ms",)
VOLATILE_CLOCK = ("remaining_ms", "band", "over_under_ms")

# who may drive the scroll: (request, token sent or None) -> a name for the log, or None
Operator = Callable[[web.Request, str | None], str | None]
ReadBack = Callable[[int], Awaitable[None]]  # the host confirms message N (a command)


class Screen(Enum):
    PRESENTER = "presenter"
    PROMPTER = "prompter"


class _Screen(Peer):
    def __init__(self, request: web.Request, ws: web.WebSocketResponse, **kwargs: Any) -> None:
        super().__init__(request, ws, **kwargs)
        kind = request.query.get("screen", "presenter")
        self.screen = Screen.PROMPTER if kind == "prompter" else Screen.PRESENTER
        self.operator: str | None = None  # who, once `operate` was accepted


def precise_clock_ms() -> float:
    return time.time_ns() / 1_000_000


def _stable(view: Mapping[str, Any]) -> str:
    """The view without its now-dependent fields, as text: equal means no change."""
    out = {k: v for k, v in view.items() if k not in VOLATILE}
    clock = out.get("on_air")
    if isinstance(clock, dict):
        out["on_air"] = {k: v for k, v in clock.items() if k not in VOLATILE_CLOCK}
    return dumps(out)


class StageHub:
    def __init__(self, *, operator: Operator | None = None, read_back: ReadBack | None = None,
                 clock: Callable[[], float] = precise_clock_ms,
                 limits: Limits | None = None, heartbeat: float | None = 15.0) -> None:
        self.operator = operator or (lambda _request, _token: None)
        self.read_back = read_back
        self.clock = clock
        self.limits = limits or LIMITS
        self.heartbeat = heartbeat
        self._screens: Peers[_Screen] = Peers(self.limits)
        self._pacer = Pacer()
        self._closed = False
        self.rev = 0
        self.view: dict[str, Any] | None = None
        self._key = ""
        self._whole: tuple[int, bytes] | None = None
        self.scroll: dict[str, Any] = {"seg": None, "line": 0, "frac": 0.0, "seq": 0}
        self._reading: set[int] = set()  # read-backs under way (each message forwarded once)
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._screens)

    def __bool__(self) -> bool:  # an empty hub is still a hub
        return True

    def screens(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Screen}
        for peer in self._screens:
            counts[peer.screen.value] += 1
        return counts

    # -- the view (the runner's listener, through the wiring)

    def publish(self, view: Mapping[str, Any]) -> None:
        """The presenter view after a step of the show; screens hear of real changes only."""
        key = _stable(view)
        self.view = dict(view)
        if key == self._key or self._closed:
            return
        self._key = key
        self.rev += 1
        script = view.get("script") or {}
        if script.get("id") != self.scroll["seg"]:  # a take: the new script from its top
            self.scroll = {"seg": script.get("id"), "line": 0, "frac": 0.0,
                           "seq": self.scroll["seq"] + 1}
        for screen in self._screens:
            screen.outbox.want_snapshot()  # made when sent: the newest, with the scroll
            screen.wake()

    def _snapshot(self) -> tuple[bytes, int]:
        if self._whole is None or self._whole[0] != self.rev:
            self._whole = (self.rev, dumps({"type": "state", "rev": self.rev, "view": self.view,
                                            "scroll": self.scroll}).encode())
        return self._whole[1], self.rev

    # -- screens

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=self.heartbeat, compress=False,
                                   max_msg_size=self.limits.max_message)
        await ws.prepare(request)
        if self._closed:
            await ws.close()
            return ws
        screen = _Screen(request, ws, limits=self.limits, pacer=self._pacer,
                         snapshot=self._snapshot, name="stage screen")
        screen.outbox.want_snapshot()
        self._screens.add(screen)
        try:
            await screen.run(lambda data: self._receive(screen, data))
        finally:
            self._screens.discard(screen)
        return ws

    def _receive(self, screen: _Screen, data: str | bytes) -> None:
        t1 = self.clock()
        message = _parse(data)
        if message is None:
            return
        kind = message.get("type")
        if kind == "ping":
            t0 = message.get("t0")
            if _number(t0):
                screen.outbox.reply(partial(self._pong, float(t0), t1))
                screen.wake()
        elif kind == "resync":
            screen.outbox.want_snapshot()
            screen.wake()
        elif kind == "scroll":
            self._scroll(screen, message)
        elif kind == "read":
            self._read(message.get("id"))
        elif kind == "operate":
            self._operate(screen, message.get("token"))

    def _pong(self, t0: float, t1: float) -> bytes:
        return dumps({"type": "pong", "t0": t0, "t1": t1, "t2": self.clock()}).encode()

    def _operate(self, screen: _Screen, token: Any) -> None:
        given = token if isinstance(token, str) and len(token) <= 512 else None
        screen.operator = self.operator(screen.request, given)
        if screen.operator is not None:
            log.info("prompter operator (%s) from %s", screen.operator, screen.request.remote)
        else:
            log.warning("prompter: refused an operator from %s", screen.request.remote)
        answer = {"type": "operator", "ok": screen.operator is not None, "by": screen.operator}
        screen.outbox.reply(dumps(answer).encode())
        screen.wake()

    def _scroll(self, screen: _Screen, message: Mapping[str, Any]) -> None:
        """The operator's position, relayed to every other prompter screen (newest only)."""
        line, frac, seg = message.get("line"), message.get("frac"), message.get("seg")
        if (screen.operator is None or seg != self.scroll["seg"] or not _number(frac)
                or not isinstance(line, int) or isinstance(line, bool)
                or not 0 <= line <= MAX_LINE):
            return
        self.scroll = {"seg": seg, "line": line, "frac": min(1.0, max(0.0, float(frac))),
                       "seq": self.scroll["seq"] + 1}
        self._whole = None  # a snapshot carries the newest position
        data = dumps({"type": "scroll", **self.scroll}).encode()
        for peer in self._screens:
            if peer.screen is Screen.PROMPTER and peer is not screen:
                peer.outbox.replace(data, self.rev)
                peer.wake()

    def _read(self, message_id: Any) -> None:
        """The host confirms the message on screen: one ReadBack command per message."""
        shown = (self.view or {}).get("message") or {}
        if (self.read_back is None or not isinstance(message_id, int)
                or message_id != shown.get("id") or shown.get("read_ms") is not None
                or message_id in self._reading):
            return
        self._reading.add(message_id)
        task = asyncio.get_running_loop().create_task(self._forward(message_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _forward(self, message_id: int) -> None:
        assert self.read_back is not None
        try:
            await self.read_back(message_id)
        except Exception as exc:  # Refused (cleared meanwhile), or the show stopping
            log.info("read-back of message %d not recorded: %s", message_id, exc)
            self._reading.discard(message_id)

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await self._screens.close()


def _parse(data: str | bytes) -> dict[str, Any] | None:
    if isinstance(data, bytes):
        return None
    try:
        message = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) else None


def _number(value: Any) -> bool:
    """A finite number in float's range (no NaN, Infinity or 10**400 echoed back)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and abs(value) < 1e300 and math.isfinite(float(value)))
