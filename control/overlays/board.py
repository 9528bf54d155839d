"""What every graphic shows, on two buses, with one revision number. Pure: no I/O, no clock.

The board is the overlay hub's state, in the spirit of NodeCG's replicants: the server owns
it; every change bumps the global revision `rev` and yields a delta message
`{"type": "delta", "rev": r, "prev": r - 1, ...}`; a page that sees `prev` differ from the
revision it holds has missed one and asks for a snapshot.

Two buses: `program` (what OBS airs) and `preview` (pages opened with `?preview=1`: the
director looks at a graphic before air; `play` without data takes the preview's data).

Two writers, applied in one task: the rundown's cues (`want`: the desired state of each
graphic, diffed so only graphics whose wanted state changed are touched, and a graphic the
director stopped by hand stays stopped until its cues change again) and the director's
manual verbs (`play`, `update`, `next`, `stop`, `preview`), which raise OverlayError with a
status and a reason on bad input and leave the board as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from control.show.desired import OverlayState

Bus = Literal["program", "preview"]
PROGRAM: Bus = "program"
PREVIEW: Bus = "preview"
BUSES: tuple[Bus, ...] = (PROGRAM, PREVIEW)
MAX_DELAY_MS = 60_000


class Templates(Protocol):
    def __contains__(self, name: object) -> bool: ...
    def names(self) -> list[str]: ...
    def steps(self, name: str) -> int: ...
    def check(self, name: str, data: Any, *, partial: bool = False) -> list[str]: ...
    def shift(self, name: str, data: Mapping[str, Any], shift_ms: int) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Graphic:
    """One graphic on one bus. `since_ms`: when its current play (or stop) began, on the
    controller's clock, so a page that joins late knows the animation is already over."""

    visible: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)
    step: int = 0
    since_ms: int = 0
    rev: int = 0  # the revision that last changed it

    def same(self, other: Graphic) -> bool:
        return (self.visible, self.step, self.since_ms) == (
            other.visible, other.step, other.since_ms) and _canon(self.data) == _canon(
            other.data)

    def to_json(self) -> dict[str, Any]:
        return {"visible": self.visible, "data": dict(self.data), "step": self.step,
                "since_ms": self.since_ms, "rev": self.rev}


HIDDEN = Graphic()


def _canon(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


class OverlayError(Exception):
    """A manual verb the board refuses: `status` for HTTP, `code` for programs, `reason`
    for people, `errors` each field that does not fit."""

    def __init__(self, status: int, code: str, reason: str,
                 errors: list[str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason
        self.errors = list(errors or ())


Message = dict[str, Any]


class Board:
    def __init__(self, templates: Templates, *, delay_ms: int = 0) -> None:
        self.templates = templates
        self.rev = 0
        self.delay_ms = _delay(delay_ms)
        self._buses: dict[Bus, dict[str, Graphic]] = {PROGRAM: {}, PREVIEW: {}}
        self._wanted: dict[str, OverlayState] = {}  # the cues' last wanted state, effective
        self.warnings: list[str] = []               # cue data that does not fit (drained)
        self._warned: set[str] = set()

    # -- reading

    def graphic(self, name: str, bus: Bus = PROGRAM) -> Graphic:
        return self._buses[bus].get(name, HIDDEN)

    def names(self) -> list[str]:
        """Every template, and every graphic a cue named even without a template."""
        return sorted(set(self.templates.names()) | set(self._buses[PROGRAM])
                      | set(self._buses[PREVIEW]))

    def settings(self) -> dict[str, Any]:
        return {"delay_ms": self.delay_ms}

    def snapshot(self, now: int | None = None) -> Message:
        """The whole board: what a page starts from, and resyncs from."""
        message: Message = {"type": "snapshot", "rev": self.rev, "settings": self.settings()}
        for bus in BUSES:
            message[bus] = {name: g.to_json() for name, g in sorted(self._buses[bus].items())}
        if now is not None:
            message["server_ms"] = now
        return message

    # -- writing

    def _set(self, bus: Bus, name: str, new: Graphic, now: int) -> list[Message]:
        old = self.graphic(name, bus)
        if old.same(new):
            return []
        self.rev += 1
        g = Graphic(new.visible, dict(new.data), new.step, new.since_ms, self.rev)
        self._buses[bus][name] = g
        return [{"type": "delta", "rev": self.rev, "prev": self.rev - 1, "bus": bus,
                 "graphic": name, "state": g.to_json(), "server_ms": now}]

    def set_delay(self, delay_ms: int, now: int) -> list[Message]:
        """The broadcast delay: countdowns reach zero this much early, so zero lands at
        the viewers' midnight."""
        delay_ms = _delay(delay_ms)
        if delay_ms == self.delay_ms:
            return []
        self.delay_ms = delay_ms
        self.rev += 1
        return [{"type": "settings", "rev": self.rev, "prev": self.rev - 1,
                 "settings": self.settings(), "server_ms": now}]

    def want(self, states: Iterable[OverlayState], now: int, *, shift_ms: int = 0,
             defaults: Mapping[str, Mapping[str, Any]] | None = None) -> list[Message]:
        """Apply the rundown's cues: `states` is `desired(state, now).overlays`. Only a
        graphic whose wanted state changed since the last call is touched; one the cues no
        longer mention (its segment went off air) is taken out if the cues had it visible.
        `shift_ms`: the rehearsal's time shift (date-time fields move with it);
        `defaults`: data a template gets where its cue gives none (up next: the rundown)."""
        defaults = defaults or {}
        new: dict[str, OverlayState] = {}
        for s in states:
            data = {**defaults.get(s.overlay, {}), **s.data}
            data = self.templates.shift(s.overlay, data, shift_ms)
            new[s.overlay] = OverlayState(s.overlay, s.visible, data, s.step, s.since_ms)
        out: list[Message] = []
        for name in sorted(set(new) | set(self._wanted)):
            old, cur = self._wanted.get(name), new.get(name)
            if cur is None:
                assert old is not None
                if old.visible:
                    g = self.graphic(name)
                    out += self._set(PROGRAM, name, Graphic(False, g.data, g.step, now), now)
                continue
            if old is not None and (old.visible, old.step, old.since_ms) == (
                    cur.visible, cur.step, cur.since_ms) and _canon(old.data) == _canon(cur.data):
                continue
            self._check_cue(name, cur)
            out += self._set(PROGRAM, name,
                             Graphic(cur.visible, cur.data, cur.step, cur.since_ms), now)
        self._wanted = new
        return out

    def _check_cue(self, name: str, cue: OverlayState) -> None:
        """Cue data was the rundown's to check (showctl validate); on air it plays anyway
        (text is always inserted as text), and the problem is reported once."""
        problems = self.templates.check(name, cue.data)
        if problems:
            text = f"cue data for {name} does not fit its template: {'; '.join(problems[:3])}"
            if text not in self._warned:
                self._warned.add(text)
                self.warnings.append(text)

    def _known(self, name: str) -> None:
        if name not in self.templates:
            raise OverlayError(404, "unknown_template", f"no overlay template {name!r} "
                               f"(templates: {', '.join(self.templates.names()) or 'none'})")

    def _checked(self, name: str, data: Mapping[str, Any]) -> dict[str, Any]:
        problems = self.templates.check(name, data)
        if problems:
            raise OverlayError(422, "invalid_data", f"{name}: {problems[0]}"
                               + (f" (and {len(problems) - 1} more)" if len(problems) > 1
                                  else ""), problems)
        return dict(data)

    def play(self, name: str, data: Mapping[str, Any] | None, now: int,
             bus: Bus = PROGRAM) -> list[Message]:
        """Show it from step 0 with `data`; without data, program takes what the preview
        shows (preview before air), else keeps its data."""
        self._known(name)
        if data is None:
            pv = self.graphic(name, PREVIEW)
            data = pv.data if bus == PROGRAM and pv.visible else self.graphic(name, bus).data
        data = self._checked(name, data)
        return self._set(bus, name, Graphic(True, data, 0, now), now)

    def preview(self, name: str, data: Mapping[str, Any] | None, now: int) -> list[Message]:
        """Show it on preview pages only; without data, what program has."""
        self._known(name)
        if data is None:
            data = self.graphic(name, PROGRAM).data
        return self.play(name, data, now, PREVIEW)

    def update(self, name: str, data: Mapping[str, Any] | None, now: int,
               bus: Bus = PROGRAM) -> list[Message]:
        """Merge fields into what it shows (a field set to null is removed); it stays as
        visible as it was, on the step it was."""
        self._known(name)
        if not data:
            raise OverlayError(400, "bad_field", "data: update needs the fields to change")
        cur = self.graphic(name, bus)
        merged = {k: v for k, v in {**cur.data, **data}.items() if v is not None}
        merged = self._checked(name, merged)
        return self._set(bus, name, Graphic(cur.visible, merged, cur.step, cur.since_ms), now)

    def next(self, name: str, now: int, bus: Bus = PROGRAM) -> list[Message]:
        """The template's next step (OGraf `playAction` with a step)."""
        self._known(name)
        cur = self.graphic(name, bus)
        if not cur.visible:
            raise OverlayError(409, "not_playing", f"{name} is not playing on {bus}: play it "
                               "first")
        steps = self.templates.steps(name)
        if cur.step + 1 >= steps:
            raise OverlayError(409, "last_step", f"{name} is on its last step "
                               f"({cur.step + 1} of {steps})")
        return self._set(bus, name, Graphic(True, cur.data, cur.step + 1, cur.since_ms), now)

    def stop(self, name: str, now: int, bus: Bus = PROGRAM) -> list[Message]:
        """Take it out (animated); its data stays for the next play. Stopping a graphic
        that is not visible changes nothing."""
        self._known(name)
        cur = self.graphic(name, bus)
        if not cur.visible:
            return []
        return self._set(bus, name, Graphic(False, cur.data, cur.step, now), now)


def _delay(delay_ms: int) -> int:
    if not isinstance(delay_ms, int) or isinstance(delay_ms, bool) \
            or not 0 <= delay_ms <= MAX_DELAY_MS:
        raise ValueError(f"overlays.delay must be between 0 and {MAX_DELAY_MS // 1000} s, "
                         f"got {delay_ms!r} ms")
    return delay_ms
