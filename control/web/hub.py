"""The state websocket: every client gets the latest read model, none can hold up another.

Each client has one slot holding the newest state not yet sent, and its own sender task.
`publish` only fills slots and wakes senders, so it never waits; a client that reads slowly
skips intermediate states (it only ever needs the latest), and one that stops reading holds
up nothing but its own sender, which gives up after `send_timeout` and drops the connection
(the console reconnects and gets a fresh snapshot). Protocol, server to client:
`{"type": "state", "state": {...}}`, `{"type": "pong"}`, `{"type": "error", "reason": "..."}`;
client to server: `{"type": "ping"}` (commands go through the HTTP API). A ping with the
page's clock `t0` (ms) gets `t0` back with `t1` = `t2` = the controller's clock when it
arrived: the pages' NTP-style clock (control/lib/clock.js).

A client that connects with `?delta=1` (the console does) gets the whole state once, with a
revision, `{"type": "state", "rev": N, "state": {...}}`, then only what changed:
`{"type": "delta", "rev": N, "prev": N-1, "patch": [JSON Patch ops]}` (see patch.py), made and
serialised once per change for all clients at the same revision. A client that has not been
sent the previous delta yet gets one delta covering both (patches chain); one further behind
than KEPT_PATCHES revisions gets the whole state again; `{"type": "resync"}` asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .auth import ROLE
from .errors import dumps
from .patch import diff

log = logging.getLogger(__name__)

MAX_CLIENT_MESSAGE = 4096  # pings are tiny; bigger messages close the socket (1009)
MAX_REPLIES = 8            # pongs/errors owed to a client that does not read them: oldest go
KEPT_PATCHES = 8           # a delta client further behind than this gets the whole state


class _Client:
    """One socket: its newest unsent state, the replies it is owed, and its sender task."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, *,
                 delta: bool = False) -> None:
        self.request = request
        self.ws = ws
        self.delta = delta
        self.state: str | None = None
        self.state_rev = 0     # the revision of `state`
        self.sent_rev = -1     # the revision of the last state handed to the socket
        self.replies: deque[str] = deque(maxlen=MAX_REPLIES)
        self.wake = asyncio.Event()
        self.sender: asyncio.Task[None] | None = None
        self.sending_since: float | None = None  # loop time a send began (None: not sending)

    def offer(self, state: str, rev: int = 0) -> None:
        self.state, self.state_rev = state, rev
        self.wake.set()


    def reply(self, message: dict[str, Any]) -> None:
        self.replies.append(dumps(message))
        self.wake.set()

    def abort(self) -> None:
        """Cut the connection without a close handshake: for peers that stopped reading."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class StateHub:
    """Fans the latest published read model out to every connected websocket."""

    def __init__(self, *, send_timeout: float = 10.0, close_timeout: float = 2.0,
                 heartbeat: float | None = 20.0) -> None:
        self.send_timeout = send_timeout
        self.close_timeout = close_timeout
        self.heartbeat = heartbeat
        self._clients: set[_Client] = set()
        self._closed = False
        self._rev = 0
        self._model: dict[str, Any] | None = None
        self._whole: tuple[int, str] | None = None  # the revisioned state message, once made
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
        return sum(client.state is not None for client in self._clients)

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
        plain: str | None = None   # each message is serialised once for all clients
        deltas: dict[int, str | None] = {}  # by the revision the clients hold
        self._drop_stuck()
        for client in self._clients:
            if not client.delta:
                plain = plain or dumps({"type": "state", "state": model})
                client.offer(plain, rev)
                continue
            base = client.sent_rev
            if base not in deltas:
                deltas[base] = self._delta_since(base)
            text = deltas[base]
            if text is None:  # too far behind (or never had a state): the whole state
                client.offer(self._whole_state(), rev)
            elif text:
                client.offer(text, rev)  # replaces an unsent delta: this one includes it
            elif client.state is None:
                client.sent_rev = rev  # nothing changed: it already holds this revision

    def _drop_stuck(self) -> None:
        """Cut the clients that have been in one send for over `send_timeout` (they stopped
        reading). Checked on every publish (at least once a second) rather than with a timer
        around every send: that timer was a third of the cost of a push to 100 consoles."""
        now = asyncio.get_running_loop().time()
        for client in self._clients:
            since = client.sending_since
            if since is not None and now - since > self.send_timeout:
                log.warning("websocket client %s took over %gs to accept a message: dropped",
                            client.request.remote, self.send_timeout)
                client.sending_since = None
                client.abort()

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

    def _delta_since(self, base: int) -> str | None:
        """The delta message from revision `base` to now ("" when nothing changed), or None
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
            return ""
        return dumps({"type": "delta", "rev": self._rev, "prev": base, "patch": ops})

    def _whole_state(self) -> str:
        """The current model as a revisioned state message (for delta clients)."""
        if self._whole is None or self._whole[0] != self._rev:
            self._whole = (self._rev, dumps({"type": "state", "rev": self._rev,
                                             "state": self._model}))
        return self._whole[1]

    async def serve(self, request: web.Request, snapshot: dict[str, Any], *,
                    delta: bool = False) -> web.WebSocketResponse:
        """Run one authenticated client's socket until it or the server closes it.
        `delta`: the client applies JSON Patches (module docstring)."""
        # no permessage-deflate: browsers ask for it, and it would compress every push once
        # per client (no shared context); deltas are small and consoles are on the LAN
        ws = web.WebSocketResponse(heartbeat=self.heartbeat, timeout=self.close_timeout,
                                   compress=False, max_msg_size=MAX_CLIENT_MESSAGE)
        await ws.prepare(request)
        if self._closed:
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
            return ws
        client = _Client(request, ws, delta=delta)
        if not delta:
            client.offer(dumps({"type": "state", "state": snapshot}))
        else:
            if self._model is None:  # nothing published yet: this is revision 0
                self._model = snapshot
            client.offer(self._whole_state(), self._rev)
        self._clients.add(client)
        client.sender = asyncio.create_task(self._send(client), name="showctl-ws-sender")
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    answer = _answer(msg.data, time.time() * 1000)
                    if answer is RESYNC:
                        if client.delta and self._model is not None:
                            client.offer(self._whole_state(), self._rev)
                        else:
                            client.reply(_error("resync is for ?delta=1 clients"))
                    else:
                        client.reply(answer)
                elif msg.type is WSMsgType.BINARY:
                    client.reply(_error("binary messages are not understood; send JSON text"))
                else:  # ERROR: aiohttp has closed or is closing the socket
                    break
        finally:
            self._clients.discard(client)
            client.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await client.sender
        return ws

    async def _send(self, client: _Client) -> None:
        ws = client.ws
        loop = asyncio.get_running_loop()
        try:
            while not self._closed:
                await client.wake.wait()
                client.wake.clear()
                client.sending_since = loop.time()  # a stuck send is cut by _drop_stuck
                while client.replies:
                    await ws.send_str(client.replies.popleft())
                if client.state is not None:
                    state, client.state = client.state, None
                    client.sent_rev = client.state_rev
                    await ws.send_str(state)
                client.sending_since = None
        except asyncio.CancelledError:
            if _really_cancelled():
                raise
            client.abort()  # a shared drain future was cancelled under us (see _hang_up)
        except ConnectionError as e:  # the peer went away, or a close is under way
            if not ws.closed:
                log.info("websocket client %s gone: %s", client.request.remote, e)
                client.abort()
        except Exception:
            log.exception("websocket client %s: sending failed", client.request.remote)
            client.abort()

    async def close(self) -> None:
        """Close every socket with 1001 (going away): for app shutdown. New ones are refused."""
        self._closed = True
        await asyncio.gather(*(self._hang_up(c) for c in list(self._clients)))

    async def _hang_up(self, client: _Client) -> None:
        try:
            async with asyncio.timeout(self.close_timeout):
                await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
        except TimeoutError:  # the peer stopped reading: the close frame cannot get through
            client.abort()
        except asyncio.CancelledError:
            # aiohttp has one drain future per connection, shared by every writer waiting on
            # it: a stuck sender that gives up cancels it for us too. Not our cancellation.
            if _really_cancelled():
                raise
            client.abort()


def _really_cancelled() -> bool:
    """Whether this task was cancelled (rather than a future it awaited, by someone else)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


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
