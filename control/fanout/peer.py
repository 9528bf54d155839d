"""One websocket client of a hub, and the set of them: the asyncio layer over `Outbox`.

A `Peer` has its own sender task, so a client that reads slowly holds up only itself; the
hub's writers only fill outboxes and ask the hub's `Pacer` to wake senders, so they never
wait. Its receive loop applies the limits (`Limits`): a message over `max_message` closes
the socket (1009, aiohttp's check), more than `rate`/`burst` messages close it (1008), and
after each message the loop gets a turn (`async for msg in ws` alone drains a whole read
buffer of messages without one). `Peers` cuts clients stuck in one send for longer than
`send_timeout` (they stopped reading), with one timer for all of them rather than one
around every send (that timer was a third of the cost of a push to 100 consoles).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Generic, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web

from .doorman import Doorman
from .limits import Limits, RateLimit
from .outbox import Outbox, Snapshot
from .pacer import Pacer

log = logging.getLogger(__name__)

Receive = Callable[[str | bytes], None]  # a hub's handler of one client message
VIOLATION_CLOSE_S = 0.1  # a flooder's close: the frame is sent, then the connection is cut


class PeerState(Enum):
    OPEN = "open"          # sending and receiving
    CLOSING = "closing"    # a close is under way (limit, shutdown): nothing more is sent
    CLOSED = "closed"      # the socket is gone


class Peer:
    """One client socket: its outbox, its sender task, and the limits on what it sends."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, *, limits: Limits,
                 pacer: Pacer, snapshot: Snapshot, name: str = "websocket client") -> None:
        self.request = request
        self.ws = ws
        self.limits = limits
        self.name = name
        self.outbox = Outbox(snapshot, max_replies=limits.max_replies,
                             max_backlog=limits.max_backlog)
        self.state = PeerState.OPEN
        self.violation: str | None = None  # the limit it broke, when closed for one
        self.sending_since: float | None = None  # loop time a send began (None: not sending)
        self._pacer = pacer
        self._wake = asyncio.Event()
        self._rate = RateLimit(limits.rate, limits.burst)
        self._sender: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Send what the outbox holds (soon: the pacer spreads a push over loop turns)."""
        if self.state is PeerState.OPEN:
            self._pacer.wake(self._wake)

    async def run(self, receive: Receive) -> None:
        """Send and receive until the client or the server closes; `receive` gets each text
        (str) or binary (bytes) message within the limits."""
        self._sender = asyncio.create_task(self._send(), name=f"{self.name} sender")
        self.wake()
        loop = asyncio.get_running_loop()
        try:
            async for msg in self.ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    # ERROR (too big, bad UTF-8 or framing): aiohttp has closed the socket,
                    # after one message: cheap, and a buggy page may do it; no penalty
                    break
                if not self._rate.allow(loop.time()):
                    self.violation = "too many messages"
                    # the close frame goes out, but its answer is not waited for: waiting
                    # reads (and parses) whatever the flooder sends meanwhile
                    await self.close(WSCloseCode.POLICY_VIOLATION, b"too many messages",
                                     timeout=VIOLATION_CLOSE_S)
                    break
                receive(msg.data)
                await asyncio.sleep(0)  # the next buffered message waits a loop turn
        finally:
            self.state = PeerState.CLOSED
            self._pacer.forget(self._wake)
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender

    async def _send(self) -> None:
        ws, outbox = self.ws, self.outbox
        loop = asyncio.get_running_loop()
        try:
            while self.state is PeerState.OPEN:
                await self._wake.wait()
                self._wake.clear()
                self.sending_since = loop.time()  # a stuck send is cut by Peers
                while self.state is PeerState.OPEN and (message := outbox.next()) is not None:
                    await ws.send_frame(message, WSMsgType.TEXT)
                self.sending_since = None
        except asyncio.CancelledError:
            if _really_cancelled():
                raise
            self.abort()  # a shared drain future was cancelled under us (see close)
        except ConnectionError as e:  # the peer went away, or a close is under way
            if not ws.closed:
                log.info("%s %s gone: %s", self.name, self.request.remote, e)
                self.abort()
        except Exception:
            log.exception("%s %s: sending failed", self.name, self.request.remote)
            self.abort()

    def stuck(self, now: float) -> bool:
        since = self.sending_since
        return since is not None and now - since > self.limits.send_timeout

    def abort(self) -> None:
        """Cut the connection without a close handshake: for peers that stopped reading."""
        self.sending_since = None
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def close(self, code: int = WSCloseCode.GOING_AWAY,
                    message: bytes = b"server shutting down", *,
                    timeout: float | None = None) -> None:
        """Close with `code`; a peer that does not answer the close frame in `timeout`
        (default `close_timeout`: it stopped reading) is cut."""
        if self.state is PeerState.OPEN:
            self.state = PeerState.CLOSING
        try:
            async with asyncio.timeout(self.limits.close_timeout if timeout is None
                                       else timeout):
                await self.ws.close(code=code, message=message)
        except TimeoutError:
            self.abort()
        except asyncio.CancelledError:
            # aiohttp has one drain future per connection, shared by every writer waiting on
            # it: a stuck sender that gives up cancels it for us too. Not our cancellation.
            if _really_cancelled():
                raise
            self.abort()


def _really_cancelled() -> bool:
    """Whether this task was cancelled (rather than a future it awaited, by someone else)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


P = TypeVar("P", bound=Peer)


class Peers(Generic[P]):
    """A hub's connected peers; one watchdog timer cuts those stuck in a send; a doorman
    refuses new sockets to addresses that broke a limit, and past a credential's share."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.doorman = Doorman(max_per_credential=limits.max_per_credential,
                               penalty_s=limits.penalty_s, max_penalty_s=limits.max_penalty_s)
        self._peers: set[P] = set()
        self._watchdog: asyncio.TimerHandle | None = None

    def refuse(self, request: web.Request, credential: str) -> web.Response | None:
        """A 429 for a socket that may not open now (before the upgrade), or None."""
        refusal = self.doorman.admit(request.remote, credential,
                                     asyncio.get_running_loop().time())
        if refusal is None:
            return None
        log.info("websocket from %s refused: %s", request.remote, refusal.reason)
        headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else {}
        return web.Response(status=429, text=refusal.reason + "\n", headers=headers)

    async def serve(self, peer: P, credential: str, receive: Receive) -> None:
        """Run `peer` (counted against `credential`) until it closes; an address whose
        socket broke a limit is refused new ones for a while."""
        self.add(peer)
        self.doorman.opened(credential)
        try:
            await peer.run(receive)
        finally:
            self.discard(peer)
            self.doorman.closed(credential)
            if peer.violation is not None:
                wait = self.doorman.offended(peer.request.remote,
                                             asyncio.get_running_loop().time())
                log.warning("%s %s closed: %s; its address waits %g s to reconnect",
                            peer.name, peer.request.remote, peer.violation, wait)

    def __len__(self) -> int:
        return len(self._peers)

    def __iter__(self) -> Iterator[P]:
        return iter(self._peers)

    def add(self, peer: P) -> None:
        self._peers.add(peer)
        if self._watchdog is None:
            self._arm()

    def discard(self, peer: P) -> None:
        self._peers.discard(peer)

    def _arm(self) -> None:
        self._watchdog = asyncio.get_running_loop().call_later(
            self.limits.send_timeout / 4, self._check)

    def _check(self) -> None:
        self.drop_stuck()
        self._watchdog = None
        if self._peers:
            self._arm()

    def drop_stuck(self) -> None:
        """Cut the peers that have been in one send for over `send_timeout`."""
        now = asyncio.get_running_loop().time()
        for peer in self._peers:
            if peer.stuck(now):
                log.warning("%s %s took over %gs to accept a message: dropped", peer.name,
                            peer.request.remote, self.limits.send_timeout)
                peer.abort()

    async def close(self) -> None:
        """Close every socket with 1001 (going away): for app shutdown."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        await asyncio.gather(*(peer.close() for peer in list(self._peers)))
