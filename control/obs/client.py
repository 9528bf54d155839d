"""The long-lived OBS link: a supervisor around ``ObsConnection`` that never gives up.

OBS may start after the controller, restart, or crash mid-show; the controller must not
care. ``ObsClient`` reconnects with a short backoff, tells the sync layer through
``on_identified`` hooks that OBS must be re-read and the desired state reapplied, and stops
only on a close that no retry can fix (wrong password, OBS too old).

    async with ObsClient("ws://127.0.0.1:4455", password) as obs:
        obs.on_identified(resync)
        await obs.wait_connected(timeout=10)
        await obs.call("SetCurrentProgramScene", {"sceneName": "Countdown"})
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import InvalidURI, WebSocketException
from websockets.uri import parse_uri

from control.obs.codes import EventSubscription, RequestBatchExecutionType
from control.obs.connection import EventCallback, ObsConnection
from control.obs.errors import (
    ObsConnectionError,
    ObsFatalError,
    ObsNotConnected,
    ObsNotDriving,
    ObsProtocolError,
)
from control.obs.messages import Event, Hello, Request, RequestResult

log = logging.getLogger(__name__)

IdentifiedHook = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: 0.25, 0.5, 1, 2, 2, ... s. OBS restarts in a few seconds on the
    same machine, so a long backoff would only lengthen the time off air control."""

    initial: float = 0.25
    factor: float = 2.0
    maximum: float = 2.0

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


class EventStream:
    """Events as an async iterator; bounded so a stuck consumer cannot eat memory during a
    four-hour show (the oldest events are dropped and counted in ``dropped``)."""

    def __init__(self, client: ObsClient, maxsize: int) -> None:
        self._client = client
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0

    def _put(self, event: Event) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    async def get(self) -> Event:
        return await self._queue.get()

    async def wait_for(
        self, event_type: str, predicate: Callable[[Event], bool] | None = None
    ) -> Event:
        """Skip events until one of ``event_type`` (matching ``predicate``) arrives."""
        while True:
            event = await self._queue.get()
            if event.event_type == event_type and (predicate is None or predicate(event)):
                return event

    def close(self) -> None:
        self._client._streams.discard(self)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        return await self._queue.get()


SendGate = Callable[[tuple[str, ...]], bool]
"""Asked with the request types before every request or batch is sent: False refuses it
(``ObsNotDriving``). The wiring's, for a standby pair (docs/redundancy.md)."""


class ObsClient:
    """Supervised obs-websocket client. ``call``/``batch`` use the current session and fail
    fast with ``ObsNotConnected`` while there is none; in-flight calls fail with
    ``ConnectionLost`` the moment the socket drops. With a ``may_send`` gate, every request
    asks it first, at the moment of sending."""

    def __init__(
        self,
        url: str = "ws://127.0.0.1:4455",
        password: str | None = None,
        *,
        event_subscriptions: int = EventSubscription.All,
        request_timeout: float = 5.0,
        open_timeout: float = 5.0,
        ping_interval: float | None = 5.0,
        ping_timeout: float | None = 5.0,
        backoff: Backoff = Backoff(),
        may_send: SendGate | None = None,
    ) -> None:
        try:  # a typo in the settings must fail now, not retry quietly forever
            parse_uri(url)
        except InvalidURI as exc:
            raise ValueError(f"bad OBS websocket URL {url!r}: {exc}") from None
        self.url = url
        self._password = password
        self._event_subscriptions = int(event_subscriptions)
        self._open_kwargs: dict[str, Any] = {
            "open_timeout": open_timeout,
            "request_timeout": request_timeout,
            "ping_interval": ping_interval,
            "ping_timeout": ping_timeout,
        }
        self.backoff = backoff
        self.may_send = may_send
        self._conn: ObsConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._state = asyncio.Condition()
        self._hooks: list[IdentifiedHook] = []
        self._listeners: list[EventCallback] = []
        self._streams: set[EventStream] = set()
        self.fatal_error: ObsFatalError | None = None
        self.connection_attempts = 0
        """Sockets opened so far; lets tests and metrics see a retry storm."""
        self.sessions = 0
        """Successful identifies so far (1 + number of reconnects)."""

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the supervisor; returns at once (OBS not running yet is normal)."""
        if self._task is None or self._task.done():
            self.fatal_error = None
            self._task = asyncio.get_running_loop().create_task(
                self._supervise(), name="obs-supervisor"
            )

    async def stop(self) -> None:
        """Close the session and stop reconnecting."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._notify()

    async def __aenter__(self) -> ObsClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def connected(self) -> bool:
        """True while an identified session exists."""
        return self._conn is not None and self._conn.is_open

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def hello(self) -> Hello | None:
        """The current session's Hello (obs-websocket version), None when disconnected."""
        return self._conn.hello if self._conn is not None else None

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait for an identified session; raises ``ObsFatalError`` if the supervisor gave
        up, ``ObsNotConnected`` if it is stopped, ``TimeoutError`` on timeout."""
        async with asyncio.timeout(timeout), self._state:
            await self._state.wait_for(
                lambda: self.connected or self.fatal_error is not None or not self.running
            )
        self._session()

    # --- hooks and events ------------------------------------------------------------------

    def on_identified(self, hook: IdentifiedHook) -> Callable[[], None]:
        """Run ``await hook()`` after every (re)identify, so state can be re-read and the
        desired state reapplied. Cancelled if the session drops meanwhile; runs again after
        the next identify. Returns a function that unregisters it."""
        self._hooks.append(hook)
        return lambda: _discard(self._hooks, hook)

    def add_event_listener(self, callback: EventCallback) -> Callable[[], None]:
        """Call ``callback(event)`` for every event, from the reader: it must not block."""
        self._listeners.append(callback)
        return lambda: _discard(self._listeners, callback)

    def events(self, maxsize: int = 1024) -> EventStream:
        """A new event stream, across reconnects; use as ``with client.events() as s:``."""
        stream = EventStream(self, maxsize)
        self._streams.add(stream)
        return stream

    # --- requests --------------------------------------------------------------------------

    async def call(
        self,
        request_type: str,
        request_data: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One request; returns ``responseData``. Raises ``ObsRequestError`` (OBS refused),
        ``ObsTimeoutError``, ``ConnectionLost`` or ``ObsNotConnected``."""
        session = self._session()
        self._gate((request_type,))
        return await session.call(request_type, request_data, timeout=timeout)

    async def batch(
        self,
        requests: Iterable[Request | tuple[str, Mapping[str, Any] | None]],
        *,
        execution_type: RequestBatchExecutionType = RequestBatchExecutionType.SerialRealtime,
        halt_on_failure: bool = False,
        timeout: float | None = None,
    ) -> list[RequestResult]:
        """A RequestBatch; failures are in the results (``result.raise_for_status()``)."""
        session = self._session()
        requests = [r if isinstance(r, Request) else Request(*r) for r in requests]
        self._gate(tuple(r.request_type for r in requests))
        return await session.batch(
            requests,
            execution_type=execution_type,
            halt_on_failure=halt_on_failure,
            timeout=timeout,
        )

    def _gate(self, request_types: tuple[str, ...]) -> None:
        if self.may_send is not None and not self.may_send(request_types):
            raise ObsNotDriving(f"not sent ({', '.join(request_types)}): this controller "
                                "does not drive OBS now")

    async def reidentify(self, event_subscriptions: int, *, timeout: float | None = None) -> None:
        """Change event subscriptions now and for every later reconnect."""
        self._event_subscriptions = int(event_subscriptions)
        await self._session().reidentify(self._event_subscriptions, timeout=timeout)

    def _session(self) -> ObsConnection:
        conn = self._conn
        if conn is not None and conn.is_open:
            return conn
        if self.fatal_error is not None:
            raise ObsFatalError(self.fatal_error.message, self.fatal_error.code)
        raise ObsNotConnected(f"not connected to OBS at {self.url}")

    # --- supervisor ------------------------------------------------------------------------

    async def _supervise(self) -> None:
        delays = self.backoff.delays()
        reported_down = False
        while True:
            self.connection_attempts += 1
            try:
                conn = await ObsConnection.open(
                    self.url,
                    self._password,
                    event_subscriptions=self._event_subscriptions,
                    on_event=self._dispatch,
                    **self._open_kwargs,
                )
            except ObsFatalError as exc:
                self.fatal_error = exc
                log.error("OBS link stopped, not retrying: %s", exc.message)
                await self._notify()
                return
            except (OSError, TimeoutError, WebSocketException, ObsConnectionError,
                    ObsProtocolError) as exc:
                # OBS not started yet or restarting: normal, so keep the log quiet.
                level = logging.DEBUG if reported_down else logging.INFO
                log.log(level, "OBS not reachable at %s (%s); retrying", self.url, exc)
                reported_down = True
                await asyncio.sleep(next(delays))
                continue
            except Exception:
                log.exception("unexpected error connecting to OBS at %s; retrying", self.url)
                await asyncio.sleep(next(delays))
                continue

            delays = self.backoff.delays()
            reported_down = False
            self.sessions += 1
            hello = conn.hello
            log.info(
                "connected to OBS at %s (obs-websocket %s)",
                self.url,
                hello.obs_websocket_version if hello else "?",
            )
            self._conn = conn
            hooks = asyncio.get_running_loop().create_task(self._run_hooks(), name="obs-resync")
            try:
                await self._notify()
                disc = await conn.wait_closed()
            finally:
                self._conn = None
                hooks.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await hooks
                if conn.is_open:  # supervisor cancelled by stop(): close cleanly
                    await conn.close()
            await self._notify()
            if disc.fatal:
                self.fatal_error = ObsFatalError(disc.message, disc.code)
                log.error("OBS link stopped, not retrying: %s", disc.message)
                await self._notify()
                return
            log.warning("lost OBS: %s", disc.message)
            await asyncio.sleep(next(delays))

    async def _run_hooks(self) -> None:
        for hook in list(self._hooks):
            try:
                await hook()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("on_identified hook %r failed", hook)

    def _dispatch(self, event: Event) -> None:
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:
                log.exception("OBS event listener %r failed on %s", callback, event.event_type)
        for stream in list(self._streams):
            stream._put(event)

    async def _notify(self) -> None:
        async with self._state:
            self._state.notify_all()


def _discard(items: list[Any], item: Any) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)
