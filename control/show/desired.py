"""Desired outputs: what OBS, the program mixer and the graphics should show now.

A pure function of (state, now). Adapters diff it against their device and send only the
difference, and apply it whole after a reconnect (desired state, not commands).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .engine import next_segment
from .model import Segment, Transition
from .state import Aired, ShowState


@dataclass(frozen=True, slots=True)
class OverlayState:
    """One graphic as the rundown's cues want it at this moment."""

    overlay: str
    visible: bool
    data: dict[str, Any] = field(default_factory=dict, hash=False)
    step: int = 0
    since_ms: int = 0  # when its current play (or stop) began, so pages can animate in time


@dataclass(frozen=True, slots=True)
class Desired:
    program_scene: str | None          # None: leave program as it is (nothing planned yet)
    transition: Transition | None      # into the program scene
    preview_scene: str | None          # next segment's scene, for studio mode
    items: tuple[tuple[str, str, bool], ...] = ()  # (scene, item, visible)
    guests: tuple[str, ...] = ()       # on air in the program mix, in layout order
    layout: str | None = None
    overlays: tuple[OverlayState, ...] = ()
    panic: bool = False


def _last_aired(state: ShowState) -> Segment | None:
    ids = {seg.id for seg in state.rundown.segments}
    for entry in reversed(state.asrun):
        # (a reloaded rundown may have dropped a segment that aired: the one before it then)
        if isinstance(entry, Aired) and entry.segment_id in ids:
            return state.rundown.segment(entry.segment_id)
    return None


def desired(state: ShowState, now: int) -> Desired:
    """What the devices should show now. Never black: after the last segment, its scene stays."""
    rundown = state.rundown
    seg = rundown.segment(state.on_air) if state.on_air else _last_aired(state)
    nxt = next_segment(state)
    preview = nxt.scene if nxt else None
    if state.panic:
        return Desired(rundown.show.safe_scene, Transition("Cut"), preview, panic=True)
    if seg is None:
        return Desired(rundown.show.safe_scene, None, preview)
    items = tuple((seg.scene, name, True) for name in seg.show_items) + tuple(
        (seg.scene, name, False) for name in seg.hide_items)
    overlays: tuple[OverlayState, ...] = ()
    if state.on_air is not None and state.since_ms is not None:
        overlays = cue_states(seg, state.since_ms, now)
    return Desired(
        program_scene=seg.scene,
        transition=rundown.transition_into(seg),
        preview_scene=preview,
        items=items,
        guests=seg.guests if state.on_air else (),
        layout=(seg.layout or _default_layout(len(seg.guests))) if seg.guests else None,
        overlays=overlays,
    )


def _default_layout(count: int) -> str:
    return {1: "solo", 2: "two-up"}.get(count, "grid")


def cue_states(seg: Segment, since_ms: int, now: int) -> tuple[OverlayState, ...]:
    """Fold the segment's cues up to `now` into the state of each graphic they touch.
    A cue's graphic leaves after `for`, or when the segment goes off air."""
    elapsed = now - since_ms
    states: dict[str, OverlayState] = {}
    until: dict[str, int | None] = {}
    for cue in seg.cues:
        if cue.at_ms > elapsed:
            break
        start = since_ms + cue.at_ms
        cur = states.get(cue.overlay, OverlayState(cue.overlay, False))
        if cue.action == "play":
            cur = OverlayState(cue.overlay, True, dict(cue.data), 0, start)
            until[cue.overlay] = None if cue.for_ms is None else start + cue.for_ms
        elif cue.action == "update":
            cur = OverlayState(cue.overlay, cur.visible, {**cur.data, **cue.data}, cur.step,
                               cur.since_ms)
        elif cue.action == "next":
            cur = OverlayState(cue.overlay, cur.visible, cur.data, cur.step + 1, cur.since_ms)
        else:  # stop
            cur = OverlayState(cue.overlay, False, cur.data, cur.step, start)
            until[cue.overlay] = None
        states[cue.overlay] = cur
    for name, end in until.items():
        if end is not None and now >= end:
            cur = states[name]
            states[name] = OverlayState(name, False, cur.data, cur.step, end)
    return tuple(states[k] for k in sorted(states))


def cue_boundaries(seg: Segment, since_ms: int) -> list[int]:
    """Times at which the segment's graphics change, so the runner can wake exactly then."""
    times = []
    for cue in seg.cues:
        times.append(since_ms + cue.at_ms)
        if cue.for_ms is not None:
            times.append(since_ms + cue.at_ms + cue.for_ms)
    return sorted(times)
