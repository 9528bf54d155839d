"""Cues and templates: what the rundown itself fills in for a cue that gives no data, and
the check `showctl validate` runs on every cue's data. Pure (the schemas are read once)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from control.show.engine import next_segment
from control.show.state import ShowState

from .schema import default_catalog

# templates whose cues may leave out fields the rundown fills in at run time (cue_defaults)
FILLED_BY_RUNDOWN = frozenset({"up-next"})


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def up_next(state: ShowState) -> dict[str, Any]:
    """The up-next graphic's data: the next segment's title and guests (empty: none)."""
    seg = next_segment(state)
    if seg is None:
        return {}
    data: dict[str, Any] = {"title": _clip(seg.title, 100)}
    if seg.title_zh:
        data["title_zh"] = _clip(seg.title_zh, 50)
    guests = []
    for guest_id in seg.guests:
        try:
            guests.append(state.rundown.guest(guest_id))
        except KeyError:
            continue
    if guests:
        data["guest"] = _clip(", ".join(g.name for g in guests), 80)
        if all(g.name_zh for g in guests):
            data["guest_zh"] = _clip("、".join(g.name_zh or "" for g in guests), 40)
    return data


def cue_defaults(state: ShowState) -> dict[str, dict[str, Any]]:
    """Per template, data a cue gets where it gives none."""
    return {"up-next": up_next(state)}


def check_cue_data(template: str, data: Mapping[str, Any], action: str = "play") -> list[str]:
    """What is wrong with a cue's data for `template` (empty: it fits), each as
    `field: reason`; an unknown template is one error naming the known ones. `action`: the
    cue's action; only `play` must give every required field (`update` merges into what is
    shown; up next gets the rundown's next segment where its cue gives nothing)."""
    partial = action != "play" or template in FILLED_BY_RUNDOWN
    return default_catalog().check(template, data, partial=partial)
