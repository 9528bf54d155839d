"""One identified obs-websocket session over ``websockets`` (asyncio).

Thin on purpose: every protocol decision is in ``control.obs.protocol``; this module moves
frames between the socket and the protocol and turns answers into awaited results. It does
not reconnect: ``control.obs.client.ObsClient`` does that by opening a new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from control.obs.codes import EventSubscription, RequestBatchExecutionType
from control.obs.errors import (
    ConnectionLost,
    ObsFatalError,
    ObsProtocolError,
    ObsTimeoutError,
)
from control.obs.messages import (
    Disconnected,
    Event,
    Hello,
    Identified,
    ProtocolViolation,
    Received,
    Request,
    RequestBatchResponse,
    RequestResponse,
    RequestResult,
)
from control.obs.protocol import ObsProtocol, State

log = logging.getLogger(__name__)

SUBPROTOCOL = Subprotocol("obswebsocket.json")
MAX_FRAME_BYTES = 64 * 1024 * 1024
"""GetSourceScreenshot of a 1080p source as base64 PNG is several MB; the default 1 MiB
limit would make OBS's answer kill the connection."""

EventCallback = Callable[[Event], None]


class ObsConnection:
    """A socket whose Identify succeeded. Open with ``await ObsConnection.open(...)``.

    When the socket drops, every pending call fails at once with ``ConnectionLost`` and
    ``wait_closed()`` returns how it ended; the object is then dead.
    """

    def __init__(
        self,
        ws: ClientConnection,
        protocol: ObsProtocol,
        *,
        on_event: EventCallback | None,
        request_timeout: float,
    ) -> None:
        self._ws = ws
        self._proto = protocol
        self._on_event = on_event
        self.request_timeout = request_timeout
        loop = asyncio.get_running_loop()
        self._identified: asyncio.Future[Identified] = loop.create_future()
        self._reidentified: asyncio.Future[Identified] | None = None
        self._closed: asyncio.Future[Disconnected] = loop.create_future()
        self._waiters: dict[str, asyncio.Future[Any]] = {}
        self._aborting: asyncio.Task[None] | None = None
        self._reader = loop.create_task(self._read_loop(), name="obs-websocket-reader")

    @classmethod
    async def open(
        cls,
        url: str,
        password: str | None = None,
        *,
        event_subscriptions: int = EventSubscription.All,
        on_event: EventCallback | None = None,
        open_timeout: float = 5.0,
        request_timeout: float = 5.0,
        ping_interval: float | None = 5.0,
        ping_timeout: float | None = 5.0,
    ) -> ObsConnection:
        """Connect and identify. Raises ``ObsFatalError`` (bad password, OBS too old),
        ``ConnectionLost`` (closed during handshake), ``TimeoutError`` or ``OSError``."""
        protocol = ObsProtocol(password, event_subscriptions=event_subscriptions)
        async with asyncio.timeout(open_timeout):
            ws = await connect(
                url,
                subprotocols=[SUBPROTOCOL],
                open_timeout=None,  # the enclosing timeout covers TCP + HTTP + Identify
                ping_interval=ping_interval,  # catches a silently dead link (OBS frozen)
                ping_timeout=ping_timeout,
                close_timeout=1.0,
                max_size=MAX_FRAME_BYTES,
                compression=None,  # loopback/LAN: deflate only costs latency
                proxy=None,  # OBS is local or on the studio LAN, never behind a proxy
            )
            conn = cls(ws, protocol, on_event=on_event, request_timeout=request_timeout)
            try:
                await asyncio.shield(conn._identified)
            except BaseException:
                await conn.close()
                raise
        return conn

    # --- state -----------------------------------------------------------------------------

    @property
    def hello(self) -> Hello | None:
        return self._proto.hello

    @property
    def is_open(self) -> bool:
        return self._proto.state is State.IDENTIFIED and not self._closed.done()

    async def wait_closed(self) -> Disconnected:
        """Wait until the socket is gone; says whether to reconnect."""
        return await asyncio.shield(self._closed)

    async def close(self) -> Disconnected:
        """Close cleanly (code 1000) and wait for the reader to finish."""
        with contextlib.suppress(Exception):
            await self._ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self._reader)
        return await self.wait_closed()

    # --- requests --------------------------------------------------------------------------

    async def call(
        self,
        request_type: str,
        request_data: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one request; return its ``responseData`` or raise ``ObsRequestError``."""
        rid = self._proto.send_request(request_type, request_data)
        result: RequestResult = await self._wait(rid, request_type, timeout)
        return result.raise_for_status()

    async def batch(
        self,
        requests: Iterable[Request | tuple[str, Mapping[str, Any] | None]],
        *,
        execution_type: RequestBatchExecutionType = RequestBatchExecutionType.SerialRealtime,
        halt_on_failure: bool = False,
        timeout: float | None = None,
    ) -> list[RequestResult]:
        """Send a RequestBatch; return one result per executed request (failed ones too)."""
        rid = self._proto.send_batch(
            requests, execution_type=execution_type, halt_on_failure=halt_on_failure
        )
        results: tuple[RequestResult, ...] = await self._wait(rid, "RequestBatch", timeout)
        return list(results)

    async def reidentify(self, event_subscriptions: int, *, timeout: float | None = None) -> None:
        """Change event subscriptions without reconnecting."""
        if self._reidentified is not None and not self._reidentified.done():
            raise RuntimeError("a Reidentify is already in flight")
        self._proto.send_reidentify(event_subscriptions)
        self._reidentified = fut = asyncio.get_running_loop().create_future()
        limit = self.request_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                await self._flush()
                await fut
        except TimeoutError:
            raise ObsTimeoutError("Reidentify", limit) from None

    async def _wait(self, rid: str, label: str, timeout: float | None) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters[rid] = fut
        limit = self.request_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                await self._flush()
                return await fut
        except TimeoutError:
            raise ObsTimeoutError(label, limit) from None
        finally:
            del self._waiters[rid]
            if fut.cancelled() or not fut.done():
                self._proto.abandon(rid)  # timed out or caller cancelled: drop the late answer
            else:
                fut.exception()  # mark retrieved even when our caller was cancelled

    async def _flush(self) -> None:
        for frame in self._proto.data_to_send():
            try:
                await self._ws.send(frame)
            except ConnectionClosed:
                return  # the reader sees the close and fails every waiter

    # --- reading ---------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            async for frame in self._ws:
                for item in self._proto.receive_text(frame):
                    self._handle(item)
                await self._flush()  # Identify, right after Hello
        except ConnectionClosed:
            pass
        except Exception:  # a bug here must not leave callers waiting forever
            log.exception("obs-websocket reader crashed; dropping the connection")
            with contextlib.suppress(Exception):
                await self._ws.close(1011, "client error")
        finally:
            self._finish(self._ws.close_code, self._ws.close_reason or "")

    def _handle(self, item: Received) -> None:
        match item:
            case RequestResponse(request_id=rid, result=result):
                self._resolve(rid, result)
            case RequestBatchResponse(request_id=rid, results=results):
                self._resolve(rid, results)
            case Event():
                if self._on_event is not None:
                    try:
                        self._on_event(item)
                    except Exception:
                        log.exception("OBS event listener failed on %s", item.event_type)
            case Identified():
                if not self._identified.done():
                    self._identified.set_result(item)
                elif self._reidentified is not None and not self._reidentified.done():
                    self._reidentified.set_result(item)
            case Hello():
                log.debug("OBS hello: obs-websocket %s", item.obs_websocket_version)
            case ProtocolViolation(reason=reason, request_id=rid):
                log.warning("malformed frame from OBS: %s", reason)
                if rid is not None:
                    self._fail(rid, ObsProtocolError(reason))
                elif not self._identified.done():
                    # No way to finish the handshake: give up on this socket, retry later.
                    self._identified.set_exception(ObsProtocolError(reason))
                    self._identified.exception()  # open() re-raises it; don't warn
                    self._aborting = asyncio.get_running_loop().create_task(
                        self._ws.close(1002, "bad frame from OBS"))

    def _resolve(self, rid: str, value: Any) -> None:
        fut = self._waiters.get(rid)
        if fut is not None and not fut.done():
            fut.set_result(value)

    def _fail(self, rid: str, exc: BaseException) -> None:
        fut = self._waiters.get(rid)
        if fut is not None and not fut.done():
            fut.set_exception(exc)

    def _finish(self, code: int | None, reason: str) -> None:
        if self._closed.done():
            return
        disc = self._proto.connection_lost(code, reason)
        lost = ConnectionLost(code, reason)
        for rid in (*disc.failed_request_ids, *self._waiters):
            self._fail(rid, lost)
        if self._reidentified is not None and not self._reidentified.done():
            self._reidentified.set_exception(lost)
        if not self._identified.done():
            exc = ObsFatalError(disc.message, code) if disc.fatal else lost
            self._identified.set_exception(exc)
            self._identified.exception()  # retrieved: open() may already have given up
        self._closed.set_result(disc)

