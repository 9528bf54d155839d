"""What people (and tools) can ask of the show. Each is a value the engine applies in order."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from .state import Mode, StageCue


@dataclass(frozen=True, slots=True)
class Command:
    by: str | None = field(default=None, kw_only=True)  # who asked: for the as-run log


@dataclass(frozen=True, slots=True)
class Take(Command):
    """Put the next segment (or `segment_id`) on air now. With nothing left: end the show."""

    segment_id: str | None = None
    source: str = "director"  # console / api / osc / keys: counted separately in metrics
    # the segment the presser saw on air ("" = none): a take pressed twice, or by two people,
    # lands once; the stale one is refused. None: no check. Left out of JSON when None.
    expect: str | None = field(default=None, metadata={"omit_none": True})


@dataclass(frozen=True, slots=True)
class SetNext(Command):
    """Choose what TAKE puts on air next (None: back to running order)."""

    segment_id: str | None


@dataclass(frozen=True, slots=True)
class Hold(Command):
    """Stop (or resume) the on-air segment's auto-advance: it stays until the next take."""

    on: bool = True


@dataclass(frozen=True, slots=True)
class Extend(Command):
    """Give the on-air segment more time (negative: less). Later flex re-plans around it."""

    ms: int


@dataclass(frozen=True, slots=True)
class Skip(Command):
    """Drop a segment from the running order (default: the next one); skip=False restores."""

    segment_id: str | None = None
    skip: bool = True


@dataclass(frozen=True, slots=True)
class Back(Command):
    """Set next to the segment before the one on air, to take it again."""


@dataclass(frozen=True, slots=True)
class Panic(Command):
    """Cut program to the safe scene at once. Timing runs on; the next TAKE leaves panic."""


@dataclass(frozen=True, slots=True)
class SetMode(Command):
    mode: Mode


@dataclass(frozen=True, slots=True)
class Arm(Command):
    """Arm or disarm hard starts (and the automatic show start)."""

    armed: bool = True


MAX_NOTE = 2000  # characters (code points) of a producer's note


@dataclass(frozen=True, slots=True)
class SetNote(Command):
    """The producer's note on a segment, for the director (empty or blank text clears it)."""

    segment_id: str
    text: str = field(metadata={"max_len": MAX_NOTE})


MAX_MESSAGE = 280  # characters of a message to the presenter screens: read from 3 m away


@dataclass(frozen=True, slots=True)
class Message(Command):
    """The director's message to the hosts' presenter screens (empty or blank text clears it)."""

    text: str = field(metadata={"max_len": MAX_MESSAGE})


@dataclass(frozen=True, slots=True)
class Signal(Command):
    """"Wrap up" or "stretch" on the presenter screens while this segment is on air
    (None clears it)."""

    cue: StageCue | None = None


@dataclass(frozen=True, slots=True)
class ReadBack(Command):
    """A presenter screen confirms the host has read message `message_id`."""

    message_id: int


KINDS: dict[str, type[Command]] = {
    "take": Take, "next": SetNext, "hold": Hold, "extend": Extend, "skip": Skip,
    "back": Back, "panic": Panic, "mode": SetMode, "arm": Arm, "note": SetNote,
    "message": Message, "signal": Signal, "read": ReadBack,
}
_KIND_OF = {cls: kind for kind, cls in KINDS.items()}


MAX_TEXT = 200  # ids, names: any longer text field says so in its metadata ("max_len")


class BadCommand(ValueError):
    """A command in JSON that does not fit; the message says which field and why."""


def to_json(cmd: Command) -> dict[str, Any]:
    """{"kind": "take", "segment_id": ..., "by": ...}: for the journal and the API."""
    out: dict[str, Any] = {"kind": _KIND_OF[type(cmd)]}
    for f in fields(cmd):
        value = getattr(cmd, f.name)
        if value is None and f.metadata.get("omit_none"):
            continue  # older journals and clients never had it
        out[f.name] = value
    return out


def from_json(data: Any) -> Command:
    """The inverse of to_json, checking every field's type (API bodies are untrusted)."""
    if not isinstance(data, dict):
        raise BadCommand("a command must be a JSON object")
    kind = data.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise BadCommand(f"unknown command kind {kind!r}; one of {', '.join(KINDS)}")
    args: dict[str, Any] = {}
    hints = get_type_hints(cls)
    for f in fields(cls):
        if f.name not in data:
            if f.default is MISSING:
                raise BadCommand(f"{kind}: missing field {f.name!r}")
            continue
        value = data[f.name]
        max_len = f.metadata.get("max_len", MAX_TEXT)
        if not _fits(value, hints[f.name], max_len):
            if isinstance(value, str) and len(value) > max_len:
                raise BadCommand(f"{kind}: field {f.name!r} is {len(value)} characters long; "
                                 f"at most {max_len}")
            raise BadCommand(f"{kind}: field {f.name!r} must be {_describe(hints[f.name])}, "
                             f"not {json_type(value)}")
        args[f.name] = value
    unknown = set(data) - {f.name for f in fields(cls)} - {"kind"}
    if unknown:
        raise BadCommand(f"{kind}: unknown field(s) {', '.join(sorted(unknown))}")
    return cls(**args)


def _fits(value: Any, hint: Any, max_len: int = MAX_TEXT) -> bool:
    options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return True
        if option is bool and isinstance(value, bool):
            return True
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return abs(value) < 10**12
        if option is str and isinstance(value, str):
            return len(value) <= max_len
        if get_origin(option) is Literal and value in get_args(option):
            return True
    return False


def _describe(hint: Any) -> str:
    options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    words = []
    for option in options:
        if get_origin(option) is Literal:
            words.append(" or ".join(repr(a) for a in get_args(option)))
        else:
            words.append({type(None): "null", bool: "true/false", int: "an integer",
                          str: "a string"}.get(option, str(option)))
    return " or ".join(words)


def json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", int: "a number", float: "a number"}.get(type(value), "a value")
