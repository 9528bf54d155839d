"""Before the show: does OBS have every scene, item and transition the rundown names?

A take of a missing scene fails on air (status 600) with the audience watching; preflight
finds it hours earlier and points at the rundown line that names it. With ``provision=True``
it creates what is missing (empty scenes, text sources showing the item's name), which is
what a rehearsal on a fresh OBS needs.

Transitions are checked but never created (obs-websocket cannot): OBS names its built-in
ones in the UI language, so an OBS running in Chinese has no transition called "Cut".
Items inside groups are not looked into: the sync addresses items of the scene itself.

Graphics (``overlay_urls``: {template: the page's program URL}, from the controller's
settings): a scene "Graphics" holding one 1920x1080 browser source per template, and that
scene as the top item of every scene a segment puts on program, so whatever the director
plays is on air whichever scene is up. Official OBS builds have the browser source
(``browser_source``, obs-browser); Debian's obs-studio does not: then one warning says so
and lists the URLs, and the other checks go on. What provisioning would send is planned by a
pure function (``plan_graphics``) from what OBS has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from control.obs.client import ObsClient
from control.obs.codes import RequestStatus
from control.obs.messages import Request
from control.show.model import NOWHERE, Position, Rundown

Severity = Literal["error", "created", "warning"]
Kind = Literal["scene", "item", "transition", "graphics", "feed"]
TEXT_KIND = "text_ft2_source_v2"
COLOR_KIND = "color_source_v3"  # where OBS has no FreeType text source
BROWSER_KIND = "browser_source"  # obs-browser: in official OBS builds, not in Debian's
GRAPHICS_SCENE = "Graphics"
GRAPHICS_WIDTH, GRAPHICS_HEIGHT = 1920, 1080
FEED_SOURCE = "Program Feed"  # the mixer's MPEG-TS (control.guests.feed) as OBS plays it
FEED_KIND = "ffmpeg_source"
NO_BROWSER = ("this OBS has no browser source (Debian's build): load the overlay URLs in an "
              "official OBS build or add them by hand")


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
    details: tuple[str, ...] = ()  # more lines (the overlay URLs), printed indented

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def __str__(self) -> str:
        return "\n".join([f"{self.where}: {self.severity}: {self.message}",
                          *(f"    {line}" for line in self.details)])


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


async def preflight(client: ObsClient, rundown: Rundown, *, provision: bool = False,
                    overlay_urls: Mapping[str, str] | None = None,
                    feed_url: str | None = None) -> list[Finding]:
    """Check OBS against the rundown; [] means every scene, item and transition is there.

    Raises ``ObsConnectionError`` when OBS is not connected (there is nothing to check).
    With ``provision``, missing scenes and items are created and reported as "created";
    what cannot be created stays an error with OBS's reason.
    ``overlay_urls`` ({template: program page URL}): check (and provision) the graphics'
    browser sources too; an OBS without the browser source is one warning, not an error.
    ``feed_url`` (``feed_input_url``: what OBS opens for the mixer's feed): check (and
    provision) the "Program Feed" media source in every scene a segment with guests uses.
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
                for n in missing] + transitions + await _graphics(client, rundown, overlay_urls,
                                                                   provision=False) \
            + await _feed(client, rundown, feed_url, provision=False)

    inputs = {i["inputName"] for i in (await client.call("GetInputList")).get("inputs", [])}
    findings = []
    for need in missing:  # in rundown order: a scene comes before its items
        error = await _create(client, need, scenes, inputs)
        if error is None:
            findings.append(_finding(rundown, need, "created", _created_text(need)))
        else:
            findings.append(_finding(rundown, need, "error",
                                     f"{_missing_text(need, True)}; could not create it: {error}"))
    # graphics last: the Graphics item goes on top of what the scenes hold (the rundown's
    # items and the program feed), so nothing created here covers the graphics
    feed = await _feed(client, rundown, feed_url, provision=True)
    graphics = await _graphics(client, rundown, overlay_urls, provision=True)
    return findings + transitions + graphics + feed


# -- the program feed: the guests' mix as an OBS media source

FEED_FFMPEG_OPTIONS = "fflags=+nobuffer probesize=32 analyzeduration=0"
SRT_PBKEYLEN = 16  # AES-128, as the mixer's caller (control.guests.feed.SRT_PBKEYLEN)


def feed_input_url(transport: str, host: str, port: int, *, passphrase: str | None = None,
                   latency_ms: int = 120) -> str:
    """What OBS's media source opens: ``udp://HOST:PORT``, or an SRT *listener* on
    HOST:PORT (the mixer calls it, and calls again after OBS or the source restarts) with
    the passphrase and latency (OBS's libavformat srt: ``latency`` in microseconds).
    Holds the passphrase: show ``redact_url`` of it, never it."""
    if transport == "udp":
        return f"udp://{host}:{port}"
    if transport != "srt" or not passphrase:
        raise ValueError("the SRT feed needs transport srt and a passphrase")
    return (f"srt://{host}:{port}?mode=listener&transtype=live&latency={latency_ms * 1000}"
            f"&pbkeylen={SRT_PBKEYLEN}&passphrase={passphrase}")


def redact_url(url: str) -> str:
    """``url`` with its passphrase replaced by ``***`` (for findings and logs)."""
    return re.sub(r"(passphrase=)[^&]*", r"\1***", url)


def feed_settings(url: str) -> dict[str, Any]:
    """An ``ffmpeg_source`` playing the mixer's MPEG-TS over UDP, with the least delay; it
    reopens the stream when it ends (reconnect), closes it while no scene on program shows
    it and opens it afresh whenever one goes on program (control.obs.mediafeed restarts it
    when it stalls).

    ``close_when_inactive``: kept open off program, the source stops reading but ffmpeg's
    UDP thread goes on filling its FIFO (5.4 MB: minutes of the mixer's black between guest
    segments), and the next take plays that backlog at its own pace: the guests' boxes
    showed a picture as old as the time off program (13 s late after 15 s off, measured on
    OBS 29; 0.5-1 s when closed). A restart does not drop it (it seeks; a stream cannot).
    Over SRT the source stays open: closing it would close OBS's SRT listener, and the
    mixer would call in vain until the next take reopens it (seconds of its reconnect
    backoff at every take); SRT's live mode drops what is older than its latency instead
    of queueing it, so there is no backlog to fear.

    Why these (OBS 29's ffmpeg_source, deps/media-playback): the source paces what it
    plays by the stream's timestamps from the moment it opens, so whatever it has queued
    then stays as lasting delay. ``buffering_mb: 0`` sets ``AVFMT_FLAG_NOBUFFER`` (packets
    read while probing are dropped, not queued); ``ffmpeg_options`` (OBS 29 has the field;
    ``av_dict_parse_string`` "k=v k=v") cut probing to the first bytes, so decoding starts
    on the next keyframe instead of after seconds of analysis. Measured on a quiet machine:
    median ~0.7 s from a picture change in the mixer to OBS's screenshot with
    ``buffering_mb: 0`` alone, ~0.3-0.5 s with the options (docs/guests.md)."""
    return {"is_local_file": False, "input": url, "input_format": "mpegts",
            "restart_on_activate": True, "close_when_inactive": not url.startswith("srt:"),
            "reconnect_delay_sec": 1, "buffering_mb": 0, "hw_decode": False,
            "clear_on_media_end": False, "ffmpeg_options": FEED_FFMPEG_OPTIONS}


def stale_feed_settings(current: Mapping[str, Any], url: str) -> list[str]:
    """The settings of an existing feed source that differ from ``feed_settings`` (an
    older provisioning, or a hand edit), by name; OBS omits defaults, so a missing key
    counts as different only where the default differs (``buffering_mb`` is 2)."""
    defaults = {"is_local_file": True, "buffering_mb": 2, "restart_on_activate": True,
                "close_when_inactive": False, "hw_decode": False,
                "clear_on_media_end": True, "ffmpeg_options": "", "input": "",
                "input_format": "", "reconnect_delay_sec": 10}
    return [key for key, want in feed_settings(url).items()
            if current.get(key, defaults.get(key)) != want]


def guest_scenes(rundown: Rundown) -> dict[str, Position]:
    """Every scene a segment with guests puts on program, with that segment's position."""
    found: dict[str, Position] = {}
    for seg in rundown.segments:
        if seg.guests:
            found.setdefault(seg.scene, seg.pos("guests"))
    return found


def plan_feed(scenes: Iterable[str], inputs: Mapping[str, str],
              items: Mapping[str, Iterable[str]], wanted: Iterable[str],
              url: str, current: Mapping[str, Any] | None = None
              ) -> tuple[GraphicsStep, ...]:
    """What provisioning sends for the program feed (pure): the "Program Feed" media source
    (created in the first guest scene that exists), then an item of it in every other guest
    scene that lacks one; an existing source whose settings (``current``) differ from
    ``feed_settings`` gets them. Skips what is there; a scene that does not exist is the
    scene check's finding, not this one's."""
    have = set(scenes)
    steps: list[GraphicsStep] = []
    kind = inputs.get(FEED_SOURCE)
    if kind is not None and kind != FEED_KIND:
        return (GraphicsStep("source", FEED_SOURCE, None, None,
                             f"input {FEED_SOURCE!r} is a {kind}, not a media source "
                             f"({FEED_KIND}): remove or rename it", ""),)
    exists = kind is not None
    differ = stale_feed_settings(current, url) if exists and current is not None else []
    if differ:
        steps.append(GraphicsStep(
            "source", FEED_SOURCE, None, Request("SetInputSettings", {
                "inputName": FEED_SOURCE, "inputSettings": feed_settings(url),
                "overlay": True}),
            f"media source {FEED_SOURCE!r} has other settings than the program feed "
            f"needs ({', '.join(differ)}): more delay, or no picture",
            f"updated the settings of media source {FEED_SOURCE!r} ({', '.join(differ)})"))
    for scene in wanted:
        if scene not in have or FEED_SOURCE in set(items.get(scene, ())):
            continue
        if not exists:
            exists = True
            steps.append(GraphicsStep(
                "source", FEED_SOURCE, scene, Request("CreateInput", {
                    "sceneName": scene, "inputName": FEED_SOURCE, "inputKind": FEED_KIND,
                    "inputSettings": feed_settings(url), "sceneItemEnabled": True}),
                f"media source {FEED_SOURCE!r} ({redact_url(url)}, the guests' program feed) "
                f"is not in OBS scene {scene!r}",
                f"created media source {FEED_SOURCE!r} ({redact_url(url)}) in OBS scene "
                f"{scene!r}"))
            continue
        steps.append(GraphicsStep(
            "item", FEED_SOURCE, scene, Request("CreateSceneItem", {
                "sceneName": scene, "sourceName": FEED_SOURCE, "sceneItemEnabled": True}),
            f"media source {FEED_SOURCE!r} (the guests' program feed) is not in OBS scene "
            f"{scene!r}",
            f"added media source {FEED_SOURCE!r} to OBS scene {scene!r}"))
    return tuple(steps)


async def _feed(client: ObsClient, rundown: Rundown, url: str | None, *,
                provision: bool) -> list[Finding]:
    wanted = guest_scenes(rundown)
    if url is None or not wanted:
        return []
    scenes = {s["sceneName"] for s in (await client.call("GetSceneList")).get("scenes", [])}
    items = await _items(client, [s for s in wanted if s in scenes])
    inputs = {i["inputName"]: i.get("inputKind", "")
              for i in (await client.call("GetInputList")).get("inputs", [])}
    current = None
    if inputs.get(FEED_SOURCE) == FEED_KIND:
        current = (await client.call("GetInputSettings", {"inputName": FEED_SOURCE})
                   ).get("inputSettings", {})
    findings = []
    for step in plan_feed(scenes, inputs, items, wanted, url, current):
        pos = wanted.get(step.scene or "", NOWHERE)

        def finding(severity: Severity, message: str, step: GraphicsStep = step,
                    pos: Position = pos) -> Finding:
            return Finding(severity, "feed", step.name, step.scene, rundown.source, pos.line,
                           pos.col, message)

        settings = step.request is not None and step.request.request_type == \
            "SetInputSettings"  # it plays, only later or worse: a warning, not an error
        if not provision or step.request is None:
            findings.append(finding("warning" if settings else "error", step.missing))
            continue
        result = (await client.batch([step.request]))[0]
        findings.append(finding("created", step.done) if result.ok else finding(
            "error", f"{step.missing}; could not {'update' if settings else 'create'} it: "
            f"{_reason(result.status.name, result.status.comment)}"))
    return findings


# -- graphics: browser sources for the overlay pages

@dataclass(frozen=True, slots=True)
class GraphicsStep:
    """One thing provisioning does for the graphics: `request` (None: it cannot, `missing`
    says why), what it is (`kind`: scene, source, item or url, and `name`, in `scene`),
    `missing` (the check's words) and `done` (provisioning's)."""

    kind: Literal["scene", "source", "item", "url"]
    name: str
    scene: str | None
    request: Request | None
    missing: str
    done: str


@dataclass(frozen=True, slots=True)
class GraphicsPlan:
    browser: bool  # OBS has the browser source kind
    steps: tuple[GraphicsStep, ...]


def graphics_source_name(template: str) -> str:
    """The OBS input of one template's page (input names are global in OBS)."""
    return f"{GRAPHICS_SCENE}: {template}"


def browser_settings(url: str) -> dict[str, Any]:
    return {"url": url, "width": GRAPHICS_WIDTH, "height": GRAPHICS_HEIGHT, "shutdown": False}


def program_scenes(rundown: Rundown) -> list[str]:
    """Every scene a segment puts on program, in rundown order (not the safe scene: panic
    is a clean picture)."""
    return [s for s in dict.fromkeys(seg.scene for seg in rundown.segments)
            if s != GRAPHICS_SCENE]


def plan_graphics(kinds: Iterable[str], scenes: Iterable[str], inputs: Mapping[str, str],
                  items: Mapping[str, Iterable[str]], program: Sequence[str],
                  urls: Mapping[str, str],
                  input_urls: Mapping[str, Any] | None = None) -> GraphicsPlan:
    """What provisioning sends for the graphics, from what OBS has: its input kinds
    (GetInputKindList), scenes, inputs ({name: kind}), the items of the scenes that exist
    ({scene: source names}), the program scenes, the overlay URLs and the URL each existing
    graphics source loads now (GetInputSettings). Pure: the same answers, the same plan.

    Creates the "Graphics" scene, a browser source per template in it, and the scene as an
    item of every program scene that exists and lacks it; a source whose URL is not the
    one wanted (a token changed, so did the key) gets the URL. Skips what is there."""
    if BROWSER_KIND not in set(kinds):
        return GraphicsPlan(False, ())
    have_scenes, input_urls = set(scenes), input_urls or {}
    if GRAPHICS_SCENE in inputs:  # scenes and inputs share one namespace in OBS
        return GraphicsPlan(True, (GraphicsStep(
            "scene", GRAPHICS_SCENE, None, None,
            f"an input named {GRAPHICS_SCENE!r} is in the way of the graphics scene: rename it",
            ""),))
    steps: list[GraphicsStep] = []
    if GRAPHICS_SCENE not in have_scenes:
        steps.append(GraphicsStep(
            "scene", GRAPHICS_SCENE, None, Request("CreateScene", {"sceneName": GRAPHICS_SCENE}),
            f"scene {GRAPHICS_SCENE!r} (the graphics' browser sources) does not exist in OBS",
            f"created scene {GRAPHICS_SCENE!r} in OBS"))
    in_scene = set(items.get(GRAPHICS_SCENE, ()))
    for template, url in urls.items():
        name = graphics_source_name(template)
        steps += _source_steps(name, url, inputs.get(name), input_urls.get(name),
                               name in in_scene)
    for scene in program:
        if scene == GRAPHICS_SCENE or scene not in have_scenes \
                or GRAPHICS_SCENE in set(items.get(scene, ())):
            continue
        steps.append(GraphicsStep(
            "item", GRAPHICS_SCENE, scene, Request("CreateSceneItem", {
                "sceneName": scene, "sourceName": GRAPHICS_SCENE, "sceneItemEnabled": True}),
            f"scene {GRAPHICS_SCENE!r} is not an item of OBS scene {scene!r} (graphics would "
            "not be on air there)",
            f"added scene {GRAPHICS_SCENE!r} on top of OBS scene {scene!r}"))
    return GraphicsPlan(True, tuple(steps))


def _source_steps(name: str, url: str, kind: str | None, loads: Any,
                  in_scene: bool) -> list[GraphicsStep]:
    """One template's browser source: create it, or fix its URL and its place in the scene
    (`kind`: the OBS input kind by that name, None if absent; `loads`: its URL now)."""
    if kind is None:
        return [GraphicsStep(
            "source", name, GRAPHICS_SCENE, Request("CreateInput", {
                "sceneName": GRAPHICS_SCENE, "inputName": name, "inputKind": BROWSER_KIND,
                "inputSettings": browser_settings(url), "sceneItemEnabled": True}),
            f"browser source {name!r} ({url}) is not in OBS",
            f"created browser source {name!r} in OBS scene {GRAPHICS_SCENE!r}: {url}")]
    if kind != BROWSER_KIND:
        return [GraphicsStep(
            "source", name, GRAPHICS_SCENE, None,
            f"input {name!r} is a {kind}, not a browser source: remove or rename it", "")]
    steps: list[GraphicsStep] = []
    if loads != url:
        steps.append(GraphicsStep(
            "url", name, GRAPHICS_SCENE, Request("SetInputSettings", {
                "inputName": name, "inputSettings": browser_settings(url), "overlay": True}),
            f"browser source {name!r} loads {loads!r}, not {url}",
            f"set the URL of browser source {name!r}: {url}"))
    if not in_scene:
        steps.append(GraphicsStep(
            "item", name, GRAPHICS_SCENE, Request("CreateSceneItem", {
                "sceneName": GRAPHICS_SCENE, "sourceName": name, "sceneItemEnabled": True}),
            f"browser source {name!r} is not in OBS scene {GRAPHICS_SCENE!r}",
            f"added browser source {name!r} to OBS scene {GRAPHICS_SCENE!r}"))
    return steps


def no_browser_finding(rundown: Rundown, urls: Mapping[str, str]) -> Finding:
    width = max((len(t) for t in urls), default=0)
    return Finding("warning", "graphics", GRAPHICS_SCENE, None, rundown.source, NOWHERE.line,
                   NOWHERE.col, NO_BROWSER,
                   tuple(f"{t.ljust(width)}  {url}" for t, url in urls.items()))


async def _graphics(client: ObsClient, rundown: Rundown, urls: Mapping[str, str] | None, *,
                    provision: bool) -> list[Finding]:
    if urls is None:
        return []
    kinds = (await client.call("GetInputKindList", {"unversioned": False})).get(
        "inputKinds", [])
    if BROWSER_KIND not in kinds:
        return [no_browser_finding(rundown, urls)]
    scenes = {s["sceneName"] for s in (await client.call("GetSceneList")).get("scenes", [])}
    program = program_scenes(rundown)
    items = await _items(client, [s for s in [*program, GRAPHICS_SCENE] if s in scenes])
    inputs = {i["inputName"]: i.get("inputKind", "")
              for i in (await client.call("GetInputList")).get("inputs", [])}
    ours = [n for n in map(graphics_source_name, urls) if inputs.get(n) == BROWSER_KIND]
    settings = await client.batch([Request("GetInputSettings", {"inputName": n}) for n in ours]
                                  ) if ours else []
    input_urls = {n: r.data.get("inputSettings", {}).get("url") if r.ok else None
                  for n, r in zip(ours, settings, strict=False)}
    plan = plan_graphics(kinds, scenes, inputs, items, program, urls, input_urls)
    positions = {seg.scene: seg.pos("scene") for seg in reversed(rundown.segments)}

    def finding(step: GraphicsStep, severity: Severity, message: str) -> Finding:
        pos = positions.get(step.scene or "", NOWHERE) if step.kind == "item" else NOWHERE
        return Finding(severity, "graphics", step.name, step.scene, rundown.source, pos.line,
                       pos.col, message)

    if not provision:
        return [finding(step, "error", step.missing) for step in plan.steps]
    sendable = [step for step in plan.steps if step.request is not None]
    results = await client.batch([step.request for step in sendable if step.request]
                                 ) if sendable else []
    outcome = dict(zip((id(s) for s in sendable), results, strict=False))
    findings = []
    for step in plan.steps:
        result = outcome.get(id(step))
        if result is None:
            findings.append(finding(step, "error", step.missing))
        elif result.ok:
            findings.append(finding(step, "created", step.done))
        else:
            findings.append(finding(step, "error", f"{step.missing}; could not create it: "
                                    f"{_reason(result.status.name, result.status.comment)}"))
    return findings


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
    created = sum(f.severity == "created" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    name = f" {source}" if source else ""
    if not errors and not created:
        lines.append(f"preflight{name}: OBS has every scene, item and transition the rundown "
                     "names" + (f" ({warnings} warning{'s' * (warnings > 1)})"
                                if warnings else ""))
    else:
        parts = [f"{errors} missing" if errors else "", f"{created} created" if created else "",
                 f"{warnings} warning{'s' * (warnings > 1)}" if warnings else ""]
        lines.append(f"preflight{name}: " + ", ".join(p for p in parts if p))
    return "\n".join(lines)


def findings_json(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """For the API and ``--json``: each finding with its ``where``."""
    return [{"severity": f.severity, "kind": f.kind, "name": f.name, "scene": f.scene,
             "where": f.where, "message": f.message, "details": list(f.details)}
            for f in findings]
