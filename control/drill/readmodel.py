"""Reading the controller's read model (`GET /api/state`, the state websocket) and journal:
JSON, so plain dicts, with the few names the drill relies on in one place.

Instants: the read model gives each as ISO 8601 text and, as it grows them, as `<name>_ms`
(epoch ms) beside it; `instant_ms` prefers the number and parses the text only when the
number is absent, so the drill reads both the older and the newer controller.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

ReadModel = dict[str, Any]  # one read model, as JSON
Record = dict[str, Any]  # one journal line


class GuestStatus(StrEnum):
    """A guest's `status` in the read model (the ones the drill waits for)."""

    INVITED = "invited"
    CONNECTING = "connecting"
    GREEN_ROOM = "green-room"
    READY = "ready"
    ON_AIR = "on-air"
    DISCONNECTED = "disconnected"


CONNECTED = frozenset({GuestStatus.GREEN_ROOM, GuestStatus.READY, GuestStatus.ON_AIR})
SHOWN_ALARMS = ("critical", "warning")  # alarm levels a director must see


def instant_ms(obj: Mapping[str, Any], name: str) -> int:
    """The instant `name` of a read-model object in epoch ms: `<name>_ms` when the read model
    has it, else its ISO text parsed. KeyError when it has neither, ValueError when it is
    null (a segment already over has no expected times)."""
    value = obj.get(f"{name}_ms")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value)
    text = obj[name]
    if not isinstance(text, str):
        raise ValueError(f"{name} is {text!r}, not an instant")
    return round(datetime.fromisoformat(text).timestamp() * 1000)


def maybe_instant_ms(obj: Mapping[str, Any], name: str) -> int | None:
    """`instant_ms`, or None where the read model gives no instant (null or absent)."""
    try:
        return instant_ms(obj, name)
    except (KeyError, ValueError):
        return None


def guest_view(state: ReadModel, guest: str) -> dict[str, Any]:
    """The read model's entry for `guest` ({} when it has none)."""
    return next((g for g in state.get("guests") or () if g["id"] == guest), {})


def guest_status(state: ReadModel, guest: str) -> str | None:
    return guest_view(state, guest).get("status")


def on_air_segment(state: ReadModel) -> dict[str, Any] | None:
    """The rundown entry of the segment on air (None before the show or when none is)."""
    on_air = state.get("on_air")
    if not on_air:
        return None
    return next((s for s in state["segments"] if s["id"] == on_air["id"]), None)


def is_hard_start(state: ReadModel, seg_id: str) -> bool:
    return any(s["id"] == seg_id and s["hard_start"] for s in state["segments"])


def segment_span(state: ReadModel, seg: Mapping[str, Any]) -> tuple[int, int] | None:
    """A segment's expected (start, end) in show ms, None when it has none (over, skipped);
    one that holds stays on air until the next hard start takes over."""
    start, end = maybe_instant_ms(seg, "expected_start"), maybe_instant_ms(seg, "expected_end")
    if start is None or end is None:
        return None
    if seg.get("then") == "hold":
        later = [h["target_ms"] for h in state["hard_starts"] if h["target_ms"] >= end]
        end = min(later) if later else end
    return start, end


def journal_events(journal: list[Record]) -> list[dict[str, Any]]:
    return [r["event"] for r in journal if r["type"] == "event"]


def journal_commands(journal: list[Record]) -> list[dict[str, Any]]:
    return [r["command"] for r in journal if r["type"] == "command"]
