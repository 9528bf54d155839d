"""Keep OBS showing what the show wants: desired state in, one RequestBatch of differences out.

``ObsSync.want(outputs)`` only records the latest desired state and wakes the applier; the
applier (one task, the only writer of requests that change OBS) diffs it against what it
knows of OBS (``control.obs.diff``) and sends the difference as one SerialRealtime batch.
After every (re)identify it re-reads OBS and applies the desired state again, so an OBS that
crashed and restarted mid-show comes back on the on-air scene.

What it will not do:
- fight an operator. A cut made by hand in OBS becomes ``manual_override`` and stays until
  the show wants a different scene.
- retry in a loop. A refused request becomes ``last_error`` and an alarm; the next ``want()``
  or reconnect tries again.
- talk to OBS on ``status()``: that reads caches filled by events and a 1 s stats poll.
- start a take while OBS is still in a transition: OBS would cut that transition short, and
  in studio mode the earlier take's end is never reported. The wait is bounded by the
  transition's length (panic does not wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from control.obs.client import ObsClient
from control.obs.codes import RequestStatus
from control.obs.diff import KnownObs, Plan, item_scenes, plan
from control.obs.errors import ObsConnectionError, ObsError, ObsRequestError
from control.obs.messages import Event, Request, RequestResult
from control.obs.stats import ObsStats, stats_from
from control.show.outputs import Outputs

log = logging.getLogger(__name__)

TAKE_MARGIN = 1.0
"""Seconds past a transition's length after which its end counts as lost (OBS does not report
the end of a transition that a later take cut short)."""
LATENCY_SAMPLES = 20


class ObsOutputError(ObsError):
    """Streaming or recording did not reach the asked state."""


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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["alarms"] = list(self.alarms)
        return data


@dataclass(slots=True)
class _Take:
    """A take sent to OBS whose CurrentProgramSceneChanged has not arrived yet."""

    scene: str
    sent: float
    deadline: float
    cut: bool


@dataclass(slots=True)
class _Transitions:
    """Transitions OBS reported as started and ended. Counts, not a flag, because the two
    events may arrive swapped; a deadline, because a cut-short transition never ends."""

    started: int = 0
    ended: int = 0
    busy_until: float = 0.0

    def busy(self, now: float) -> bool:
        if self.started > self.ended and now >= self.busy_until:
            self.ended = self.started  # its end was lost
        return self.started > self.ended


@dataclass(slots=True)
class _Outputs:
    streaming: bool | None = None
    recording: bool | None = None
    waiters: list[Callable[[Event], None]] = field(default_factory=list)


class ObsSync:
    """Desired-state sync for one OBS. ``run()`` must be running (cancel it to stop)."""

    def __init__(self, client: ObsClient, *, studio_mode_preview: bool = True,
                 poll_interval: float = 1.0) -> None:
        self._client = client
        self.studio_mode_preview = studio_mode_preview
        self.poll_interval = poll_interval
        self._known = KnownObs()
        self._desired: Outputs | None = None
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()  # pulsed by every event: wakes bounded waits
        self._need_resync = True
        self._apply_wanted = False
        self._dirty_scenes: set[str] = set()
        self._preview_dirty = False
        self._preview_after_take = False
        self._program_check = False
        self._pending: list[_Take] = []
        self._target: str | None = None  # the program we expect: our last cut, or a manual one
        self._reported: str | None = None  # program scene as OBS last reported it
        self._override: str | None = None
        self._transitions = _Transitions()
        self._apply_alarms: list[str] = []  # what the last apply could not do
        self._last_error: str | None = None
        self._latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._stats: ObsStats | None = None
        self._outputs = _Outputs()
        self._collection_changing = False
        self._want_seq = 0  # want() calls so far
        self._done_seq = 0  # want() calls the applier has dealt with (applied or failed)
        self._processed = asyncio.Event()
        self.apply_batches = 0
        """Batches that changed OBS (metrics, and tests of idempotence)."""

    # --- the show's side ---------------------------------------------------------------------

    def want(self, outputs: Outputs) -> None:
        """Make ``outputs`` the desired state; returns at once (the latest value wins)."""
        before = self._desired
        self._desired = outputs
        if self._override is not None and (
                before is None or outputs.program_scene != before.program_scene
                or outputs.panic != before.panic):
            log.info("manual override of %r ends: the show wants %r",
                     self._override, outputs.program_scene)
            self._override = None
        self._want_seq += 1
        self._apply_wanted = True
        self._wake.set()

    @property
    def take_latencies(self) -> tuple[float, ...]:
        """Seconds from batch sent to CurrentProgramSceneChanged, recent Cut takes."""
        return tuple(self._latencies)

    async def wait_applied(self, timeout: float | None = None) -> None:
        """Wait until the applier has dealt with every ``want()`` made so far: sent what it
        had to (and had the batch answered), or recorded why not. Needs a connected OBS;
        ``TimeoutError`` otherwise."""
        seq = self._want_seq
        async with asyncio.timeout(timeout):
            while self._done_seq < seq:
                self._processed.clear()
                await self._processed.wait()

    def status(self) -> ObsStatus:
        connected = self._client.connected
        want = self._desired
        desired_scene = want.program_scene if want else None
        alarms = list(self._apply_alarms)
        if self._client.fatal_error is not None:
            alarms.insert(0, f"OBS link stopped: {self._client.fatal_error.message}")
        elif not connected:
            alarms.insert(0, "OBS not connected")
        if self._override is not None:
            alarms.append(f"manual override: {self._override}")
        stats = self._stats
        if stats is not None and self._outputs.streaming and stats.stream_congestion_ratio > 0.5:
            alarms.append(f"stream congested ({stats.stream_congestion_ratio:.0%})")
        return ObsStatus(
            connected=connected,
            program_scene=self._reported,
            desired_scene=desired_scene,
            in_sync=connected and self._in_sync(),
            manual_override=self._override,
            studio_mode=self._known.studio_mode,
            preview_scene=self._known.preview_scene,
            streaming=self._outputs.streaming,
            recording=self._outputs.recording,
            stats=stats,
            last_error=self._last_error,
            alarms=tuple(dict.fromkeys(alarms)),
            take_latency_ms=(statistics.median(self._latencies) * 1e3
                             if self._latencies else None),
            reconnects=max(0, self._client.sessions - 1),
        )

    def _in_sync(self) -> bool:
        want = self._desired
        if want is None or want.program_scene is None:
            return True
        todo = plan(self._known, want, set_preview=self.studio_mode_preview)
        return (self._reported == want.program_scene and todo.empty
                and not todo.missing_items and not todo.unread_scenes)

    # --- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        """The applier and the stats poller, until cancelled. Never raises anything else."""
        unlisten = self._client.add_event_listener(self._on_event)
        unhook = self._client.on_identified(self._on_identified)
        self._need_resync = True
        self._wake.set()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._applier(), name="obs-sync-applier")
                tasks.create_task(self._poller(), name="obs-sync-stats")
        finally:
            unlisten()
            unhook()

    async def _on_identified(self) -> None:
        self._need_resync = True
        self._wake.set()

    async def _applier(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._client.connected:
                continue  # the identify hook wakes us
            seq = self._want_seq
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except ObsConnectionError as exc:
                log.info("OBS sync paused: %s", exc)
                self._need_resync = True
            except ObsError as exc:  # a timeout: OBS is stuck; re-read it on the next try
                self._error(str(exc))
                self._need_resync = True
            except Exception as exc:
                log.exception("OBS sync step failed")
                self._error(f"internal error: {exc!r}")
            if not self._apply_wanted and not self._need_resync:
                self._done_seq = max(self._done_seq, seq)
                self._processed.set()

    async def _step(self) -> None:
        if self._need_resync:
            await self._resync()
        if self._preview_after_take:
            self._preview_after_take = False
            await self._settle()  # OBS swaps the old program into preview at the end
            self._preview_dirty = self._apply_wanted = True
        await self._refresh()
        if self._apply_wanted:
            self._apply_wanted = False
            await self._apply()

    async def _resync(self) -> None:
        """Forget everything about OBS and read it again (new session or collection)."""
        self._need_resync = False
        self._pending.clear()
        self._transitions = _Transitions()
        self._dirty_scenes.clear()
        self._preview_dirty = self._program_check = False
        results = await self._client.batch([
            Request("GetCurrentProgramScene"),
            Request("GetStudioModeEnabled"),
            Request("GetCurrentSceneTransition"),
            Request("GetStreamStatus"),
            Request("GetRecordStatus"),
            Request("GetCurrentPreviewScene"),  # 506 outside studio mode: fine
        ])
        program, studio, transition, stream, record, preview = (r.data if r.ok else {}
                                                                for r in results)
        self._known = KnownObs(
            program_scene=program.get("currentProgramSceneName"),
            preview_scene=preview.get("currentPreviewSceneName"),
            studio_mode=bool(studio.get("studioModeEnabled")),
            transition=transition.get("transitionName"),
            transition_ms=transition.get("transitionDuration"),
        )
        self._reported = self._target = self._known.program_scene
        self._outputs.streaming = stream.get("outputActive")
        self._outputs.recording = record.get("outputActive")
        if self._override is not None and self._override != self._reported:
            self._override = None  # OBS restarted elsewhere: the show's scene again
        self._apply_wanted = True
        log.info("OBS state read: program %r, studio mode %s",
                 self._reported, self._known.studio_mode)

    async def _refresh(self) -> None:
        """Re-read what events left unsure (see ``KnownObs.observe``), in one batch."""
        scenes = sorted(s for s in self._dirty_scenes if s in self._known.items)
        self._dirty_scenes.clear()
        check_program, self._program_check = self._program_check, False
        read_preview = self._preview_dirty and self._known.studio_mode
        self._preview_dirty = False
        requests = [Request("GetSceneItemList", {"sceneName": s}) for s in scenes]
        if check_program:
            requests.append(Request("GetCurrentProgramScene"))
        if read_preview:
            requests.append(Request("GetCurrentPreviewScene"))
        if not requests:
            return
        results = await self._client.batch(requests)
        for scene, result in zip(scenes, results, strict=False):
            if result.ok:
                self._known.load_items(scene, result.data.get("sceneItems", []))
            else:
                self._known.items.pop(scene, None)
        rest = results[len(scenes):]
        if check_program and rest:
            result, rest = rest[0], rest[1:]
            if result.ok:
                self._judge_program(result.data["currentProgramSceneName"])
        if read_preview and rest and rest[0].ok:
            self._known.preview_scene = rest[0].data.get("currentPreviewSceneName")

    def _judge_program(self, scene: str) -> None:
        """OBS reported a program scene that no pending take of ours explains; ``scene`` is
        what OBS says now (read after our batches were answered, so it is the truth)."""
        self._reported = self._known.program_scene = scene
        want = self._desired
        if want is not None and scene == want.program_scene:
            self._override = None  # back on the show's scene, by whoever
            self._target = scene
            return
        if scene == self._target or any(t.scene == scene for t in self._pending):
            return  # a late event of our own take
        log.warning("manual cut in OBS to %r (the show wants %r): not reverting it",
                    scene, want.program_scene if want else None)
        self._pending.clear()
        self._override = self._target = scene

    async def _apply(self) -> None:
        want = self._desired
        if want is None or want.program_scene is None:
            return
        missing_scenes = await self._read_items(item_scenes(want))
        todo = self._plan(want)
        if todo.take is not None and not want.panic and self._busy():
            await self._settle()
            want = self._desired
            if want is None or want.program_scene is None:
                return
            missing_scenes += await self._read_items(item_scenes(want))
            todo = self._plan(want)
        alarms = [f"scene {s!r} missing in OBS" for s in missing_scenes]
        alarms += [f"item {i!r} missing in scene {s!r}" for s, i in todo.missing_items]
        if todo.requests:
            alarms += await self._send(todo)
        self._apply_alarms = list(dict.fromkeys(alarms))

    def _plan(self, want: Outputs) -> Plan:
        return plan(self._known, want, hold_program=self._override is not None,
                    set_preview=self.studio_mode_preview)

    async def _read_items(self, scenes: list[str]) -> list[str]:
        """Load item lists not cached yet; returns the scenes OBS does not have."""
        unread = [s for s in scenes if s not in self._known.items]
        if not unread:
            return []
        results = await self._client.batch(
            [Request("GetSceneItemList", {"sceneName": s}) for s in unread])
        missing = []
        for scene, result in zip(unread, results, strict=False):
            if result.ok:
                self._known.load_items(scene, result.data.get("sceneItems", []))
            elif result.status.code == RequestStatus.ResourceNotFound:
                missing.append(scene)
            else:
                self._error(f"GetSceneItemList {scene!r} failed with {result.status.name}")
        return missing

    async def _send(self, todo: Plan) -> list[str]:
        loop = asyncio.get_running_loop()
        take = None
        if todo.take is not None:
            transition, ms = self._transition_after(todo.requests)
            seconds = (ms or 0) / 1e3 if transition != "Cut" else 0.0
            now = loop.time()
            take = _Take(todo.take, now, now + seconds + TAKE_MARGIN, transition == "Cut")
            self._pending.append(take)  # before sending: the event may beat the response
        self.apply_batches += 1
        log.debug("OBS batch: %s", ", ".join(r.request_type for r in todo.requests))
        try:
            results = await self._client.batch(todo.requests)
        except BaseException:
            if take is not None:
                _remove(self._pending, take)
            raise
        alarms = []
        for request, result in zip(todo.requests, results, strict=False):
            if result.ok:
                self._known.record(request)
                continue
            if take is not None and request.request_type == "SetCurrentProgramScene":
                _remove(self._pending, take)
                take = None
            if request.request_type == "SetSceneItemEnabled":
                self._known.items.pop((request.request_data or {})["sceneName"], None)
            self._error(_describe(request, result))
            alarms.append(_alarm(request, result))
        if take is not None:
            self._target = take.scene
            if self._known.studio_mode and self.studio_mode_preview:
                self._preview_after_take = True
                self._wake.set()
        return alarms

    def _transition_after(self, requests: tuple[Request, ...]) -> tuple[str | None, int | None]:
        """The transition (name, ms) OBS will use for the take in ``requests``."""
        name, ms = self._known.transition, self._known.transition_ms
        for request in requests:
            data = request.request_data or {}
            if request.request_type == "SetCurrentSceneTransition":
                name = str(data["transitionName"])
            elif request.request_type == "SetCurrentSceneTransitionDuration":
                ms = int(data["transitionDuration"])
        return name, ms

    # --- transitions -------------------------------------------------------------------------

    def _busy(self) -> bool:
        """A transition (ours or anyone's) is running, or a take of ours is unconfirmed."""
        now = asyncio.get_running_loop().time()
        self._pending = [t for t in self._pending if t.deadline > now]
        return bool(self._pending) or self._transitions.busy(now)

    async def _settle(self) -> None:
        """Wait until no transition runs; bounded by the transitions' deadlines."""
        while self._busy():
            self._changed.clear()
            now = asyncio.get_running_loop().time()
            deadlines = [t.deadline for t in self._pending]
            if self._transitions.started > self._transitions.ended:
                deadlines.append(self._transitions.busy_until)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(0.0, min(deadlines) - now))

    # --- events ------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """From the client's reader: update caches and wake the applier; never blocks."""
        self._changed.set()
        data = event.data
        kind = event.event_type
        if kind == "CurrentProgramSceneChanged":
            self._on_program(str(data.get("sceneName")))
        elif kind == "SceneTransitionStarted":
            now = asyncio.get_running_loop().time()
            self._transitions.started += 1
            seconds = (self._known.transition_ms or 0) / 1e3
            self._transitions.busy_until = now + seconds + TAKE_MARGIN
        elif kind == "SceneTransitionEnded":
            self._transitions.ended += 1
        elif kind == "StreamStateChanged":
            self._outputs.streaming = bool(data.get("outputActive"))
        elif kind == "RecordStateChanged":
            self._outputs.recording = bool(data.get("outputActive"))
        elif kind == "CurrentSceneCollectionChanging":
            self._collection_changing = True
        elif kind == "CurrentSceneCollectionChanged":
            self._collection_changing = False
            self._need_resync = True
            self._wake.set()
        elif self._known.observe(event):  # unsure now: re-read
            if kind == "SceneItemEnableStateChanged":
                self._dirty_scenes.add(str(data.get("sceneName")))
            elif kind == "CurrentPreviewSceneChanged":
                self._preview_dirty = True
            elif kind == "StudioModeStateChanged":  # entered studio mode: set its preview
                self._preview_dirty = self._apply_wanted = True
            self._wake.set()
        for waiter in list(self._outputs.waiters):
            waiter(event)

    def _on_program(self, scene: str) -> None:
        now = asyncio.get_running_loop().time()
        for i, take in enumerate(self._pending):
            if take.scene == scene:
                if take.cut:
                    self._latencies.append(now - take.sent)
                del self._pending[: i + 1]
                self._reported = scene
                if not self._pending:
                    self._known.program_scene = scene
                return
        self._reported = scene
        if scene != self._target or self._override is not None:
            self._program_check = True  # someone else cut, or a late event: ask OBS
            self._wake.set()

    # --- stats -------------------------------------------------------------------------------

    async def _poller(self) -> None:
        requests = [Request("GetStats"), Request("GetStreamStatus"), Request("GetRecordStatus")]
        while True:
            if self._client.connected and not self._collection_changing:
                try:
                    stats, stream, record = await self._client.batch(requests)
                    if stats.ok and stream.ok:
                        self._stats = stats_from(stats.data, stream.data)
                        self._outputs.streaming = bool(stream.data.get("outputActive"))
                    if record.ok:
                        self._outputs.recording = bool(record.data.get("outputActive"))
                except ObsError as exc:
                    log.debug("OBS stats poll failed: %s", exc)
                except Exception:  # the poller must outlive any surprise
                    log.exception("OBS stats poll failed")
            await asyncio.sleep(self.poll_interval)

    # --- streaming and recording -------------------------------------------------------------

    async def start_stream(self, timeout: float = 10.0) -> None:
        """Start streaming; returns once OBS reports the stream active (StreamStateChanged).
        StartStream's own status says nothing: OBS answers 100 and fails later."""
        await self._set_output("Stream", True, timeout)

    async def stop_stream(self, timeout: float = 10.0) -> None:
        await self._set_output("Stream", False, timeout)

    async def start_record(self, timeout: float = 10.0) -> None:
        """Start recording; returns once OBS reports the recording active."""
        await self._set_output("Record", True, timeout)

    async def stop_record(self, timeout: float = 10.0) -> None:
        await self._set_output("Record", False, timeout)

    async def _set_output(self, output: str, active: bool, timeout: float) -> None:
        what = {"Stream": "stream", "Record": "recording"}[output]
        verb = "start" if active else "stop"
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def watch(event: Event) -> None:
            if event.event_type != f"{output}StateChanged" or done.done():
                return
            state = event.data.get("outputState")
            if bool(event.data.get("outputActive")) == active and state in (
                    "OBS_WEBSOCKET_OUTPUT_STARTED", "OBS_WEBSOCKET_OUTPUT_STOPPED"):
                done.set_result(None)
            elif active and state == "OBS_WEBSOCKET_OUTPUT_STOPPED":
                done.set_exception(ObsOutputError(
                    f"OBS could not {verb} the {what}: it stopped again at once "
                    "(check the stream/record settings and the OBS log)"))

        self._outputs.waiters.append(watch)
        try:
            current = await self._client.call(f"Get{output}Status")
            if bool(current.get("outputActive")) == active:
                return
            try:
                await self._client.call(f"{verb.capitalize()}{output}")
            except ObsRequestError as exc:
                if exc.code not in (RequestStatus.OutputRunning, RequestStatus.OutputNotRunning):
                    raise ObsOutputError(f"OBS refused to {verb} the {what}: {exc}") from exc
            try:
                await asyncio.wait_for(asyncio.shield(done), timeout)
            except TimeoutError:
                raise ObsOutputError(
                    f"OBS did not confirm that the {what} "
                    f"{'started' if active else 'stopped'} within {timeout:g} s") from None
        except ObsOutputError as exc:
            self._error(str(exc))
            raise
        finally:
            _remove(self._outputs.waiters, watch)
            if done.done() and not done.cancelled():
                done.exception()  # retrieved

    # --- errors ------------------------------------------------------------------------------

    def _error(self, text: str) -> None:
        log.warning("OBS: %s", text)
        self._last_error = text


def _describe(request: Request, result: RequestResult) -> str:
    """``SetCurrentProgramScene 'Nope' failed with ResourceNotFound (600): ...``"""
    data = request.request_data or {}
    subject = data.get("sceneName") or data.get("transitionName")
    what = f"{request.request_type} {subject!r}" if subject else request.request_type
    status = result.status
    comment = f": {status.comment}" if status.comment else ""
    return f"{what} failed with {status.name} ({status.code}){comment}"


def _alarm(request: Request, result: RequestResult) -> str:
    """Short, for the console's alarm strip: names the scene (or transition) at fault."""
    data = request.request_data or {}
    missing = result.status.code == RequestStatus.ResourceNotFound
    match request.request_type:
        case "SetCurrentProgramScene" | "SetCurrentPreviewScene" if missing:
            return f"scene {data.get('sceneName')!r} missing in OBS"
        case "SetCurrentSceneTransition" if missing:
            return f"transition {data.get('transitionName')!r} missing in OBS"
        case "SetSceneItemEnabled":
            return f"item in scene {data.get('sceneName')!r} not set ({result.status.name})"
    return f"{request.request_type} failed ({result.status.name})"


def _remove(items: list[Any], item: Any) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)
