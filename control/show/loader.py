"""YAML text -> Rundown, with every problem reported at its line and column.

PyYAML's composer gives nodes with marks; we walk the node tree ourselves instead of
constructing Python objects, so that (a) every value keeps its position and (b) YAML 1.1's
surprises never reach the show: `23:59:50` is a time, not the sexagesimal integer 86390,
and `no` is a word, not False. Values are read from the scalar text as the director typed it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import fields as F
from .checks import check_rundown
from .diagnostics import Collector, Diagnostic, RundownError, did_you_mean
from .durations import DurationError, format_duration, parse_duration
from .localtime import LocalTimeError, parse_datetime, resolve_time, zone
from .model import (
    BUILTIN_LAYOUTS,
    CUE_ACTIONS,
    Cue,
    Flex,
    Guest,
    Position,
    Rundown,
    Segment,
    ShowInfo,
    Transition,
)

_ID_RE = re.compile(F.ID_PATTERN)
_NULL_TAG = "tag:yaml.org,2002:null"
_MAX_DATA_NODES = 2000  # cue data is small; this bounds alias bombs ("billion laughs")
_MAX_DATA_DEPTH = 16


@dataclass(frozen=True, slots=True)
class Loaded:
    """A rundown that can be run, and the warnings a director should still read."""

    rundown: Rundown
    warnings: tuple[Diagnostic, ...]


# (template, data, action) -> what is wrong with a cue's data, each as text (empty: it fits)
CueCheck = Callable[[str, Mapping[str, Any], str], list[str]]


def load_rundown(text: str, file: str = "<rundown>",
                 layouts: tuple[str, ...] = BUILTIN_LAYOUTS, *,
                 check_cue: CueCheck | None = None) -> Loaded:
    """Parse and validate. Raises RundownError listing every error (and the warnings).

    `check_cue`: the graphics templates' check of a cue's data (the wiring passes it in:
    the core knows no templates). The CLI, startup and `POST /api/reload` all pass it, so
    what `showctl validate` refuses the running show refuses too (`control.wiring.rundown`);
    a journal's replay does not (what was accepted is replayed as it was)."""
    out = Collector(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        out.error(where, f"YAML syntax: {exc.problem or exc.context or 'invalid'}")
        raise RundownError(out.sorted()) from None
    except (yaml.YAMLError, RecursionError) as exc:
        out.error(Position(1, 1), f"YAML syntax: {exc.__class__.__name__}: {exc}"[:300])
        raise RundownError(out.sorted()) from None
    bad = _lone_surrogate(root)
    if bad is not None:  # "\\udc80" in a quoted string: no text a console can be sent
        out.error(_pos(bad), "not valid Unicode: a lone surrogate (an escape such as "
                  "\\udc80 without its pair)")
        raise RundownError(out.sorted())
    rundown = _Reader(out, layouts).rundown(root, file)
    if rundown is not None:
        # with errors elsewhere, still check what can be: hard starts' order and range
        check_rundown(rundown, out, complete=not out.has_errors)
        if check_cue is not None:
            _check_cues(rundown, out, check_cue)
    if out.has_errors or rundown is None:
        raise RundownError(out.sorted())
    return Loaded(rundown, tuple(out.sorted()))


def _check_cues(rundown: Rundown, out: Collector, check_cue: CueCheck) -> None:
    for seg in rundown.segments:
        for cue in seg.cues:
            for problem in check_cue(cue.overlay, cue.data, cue.action):
                out.error(cue.where, f"segment {seg.id!r}: cue {cue.overlay}: {problem}")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(root: Node | None) -> Node | None:
    """The first scalar (key or value) holding a lone surrogate; each node once (aliases)."""
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            if _SURROGATE.search(node.value):
                return node
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack.extend((value, key))
    return None


def _pos(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _child(node: Node, key: str) -> Node | None:
    """The value under `key` of a mapping node, without any checks (None if absent)."""
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return v
    return None


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


class _Reader:
    """Walks the node tree once; every check appends to the collector and carries on."""

    def __init__(self, out: Collector, layouts: tuple[str, ...]):
        self.out = out
        self.layouts = layouts

    # -- generic helpers ---------------------------------------------------------------

    def mapping(self, node: Node, keys: tuple[F.Key, ...], what: str) -> dict[str, Node] | None:
        """Keys of a mapping checked against the spec: unknown, duplicate, missing."""
        if not isinstance(node, MappingNode):
            self.out.error(_pos(node), f"{what} must be a mapping of keys to values")
            return None
        known = F.names(keys)
        found: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.out.error(_pos(key_node), f"{what}: a key must be a plain word")
                continue
            key = key_node.value
            if key in found:
                self.out.error(_pos(key_node), f"{what}: key {key!r} appears twice")
            elif key not in known:
                self.out.error(
                    _pos(key_node),
                    f"{what}: unknown key {key!r}{did_you_mean(key, known)}",
                )
            else:
                found[key] = value_node
        for key in F.required(keys):
            if key not in found or _is_null(found[key]):
                self.out.error(_pos(node), f"{what}: missing {key!r}")
        return found

    def text(self, node: Node | None, what: str) -> str | None:
        if node is None or _is_null(node):
            return None
        if not isinstance(node, ScalarNode):
            self.out.error(_pos(node), f"{what} must be text, not a {_kind(node)}")
            return None
        value = node.value.strip()
        if not value:
            self.out.error(_pos(node), f"{what} is empty")
            return None
        return value

    def duration(self, node: Node | None, what: str, positive: bool = True) -> int | None:
        text = self.text(node, what)
        if text is None or node is None:
            return None
        try:
            ms = parse_duration(text)
        except DurationError as exc:
            self.out.error(_pos(node), f"{what}: {exc}")
            return None
        if positive and ms <= 0:
            self.out.error(_pos(node), f"{what} must be positive, got {text!r}")
            return None
        return ms

    def names(self, node: Node | None, what: str) -> tuple[str, ...]:
        """A list of names; a single name is accepted as a list of one."""
        if node is None or _is_null(node):
            return ()
        if isinstance(node, ScalarNode):
            one = self.text(node, what)
            return (one,) if one else ()
        if not isinstance(node, SequenceNode):
            self.out.error(_pos(node), f"{what} must be a list of names")
            return ()
        items = (self.text(item, f"{what} item") for item in node.value)
        return tuple(item for item in items if item)

    def choice(self, node: Node | None, what: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(node, what)
        if value is None or node is None:
            return None
        if value not in choices:
            self.out.error(
                _pos(node),
                f"{what}: {value!r} is not one of {', '.join(choices)}"
                f"{did_you_mean(value, choices)}",
            )
            return None
        return value

    # -- the document -------------------------------------------------------------------

    def rundown(self, root: Node | None, file: str) -> Rundown | None:
        if root is None:
            self.out.error(Position(1, 1), "the rundown is empty")
            return None
        top = self.mapping(root, F.TOP_KEYS, "rundown")
        if top is None:
            return None
        show = self.show(top["show"]) if "show" in top else None
        guests = self.guests(top["guests"]) if "guests" in top else ()
        segments = self.segments(top.get("segments"), show, {g.id for g in guests})
        if show is None or not segments:
            return None
        return Rundown(show=show, segments=segments, guests=guests, source=file)

    def show(self, node: Node) -> ShowInfo | None:
        keys = self.mapping(node, F.SHOW_KEYS, "show")
        if keys is None:
            return None
        title = self.text(keys.get("title"), "show.title")
        tz_name = self.text(keys.get("timezone"), "show.timezone")
        tz = None
        if tz_name is not None:
            try:
                tz = zone(tz_name)
            except LocalTimeError as exc:
                self.out.error(_pos(keys["timezone"]), f"show.timezone: {exc}")
        start = end = None
        start_text = self.text(keys.get("start"), "show.start")
        if tz is not None and start_text is not None:
            try:
                start, note = parse_datetime(start_text, tz)
                if note:
                    self.out.warning(_pos(keys["start"]), f"show.start: {note}")
            except LocalTimeError as exc:
                self.out.error(_pos(keys["start"]), f"show.start: {exc}")
        end_text = self.text(keys.get("end"), "show.end")
        if tz is not None and start is not None and end_text is not None:
            try:
                end, note = resolve_time(end_text, tz, start)
                if note:
                    self.out.warning(_pos(keys["end"]), f"show.end: {note}")
                if end <= start:
                    self.out.error(_pos(keys["end"]), "show.end must be after show.start")
            except LocalTimeError as exc:
                self.out.error(_pos(keys["end"]), f"show.end: {exc}")
        transition = self.transition(keys.get("transition"), "show.transition")
        if title is None or tz is None or start is None:
            return None
        return ShowInfo(
            title=title,
            title_zh=self.text(keys.get("title_zh"), "show.title_zh"),
            timezone=tz.key,
            start_ms=start,
            end_ms=end,
            safe_scene=self.text(keys.get("safe_scene"), "show.safe_scene"),
            transition=transition or Transition("Cut"),
            positions={k: _pos(v) for k, v in keys.items()},
        )

    def guests(self, node: Node) -> tuple[Guest, ...]:
        if _is_null(node):
            return ()
        if not isinstance(node, MappingNode):
            self.out.error(_pos(node), "guests must be a mapping of guest ids to guests")
            return ()
        out: list[Guest] = []
        seen: set[str] = set()
        for key_node, value_node in node.value:
            gid = self.text(key_node, "guest id")
            if gid is None:
                continue
            if not _ID_RE.match(gid):
                self.out.error(_pos(key_node), f"guest id {gid!r} must match [a-z0-9-]+")
                continue
            if gid in seen:
                self.out.error(_pos(key_node), f"guest {gid!r} appears twice")
                continue
            seen.add(gid)
            keys = self.mapping(value_node, F.GUEST_KEYS, f"guest {gid!r}")
            if keys is None:
                continue
            name = self.text(keys.get("name"), f"guest {gid!r} name")
            if name is None:
                continue
            out.append(Guest(
                id=gid,
                name=name,
                name_zh=self.text(keys.get("name_zh"), f"guest {gid!r} name_zh"),
                role=self.text(keys.get("role"), f"guest {gid!r} role"),
                role_zh=self.text(keys.get("role_zh"), f"guest {gid!r} role_zh"),
                where=_pos(key_node),
            ))
        return tuple(out)

    def segments(self, node: Node | None, show: ShowInfo | None,
                 guest_ids: set[str]) -> tuple[Segment, ...]:
        if node is None:
            return ()
        if not isinstance(node, SequenceNode) or not node.value:
            self.out.error(_pos(node), "segments must be a non-empty list")
            return ()
        out: list[Segment] = []
        first_seen: dict[str, Position] = {}
        for item in node.value:
            id_node = _child(item, "id")
            sid = id_node.value if isinstance(id_node, ScalarNode) else None
            if sid is not None and sid in first_seen:
                self.out.error(_pos(id_node), f"duplicate segment id {sid!r} "
                               f"(first on line {first_seen[sid].line})")
            elif sid is not None:
                first_seen[sid] = _pos(id_node)
            seg = self.segment(item, show, guest_ids)
            if seg is not None:
                out.append(seg)
        return tuple(out)

    def segment(self, node: Node, show: ShowInfo | None, guest_ids: set[str]) -> Segment | None:
        id_node = _child(node, "id")
        named = isinstance(id_node, ScalarNode) and _ID_RE.match(id_node.value)
        what = f"segment {id_node.value!r}" if named and id_node else "segment"
        keys = self.mapping(node, F.SEGMENT_KEYS, what)
        if keys is None:
            return None
        sid = self.text(keys.get("id"), "segment id")
        if sid is not None and not _ID_RE.match(sid):
            self.out.error(_pos(keys["id"]), f"segment id {sid!r} must match [a-z0-9-]+")
            sid = None
        title = self.text(keys.get("title"), f"{what} title")
        duration = self.duration(keys.get("duration"), f"{what} duration")
        scene = self.text(keys.get("scene"), f"{what} scene")
        flex = self.flex(keys.get("flex"), duration, what)
        then = self.choice(keys.get("then"), f"{what} then", ("next", "hold")) or "hold"
        at_ms = None
        at_node = keys.get("at")
        at_text = self.text(at_node, f"{what} at")
        if at_text is not None and at_node is not None and show is not None:
            try:
                at_ms, note = resolve_time(at_text, zone(show.timezone), show.start_ms)
                if note:
                    self.out.warning(_pos(at_node), f"{what} at: {note}")
            except LocalTimeError as exc:
                self.out.error(_pos(at_node), f"{what} at: {exc}")
        seg_guests = self.names(keys.get("guests"), f"{what} guests")
        for i, gid in enumerate(seg_guests):
            if gid not in guest_ids:
                gnode = keys["guests"]
                where = _pos(gnode.value[i]) if isinstance(gnode, SequenceNode) else _pos(gnode)
                self.out.error(where, f"{what}: guest {gid!r} is not in guests"
                               f"{did_you_mean(gid, guest_ids)}")
        layout = self.choice(keys.get("layout"), f"{what} layout", self.layouts)
        cues = self.cues(keys.get("cues"), what, duration, flex)
        transition = self.transition(keys.get("transition"), f"{what} transition")
        warning, danger = self.thresholds(keys, what, duration)
        if sid is None or title is None or duration is None or scene is None:
            return None
        return Segment(
            id=sid,
            title=title,
            title_zh=self.text(keys.get("title_zh"), f"{what} title_zh"),
            duration_ms=duration,
            scene=scene,
            transition=transition,
            show_items=self.names(keys.get("show"), f"{what} show"),
            hide_items=self.names(keys.get("hide"), f"{what} hide"),
            cues=cues,
            notes=self.text(keys.get("notes"), f"{what} notes"),
            then=then,  # type: ignore[arg-type]
            at_ms=at_ms,
            flex=flex,
            guests=seg_guests,
            layout=layout,
            script=self.script(keys.get("script"), f"{what} script"),
            script_zh=self.script(keys.get("script_zh"), f"{what} script_zh"),
            warning_ms=warning,
            danger_ms=danger,
            where=_pos(node),
            positions={k: _pos(v) for k, v in keys.items()},
        )

    def script(self, node: Node | None, what: str) -> str | None:
        """Prompter text: any number of lines (`script: |`), trailing spaces off each."""
        text = self.text(node, what)
        if text is None or node is None:
            return None
        if len(text) > F.MAX_SCRIPT:
            self.out.error(_pos(node), f"{what} is {len(text)} characters long; at most "
                           f"{F.MAX_SCRIPT}")
            return None
        return "\n".join(line.rstrip() for line in text.splitlines())

    def thresholds(self, keys: dict[str, Node], what: str,
                   duration: int | None) -> tuple[int | None, int | None]:
        """The presenter view's amber and red points (time left); red comes after amber."""
        warning = self.duration(keys.get("warning"), f"{what} warning")
        danger = self.duration(keys.get("danger"), f"{what} danger")
        if warning is not None and danger is not None and danger > warning:
            self.out.error(_pos(keys["danger"]), f"{what} danger ({format_duration(danger)} "
                           f"left) must come after warning ({format_duration(warning)} left): "
                           "danger <= warning")
            return None, None
        for key, ms in (("warning", warning), ("danger", danger)):
            if ms is not None and duration is not None and ms >= duration:
                self.out.warning(_pos(keys[key]), f"{what} {key} {format_duration(ms)} is not "
                                 f"less than its duration: it shows from the start")
        return warning, danger

    def flex(self, node: Node | None, duration: int | None, what: str) -> Flex | None:
        text = self.text(node, f"{what} flex")
        if text is None or node is None:
            return None
        lo_text, sep, hi_text = text.partition("..")
        if not sep:
            self.out.error(_pos(node), f"{what} flex: write a range MIN..MAX, e.g. 4m..8m")
            return None
        try:
            lo, hi = parse_duration(lo_text), parse_duration(hi_text)
        except DurationError as exc:
            self.out.error(_pos(node), f"{what} flex: {exc}")
            return None
        if lo <= 0 or hi < lo:
            self.out.error(_pos(node), f"{what} flex: need 0 < MIN <= MAX, got {text!r}")
            return None
        if duration is not None and not lo <= duration <= hi:
            self.out.error(
                _pos(node),
                f"{what} flex {text} does not contain its duration {format_duration(duration)}",
            )
            return None
        return Flex(lo, hi)

    def transition(self, node: Node | None, what: str) -> Transition | None:
        if node is None or _is_null(node):
            return None
        if isinstance(node, MappingNode):
            keys = self.mapping(node, F.TRANSITION_KEYS, what)
            if keys is None:
                return None
            name = self.text(keys.get("type"), f"{what} type")
            ms = self.duration(keys.get("duration"), f"{what} duration")
            if name is None:
                return None
            return Transition(F.TRANSITION_WORDS.get(name, name), ms)
        text = self.text(node, what)
        if text is None:
            return None
        word, _, rest = text.partition(" ")
        if word not in F.TRANSITION_WORDS:
            self.out.error(
                _pos(node),
                f"{what}: unknown transition {word!r}{did_you_mean(word, F.TRANSITION_WORDS)};"
                " write cut, fade [DURATION], or {type: NAME, duration: D} for any OBS transition",
            )
            return None
        ms = None
        if rest.strip():
            try:
                ms = parse_duration(rest)
            except DurationError as exc:
                self.out.error(_pos(node), f"{what}: {exc}")
                return None
            if word == "cut":
                self.out.warning(_pos(node), f"{what}: a cut has no duration; ignored")
                ms = None
        return Transition(F.TRANSITION_WORDS[word], ms)

    def cues(self, node: Node | None, what: str, duration: int | None,
             flex: Flex | None) -> tuple[Cue, ...]:
        if node is None or _is_null(node):
            return ()
        if not isinstance(node, SequenceNode):
            self.out.error(_pos(node), f"{what} cues must be a list")
            return ()
        longest = flex.max_ms if flex else duration
        shortest = flex.min_ms if flex else duration
        out = []
        for item in node.value:
            keys = self.mapping(item, F.CUE_KEYS, f"{what} cue")
            if keys is None:
                continue
            at = self.duration(keys.get("at"), f"{what} cue at", positive=False)
            overlay = self.text(keys.get("overlay"), f"{what} cue overlay")
            for_ms = self.duration(keys.get("for"), f"{what} cue for")
            action = self.choice(keys.get("action"), f"{what} cue action", CUE_ACTIONS) or "play"
            data = self.data(keys.get("data"), f"{what} cue data")
            if at is None or overlay is None:
                continue
            at_where = _pos(keys["at"])
            if at < 0 or (longest is not None and at >= longest):
                self.out.error(at_where, f"{what}: cue at {format_duration(at)} lies outside "
                               f"the segment (0..{format_duration(longest or 0)})")
                continue
            if shortest is not None and at >= shortest:
                self.out.warning(at_where, f"{what}: cue at {format_duration(at)} does not fire "
                                 f"if flex shortens the segment to {format_duration(shortest)}")
            out.append(Cue(at, overlay, for_ms, action, data, where=_pos(item)))
        return tuple(sorted(out, key=lambda c: c.at_ms))

    def data(self, node: Node | None, what: str) -> dict[str, Any]:
        if node is None or _is_null(node):
            return {}
        if not isinstance(node, MappingNode):
            self.out.error(_pos(node), f"{what} must be a mapping of fields")
            return {}
        budget = [_MAX_DATA_NODES]
        try:
            value = _plain(node, budget, 0)
        except _TooBig:
            self.out.error(_pos(node), f"{what} is too large or too deeply nested")
            return {}
        for key_node, value_node in node.value:
            if node.flow_style and _is_null(value_node) and not value_node.value:
                self.out.warning(_pos(key_node), f"{what}: {key_node.value!r} has no value; "
                                 "a comma inside {...} starts a new field: quote text with commas")
        return value if isinstance(value, dict) else {}


class _TooBig(Exception):
    pass


_INT_RE = re.compile(r"^[-+]?\d+$")
_FLOAT_RE = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


def _plain(node: Node, budget: list[int], depth: int) -> Any:
    """JSON-like value of a node, bounded in size. Only unsurprising scalars become numbers
    or booleans (42, 1.5, true, false, null): `23:59` and `no` stay text in template data."""
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DATA_DEPTH:
        raise _TooBig
    if isinstance(node, MappingNode):
        return {str(_plain(k, budget, depth + 1)): _plain(v, budget, depth + 1)
                for k, v in node.value}
    if isinstance(node, SequenceNode):
        return [_plain(v, budget, depth + 1) for v in node.value]
    text = str(node.value)
    if getattr(node, "style", None):  # quoted: the director meant text
        return text
    if _INT_RE.match(text) and len(text) <= 18:
        return int(text)
    if _FLOAT_RE.match(text) and len(text) <= 32 and math.isfinite(float(text)):
        return float(text)
    return {"true": True, "false": False, "null": None, "~": None, "": None}.get(text, text)


def _kind(node: Node) -> str:
    return {MappingNode: "mapping", SequenceNode: "list"}.get(type(node), "value")
