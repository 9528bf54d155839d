"""The show's state: an immutable value the engine replaces on every command and tick."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .changes import RundownChanges
from .model import Rundown
from .plan import Projection, static_plan

Mode = Literal["rehearsal", "live"]
# how a segment went on air: a person (console, api, osc, keys), the clock, or a resume
TakeSource = str
SkipReason = Literal["director", "hard-start", "missed"]


@dataclass(frozen=True, slots=True)
class Aired:
    """As-run: one time a segment was on air."""

    segment_id: str
    start_ms: int
    end_ms: int | None
    target_ms: int           # the duration the engine asked of it when it went on air
    source: TakeSource       # director / api / osc / auto / hard-start / show-start
    by: str | None = None    # who (operator name or role), when a person took it
    shortfall_ms: int | None = None  # for hard starts: content cut (+) or filled (-)


@dataclass(frozen=True, slots=True)
class Skipped:
    """As-run: a segment that will not air, and why."""

    segment_id: str
    at_ms: int
    reason: SkipReason
    by: str | None = None


AsRunEntry = Aired | Skipped


@dataclass(frozen=True, slots=True)
class Reloaded:
    """The last time the rundown was reloaded during the show, and what that changed."""

    at_ms: int
    changes: RundownChanges


StageCue = Literal["wrap", "stretch"]  # the director's one-press signal to the hosts


@dataclass(frozen=True, slots=True)
class StageMessage:
    """The director's message on the presenter screens, and the host's read-back."""

    id: int                  # 1, 2, ...: a read-back names the message it confirms
    text: str
    at_ms: int
    by: str | None = None
    read_ms: int | None = None  # when a presenter screen confirmed it (None: not yet)
    read_by: str | None = None


@dataclass(frozen=True, slots=True)
class StageSignal:
    """"Wrap up" or "stretch" for the hosts of the segment on air when it was given."""

    cue: StageCue
    segment_id: str | None
    at_ms: int
    by: str | None = None


@dataclass(frozen=True, slots=True)
class ShowState:
    """Everything the engine knows. Derived values (timeline, outputs) are functions of it."""

    rundown: Rundown
    plan: Projection                       # the static plan, computed once per rundown
    mode: Mode = "rehearsal"
    armed: bool = True                     # hard starts (and the show start) fire by themselves
    on_air: str | None = None
    since_ms: int | None = None            # when the on-air segment started
    target_ms: int = 0                     # its duration as asked when it went on air
    extra_ms: int = 0                      # time the director added (or removed)
    held: bool = False                     # hold: no auto-advance at the end
    next_id: str | None = None             # the director's choice; None = the following one
    skipped: frozenset[str] = frozenset()  # will not air (director's skip)
    asrun: tuple[AsRunEntry, ...] = ()
    last_take_ms: int | None = None
    panic: bool = False
    ended: bool = False
    clock_ms: int | None = None            # latest time the engine has seen
    min_take_interval_ms: int = 500
    lead_ms: int = 0                       # fire scheduled takes this early (OBS take latency)
    notices: tuple[str, ...] = field(default=())  # what the director should know (resume)
    # the producer's notes for the director: (segment id, text), no empty texts, one per id
    producer_notes: tuple[tuple[str, str], ...] = ()
    last_reload: Reloaded | None = None
    message: StageMessage | None = None    # on the presenter screens (docs/stage.md)
    messages_sent: int = 0                 # the last message's id
    signal: StageSignal | None = None

    @property
    def started(self) -> bool:
        return any(isinstance(e, Aired) for e in self.asrun)

    def aired(self, segment_id: str) -> bool:
        return any(isinstance(e, Aired) and e.segment_id == segment_id for e in self.asrun)

    def producer_note(self, segment_id: str) -> str | None:
        for sid, text in self.producer_notes:
            if sid == segment_id:
                return text
        return None

    @property
    def planned_end_ms(self) -> int:
        """When the on-air segment is planned to end (before any fill or cut)."""
        assert self.since_ms is not None
        return self.since_ms + self.target_ms + self.extra_ms


def initial_state(rundown: Rundown, *, mode: Mode = "rehearsal", armed: bool = True,
                  min_take_interval_ms: int = 500, lead_ms: int = 0) -> ShowState:
    return ShowState(rundown=rundown, plan=static_plan(rundown), mode=mode, armed=armed,
                     min_take_interval_ms=min_take_interval_ms, lead_ms=lead_ms)

