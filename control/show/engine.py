"""The show state machine: (state, command | tick, now) -> (state, events).

Pure: `now` is an argument, never read. The live controller calls `advance` when the clock
reaches `next_event_ms` and `apply` for each command; `simulate` does the same with a virtual
clock. Scheduled takes happen at their exact times (not at the tick that noticed them), so
auto-advances never drift by a tick.

Resuming late (after a crash, say) never replays missed auto-advances in a burst: segments
whose whole time slot passed within one `advance` never reach the program and are logged
as skipped ("missed"); only where the show is now goes on air.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from . import commands as C
from .durations import format_duration
from .model import Segment
from .plan import fit, project
from .state import Aired, AsRunEntry, ShowState, Skipped, StageMessage, StageSignal

AUTO_SOURCES = frozenset({"auto", "hard-start", "show-start"})
_PRIORITY = {"hard-start": 0, "show-start": 1, "auto": 2, "end": 3}


class Refused(Exception):
    """The command cannot be applied now; the message says why. State is unchanged."""


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened, for the journal, the console and metrics."""

    kind: str          # take, end, skip, unskip, next, hold, extend, panic, mode, arm, note
    at_ms: int
    segment_id: str | None = None
    source: str | None = None
    by: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    state: ShowState
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class _Due:
    at_ms: int
    kind: str
    segment_id: str | None


# -- reading the state ----------------------------------------------------------------------


def upcoming(state: ShowState) -> list[str]:
    """Segments expected to air after the on-air one, in order (the first is 'next')."""
    segs = state.rundown.segments
    if state.next_id is not None:
        start = state.rundown.index(state.next_id)
    elif state.on_air is not None:
        start = state.rundown.index(state.on_air) + 1
    elif state.ended:
        return []
    else:
        start = 0
    return [s.id for s in segs[start:] if s.id not in state.skipped and s.id != state.on_air]


def next_segment(state: ShowState) -> Segment | None:
    ids = upcoming(state)
    return state.rundown.segment(ids[0]) if ids else None


def _runs_out(state: ShowState) -> bool:
    """Whether the on-air segment is meant to end at its planned end (then: next, no hold)."""
    return (state.on_air is not None and not state.held
            and state.rundown.segment(state.on_air).then == "next")


def auto_advances(state: ShowState) -> bool:
    """Whether the on-air segment ends by itself at its planned end."""
    if not _runs_out(state):
        return False
    nxt = next_segment(state)
    # a hard start is never entered early: the segment before it fills until its time
    return nxt is None or nxt.at_ms is None or state.aired(nxt.id)


def expected_end_ms(state: ShowState, now: int) -> int:
    """When the on-air segment's content is expected to end (held or overrunning: not
    before now). A fill before a hard start comes after this."""
    if state.on_air is None:
        return now
    end = state.planned_end_ms
    return end if _runs_out(state) else max(end, now)


def _due(state: ShowState) -> _Due | None:
    """The next scheduled thing: a hard start, the show start, an auto-advance or the end."""
    if state.ended:
        return None
    found: list[_Due] = []
    if state.armed:
        for seg in state.rundown.segments:
            if (seg.at_ms is not None and seg.id != state.on_air
                    and seg.id not in state.skipped and not state.aired(seg.id)):
                found.append(_Due(seg.at_ms, "hard-start", seg.id))
                break  # hard starts are in order; the earliest pending one is enough
        if not state.started and state.on_air is None:
            first = next_segment(state)
            if first is not None and first.at_ms is None:
                found.append(_Due(state.rundown.show.start_ms, "show-start", first.id))
    if auto_advances(state):
        nxt = next_segment(state)
        kind = "auto" if nxt is not None else "end"
        found.append(_Due(state.planned_end_ms, kind, nxt.id if nxt else None))
    if not found:
        return None
    due = min(found, key=lambda d: (d.at_ms, _PRIORITY[d.kind]))
    if state.clock_ms is not None and due.at_ms < state.clock_ms:
        # made due by a command (hold released, time cut, re-armed late): it happens now,
        # not back in time
        return replace(due, at_ms=state.clock_ms)
    return due


def next_event_ms(state: ShowState) -> int | None:
    """When `advance` next has something to do (already less the take lead), or None."""
    due = _due(state)
    return None if due is None else due.at_ms - state.lead_ms


# -- changing the state ----------------------------------------------------------------------


def _close_on_air(asrun: list[AsRunEntry], at_ms: int) -> None:
    for i in range(len(asrun) - 1, -1, -1):
        entry = asrun[i]
        if isinstance(entry, Aired) and entry.end_ms is None:
            asrun[i] = replace(entry, end_ms=max(at_ms, entry.start_ms))
            return


def _shortfall(state: ShowState, seg: Segment, at_ms: int) -> int:
    """For a hard start taken at `at_ms`: planned content cut (+) or filled (-).

    The arrival is where the on-air segment and the segments still planned before the hard
    start would have ended, with flex fitted as the engine would have fitted it.
    """
    assert seg.at_ms is not None
    ahead = upcoming(state)
    before = ahead[: ahead.index(seg.id)] if seg.id in ahead else []
    cursor = expected_end_ms(state, at_ms) if state.on_air else state.rundown.show.start_ms
    fitted = fit([state.rundown.segment(s) for s in before], seg.at_ms - cursor)
    return cursor + sum(fitted) - seg.at_ms


def _put_on_air(state: ShowState, seg_id: str, at_ms: int, source: str,
                by: str | None) -> Step:
    rundown = state.rundown
    seg = rundown.segment(seg_id)
    asrun = list(state.asrun)
    events: list[Event] = []
    skipped = set(state.skipped)
    shortfall = _shortfall(state, seg, at_ms) if seg.at_ms is not None else None
    _close_on_air(asrun, at_ms)
    if source == "hard-start":
        for other in rundown.segments[: rundown.index(seg_id)]:
            if other.id not in skipped and other.id != state.on_air and not state.aired(other.id):
                skipped.add(other.id)
                asrun.append(Skipped(other.id, at_ms, "hard-start"))
                events.append(Event("skip", at_ms, other.id, source, detail="hard-start"))
    skipped.discard(seg_id)
    following = [s.id for s in rundown.segments[rundown.index(seg_id) + 1:]
                 if s.id not in skipped]
    target = project(rundown, [seg_id, *following], at_ms).slots[0].duration_ms
    asrun.append(Aired(seg_id, at_ms, None, target, source, by, shortfall))
    events.append(Event("take", at_ms, seg_id, source, by,
                        None if shortfall is None else f"shortfall {shortfall} ms"))
    new = replace(
        state,
        on_air=seg_id, since_ms=at_ms, target_ms=target, extra_ms=0, held=False,
        next_id=None, skipped=frozenset(skipped), asrun=tuple(asrun), last_take_ms=at_ms,
        panic=state.panic and source in AUTO_SOURCES, ended=False,
    )
    return Step(new, tuple(events))


def _end_show(state: ShowState, at_ms: int, source: str, by: str | None) -> Step:
    asrun = list(state.asrun)
    _close_on_air(asrun, at_ms)
    new = replace(state, on_air=None, since_ms=None, ended=True, asrun=tuple(asrun),
                  next_id=None, held=False, last_take_ms=at_ms)
    return Step(new, (Event("end", at_ms, state.on_air, source, by),))


def advance(state: ShowState, now: int) -> Step:
    """Bring the show up to `now`: fire every scheduled take that is due, at its own time."""
    now = max(now, state.clock_ms or now)
    horizon = now + state.lead_ms
    events: list[Event] = []
    fresh: int | None = None  # index in asrun of an entry put on air by this very call
    for _ in range(2 * len(state.rundown.segments) + 4):
        due = _due(state)
        if due is None or due.at_ms > horizon:
            break
        if due.kind == "end":
            step = _end_show(state, due.at_ms, "auto", None)
        else:
            assert due.segment_id is not None
            step = _put_on_air(state, due.segment_id, due.at_ms, due.kind, None)
        if fresh is not None:
            step = _as_missed(step, fresh, due.kind)
            missed = state.asrun[fresh].segment_id
            # its take never reached the program: the skip replaces it in the as-run
            events = [e for e in events if not (e.kind == "take" and e.segment_id == missed)]
        state = step.state
        events.extend(step.events)
        fresh = len(state.asrun) - 1 if due.kind != "end" else None
    return Step(replace(state, clock_ms=now), tuple(events))


def _as_missed(step: Step, index: int, cause: str) -> Step:
    """A segment that went on air and off again within one advance never reached the
    program: turn its as-run entry into a skip, so the as-run log tells the truth."""
    entry = step.state.asrun[index]
    if not isinstance(entry, Aired):
        return step
    reason = "hard-start" if cause == "hard-start" and entry.end_ms == entry.start_ms else "missed"
    asrun = list(step.state.asrun)
    asrun[index] = Skipped(entry.segment_id, entry.start_ms, reason)  # type: ignore[arg-type]
    note = f"{entry.segment_id} was not aired: its time passed while the show was not running"
    notices = step.state.notices + ((note,) if reason == "missed" else ())
    events = (Event("skip", entry.start_ms, entry.segment_id, detail=reason), *step.events)
    skipped = step.state.skipped | {entry.segment_id}  # its time is over: never again
    new = replace(step.state, asrun=tuple(asrun), notices=notices, skipped=skipped)
    return Step(new, events)


def apply(state: ShowState, command: C.Command, now: int) -> Step:
    """Apply one command at `now` (after everything scheduled up to `now`)."""
    ticked = advance(state, now)
    state, now = ticked.state, max(now, ticked.state.clock_ms or now)
    step = _apply(state, command, now)
    return Step(step.state, ticked.events + step.events)


def _segment(state: ShowState, segment_id: str) -> Segment:
    try:
        return state.rundown.segment(segment_id)
    except KeyError:
        raise Refused(f"no segment {segment_id!r} in the rundown") from None


def _apply(state: ShowState, cmd: C.Command, now: int) -> Step:
    handler = _HANDLERS.get(type(cmd))
    if handler is None:
        raise Refused(f"unknown command {type(cmd).__name__}")
    return handler(state, cmd, now)


def _take(state: ShowState, cmd: C.Take, now: int) -> Step:
    by = cmd.by
    if cmd.expect is not None and cmd.expect != (state.on_air or ""):
        raise Refused(f"take refused: it expected {cmd.expect or 'nothing'!r} on air, but "
                      f"{state.on_air or 'nothing'!r} is (another take landed first)")
    if state.last_take_ms is not None and now - state.last_take_ms < state.min_take_interval_ms:
        gap = max(0, now - state.last_take_ms)
        raise Refused(f"take refused: {gap} ms after the last take (minimum "
                      f"{state.min_take_interval_ms} ms between takes)")
    if cmd.segment_id is not None:
        seg = _segment(state, cmd.segment_id)
        if seg.id == state.on_air:
            raise Refused(f"{seg.id!r} is already on air")
        return _put_on_air(state, seg.id, now, cmd.source, by)
    nxt = next_segment(state)
    if nxt is not None:
        return _put_on_air(state, nxt.id, now, cmd.source, by)
    if state.on_air is not None:
        return _end_show(state, now, cmd.source, by)
    raise Refused("nothing left to take")


def _set_next(state: ShowState, cmd: C.SetNext, now: int) -> Step:
    by = cmd.by
    if cmd.segment_id is None:
        return Step(replace(state, next_id=None), (Event("next", now, None, by=by),))
    seg = _segment(state, cmd.segment_id)
    if seg.id == state.on_air:
        raise Refused(f"{seg.id!r} is on air; it cannot be next")
    new = replace(state, next_id=seg.id, skipped=state.skipped - {seg.id})
    return Step(new, (Event("next", now, seg.id, by=by),))


def _back(state: ShowState, cmd: C.Back, now: int) -> Step:
    by = cmd.by
    if state.on_air is not None:
        index = state.rundown.index(state.on_air) - 1
    elif state.ended:
        index = len(state.rundown.segments) - 1
    else:
        index = -1
    if index < 0:
        raise Refused("there is no segment before this one")
    return _apply(state, C.SetNext(state.rundown.segments[index].id, by=by), now)


def _skip(state: ShowState, cmd: C.Skip, now: int) -> Step:
    by = cmd.by
    seg = _segment(state, cmd.segment_id) if cmd.segment_id else next_segment(state)
    if seg is None:
        raise Refused("nothing to skip")
    if seg.id == state.on_air:
        raise Refused(f"{seg.id!r} is on air: take the next segment instead")
    if cmd.skip and state.aired(seg.id) and seg.id not in upcoming(state):
        raise Refused(f"{seg.id!r} has aired already")
    if not cmd.skip:
        return Step(replace(state, skipped=state.skipped - {seg.id}),
                    (Event("unskip", now, seg.id, by=by),))
    new = replace(
        state,
        skipped=state.skipped | {seg.id},
        next_id=None if state.next_id == seg.id else state.next_id,
        asrun=(*state.asrun, Skipped(seg.id, now, "director", by)),
    )
    return Step(new, (Event("skip", now, seg.id, by=by, detail="director"),))


def _hold_or_extend(state: ShowState, cmd: C.Hold | C.Extend, now: int) -> Step:
    by = cmd.by
    if state.on_air is None:
        raise Refused("nothing is on air")
    if isinstance(cmd, C.Hold):
        return Step(replace(state, held=cmd.on),
                    (Event("hold", now, state.on_air, by=by, detail=str(cmd.on).lower()),))
    return Step(replace(state, extra_ms=state.extra_ms + cmd.ms),
                (Event("extend", now, state.on_air, by=by, detail=format_duration(cmd.ms)),))


def _panic(state: ShowState, cmd: C.Panic, now: int) -> Step:
    by = cmd.by
    if state.rundown.show.safe_scene is None:
        raise Refused("no safe_scene is set in the rundown's show header")
    return Step(replace(state, panic=True), (Event("panic", now, state.on_air, by=by),))


def _set_mode(state: ShowState, cmd: C.SetMode, now: int) -> Step:
    by = cmd.by
    if cmd.mode not in ("rehearsal", "live"):
        raise Refused(f"mode must be rehearsal or live, not {cmd.mode!r}")
    return Step(replace(state, mode=cmd.mode), (Event("mode", now, by=by, detail=cmd.mode),))


def _arm(state: ShowState, cmd: C.Arm, now: int) -> Step:
    by = cmd.by
    return Step(replace(state, armed=cmd.armed),
                (Event("arm", now, by=by, detail=str(cmd.armed).lower()),))


def _set_note(state: ShowState, cmd: C.SetNote, now: int) -> Step:
    by = cmd.by
    seg = _segment(state, cmd.segment_id)
    if len(cmd.text) > C.MAX_NOTE:
        raise Refused(f"a note is at most {C.MAX_NOTE} characters, not {len(cmd.text)}")
    text = cmd.text if cmd.text.strip() else None
    notes = tuple((sid, t) for sid, t in state.producer_notes if sid != seg.id)
    if text is not None:
        notes = (*notes, (seg.id, text))
    return Step(replace(state, producer_notes=notes),
                (Event("note", now, seg.id, by=by, detail=text),))


def _stage(state: ShowState, cmd: C.Message | C.Signal | C.ReadBack, now: int) -> Step:
    """The director's word to the hosts' presenter screens, and their read-back."""
    by = cmd.by
    if isinstance(cmd, C.Message):
        if len(cmd.text) > C.MAX_MESSAGE:
            raise Refused(f"a message is at most {C.MAX_MESSAGE} characters, not {len(cmd.text)}")
        text = cmd.text.strip()
        if not text:
            return Step(replace(state, message=None),
                        (Event("message", now, state.on_air, by=by),))
        seq = state.messages_sent + 1
        return Step(replace(state, message=StageMessage(seq, text, now, by), messages_sent=seq),
                    (Event("message", now, state.on_air, by=by, detail=text),))
    if isinstance(cmd, C.Signal):
        if cmd.cue is not None and state.on_air is None:
            raise Refused("nothing is on air: a signal is for the hosts of the segment on air")
        signal = None if cmd.cue is None else StageSignal(cmd.cue, state.on_air, now, by)
        return Step(replace(state, signal=signal),
                    (Event("signal", now, state.on_air, by=by, detail=cmd.cue),))
    message = state.message
    if message is None or message.id != cmd.message_id:
        raise Refused(f"message {cmd.message_id} is not the one shown")
    if message.read_ms is not None:
        raise Refused(f"message {cmd.message_id} was read back already")
    return Step(replace(state, message=replace(message, read_ms=now, read_by=by)),
                (Event("read", now, state.on_air, by=by, detail=str(message.id)),))


# one handler per command kind (a handler takes the command of its own type)
_HANDLERS: dict[type, Callable[[ShowState, Any, int], Step]] = {
    C.Take: _take,
    C.SetNext: _set_next,
    C.Back: _back,
    C.Skip: _skip,
    C.Hold: _hold_or_extend,
    C.Extend: _hold_or_extend,
    C.Panic: _panic,
    C.SetMode: _set_mode,
    C.Arm: _arm,
    C.SetNote: _set_note,
    C.Message: _stage,
    C.Signal: _stage,
    C.ReadBack: _stage,
}
