"""The thin asyncio layer over control/janus/protocol.py: one Janus session over HTTP, its
long poll, its keepalives, and reconnection when Janus goes away.

    client = JanusClient(url, on_event=..., on_lost=..., on_back=...)
    supervisor = asyncio.create_task(client.stay_connected())   # connects, and again after loss
    handle = await client.attach()
    feed = protocol.joined(await client.call(handle, protocol.join_publisher(room, "ana")))

`request` is for the VideoRoom's synchronous requests (its reply is the HTTP response);
`call` for the asynchronous ones (an `ack`, then the event with the same transaction on the
long poll). Unasked events (webrtcup, hangup, media...) go to `on_event`.

A Janus that dies takes its sessions, handles and rooms with it: the client says so once
(`on_lost`), fails every waiting call with JanusGone, and `stay_connected` makes a new session
when Janus answers again (`on_back`): the caller re-creates what it needs (its room).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

import aiohttp

from control.janus import protocol
from control.janus.protocol import JanusError, Kind, Reply, Request

log = logging.getLogger(__name__)

POLL_HOLD = 30.0  # s Janus holds an empty long poll before it answers `keepalive`


class JanusGone(JanusError):
    """Janus is not reachable, or it forgot our session (it restarted)."""

    def __init__(self, reason: str) -> None:
        super().__init__(protocol.SESSION_NOT_FOUND, reason)


class State(Enum):
    IDLE = "idle"  # never connected
    CONNECTED = "connected"
    LOST = "lost"  # it was connected; Janus went away or forgot us
    CLOSED = "closed"


class JanusClient:
    """One Janus session (see the module docstring)."""

    def __init__(self, url: str, *, keepalive_every: float = 15.0, timeout: float = 10.0,
                 retry_every: float = 0.5,
                 on_event: Callable[[Reply], None] | None = None,
                 on_lost: Callable[[], None] | None = None,
                 on_back: Callable[[], Any] | None = None) -> None:
        self.url = url.rstrip("/")
        self.keepalive_every = keepalive_every  # Janus ends a silent session after 60 s
        self.timeout = timeout
        self.retry_every = retry_every
        self.on_event = on_event
        self.on_lost = on_lost
        self.on_back = on_back  # may be a coroutine function: awaited before `ready` is set
        self.state = State.IDLE
        self.session: int | None = None
        self.transactions = protocol.Transactions()
        self._waiting: dict[str, asyncio.Future[Reply]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._http: aiohttp.ClientSession | None = None
        self._lost = asyncio.Event()
        self.ready = asyncio.Event()  # set while connected (and `on_back` has run)

    # --- HTTP ------------------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http

    async def _send(self, request: Request, timeout: float) -> Any:
        """One request, its decoded JSON (JanusGone when Janus cannot be reached)."""
        try:
            async with self._client().request(
                    request.method, self.url + request.path, json=request.body,
                    timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                text = await resp.text()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise JanusGone(f"Janus at {self.url} unreachable: {type(exc).__name__}") from None
        try:
            return json.loads(text)
        except ValueError:
            raise protocol.JanusProtocolError(f"not JSON from Janus: {text[:80]!r}") from None

    async def _post(self, request: Request) -> Reply:
        """A request and its synchronous reply (checked: JanusError when refused)."""
        try:
            reply = protocol.parse(await self._send(request, self.timeout))
        finally:
            if request.transaction is not None:
                self.transactions.done(request.transaction)
        if protocol.error_code(reply) == protocol.SESSION_NOT_FOUND:
            self._gone("Janus forgot the session")
            raise JanusGone("Janus forgot the session (it restarted?)")
        return reply.check()

    # --- the session -----------------------------------------------------------------------

    async def connect(self) -> None:
        """A new session, its long poll and its keepalives (JanusGone: Janus is down)."""
        tx = self.transactions.new("create")
        self.session = protocol.created_id(await self._post(protocol.create_session(tx)))
        self.state = State.CONNECTED
        self._lost.clear()
        self._tasks = [asyncio.create_task(self._poll(self.session), name="janus-poll"),
                       asyncio.create_task(self._keepalive(self.session), name="janus-ka")]
        log.info("janus: session %s at %s", self.session, self.url)

    def _session(self) -> int:
        if self.state is not State.CONNECTED or self.session is None:
            raise JanusGone("not connected to Janus")
        return self.session

    async def attach(self, plugin: str = protocol.VIDEOROOM) -> int:
        """A new handle on the plugin."""
        session = self._session()
        tx = self.transactions.new("attach")
        return protocol.created_id(await self._post(protocol.attach(session, tx, plugin)))

    async def detach(self, handle: int) -> None:
        """Drop a handle (Janus hangs up its peer connection); quiet when Janus is gone."""
        if self.state is not State.CONNECTED or self.session is None:
            return
        tx = self.transactions.new("detach")
        with contextlib.suppress(JanusError):
            await self._post(protocol.detach(self.session, handle, tx))

    async def request(self, handle: int, body: Mapping[str, Any]) -> Reply:
        """A synchronous plugin request: its reply (JanusError when refused)."""
        tx = self.transactions.new(str(body.get("request")))
        return await self._post(protocol.message(self._session(), handle, body, tx))

    async def call(self, handle: int, body: Mapping[str, Any],
                   jsep: Mapping[str, Any] | None = None, timeout: float | None = None
                   ) -> Reply:
        """An asynchronous plugin request: the event that answers it (checked)."""
        session = self._session()
        tx = self.transactions.new(str(body.get("request")))
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[tx] = future
        try:
            first = await self._post(protocol.message(session, handle, body, tx, jsep))
            if first.kind is not Kind.ACK:
                return first  # answered at once
            async with asyncio.timeout(timeout or self.timeout):
                return (await future).check()
        finally:
            self._waiting.pop(tx, None)
            self.transactions.done(tx)

    async def _poll(self, session: int) -> None:
        while self.state is State.CONNECTED and self.session == session:
            try:
                body = await self._send(protocol.poll(session), POLL_HOLD + self.timeout)
                replies = protocol.parse_poll(body)
            except JanusError as exc:
                self._gone(str(exc))
                return
            for reply in replies:
                self._dispatch(reply)

    def _dispatch(self, reply: Reply) -> None:
        if protocol.error_code(reply) == protocol.SESSION_NOT_FOUND:
            self._gone("Janus forgot the session")
            return
        if reply.kind is Kind.TIMEOUT:
            self._gone("the session timed out on Janus")
            return
        waiting = self._waiting.get(reply.transaction or "")
        if waiting is not None and reply.kind is Kind.EVENT and not waiting.done():
            waiting.set_result(reply)
        elif reply.kind is not Kind.KEEPALIVE and self.on_event is not None:
            try:
                self.on_event(reply)
            except Exception:
                log.exception("janus: on_event failed")

    async def _keepalive(self, session: int) -> None:
        while self.state is State.CONNECTED and self.session == session:
            await asyncio.sleep(self.keepalive_every)
            tx = self.transactions.new("keepalive")
            try:
                await self._post(protocol.keepalive(session, tx))
            except JanusError as exc:
                self._gone(str(exc))
                return

    def _gone(self, why: str) -> None:
        """Once per session: every waiting call fails, the owner hears `on_lost`."""
        if self.state is not State.CONNECTED:
            return
        log.warning("janus: session %s lost: %s", self.session, why)
        self.state = State.LOST
        self.session = None
        self.ready.clear()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(JanusGone(why))
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self._lost.set()
        if self.on_lost is not None:
            try:
                self.on_lost()
            except Exception:
                log.exception("janus: on_lost failed")

    async def stay_connected(self) -> None:
        """Connect, and connect again after each loss, every `retry_every` s until Janus
        answers; `on_back` runs after each (re)connection. Runs until cancelled or closed."""
        while self.state is not State.CLOSED:
            try:
                await self.connect()
            except JanusError as exc:
                log.debug("janus: not yet: %s", exc)
                await asyncio.sleep(self.retry_every)
                continue
            while self.state is State.CONNECTED and not self.ready.is_set():
                if await self._back():
                    self.ready.set()
                else:  # e.g. the room refused: try again, not in a tight loop
                    await asyncio.sleep(self.retry_every * 4)
            await self._lost.wait()

    async def _back(self) -> bool:
        """Run `on_back` (awaited when it is a coroutine); False when it failed."""
        if self.on_back is None:
            return True
        try:
            result = self.on_back()
            if asyncio.iscoroutine(result):
                await result
            return True
        except JanusError as exc:
            log.warning("janus: after (re)connecting: %s", exc)
        except Exception:
            log.exception("janus: on_back failed")
        return False

    async def close(self) -> None:
        """Destroy the session (Janus ends its handles) and stop."""
        session, was = self.session, self.state
        self.state = State.CLOSED
        self.ready.clear()
        self._lost.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if was is State.CONNECTED and session is not None:
            tx = self.transactions.new("destroy")
            with contextlib.suppress(JanusError):
                await self._send(protocol.destroy_session(session, tx), 2.0)
        if self._http is not None:
            await self._http.close()
