"""OBS's stream and record outputs: their state as OBS reports it, and start/stop confirmed.

Separate from the scene sync because they follow other rules: they are started and stopped
by a person (the console's buttons), not by the rundown; and OBS's answer to StartStream
says nothing (it answers 100 and fails later), so only the ``*StateChanged`` events confirm.
The state comes from status reads (the resync, the stats poll) and from the state events.
They race: a read sent around a stop may be answered after the stop's event with the old
state (seen here under CPU load: "recording" again right after RecordStateChanged STOPPED).
So the event wins, and a status read counts only if it was sent ``SETTLE_S`` or more after
that output's last event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from control.obs.codes import RequestStatus
from control.obs.errors import ObsError, ObsRequestError
from control.obs.messages import Event, Request

Output = Literal["Stream", "Record"]
Call = Callable[[str], Awaitable[dict[str, Any]]]

STATUS_REQUESTS = (Request("GetStreamStatus"), Request("GetRecordStatus"))
"""Read both outputs; answers go to ``StreamRecord.read``."""
_SETTLED = ("OBS_WEBSOCKET_OUTPUT_STARTED", "OBS_WEBSOCKET_OUTPUT_STOPPED")
SETTLE_S = 1.0
"""After a state event, status reads sent within this long may be older news than it."""
_WHAT: dict[Output, str] = {"Stream": "stream", "Record": "recording"}


class ObsOutputError(ObsError):
    """Streaming or recording did not reach the asked state."""


class StreamRecord:
    """``streaming`` / ``recording``: None until OBS said. ``call`` sends one request (the
    sync's, so that it counts toward "OBS is not answering"); ``on_error`` records a failure
    for the status."""

    def __init__(self, call: Call, on_error: Callable[[str], None]) -> None:
        self._call = call
        self._on_error = on_error
        self.streaming: bool | None = None
        self.recording: bool | None = None
        self._waiters: list[Callable[[Event], None]] = []
        self._last_event: dict[Output, float] = {}  # output -> when its last event came

    def read(self, stream: Mapping[str, Any] | None, record: Mapping[str, Any] | None,
             sent: float) -> None:
        """Fold GetStreamStatus / GetRecordStatus answers (None: that one failed) of a read
        sent at ``sent`` (monotonic s, the clock ``on_event`` is given)."""
        if stream is not None and self._settled("Stream", sent):
            self.streaming = bool(stream.get("outputActive"))
        if record is not None and self._settled("Record", sent):
            self.recording = bool(record.get("outputActive"))

    def _settled(self, output: Output, sent: float) -> bool:
        last = self._last_event.get(output)
        return last is None or sent - last >= SETTLE_S

    def on_event(self, event: Event, now: float) -> None:
        """From the client's reader; never blocks. Only STARTED and STOPPED change the state:
        OBS 5.1 sends events from a thread pool, so a STOPPING (still active) may arrive
        after its STOPPED, and must not turn the output back on."""
        output: Output
        if event.event_type == "StreamStateChanged":
            output = "Stream"
        elif event.event_type == "RecordStateChanged":
            output = "Record"
        else:
            return
        self._last_event[output] = now
        state = event.data.get("outputState")
        if state in _SETTLED:
            active = state == "OBS_WEBSOCKET_OUTPUT_STARTED"
            if output == "Stream":
                self.streaming = active
            else:
                self.recording = active
        for waiter in list(self._waiters):
            waiter(event)

    async def set(self, output: Output, active: bool, timeout: float = 10.0) -> None:
        """Start or stop ``output``; returns once OBS reports it in that state (its
        ``*StateChanged`` event), or at once if it already is. ``ObsOutputError`` otherwise."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        watch = _watcher(output, active, done)
        self._waiters.append(watch)
        try:
            current = await self._call(f"Get{output}Status")
            if bool(current.get("outputActive")) == active:
                return
            await self._ask(output, active)
            try:
                await asyncio.wait_for(asyncio.shield(done), timeout)
            except TimeoutError:
                raise ObsOutputError(
                    f"OBS did not confirm that the {_WHAT[output]} "
                    f"{'started' if active else 'stopped'} within {timeout:g} s") from None
        except ObsOutputError as exc:
            self._on_error(str(exc))
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(watch)
            if done.done() and not done.cancelled():
                done.exception()  # retrieved

    async def _ask(self, output: Output, active: bool) -> None:
        """Start/Stop; "already running/stopped" is fine (someone else got there first)."""
        verb = "Start" if active else "Stop"
        try:
            await self._call(f"{verb}{output}")
        except ObsRequestError as exc:
            if exc.code not in (RequestStatus.OutputRunning, RequestStatus.OutputNotRunning):
                raise ObsOutputError(
                    f"OBS refused to {verb.lower()} the {_WHAT[output]}: {exc}") from exc


def _watcher(output: Output, active: bool,
             done: asyncio.Future[None]) -> Callable[[Event], None]:
    """Resolve ``done`` on the state event that settles ``output`` in the asked state; an
    output that stops again right after a start failed (bad server, bad path)."""
    def watch(event: Event) -> None:
        if event.event_type != f"{output}StateChanged" or done.done():
            return
        state = event.data.get("outputState")
        if bool(event.data.get("outputActive")) == active and state in _SETTLED:
            done.set_result(None)
        elif active and state == "OBS_WEBSOCKET_OUTPUT_STOPPED":
            done.set_exception(ObsOutputError(
                f"OBS could not start the {_WHAT[output]}: it stopped again at once "
                "(check the stream/record settings and the OBS log)"))
    return watch
