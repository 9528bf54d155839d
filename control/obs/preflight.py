"""Before the show: does OBS have every scene, item and transition the rundown names?

A take of a missing scene fails on air (status 600) with the audience watching; preflight
finds it hours earlier and points at the rundown line that names it. With ``provision=True``
it creates what is missing (empty scenes, text sources showing the item's name), which is
what a rehearsal on a fresh OBS needs.

Transitions are checked but never created (obs-websocket cannot): OBS names its built-in
ones in the UI language, so an OBS running in Chinese has no transition called "Cut".
Items inside groups are not looked into: the sync addresses items of the scene itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from control.obs.client import ObsClient
from control.obs.codes import RequestStatus
from control.obs.messages import Request
from control.show.model import Position, Rundown

Severity = Literal["error", "created"]
Kind = Literal["scene", "item", "transition"]
TEXT_KIND = "text_ft2_source_v2"
COLOR_KIND = "color_source_v3"  # where OBS has no FreeType text source


@dataclass(frozen=True, slots=True)
class Finding:
    """A scene or item the rundown names: missing in OBS, or created by provisioning."""

    severity: Severity
    kind: Kind
    name: str  # of the scene, item or transition
    scene: str | None  # the scene an item belongs in
    file: str
    line: int
    col: int
    message: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message}"


@dataclass(frozen=True, slots=True)
class _Need:
    scene: str
    item: str | None
    pos: Position
    shown: bool  # an item some segment shows (not only hides)

    @property
    def kind(self) -> Kind:
        return "scene" if self.item is None else "item"


def _needs(rundown: Rundown) -> list[_Need]:
    """Every (scene, item) the rundown names, with the first place that names it."""
    needs: dict[tuple[str, str | None], _Need] = {}

    def add(scene: str, item: str | None, pos: Position, shown: bool = False) -> None:
        key = (scene, item)
        old = needs.get(key)
        if old is None:
            needs[key] = _Need(scene, item, pos, shown)
        elif shown and not old.shown:
            needs[key] = _Need(scene, item, old.pos, True)

    for seg in rundown.segments:
        add(seg.scene, None, seg.pos("scene"))
        for item in seg.show_items:
            add(seg.scene, item, seg.pos("show"), True)
        for item in seg.hide_items:
            add(seg.scene, item, seg.pos("hide"))
    if rundown.show.safe_scene:
        add(rundown.show.safe_scene, None, rundown.show.pos("safe_scene"))
    return list(needs.values())


def _transitions(rundown: Rundown) -> dict[str, Position]:
    """Every transition a take may use, with the first place that names it."""
    found: dict[str, Position] = {}
    for seg in rundown.segments:
        if seg.transition is not None:
            found.setdefault(seg.transition.name, seg.pos("transition"))
        else:
            found.setdefault(rundown.show.transition.name, rundown.show.pos("transition"))
    return found


async def preflight(client: ObsClient, rundown: Rundown, *,
                    provision: bool = False) -> list[Finding]:
    """Check OBS against the rundown; [] means every scene, item and transition is there.

    Raises ``ObsConnectionError`` when OBS is not connected (there is nothing to check).
    With ``provision``, missing scenes and items are created and reported as "created";
    what cannot be created stays an error with OBS's reason.
    """
    needs = _needs(rundown)
    scene_list = await client.call("GetSceneList")
    scenes = {s["sceneName"] for s in scene_list.get("scenes", [])}
    wanted_scenes = list(dict.fromkeys(n.scene for n in needs))
    items = await _items(client, [s for s in wanted_scenes if s in scenes])

    missing = [n for n in needs if n.scene not in scenes
               or (n.item is not None and n.item not in items[n.scene])]
    transitions = await _missing_transitions(client, rundown)
    if not provision:
        return [_finding(rundown, n, "error", _missing_text(n, n.scene in scenes))
                for n in missing] + transitions

    inputs = {i["inputName"] for i in (await client.call("GetInputList")).get("inputs", [])}
    findings = []
    for need in missing:  # in rundown order: a scene comes before its items
        error = await _create(client, need, scenes, inputs)
        if error is None:
            findings.append(_finding(rundown, need, "created", _created_text(need)))
        else:
            findings.append(_finding(rundown, need, "error",
                                     f"{_missing_text(need, True)}; could not create it: {error}"))
    return findings + transitions


async def _missing_transitions(client: ObsClient, rundown: Rundown) -> list[Finding]:
    answer = await client.call("GetSceneTransitionList")
    have = {t["transitionName"] for t in answer.get("transitions", [])}
    return [
        Finding("error", "transition", name, None, rundown.source, pos.line, pos.col,
                f"transition {name!r} does not exist in OBS (it has: "
                f"{', '.join(sorted(have)) or 'none'}); add it in OBS's Scene Transitions")
        for name, pos in _transitions(rundown).items() if name not in have
    ]


async def _items(client: ObsClient, scenes: list[str]) -> dict[str, set[str]]:
    if not scenes:
        return {}
    results = await client.batch([Request("GetSceneItemList", {"sceneName": s})
                                  for s in scenes])
    return {scene: {i["sourceName"] for i in r.data.get("sceneItems", [])} if r.ok else set()
            for scene, r in zip(scenes, results, strict=False)}


async def _create(client: ObsClient, need: _Need, scenes: set[str],
                  inputs: set[str]) -> str | None:
    """Create the scene or item; None on success, else OBS's reason."""
    if need.item is None:
        results = await client.batch([Request("CreateScene", {"sceneName": need.scene})])
        if results[0].ok or results[0].status.code == RequestStatus.ResourceAlreadyExists:
            scenes.add(need.scene)
            return None
        return _reason(results[0].status.name, results[0].status.comment)
    if need.scene not in scenes:
        return f"scene {need.scene!r} is missing"
    if need.item in inputs or need.item in scenes:  # a source that exists: add it here
        request = Request("CreateSceneItem", {"sceneName": need.scene, "sourceName": need.item,
                                              "sceneItemEnabled": need.shown})
        result = (await client.batch([request]))[0]
        return None if result.ok else _reason(result.status.name, result.status.comment)
    for kind, settings in ((TEXT_KIND, {"text": need.item}),
                           (COLOR_KIND, {"width": 320, "height": 90})):
        request = Request("CreateInput", {"sceneName": need.scene, "inputName": need.item,
                                          "inputKind": kind, "inputSettings": settings,
                                          "sceneItemEnabled": need.shown})
        result = (await client.batch([request]))[0]
        if result.ok:
            inputs.add(need.item)
            return None
        if result.status.code != RequestStatus.InvalidInputKind:
            return _reason(result.status.name, result.status.comment)
    return "OBS has neither a text nor a colour source kind"


def _reason(name: str, comment: str | None) -> str:
    return f"{name}: {comment}" if comment else name


def _missing_text(need: _Need, scene_exists: bool) -> str:
    if need.item is None:
        return f"scene {need.scene!r} does not exist in OBS"
    if not scene_exists:
        return f"item {need.item!r} is not in OBS (its scene {need.scene!r} is missing)"
    return f"item {need.item!r} is not in OBS scene {need.scene!r}"


def _created_text(need: _Need) -> str:
    if need.item is None:
        return f"created scene {need.scene!r} in OBS"
    return f"created item {need.item!r} in OBS scene {need.scene!r}"


def _finding(rundown: Rundown, need: _Need, severity: Severity, message: str) -> Finding:
    return Finding(severity, need.kind, need.item or need.scene,
                   need.scene if need.item is not None else None, rundown.source,
                   need.pos.line, need.pos.col, message)


def format_findings(findings: Iterable[Finding], *, source: str | None = None) -> str:
    """Plain text for the CLI: one ``FILE:LINE:COL: SEVERITY: MESSAGE`` line per finding,
    then a summary line."""
    findings = list(findings)
    lines = [str(f) for f in findings]
    errors = sum(f.severity == "error" for f in findings)
    created = len(findings) - errors
    name = f" {source}" if source else ""
    if not findings:
        lines.append(f"preflight{name}: OBS has every scene, item and transition the rundown "
                     "names")
    else:
        parts = [f"{errors} missing" if errors else "", f"{created} created" if created else ""]
        lines.append(f"preflight{name}: " + ", ".join(p for p in parts if p))
    return "\n".join(lines)


def findings_json(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """For the API and ``--json``: each finding with its ``where``."""
    return [{"severity": f.severity, "kind": f.kind, "name": f.name, "scene": f.scene,
             "where": f.where, "message": f.message} for f in findings]
