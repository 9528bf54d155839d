"""The rundown's keys, once: the loader checks against them and `showctl schema` prints them.

Keeping the key lists and the JSON Schema in one table means an editor's completion and the
validator can never disagree about which keys exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import BUILTIN_LAYOUTS, CUE_ACTIONS

DURATION_PATTERN = r"^\s*((\d+(\.\d+)?(h|ms|m|s)\s*)+|\d+:[0-5]\d:[0-5]\d(\.\d{1,3})?)\s*$"
CLOCK_PATTERN = r"^\s*\d{1,2}:\d{2}(:\d{2}(\.\d{1,3})?)?\s*$"
DATETIME_PATTERN = r"^\s*\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d{1,3})?)?\s*$"
ID_PATTERN = r"^[a-z0-9-]+$"
MAX_SCRIPT = 20_000  # characters of a segment's prompter text: a long segment read aloud
TRANSITION_WORDS = {
    "cut": "Cut",
    "fade": "Fade",
    "swipe": "Swipe",
    "slide": "Slide",
    "stinger": "Stinger",
    "fade-to-color": "Fade to Color",
    "luma-wipe": "Luma Wipe",
}

_TEXT = {"type": "string"}
_DURATION = {"type": "string", "pattern": DURATION_PATTERN}
_TIME = {"type": "string", "anyOf": [{"pattern": CLOCK_PATTERN}, {"pattern": DATETIME_PATTERN}]}
_NAMES = {"anyOf": [{"type": "array", "items": _TEXT}, _TEXT]}


@dataclass(frozen=True, slots=True)
class Key:
    """One key of a mapping in the rundown: its JSON Schema and what it means."""

    name: str
    schema: dict[str, Any]
    doc: str
    required: bool = False


def _obj(keys: tuple[Key, ...]) -> dict[str, Any]:
    props = {k.name: {**k.schema, "description": k.doc} for k in keys}
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    required = [k.name for k in keys if k.required]
    if required:
        out["required"] = required
    return out


TRANSITION_KEYS = (
    Key("type", _TEXT, "Transition name as OBS knows it (Cut, Fade, Stinger, ...).", True),
    Key("duration", _DURATION, "Transition duration, e.g. 500ms."),
)
_TRANSITION = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*[a-z-]+(\s+\S+)?\s*$"},
        _obj(TRANSITION_KEYS),
    ]
}

SHOW_KEYS = (
    Key("title", _TEXT, "Title of the show.", True),
    Key("title_zh", _TEXT, "Chinese title."),
    Key("timezone", _TEXT, "IANA zone every local time is in, e.g. Asia/Shanghai.", True),
    Key("start", {"type": "string", "pattern": DATETIME_PATTERN}, "Planned on-air time.", True),
    Key("end", _TIME, "Hard out (optional)."),
    Key("safe_scene", _TEXT, "OBS scene that PANIC cuts to, and shown before the show."),
    Key("transition", _TRANSITION, "Default transition for segments that name none (cut)."),
)

GUEST_KEYS = (
    Key("name", _TEXT, "Name as shown on air.", True),
    Key("name_zh", _TEXT, "Chinese name, e.g. 朱定真."),
    Key("role", _TEXT, "Role or title shown under the name."),
    Key("role_zh", _TEXT, "Chinese role."),
)

CUE_KEYS = (
    Key("at", _DURATION, "Offset from the segment's start.", True),
    Key("overlay", _TEXT, "Graphics template, e.g. lower-third.", True),
    Key("for", _DURATION, "How long the graphic stays; default until the segment ends."),
    Key("action", {"enum": list(CUE_ACTIONS)}, "play (default), update, next or stop."),
    Key("data", {"type": "object"}, "Fields for the template."),
)

SEGMENT_KEYS = (
    Key("id", {"type": "string", "pattern": ID_PATTERN}, "Unique id, [a-z0-9-]+.", True),
    Key("title", _TEXT, "Title shown to the crew and on 'up next'.", True),
    Key("title_zh", _TEXT, "Chinese title."),
    Key("duration", _DURATION, "Planned duration: 90s, 1m30s, 500ms, 00:04:00, 1h.", True),
    Key("flex", {"type": "string"}, "Range the engine may use to hit the next hard start: 4m..8m."),
    Key("scene", _TEXT, "OBS scene on program during this segment.", True),
    Key("transition", _TRANSITION, "cut | fade [DURATION] | {type: NAME, duration: D}."),
    Key("show", _NAMES, "Scene items made visible when the segment goes on air."),
    Key("hide", _NAMES, "Scene items hidden when the segment goes on air."),
    Key("cues", {"type": "array", "items": _obj(CUE_KEYS)}, "Timed graphics inside the segment."),
    Key("notes", _TEXT, "Notes for the crew."),
    Key("then", {"enum": ["next", "hold"]}, "next: auto-advance at the end; hold (default): wait."),
    Key("at", _TIME, "Hard start: taken automatically at this local time (HH:MM:SS or full)."),
    Key("guests", _NAMES, "Guests on air in the program mix (ids from guests)."),
    Key("layout", {"type": "string", "examples": list(BUILTIN_LAYOUTS)}, "Program mix layout."),
    Key("script", {"type": "string", "maxLength": MAX_SCRIPT},
        "What the host reads: the prompter's text (multi-line: script: |)."),
    Key("script_zh", {"type": "string", "maxLength": MAX_SCRIPT}, "Chinese prompter text."),
    Key("warning", _DURATION,
        "Presenter view turns amber with this much time left (default: presenter.warning)."),
    Key("danger", _DURATION,
        "Presenter view turns red with this much time left (default: presenter.danger)."),
)

TOP_KEYS = (
    Key("show", _obj(SHOW_KEYS), "The show's header.", True),
    Key(
        "guests",
        {"type": "object", "additionalProperties": _obj(GUEST_KEYS),
         "propertyNames": {"pattern": ID_PATTERN}},
        "Remote guests by id.",
    ),
    Key("segments", {"type": "array", "items": _obj(SEGMENT_KEYS), "minItems": 1},
        "Segments in running order.", True),
)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a rundown file, for editors."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://showctl.invalid/rundown.schema.json",
        "title": "showctl rundown",
        **_obj(TOP_KEYS),
    }


def names(keys: tuple[Key, ...]) -> tuple[str, ...]:
    return tuple(k.name for k in keys)


def required(keys: tuple[Key, ...]) -> tuple[str, ...]:
    return tuple(k.name for k in keys if k.required)
