"""The shape of the one read model (`GET /api/state`, the state websocket, the terminal).

Typed here, built in one place (`control.show.view.read_model`). It is JSON: TypedDicts, so
the dict a client receives is the very value built. Conventions, for every block:

- an instant is given twice: `<name>` (ISO 8601 in the show's zone, for people and logs)
  and `<name>_ms` (epoch milliseconds, for clients that compute: clocks, countdowns);
  either may be null when the instant is not known (not yet aired, no hard start);
- a duration is `<name>_s` (seconds, float);
- the show's own part is pure (state, now); `obs` and `guests` are what the adapters report,
  handed in by the wiring as plain data (this module names their fields, it imports none).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

AlarmLevel = Literal["critical", "warning", "info"]


class ReloadView(TypedDict):
    at: str | None
    at_ms: int
    changes: dict[str, Any]  # RundownChanges.to_json()


class ShowStatus(TypedDict):
    title: str
    title_zh: str | None
    timezone: str
    source: str
    mode: str
    armed: bool
    panic: bool
    ended: bool
    started: bool
    held: bool
    shift_s: float | None
    speed: float            # > 1: a compressed-time rehearsal
    journal_ok: bool        # False: records held in memory until the journal can be written
    now: str | None
    now_ms: int
    planned_start: str | None
    planned_start_ms: int
    planned_end: str | None
    planned_end_ms: int | None
    projected_end: str | None
    projected_end_ms: int | None
    over_under_s: float | None
    offset_s: float | None
    safe_scene: str
    last_reload: ReloadView | None


class OnAirView(TypedDict):
    id: str
    title: str
    since: str | None
    since_ms: int | None
    elapsed_s: float | None
    remaining_s: float | None
    planned_end: str | None
    planned_end_ms: int | None


class NextView(TypedDict):
    id: str
    title: str
    chosen: bool  # set by the director (else: the rundown's order)


class SegmentView(TypedDict):
    id: str
    title: str
    title_zh: str | None
    scene: str
    status: str
    then: str
    hard_start: str | None
    hard_start_ms: int | None
    flex: list[float | None] | None
    guests: list[str]
    notes: str | None
    producer_note: str | None
    planned_start: str | None
    planned_start_ms: int | None
    planned_duration_s: float | None
    expected_start: str | None
    expected_start_ms: int | None
    expected_end: str | None
    expected_end_ms: int | None
    expected_duration_s: float | None
    start: str | None
    start_ms: int | None
    end: str | None
    end_ms: int | None
    over_under_s: float | None


class FlexPlanEntry(TypedDict):
    id: str
    duration_s: float | None


class HardStartView(TypedDict):
    id: str
    target: str | None
    target_ms: int
    countdown_s: float | None
    projected_arrival: str | None
    projected_arrival_ms: int | None
    shortfall_s: float | None
    slack_s: float | None
    flex_plan: list[FlexPlanEntry]
    armed: bool


class AiredView(TypedDict):
    kind: Literal["aired"]
    id: str
    start: str | None
    start_ms: int
    end: str | None
    end_ms: int | None
    source: str
    by: str | None
    target_s: float | None
    shortfall_s: float | None


class SkippedView(TypedDict):
    kind: Literal["skipped"]
    id: str
    at: str | None
    at_ms: int
    reason: str
    by: str | None


class ObsView(TypedDict):
    """The OBS link as the sync reports it (ObsStatus.to_json), and the connection's."""

    connected: bool
    program_scene: str | None
    desired_scene: str | None
    in_sync: bool
    manual_override: str | None
    studio_mode: bool
    preview_scene: str | None
    streaming: bool | None
    recording: bool | None
    stats: dict[str, Any] | None
    last_error: str | None
    alarms: list[str]
    take_latency_ms: float | None
    reconnects: int
    not_answering_s: float | None  # connected, but a request or take unanswered this long
    take_lead_ms: int | None
    url: str
    connection_attempts: int


class LinkView(TypedDict, total=False):
    """A guest's link as their page reports it (getStats), and when it last did."""

    rtt_ms: float
    jitter_ms: float
    packetsLost: float
    loss_pct: float
    framesPerSecond: float
    bitrate_kbps: float
    candidateType: str
    qualityLimitationReason: str
    frames_dropped_pct: float
    framesSent: float
    battery_pct: float
    power: str  # battery | charging (only where the browser tells: Chromium)
    at: str | None
    at_ms: int


class LevelView(TypedDict):
    gain_db: float
    muted: bool


class ClaimView(TypedDict):
    """Another browser asking to use a guest's bound invite link (the director answers)."""

    id: str
    at: str | None
    at_ms: int
    address: str
    agent: str
    allowed: bool


class InviteView(TypedDict):
    generation: int  # bumped by each revoke: older links are refused
    bound: bool      # a browser joined with the link and holds its rejoin secret
    claim: ClaimView | None


class HealthView(TypedDict):
    """A guest's health figure (control.guests.health): the console's signal meter."""

    score: int  # 0..100
    grade: str  # good | fair | poor | lost
    bars: int  # 0..4
    cause: str | None  # loss | rtt | jitter | frames | late | cpu | bandwidth | battery | silent
    value: float | None  # the cause's figure: %, ms, battery %, seconds silent


class GuestView(TypedDict):
    id: str
    name: str
    name_zh: str | None
    role: str | None
    status: str  # invited | connecting | green-room | ready | on-air | disconnected
    on_air: bool
    link: LinkView | None
    level: LevelView
    av_offset_ms: int
    invite: InviteView
    health: HealthView | None


class Alarm(TypedDict):
    """What the director must see. `text` in English; `code` and `params` let the console
    say it in the operator's language (i18n key `alarm.code.<code>`)."""

    level: AlarmLevel
    text: str
    code: NotRequired[str]
    params: NotRequired[dict[str, Any]]


class MessageView(TypedDict):
    """The director's message on the presenter screens; `read_*`: the host's read-back."""

    id: int
    text: str
    at: str | None
    at_ms: int
    by: str | None
    read: str | None
    read_ms: int | None
    read_by: str | None


class SignalView(TypedDict):
    cue: str  # wrap | stretch
    segment_id: str | None
    at: str | None
    at_ms: int
    by: str | None


class StageView(TypedDict):
    """What the director has told the hosts (docs/stage.md); the signal only while the
    segment it was given for is on air."""

    message: MessageView | None
    signal: SignalView | None


class ShowView(TypedDict):
    """The show's own part: a pure function of (state, now) (`control.show.view.show_view`)."""

    show: ShowStatus
    on_air: OnAirView | None
    next: NextView | None
    segments: list[SegmentView]
    hard_starts: list[HardStartView]
    asrun: list[AiredView | SkippedView]
    notices: list[str]
    stage: StageView


class ReadModel(ShowView):
    """The whole read model: the show's part, the devices' and the alarms."""

    obs: ObsView
    guests: list[GuestView]
    alarms: list[Alarm]
