"""Keep OBS showing what the show wants: desired state in, one RequestBatch of differences out.

The thin asyncio layer over ``control.obs.observer`` (the pure picture of OBS and its rules):
``want(desired)`` records the latest desired state and wakes the applier; the applier (one
task, the only writer of requests that change OBS) asks the observer for its ``Phase`` and
does that one thing: read OBS after every (re)identify, wait out a transition, re-read what
events left unsure, or send the difference (``control.obs.diff``) as one SerialRealtime
batch. So an OBS that crashed and restarted mid-show comes back on the on-air scene.
Every request goes through one place, so ``status().not_answering_s`` knows when OBS went
silent; ``lead_ms()`` is how early to send a scheduled take (``control.obs.lead``).

What it will not do:
- fight an operator (a cut made by hand in OBS is ``manual_override`` until the show moves on);
- retry in a loop (a refused request is ``last_error`` and an alarm; the next ``want()`` or
  reconnect tries again);
- talk to OBS on ``status()``: that reads caches filled by events and a 1 s stats poll;
- start a take while OBS is still in a transition (panic does not wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from control.obs.client import ObsClient
from control.obs.diff import Plan, item_scenes
from control.obs.errors import ObsError, ObsRequestError, ObsTimeoutError
from control.obs.lead import take_lead_ms
from control.obs.messages import Event, Request, RequestResult
from control.obs.observer import OBS_STUCK_S, RESYNC_REQUESTS, Knowledge, ObsObserver, Phase
from control.obs.stats import ObsStats, stats_from
from control.obs.stream_record import STATUS_REQUESTS, ObsOutputError, StreamRecord
from control.show.desired import Desired

__all__ = ["OBS_STUCK_S", "ObsOutputError", "ObsStatus", "ObsSync"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ObsStatus:
    """What the console and metrics show about OBS; read from caches, never from OBS.

    ``alarms`` is what is wrong now (cleared when fixed); ``last_error`` is the most recent
    failure, kept for the record. ``None`` means not known yet.
    """

    connected: bool
    program_scene: str | None  # as OBS reported it
    desired_scene: str | None
    in_sync: bool  # OBS shows the desired scene, items and preview
    manual_override: str | None  # the scene an operator cut to by hand
    studio_mode: bool
    preview_scene: str | None
    streaming: bool | None
    recording: bool | None
    stats: ObsStats | None  # from the last poll
    last_error: str | None
    alarms: tuple[str, ...] = ()
    take_latency_ms: float | None = None  # median of recent Cut takes: batch → program event
    reconnects: int = 0
    not_answering_s: float | None = None  # connected, but silent this long (>= OBS_STUCK_S)
    take_lead_ms: int | None = None  # what ObsSync.lead_ms() says now (scheduled takes)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["alarms"] = list(self.alarms)
        return data


class ObsSync:
    """Desired-state sync for one OBS. ``run()`` must be running (cancel it to stop)."""

    def __init__(self, client: ObsClient, *, studio_mode_preview: bool = True,
                 poll_interval: float = 1.0) -> None:
        self._client = client
        self.poll_interval = poll_interval
        self._observer = ObsObserver(studio_mode_preview=studio_mode_preview)
        self.stream_record = StreamRecord(self._call, self._error)
        """Streaming and recording (``start_stream`` & co. are shortcuts to it)."""
        self.phase = Phase.OFFLINE
        """What the applier is doing (for logs and tests)."""
        self._wake = asyncio.Event()  # set on want(), identify and every event
        self._changed = asyncio.Event()  # pulsed by every event: wakes bounded waits
        self._processed = asyncio.Event()  # pulsed when the applier goes idle
        self._done_seq = 0  # want() calls the applier has dealt with (applied or failed)
        self._stats: ObsStats | None = None
        self._last_error: str | None = None
        self.apply_batches = 0
        """Batches that changed OBS (metrics, and tests of idempotence)."""

    # --- the show's side -----------------------------------------------------------------

    @property
    def studio_mode_preview(self) -> bool:
        return self._observer.studio_mode_preview

    def want(self, desired: Desired) -> None:
        """Make ``desired`` the desired state; returns at once (the latest value wins)."""
        override = self._observer.override
        self._observer.want(desired)
        if override is not None and self._observer.override is None:
            log.info("manual override of %r ends: the show wants %r",
                     override, desired.program_scene)
        self._wake.set()

    @property
    def take_latencies(self) -> tuple[float, ...]:
        """Seconds from batch sent to CurrentProgramSceneChanged, recent Cut takes."""
        return self._observer.take_latencies

    def lead_ms(self) -> int | None:
        """Wall ms to send a scheduled take early (``control.obs.lead``: never over one of
        OBS's frames); None until a few Cut takes were measured."""
        return take_lead_ms(self._observer.take_latencies, self._observer.frame_ms)

    async def wait_applied(self, timeout: float | None = None) -> None:
        """Wait until the applier has dealt with every ``want()`` made so far: sent what it
        had to (and had the batch answered), or recorded why not. Needs a connected OBS;
        ``TimeoutError`` otherwise."""
        seq = self._observer.want_seq
        async with asyncio.timeout(timeout):
            while self._done_seq < seq:
                self._processed.clear()
                await self._processed.wait()

    def status(self) -> ObsStatus:
        obs, connected = self._observer, self._client.connected
        alarms = list(obs.alarms)
        if self._client.fatal_error is not None:
            alarms.insert(0, f"OBS link stopped: {self._client.fatal_error.message}")
        elif not connected:
            alarms.insert(0, "OBS not connected")
        if obs.override is not None:
            alarms.append(f"manual override: {obs.override}")
        stats = self._stats
        congestion = stats.stream_congestion_ratio if stats is not None else 0.0
        if self.stream_record.streaming and congestion > 0.5:
            alarms.append(f"stream congested ({congestion:.0%})")
        return ObsStatus(
            connected=connected,
            program_scene=obs.reported,
            desired_scene=obs.desired.program_scene if obs.desired else None,
            in_sync=connected and obs.in_sync(),
            manual_override=obs.override,
            studio_mode=obs.known.studio_mode,
            preview_scene=obs.known.preview_scene,
            streaming=self.stream_record.streaming,
            recording=self.stream_record.recording,
            stats=stats,
            last_error=self._last_error,
            alarms=tuple(dict.fromkeys(alarms)),
            take_latency_ms=obs.take_latency_ms,
            reconnects=max(0, self._client.sessions - 1),
            not_answering_s=obs.not_answering_s(self._now(), connected),
            take_lead_ms=self.lead_ms(),
        )

    # --- running -------------------------------------------------------------------------

    async def run(self) -> None:
        """The applier and the stats poller, until cancelled. Never raises anything else."""
        unlisten = self._client.add_event_listener(self._on_event)
        unhook = self._client.on_identified(self._on_identified)
        self._observer.link_up()
        self._wake.set()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._applier(), name="obs-sync-applier")
                tasks.create_task(self._poller(), name="obs-sync-stats")
        finally:
            unlisten()
            unhook()

    async def _on_identified(self) -> None:
        self._observer.link_up()
        self._wake.set()

    async def _applier(self) -> None:
        """One phase at a time; sleeps when idle, offline or paused (events wake it)."""
        steps: dict[Phase, Callable[[], Awaitable[None]]] = {
            Phase.RESYNC: self._resync, Phase.SETTLE: self._settle_take,
            Phase.REFRESH: self._refresh, Phase.APPLY: self._apply}
        while True:
            self._wake.clear()
            self.phase = self._observer.phase(self._client.connected)
            step = steps.get(self.phase)
            if step is None:  # IDLE, OFFLINE, PAUSED
                if self.phase is Phase.IDLE:
                    self._done_seq = max(self._done_seq, self._observer.applied_seq)
                    self._processed.set()
                await self._wake.wait()
            elif not await self._guarded(step):
                await self._wake.wait()  # an internal error: not again before news

    async def _guarded(self, step: Callable[[], Awaitable[None]]) -> bool:
        """Run one phase; an OBS failure means "read OBS again". True: go on at once (done,
        or a timeout, whose retry is paced by the timeout); False: wait for news first (a
        lost link, or an internal error), so a failure that comes back at once cannot spin."""
        try:
            await step()
        except ObsTimeoutError as exc:  # OBS is stuck: re-read it
            self._error(str(exc))
            self._observer.forget()
        except ObsError as exc:  # the link went (the identify hook wakes us), or worse
            log.info("OBS sync paused: %s", exc)
            self._observer.forget()
            return False
        except Exception as exc:
            log.exception("OBS sync step failed")
            self._error(f"internal error: {exc!r}")
            return False
        return True

    async def _resync(self) -> None:
        """Forget everything about OBS and read it again (new session or collection)."""
        self._observer.resync_started()
        sent = self._now()
        results = await self._batch([*RESYNC_REQUESTS, *STATUS_REQUESTS])
        n = len(RESYNC_REQUESTS)
        self._observer.resynced(results[:n])
        stream, record = (r.data if r.ok else None for r in results[n:])
        self.stream_record.read(stream, record, sent)
        log.info("OBS state read: program %r, studio mode %s",
                 self._observer.reported, self._observer.known.studio_mode)

    async def _settle_take(self) -> None:
        """A studio-mode take: when its transition ends OBS swaps the old program into
        preview, so wait for that, then put the next segment's scene back."""
        await self._settle()
        self._observer.settled()

    async def _refresh(self) -> None:
        """Re-read what events left unsure, in one batch."""
        requests = self._observer.refresh_requests()
        if not requests:
            return
        override = self._observer.override
        results = await self._batch(requests)
        self._observer.refreshed(requests, results)
        if self._observer.override not in (None, override):
            want = self._observer.desired
            log.warning("manual cut in OBS to %r (the show wants %r): not reverting it",
                        self._observer.override, want.program_scene if want else None)

    async def _apply(self) -> None:
        """Plan against what is known and send the difference; a take waits out a running
        transition (its wait bounded by the transition's length), panic does not."""
        obs = self._observer
        want = obs.start_apply()
        if want is None or want.program_scene is None:
            return
        missing = await self._read_items(item_scenes(want))
        todo = obs.plan()
        if todo.take is not None and not want.panic and obs.busy(self._now()):
            await self._settle()
            want = obs.start_apply()  # a want() made meanwhile is this apply's too
            if want is None or want.program_scene is None:
                return
            missing += await self._read_items(item_scenes(want))
            todo = obs.plan()
        alarms = [f"scene {s!r} missing in OBS" for s in missing]
        alarms += [f"item {i!r} missing in scene {s!r}" for s, i in todo.missing_items]
        if todo.requests:
            alarms += await self._send(todo)
        obs.alarms = tuple(dict.fromkeys(alarms))

    async def _read_items(self, scenes: list[str]) -> list[str]:
        """Load item lists not cached yet; returns the scenes OBS does not have."""
        unread = [s for s in scenes if s not in self._observer.known.items]
        if not unread:
            return []
        results = await self._batch(
            [Request("GetSceneItemList", {"sceneName": s}) for s in unread])
        missing, errors = self._observer.items_read(unread, results)
        for text in errors:
            self._error(text)
        return missing

    async def _send(self, todo: Plan) -> list[str]:
        """The batch that changes OBS; returns alarms for what OBS refused."""
        take = self._observer.take_sent(todo, self._now())
        self.apply_batches += 1
        log.debug("OBS batch: %s", ", ".join(r.request_type for r in todo.requests))
        try:
            results = await self._batch(todo.requests)
        except BaseException:
            self._observer.take_failed(take)
            raise
        failures = self._observer.batch_answered(todo.requests, results, take)
        for text in failures.errors:
            self._error(text)
        return list(failures.alarms)

    async def _settle(self) -> None:
        """Wait until no transition runs; bounded by the transitions' deadlines."""
        while (deadline := self._observer.settle_deadline(self._now())) is not None:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(0.0, deadline - self._now()))

    # --- talking to OBS ------------------------------------------------------------------

    async def _batch(self, requests: Sequence[Request]) -> list[RequestResult]:
        """Every batch of the sync goes here."""
        return await self._tracked(self._client.batch(requests))

    async def _call(self, request_type: str) -> dict[str, Any]:
        """One request, for ``StreamRecord``; ``ObsRequestError`` when OBS refuses."""
        return await self._tracked(self._client.call(request_type))

    async def _tracked(self, request: Coroutine[Any, Any, T]) -> T:
        """Await ``request``, telling the observer whether OBS answered ("not answering")."""
        silence = self._observer.silence
        ticket = silence.sent(self._now())
        try:
            answer = await request
        except ObsTimeoutError:
            silence.timed_out(ticket)
            raise
        except ObsRequestError:  # refused is an answer
            silence.answered(ticket)
            raise
        except BaseException:
            silence.dropped(ticket)
            raise
        silence.answered(ticket)
        return answer

    def _on_event(self, event: Event) -> None:
        """From the client's reader: fold, and wake the applier; never blocks."""
        now = self._now()
        self._observer.on_event(event, now)
        self.stream_record.on_event(event, now)
        self._changed.set()
        self._wake.set()

    async def _poller(self) -> None:
        """Stats, stream and record status every ``poll_interval`` (paused while OBS swaps
        scene collections). Its requests also notice an OBS that stopped answering."""
        requests = [Request("GetStats"), *STATUS_REQUESTS]
        while True:
            changing = self._observer.knowledge is Knowledge.CHANGING_COLLECTION
            if self._client.connected and not changing:
                try:
                    sent = self._now()
                    stats, stream, record = await self._batch(requests)
                    if stats.ok and stream.ok:
                        self._stats = stats_from(stats.data, stream.data)
                    self.stream_record.read(stream.data if stream.ok else None,
                                      record.data if record.ok else None, sent)
                except ObsError as exc:
                    log.debug("OBS stats poll failed: %s", exc)
                except Exception:  # the poller must outlive any surprise
                    log.exception("OBS stats poll failed")
            await asyncio.sleep(self.poll_interval)

    # --- streaming and recording ---------------------------------------------------------

    async def start_stream(self, timeout: float = 10.0) -> None:
        """Start streaming; returns once OBS reports the stream active (StreamStateChanged).
        StartStream's own status says nothing: OBS answers 100 and fails later."""
        await self.stream_record.set("Stream", True, timeout)

    async def stop_stream(self, timeout: float = 10.0) -> None:
        await self.stream_record.set("Stream", False, timeout)

    async def start_record(self, timeout: float = 10.0) -> None:
        """Start recording; returns once OBS reports the recording active."""
        await self.stream_record.set("Record", True, timeout)

    async def stop_record(self, timeout: float = 10.0) -> None:
        await self.stream_record.set("Record", False, timeout)

    # --- small things --------------------------------------------------------------------

    @staticmethod
    def _now() -> float:
        """The observer's clock (monotonic s); ``status()`` may be read outside the loop."""
        return time.monotonic()

    def _error(self, text: str) -> None:
        log.warning("OBS: %s", text)
        self._last_error = text
