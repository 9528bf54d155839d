"""What the sync knows of OBS: its events and its answers folded into one picture.

Pure, like ``control.obs.protocol``: no I/O, no asyncio, no clock (whatever needs the time is
given ``now``, seconds on a monotonic clock), so every rule below is a unit test without OBS.
The asyncio applier (``control.obs.sync``) asks ``phase()`` what to do next, sends the
requests, and hands the answers back here.

The rules it keeps:
- **Manual override.** A program change no take of ours explains is an operator's cut. It is
  recorded, not fought, until the show wants a different scene (or panics).
- **Transitions in flight.** A take sent during a transition would cut it short, and in studio
  mode OBS never reports the end of the one cut short; so takes wait for ``busy()`` to end.
  Started/ended are counts (their events may arrive swapped) with a deadline (a transition
  cut short never ends).
- **Unsure means re-read.** OBS 5.1 sends events from a thread pool, so two changes of one
  thing may arrive swapped; an event that contradicts the cache marks that fact stale.
- **Scene collections.** While OBS swaps collections, ask nothing; afterwards read it all.
- **Not answering.** A frozen OBS keeps its socket open: the link looks up while nothing
  happens. ``not_answering_s`` counts from the oldest request with no answer since, or from
  when the oldest unconfirmed take should have ended.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from control.obs.codes import RequestStatus
from control.obs.diff import KnownObs, Plan, plan
from control.obs.lead import frame_ms
from control.obs.messages import Event, Request, RequestResult
from control.obs.silence import Silence
from control.obs.takes import InFlight, Take
from control.show.desired import Desired

OBS_STUCK_S = 2.0
"""Connected, but a request unanswered (or a take unconfirmed) this long: OBS is not answering."""

RESYNC_REQUESTS = (
    Request("GetCurrentProgramScene"),
    Request("GetStudioModeEnabled"),
    Request("GetCurrentSceneTransition"),
    Request("GetVideoSettings"),  # the frame rate: the take lead's cap is one frame
    Request("GetCurrentPreviewScene"),  # 506 outside studio mode: fine
)


class Knowledge(enum.Enum):
    """How far the picture of OBS can be trusted."""

    UNREAD = "unread"  # new session, new collection, or a request timed out: read it all
    CHANGING_COLLECTION = "changing collection"  # OBS is swapping collections: ask nothing
    READ = "read"


class Phase(enum.Enum):
    """What the applier does next, in this order of precedence."""

    OFFLINE = "offline"  # no session: wait for the next identify
    PAUSED = "paused"  # scene collection changing
    RESYNC = "resync"  # read OBS (RESYNC_REQUESTS), then apply again
    SETTLE = "settle"  # a studio-mode take's transition runs; at its end OBS swaps the preview
    REFRESH = "refresh"  # re-read what events left unsure
    APPLY = "apply"  # send the difference between the desired state and OBS
    IDLE = "idle"  # OBS shows what the show wants, as far as known


class Fact(enum.Enum):
    """A single fact an event left unsure (scene item lists are stale by scene name)."""

    PROGRAM = "GetCurrentProgramScene"
    PREVIEW = "GetCurrentPreviewScene"


@dataclass(frozen=True, slots=True)
class Failures:
    """What a batch's refused requests mean: log lines, and alarms for the console."""

    errors: tuple[str, ...] = ()
    alarms: tuple[str, ...] = ()


class ObsObserver:
    """The sync's picture of one OBS, and the desired state it is compared with."""

    def __init__(self, *, studio_mode_preview: bool = True) -> None:
        self.studio_mode_preview = studio_mode_preview
        self.known = KnownObs()
        self.knowledge = Knowledge.UNREAD
        self.desired: Desired | None = None
        self.reported: str | None = None  # program scene as OBS last reported it
        self.target: str | None = None  # the program we expect: our last cut, or a manual one
        self.override: str | None = None  # the scene an operator cut to by hand
        self.in_flight = InFlight()
        self.settling: Take | None = None  # studio mode: its end swaps the old program in
        self.silence = Silence()
        self.stale: set[Fact] = set()
        self.stale_scenes: set[str] = set()
        self.alarms: tuple[str, ...] = ()  # what the last apply could not do
        self.frame_ms = frame_ms(None)
        self._want_seq = 0  # want() calls so far
        self._epoch = 0  # bumped when what is known changed so that the plan must be made again
        self._applied = (-1, -1)  # (want_seq, epoch) the last apply planned for
        self._overdue_from: float | None = None  # oldest unconfirmed take's expected end

    # --- the show's side -----------------------------------------------------------------

    def want(self, desired: Desired) -> None:
        """The latest desired state; a manual override ends when the show moves on."""
        before = self.desired
        self.desired = desired
        if self.override is not None and (
                before is None or desired.program_scene != before.program_scene
                or desired.panic != before.panic):
            self.override = None
        self._want_seq += 1

    @property
    def want_seq(self) -> int:
        return self._want_seq

    @property
    def applied_seq(self) -> int:
        """The want() calls the applier has planned for."""
        return self._applied[0]

    def phase(self, connected: bool) -> Phase:
        """What the applier must do next."""
        if not connected:
            return Phase.OFFLINE
        if self.knowledge is Knowledge.CHANGING_COLLECTION:
            return Phase.PAUSED
        if self.knowledge is Knowledge.UNREAD:
            return Phase.RESYNC
        if self.settling is not None:
            return Phase.SETTLE
        if self.stale or self.stale_scenes:
            return Phase.REFRESH
        if (self._want_seq, self._epoch) != self._applied:
            return Phase.APPLY
        return Phase.IDLE

    def start_apply(self) -> Desired | None:
        """The applier plans for the desired state as it is now (later wants: next apply)."""
        self._applied = (self._want_seq, self._epoch)
        return self.desired

    def plan(self) -> Plan:
        if self.desired is None:
            return Plan()
        return plan(self.known, self.desired, hold_program=self.override is not None,
                    set_preview=self.studio_mode_preview)

    def in_sync(self) -> bool:
        """OBS shows the desired scene, items and preview (as far as known)."""
        want = self.desired
        if want is None or want.program_scene is None:
            return True
        todo = plan(self.known, want, set_preview=self.studio_mode_preview)
        return (self.reported == want.program_scene and todo.empty
                and not todo.missing_items and not todo.unread_scenes)

    @property
    def take_latencies(self) -> tuple[float, ...]:
        """Recent Cut takes, seconds from batch sent to program event."""
        return tuple(self.in_flight.latencies)

    @property
    def take_latency_ms(self) -> float | None:
        """Median of the recent Cut take latencies."""
        samples = self.in_flight.latencies
        return statistics.median(samples) * 1e3 if samples else None

    # --- the link ------------------------------------------------------------------------

    def link_up(self) -> None:
        """A new session: everything must be read again; nothing is unanswered in it yet."""
        self.forget()
        self.silence.reset()
        self._overdue_from = None

    def forget(self) -> None:
        """Read OBS again before trusting the picture (a timeout, a lost connection)."""
        self.knowledge = Knowledge.UNREAD

    def not_answering_s(self, now: float, connected: bool) -> float | None:
        """Seconds OBS has been connected but silent: since the oldest request without an
        answer, or the oldest take's expected end without its program event. None when fine
        or shorter than ``OBS_STUCK_S`` (a busy moment is not an alarm)."""
        times = [t for t in (self.silence.since(), self._overdue_from) if t is not None]
        if not connected or not times:
            return None
        silent = now - min(times)
        return silent if silent >= OBS_STUCK_S else None

    # --- answers -------------------------------------------------------------------------

    def resync_started(self) -> None:
        """The resync batch is about to go: forget takes, transitions and stale facts (events
        arriving while it runs are news after it)."""
        self.in_flight.reset()
        self.settling = None
        self.stale.clear()
        self.stale_scenes.clear()

    def resynced(self, results: Sequence[RequestResult]) -> None:
        """Fold the answers to ``RESYNC_REQUESTS`` (in that order)."""
        program, studio, transition, video, preview = (r.data if r.ok else {} for r in results)
        self.known = KnownObs(
            program_scene=program.get("currentProgramSceneName"),
            preview_scene=preview.get("currentPreviewSceneName"),
            studio_mode=bool(studio.get("studioModeEnabled")),
            transition=transition.get("transitionName"),
            transition_ms=transition.get("transitionDuration"),
        )
        self.frame_ms = frame_ms(_fps(video))
        self.reported = self.target = self.known.program_scene
        if self.override is not None and self.override != self.reported:
            self.override = None  # OBS restarted elsewhere: the show's scene again
        self.knowledge = Knowledge.READ
        self._epoch += 1  # apply again, whatever was applied before
        self._confirm()  # what OBS shows now is the new starting point

    def refresh_requests(self) -> list[Request]:
        """One batch re-reading what is stale; the stale marks are taken (later events mark
        again)."""
        scenes = sorted(s for s in self.stale_scenes if s in self.known.items)
        facts = [f for f in (Fact.PROGRAM, Fact.PREVIEW) if f in self.stale]
        if not self.known.studio_mode and Fact.PREVIEW in facts:
            facts.remove(Fact.PREVIEW)
        self.stale_scenes.clear()
        self.stale.clear()
        return ([Request("GetSceneItemList", {"sceneName": s}) for s in scenes]
                + [Request(f.value) for f in facts])

    def refreshed(self, requests: Sequence[Request],
                  results: Sequence[RequestResult]) -> None:
        """Fold the answers to ``refresh_requests()``."""
        for request, result in zip(requests, results, strict=False):
            kind = request.request_type
            if kind == "GetSceneItemList":
                scene = (request.request_data or {})["sceneName"]
                if result.ok:
                    self.known.load_items(scene, result.data.get("sceneItems", []))
                else:
                    self.known.items.pop(scene, None)
            elif kind == Fact.PROGRAM.value and result.ok:
                self.judge_program(str(result.data["currentProgramSceneName"]))
            elif kind == Fact.PREVIEW.value and result.ok:
                self.known.preview_scene = result.data.get("currentPreviewSceneName")

    def items_read(self, scenes: Sequence[str],
                   results: Sequence[RequestResult]) -> tuple[list[str], list[str]]:
        """Fold GetSceneItemList answers for ``scenes``: (scenes OBS lacks, error texts)."""
        missing: list[str] = []
        errors: list[str] = []
        for scene, result in zip(scenes, results, strict=False):
            if result.ok:
                self.known.load_items(scene, result.data.get("sceneItems", []))
            elif result.status.code == RequestStatus.ResourceNotFound:
                missing.append(scene)
            else:
                errors.append(f"GetSceneItemList {scene!r} failed with {result.status.name}")
        return missing, errors

    def judge_program(self, scene: str) -> None:
        """OBS says ``scene`` is on program now (read after our batches were answered, so it
        is the truth): ours, a late event of ours, or an operator's cut."""
        self.reported = self.known.program_scene = scene
        want = self.desired
        if want is not None and scene == want.program_scene:
            self.override = None  # back on the show's scene, by whoever
            self.target = scene
        elif scene != self.target and not self.in_flight.explains(scene):
            self.in_flight.pending.clear()  # an operator's cut
            self.override = self.target = scene
        self._confirm()

    # --- takes ---------------------------------------------------------------------------

    def take_sent(self, todo: Plan, now: float) -> Take | None:
        """The batch of ``todo`` is about to go: note its take first (its event may beat the
        batch's answer)."""
        if todo.take is None:
            return None
        transition, ms = _transition_after(self.known, todo.requests)
        seconds = None if transition == "Cut" else (ms or 0) / 1e3
        return self.in_flight.sent(todo.take, seconds, now)

    def take_failed(self, take: Take | None) -> None:
        """The batch carrying ``take`` never got an answer, or OBS refused the cut."""
        if take is not None:
            self.in_flight.failed(take)

    def batch_answered(self, requests: Sequence[Request], results: Sequence[RequestResult],
                       take: Take | None) -> Failures:
        """Record what OBS accepted; say what it refused."""
        errors: list[str] = []
        alarms: list[str] = []
        for request, result in zip(requests, results, strict=False):
            if result.ok:
                self.known.record(request)
                continue
            if take is not None and request.request_type == "SetCurrentProgramScene":
                self.take_failed(take)
                take = None
            if request.request_type == "SetSceneItemEnabled":
                self.known.items.pop((request.request_data or {})["sceneName"], None)
            errors.append(describe(request, result))
            alarms.append(alarm(request, result))
        if take is not None:
            self.target = take.scene
            if self.reported != take.scene and self._overdue_from is None:
                self._overdue_from = take.expected
            if self.known.studio_mode and self.studio_mode_preview:
                self.settling = take
            self._confirm()
        return Failures(tuple(errors), tuple(alarms))

    def busy(self, now: float) -> bool:
        """A transition runs, or a take of ours is unconfirmed: a take now would cut it."""
        return self.in_flight.busy(now)

    def settle_deadline(self, now: float) -> float | None:
        return self.in_flight.settle_deadline(now)

    def settled(self) -> None:
        """The studio-mode take has ended: OBS put the old program in preview; set it again."""
        self.settling = None
        self.stale.add(Fact.PREVIEW)
        self._epoch += 1

    # --- events --------------------------------------------------------------------------

    def on_event(self, event: Event, now: float) -> None:
        """Fold one event (from the client's reader)."""
        data = event.data
        kind = event.event_type
        if kind == "CurrentProgramSceneChanged":
            self._on_program(str(data.get("sceneName")), now)
        elif kind == "SceneTransitionStarted":
            self.in_flight.transition_started(now, self.known.transition_ms)
        elif kind == "SceneTransitionEnded":
            self.in_flight.transition_ended()
        elif kind == "CurrentSceneCollectionChanging":
            self.knowledge = Knowledge.CHANGING_COLLECTION
        elif kind == "CurrentSceneCollectionChanged":
            self.knowledge = Knowledge.UNREAD
        elif self.known.observe(event):  # unsure now: re-read
            if kind == "SceneItemEnableStateChanged":
                self.stale_scenes.add(str(data.get("sceneName")))
            elif kind == "CurrentPreviewSceneChanged":
                self.stale.add(Fact.PREVIEW)
            elif kind == "StudioModeStateChanged":  # entered studio mode: set its preview
                self.stale.add(Fact.PREVIEW)
                self._epoch += 1

    def _on_program(self, scene: str, now: float) -> None:
        self.reported = scene
        if self.in_flight.arrived(scene, now):
            if not self.in_flight.pending:
                self.known.program_scene = scene
        elif scene != self.target or self.override is not None:
            self.stale.add(Fact.PROGRAM)  # someone else cut, or a late event: ask OBS
        self._confirm()

    def _confirm(self) -> None:
        """OBS shows the program we expect: no take is overdue."""
        if self.reported == self.target:
            self._overdue_from = None


def _fps(video: Mapping[str, Any]) -> float | None:
    try:
        return float(video["fpsNumerator"]) / float(video["fpsDenominator"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def _transition_after(known: KnownObs,
                      requests: Sequence[Request]) -> tuple[str | None, int | None]:
    """The transition (name, ms) OBS will use for the take in ``requests``."""
    name, ms = known.transition, known.transition_ms
    for request in requests:
        data = request.request_data or {}
        if request.request_type == "SetCurrentSceneTransition":
            name = str(data["transitionName"])
        elif request.request_type == "SetCurrentSceneTransitionDuration":
            ms = int(data["transitionDuration"])
    return name, ms


def describe(request: Request, result: RequestResult) -> str:
    """``SetCurrentProgramScene 'Nope' failed with ResourceNotFound (600): ...``"""
    data = request.request_data or {}
    subject = data.get("sceneName") or data.get("transitionName")
    what = f"{request.request_type} {subject!r}" if subject else request.request_type
    status = result.status
    comment = f": {status.comment}" if status.comment else ""
    return f"{what} failed with {status.name} ({status.code}){comment}"


def alarm(request: Request, result: RequestResult) -> str:
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
