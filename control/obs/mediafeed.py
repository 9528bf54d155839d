"""Keep OBS's "Program Feed" media source playing while the program mixer sends to it.

OBS's ``ffmpeg_source`` reading a live MPEG-TS stream can stop for good: an action or a
read error leaves it STOPPED, ENDED or in ERROR; and a stream that breaks off leaves it
PLAYING with a frozen picture (its cursor stands still) even after the stream comes back.
Measured on OBS 29: while the mixer sends, the cursor (``GetMediaInputStatus``) advances
about 500 ms each half second; it stands still when the stream stops; a RESTART action
plays again within a second.

``FeedWatch`` is the pure decision (status in, "restart now, because..." out) with backoff;
``watch_feed`` is the thin loop: poll the status every ``every`` s while the mixer sends
(and at once on ``MediaInputPlaybackEnded``), send the RESTART action when told to, and
count it. When the mixer starts sending, the source is restarted once as well: whatever
it shows is an old stream (a frozen picture of the last segment's guests), and a source
opened while the stream flows starts with the least delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from control.obs.client import ObsClient
from control.obs.errors import ObsError

log = logging.getLogger(__name__)

RESTART = "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART"
DEAD_STATES = frozenset({"OBS_MEDIA_STATE_STOPPED", "OBS_MEDIA_STATE_ENDED",
                         "OBS_MEDIA_STATE_ERROR", "OBS_MEDIA_STATE_NONE"})
Reason = Literal["start", "stopped", "stalled"]
REASONS: tuple[Reason, ...] = ("start", "stopped", "stalled")


@dataclass(slots=True)
class FeedWatch:
    """Decides when to restart the media source. ``observe`` one status at a time.

    - not sending: nothing to do (the source has nothing to play); forget the history;
    - sending begins: restart once (``start``), unless ``restart_on_start`` is false;
    - a dead state (stopped, ended, error, none): restart (``stopped``);
    - playing, opening or buffering but the cursor still for ``stall_after`` s: ``stalled``.
    After a restart the source gets ``stall_after`` s to show progress; each further
    restart without progress in between waits ``backoff`` s more (doubling, at most
    ``max_backoff``), so an OBS that cannot open the stream is not hammered; progress
    resets the backoff.
    """

    stall_after: float = 3.0
    restart_on_start: bool = True
    """Restart when sending begins (UDP: the source may hold an old stream). Not needed
    for an SRT listener: it opens the stream when the mixer connects, as it starts."""
    backoff: float = 2.0
    max_backoff: float = 30.0
    _sending: bool = False
    _cursor: Any = None
    _progress_at: float = 0.0  # the last time the cursor moved (or we restarted)
    _next_allowed: float = 0.0
    _failures: int = 0  # restarts since the last progress
    restarts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))

    def observe(self, sending: bool, state: str | None, cursor: Any, now: float
                ) -> Reason | None:
        """The source's status now; the reason to restart it now, or None."""
        if not sending:
            self._sending = False
            return None
        if not self._sending:  # the mixer has just started sending
            self._sending = True
            self._failures = 0
            self._cursor = cursor
            if not self.restart_on_start:
                self._progress_at = now
                self._next_allowed = now + self.stall_after
                return None
            return self._restart("start", now)
        if cursor != self._cursor and isinstance(cursor, int | float) and cursor > 0:
            self._cursor = cursor
            self._progress_at = now
            self._failures = 0
        if now < self._next_allowed:
            return None
        if state in DEAD_STATES:
            return self._restart("stopped", now)
        if now - self._progress_at >= self.stall_after:
            return self._restart("stalled", now)
        return None

    def _restart(self, reason: Reason, now: float) -> Reason:
        self._failures += 1
        extra = 0.0 if self._failures == 1 else min(
            self.max_backoff, self.backoff * 2 ** (self._failures - 2))
        self._progress_at = now
        self._next_allowed = now + self.stall_after + extra
        self.restarts[reason] += 1
        return reason


async def watch_feed(client: ObsClient, input_name: str, sending: Callable[[], bool], *,
                     watch: FeedWatch | None = None, every: float = 0.5,
                     clock: Callable[[], float] | None = None) -> None:
    """Run forever (cancel to stop): poll ``input_name`` while ``sending()``; restart it
    when ``watch`` says so. OBS down or the input missing: wait and try again."""
    watch = watch or FeedWatch()
    loop = asyncio.get_running_loop()
    now = clock or loop.time
    wake = asyncio.Event()

    def on_event(event: Any) -> None:
        if getattr(event, "event_type", None) == "MediaInputPlaybackEnded" and \
                (getattr(event, "data", None) or {}).get("inputName") == input_name:
            wake.set()

    remove = client.add_event_listener(on_event)
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), every)
            wake.clear()
            if not sending():
                watch.observe(False, None, None, now())
                continue
            if not client.connected:
                continue
            try:
                status = await client.call("GetMediaInputStatus", {"inputName": input_name})
            except (ObsError, ConnectionError, TimeoutError) as exc:
                log.debug("program feed status: %s", exc)
                continue
            reason = watch.observe(True, status.get("mediaState"), status.get("mediaCursor"),
                                   now())
            if reason is None:
                continue
            log.info("program feed %r: %s (%s); restarting it", input_name, reason,
                     status.get("mediaState"))
            try:
                await client.call("TriggerMediaInputAction",
                                  {"inputName": input_name, "mediaAction": RESTART})
            except (ObsError, ConnectionError, TimeoutError) as exc:
                log.warning("program feed %r could not be restarted: %s", input_name, exc)
    finally:
        remove()
