"""The state websocket: every client gets the latest read model, none can hold up another.

Each client is a `Peer` (control/fanout: its outbox, its sender task, the limits) whose outbox
keeps only the newest state not yet sent. `publish` only fills outboxes and wakes senders (a
batch per loop turn), so it never waits; a client that reads slowly skips intermediate states
(it only ever needs the latest), and one that stops reading holds up nothing but its own
sender and is cut after `send_timeout` (the console reconnects and gets a fresh snapshot).
Protocol, server to client: `{"type": "state", "state": {...}}`, `{"type": "pong"}`,
`{"type": "error", "reason": "..."}`; client to server: `{"type": "ping"}` (commands go
through the HTTP API). A ping with the page's clock `t0` (ms) gets `t0` back with `t1` = `t2` =
the controller's clock when it arrived: the pages' NTP-style clock (control/lib/clock.js).

A client that connects with `?delta=1` (the console does) gets the whole state once, with a
revision, `{"type": "state", "rev": N, "state": {...}}`, then only what changed:
`{"type": "delta", "rev": N, "prev": N-1, "patch": [JSON Patch ops]}` (see patch.py), made,
serialised and encoded once per change for all clients at the same revision. A client that
has not been sent the previous delta yet gets one delta covering both (patches chain); one
further behind than KEPT_PATCHES revisions gets the whole state again, as does one that asks
with `{"type": "resync"}` (at most one whole state is ever pending for a client: it is made
when sent).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aiohttp import WSCloseCode, web

from control.fanout import Limits, Pacer, Peer, Peers

from .auth import ROLE, VIA
from .errors import dumps
from .patch import diff

LIMITS = Limits(max_message=4096)  # pings are tiny; bigger messages close the socket (1009)
KEPT_PATCHES = 8           # a delta client further behind than this gets the whole state


class _Client(Peer):
    """A peer of the state websocket: `delta` clients are sent patches (module docstring)."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, *, delta: bool,
                 **kwargs: Any) -> None:
        super().__init__(request, ws, **kwargs)
        self.delta = delta


class StateHub:
    """Fans the latest published read model out to every connected websocket."""

    def __init__(self, *, send_timeout: float = 10.0, close_timeout: float = 2.0,
                 heartbeat: float | None = 20.0, limits: Limits | None = None) -> None:
        self.limits = limits or replace(LIMITS, send_timeout=send_timeout,
                                        close_timeout=close_timeout)
        self.heartbeat = heartbeat
        self._clients: Peers[_Client] = Peers(self.limits)
        self._pacer = Pacer()
        self._closed = False
        self._rev = 0
        self._model: dict[str, Any] | None = None
        self._whole: tuple[int, bytes] | None = None  # the revisioned state message, once made
        self._patches: dict[int, list[dict[str, Any]]] = {}  # rev -> patch from rev - 1
        self._soon: asyncio.Handle | None = None
        self._soon_build: Callable[[], dict[str, Any]] | None = None

    def __len__(self) -> int:
        """The number of connected clients."""
        return len(self._clients)

    def by_role(self) -> dict[str, int]:
        """Connected clients by the role they logged in with (a metric)."""
        counts: dict[str, int] = {}
        for client in self._clients:
            role = client.request.get(ROLE, "unknown")
            counts[role] = counts.get(role, 0) + 1
        return counts

    def behind(self) -> int:
        """How many clients have a newer state waiting than they have accepted (a metric)."""
        return sum(client.outbox.behind for client in self._clients)

    def publish(self, model: dict[str, Any]) -> None:
        """Make `model` the state every client gets next. Never waits; call on every change."""
        if self._closed:
            return
        previous, self._model = self._model, model
        self._rev += 1
        rev = self._rev
        if previous is not None:
            self._patches[rev] = diff(previous, model)
            self._patches.pop(rev - KEPT_PATCHES, None)
        plain: bytes | None = None   # each message is serialised once for all clients
        deltas: dict[int, bytes | None] = {}  # by the revision the clients hold
        for client in self._clients:
            outbox = client.outbox
            if outbox.snapshot_due:
                continue  # the whole state, made when sent, is this one
            if not client.delta:
                plain = plain or _encode({"type": "state", "state": model})
                outbox.replace(plain, rev)
                client.wake()
                continue
            base = outbox.sent_rev
            if base not in deltas:
                deltas[base] = self._delta_since(base)
            message = deltas[base]
            if message is None:  # too far behind (or never had a state): the whole state
                outbox.want_snapshot()
            elif message:
                outbox.replace(message, rev)  # replaces an unsent delta: this one includes it
            elif not outbox.behind:
                outbox.sent_rev = rev  # nothing changed: it already holds this revision
                continue
            client.wake()

    def publish_soon(self, build: Callable[[], dict[str, Any]]) -> None:
        """Publish `build()` on the next turn of the loop: the changes of one turn (a take
        and what was due with it) reach the clients as one state, after what runs first."""
        self._soon_build = build
        if self._soon is None:
            self._soon = asyncio.get_running_loop().call_soon(self._publish_soon)

    def _publish_soon(self) -> None:
        build, self._soon, self._soon_build = self._soon_build, None, None
        if build is not None:
            self.publish(build())

    def _delta_since(self, base: int) -> bytes | None:
        """The delta message from revision `base` to now (b"" when nothing changed), or None
        when a patch between is no longer kept. Consecutive patches chain: one list."""
        if base < 0 or base < self._rev - KEPT_PATCHES + 1:
            return None
        ops: list[dict[str, Any]] = []
        for rev in range(base + 1, self._rev + 1):
            patch = self._patches.get(rev)
            if patch is None:
                return None
            ops.extend(patch)
        if not ops:
            return b""
        return _encode({"type": "delta", "rev": self._rev, "prev": base, "patch": ops})

    def _whole_state(self) -> tuple[bytes, int]:
        """The current model as a revisioned state message (for delta clients), made at most
        once per revision however many clients ask."""
        if self._whole is None or self._whole[0] != self._rev:
            self._whole = (self._rev, _encode({"type": "state", "rev": self._rev,
                                               "state": self._model}))
        return self._whole[1], self._rev

    async def serve(self, request: web.Request, snapshot: dict[str, Any], *,
                    delta: bool = False) -> web.StreamResponse:
        """Run one authenticated client's socket until it or the server closes it.
        `delta`: the client applies JSON Patches (module docstring)."""
        # no permessage-deflate: browsers ask for it, and it would compress every push once
        # per client (no shared context); deltas are small and consoles are on the LAN
        credential = f"{request.get(VIA, '')}:{request.get(ROLE, '')}"  # a role's token
        refused = self._clients.refuse(request, credential)
        if refused is not None:
            return refused  # (before the upgrade: 429, Retry-After)
        ws = web.WebSocketResponse(heartbeat=self.heartbeat, timeout=self.limits.close_timeout,
                                   compress=False, max_msg_size=self.limits.max_message)
        await ws.prepare(request)
        if self._closed:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
            return ws
        client = _Client(request, ws, delta=delta, limits=self.limits, pacer=self._pacer,
                         snapshot=self._whole_state, name="websocket client")
        if not delta:
            client.outbox.replace(_encode({"type": "state", "state": snapshot}))
        else:
            if self._model is None:  # nothing published yet: this is revision 0
                self._model = snapshot
            client.outbox.want_snapshot()
        await self._clients.serve(client, credential, lambda data: self._receive(client, data))
        return ws

    def _receive(self, peer: _Client, data: str | bytes) -> None:
        if isinstance(data, bytes):
            peer.outbox.reply(_encode(_error("binary messages are not understood; "
                                             "send JSON text")))
        elif (answer := _answer(data, time.time() * 1000)) is RESYNC:
            if peer.delta and self._model is not None:
                peer.outbox.want_snapshot()
            else:
                peer.outbox.reply(_encode(_error("resync is for ?delta=1 clients")))
        else:
            peer.outbox.reply(_encode(answer))
        peer.wake()

    async def close(self) -> None:
        """Close every socket with 1001 (going away): for app shutdown. New ones are refused."""
        self._closed = True
        await self._clients.close()


def _encode(message: dict[str, Any]) -> bytes:
    return dumps(message).encode()


RESYNC: dict[str, Any] = {"type": "resync"}  # the answer "send it the whole state"


def _error(reason: str) -> dict[str, Any]:
    return {"type": "error", "reason": reason}


def _answer(text: str, now_ms: float = 0.0) -> dict[str, Any]:
    """The reply to a client's text message (`now_ms`: the controller's clock on arrival)."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return _error("not JSON; the messages are {\"type\": \"ping\"} and "
                      "{\"type\": \"resync\"}")
    if isinstance(message, dict) and message.get("type") == "ping":
        t0 = message.get("t0")
        # finite and in float's range (no NaN, Infinity or 10**400 in the pong)
        if isinstance(t0, int | float) and not isinstance(t0, bool) and abs(t0) < 1e300:
            return {"type": "pong", "t0": t0, "t1": now_ms, "t2": now_ms}
        return {"type": "pong"}
    if isinstance(message, dict) and message.get("type") == "resync":
        return RESYNC
    return _error("unknown message; the messages are {\"type\": \"ping\"} and "
                  "{\"type\": \"resync\"} (commands go to the HTTP API)")
