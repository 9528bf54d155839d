"""What the sync knows of OBS, and the requests that take OBS from there to the desired state.

Pure (no I/O, no clock): ``plan`` turns (known OBS state, desired ``Desired``) into the one
RequestBatch to send, so the rules of the take are tested in microseconds without OBS. The
sync layer owns a ``KnownObs``, folds OBS events into it and records what its batches did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from control.obs.messages import Event, Request
from control.show.desired import Desired


@dataclass(slots=True)
class SceneItem:
    """One item of a scene as OBS listed it; an item is addressed by its id, not its name."""

    item_id: int
    source: str
    enabled: bool


@dataclass(slots=True)
class KnownObs:
    """The sync's picture of OBS. ``None`` means not known: the plan then sends the value.

    ``items`` holds only scenes whose item list was read (GetSceneItemList); a scene missing
    from it must be read before its items can be set.
    """

    program_scene: str | None = None
    preview_scene: str | None = None
    studio_mode: bool = False
    transition: str | None = None
    transition_ms: int | None = None
    items: dict[str, dict[int, SceneItem]] = field(default_factory=dict)

    def load_items(self, scene: str, scene_items: Iterable[Mapping[str, Any]]) -> None:
        """Cache a GetSceneItemList answer (``sceneItems``)."""
        self.items[scene] = {
            int(i["sceneItemId"]): SceneItem(int(i["sceneItemId"]), str(i["sourceName"]),
                                             bool(i["sceneItemEnabled"]))
            for i in scene_items
        }

    def record(self, request: Request) -> None:
        """OBS accepted ``request``: the cache now shows what it set."""
        data = request.request_data or {}
        match request.request_type:
            case "SetCurrentProgramScene":
                self.program_scene = data["sceneName"]
            case "SetCurrentPreviewScene":
                self.preview_scene = data["sceneName"]
            case "SetCurrentSceneTransition":
                self.transition = data["transitionName"]
            case "SetCurrentSceneTransitionDuration":
                self.transition_ms = int(data["transitionDuration"])
            case "SetSceneItemEnabled":
                item = self.items.get(data["sceneName"], {}).get(int(data["sceneItemId"]))
                if item is not None:
                    item.enabled = bool(data["sceneItemEnabled"])

    def observe(self, event: Event) -> bool:
        """Fold an event about items, preview, transition or studio mode into the cache.

        Returns True when the event contradicts the cache or leaves it unsure, so the caller
        re-reads: OBS 5.1 sends events from a thread pool, so two changes of one thing may
        arrive swapped, and only a fresh read says which came last. Program scene changes
        are the sync's own business (manual override), not handled here.
        """
        data = event.data
        match event.event_type:
            case "SceneItemEnableStateChanged":
                scene_items = self.items.get(data.get("sceneName", ""))
                if scene_items is None:
                    return False  # not cached: read when needed
                item = scene_items.get(int(data.get("sceneItemId", -1)))
                enabled = bool(data.get("sceneItemEnabled"))
                if item is None:
                    return True
                if item.enabled != enabled:
                    item.enabled = enabled
                    return True
            case "SceneItemCreated" | "SceneItemRemoved":
                self.items.pop(data.get("sceneName", ""), None)
            case "SceneRemoved":
                self.items.pop(data.get("sceneName", ""), None)
            case "SceneNameChanged":
                self.items.pop(data.get("oldSceneName", ""), None)
                self.items.pop(data.get("sceneName", ""), None)
            case "InputNameChanged" | "InputRemoved":
                self.items.clear()  # item names are source names: every list may be stale
            case "CurrentPreviewSceneChanged":
                scene = data.get("sceneName")
                if scene != self.preview_scene:
                    self.preview_scene = scene
                    return True
            case "CurrentSceneTransitionChanged":
                self.transition = data.get("transitionName")
            case "CurrentSceneTransitionDurationChanged":
                self.transition_ms = data.get("transitionDuration")
            case "StudioModeStateChanged":
                self.studio_mode = bool(data.get("studioModeEnabled"))
                if not self.studio_mode:
                    self.preview_scene = None
                return self.studio_mode  # entering studio mode: OBS picked some preview
        return False


@dataclass(frozen=True, slots=True)
class Plan:
    """One batch: ``requests`` in the order OBS must run them; ``take`` is the scene it cuts
    to (None: program stays); the rest is what the desired state names but OBS lacks."""

    requests: tuple[Request, ...] = ()
    take: str | None = None
    missing_items: tuple[tuple[str, str], ...] = ()
    unread_scenes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requests


def item_scenes(want: Desired) -> list[str]:
    """Scenes whose item lists ``plan`` needs, in order."""
    return list(dict.fromkeys(scene for scene, _, _ in want.items))


def plan(known: KnownObs, want: Desired, *, hold_program: bool = False,
         set_preview: bool = True) -> Plan:
    """The requests that make OBS show ``want``, and only those.

    Order: transition and its duration (only with a take: they belong to the cut), items
    (before the cut, so they appear with it), the cut, then the preview. In studio mode OBS
    swaps the old program into preview when the transition ends, after this batch has been
    answered, so the preview is left for a later batch when this one cuts.

    ``hold_program``: an operator cut by hand (manual override); leave program alone.
    ``program_scene`` None: nothing is planned yet, touch nothing at all.
    """
    if want.program_scene is None:
        return Plan()
    requests: list[Request] = []
    take = None
    if not hold_program and want.program_scene != known.program_scene:
        take = want.program_scene
    if take is not None and want.transition is not None:
        if want.transition.name != known.transition:
            requests.append(Request("SetCurrentSceneTransition",
                                    {"transitionName": want.transition.name}))
        ms = want.transition.duration_ms
        if ms is not None and ms != known.transition_ms:
            requests.append(Request("SetCurrentSceneTransitionDuration",
                                    {"transitionDuration": ms}))

    missing: list[tuple[str, str]] = []
    unread: list[str] = []
    wanted = {(scene, name): visible for scene, name, visible in want.items}  # last one wins
    for (scene, name), visible in wanted.items():
        scene_items = known.items.get(scene)
        if scene_items is None:
            if scene not in unread:
                unread.append(scene)
            continue
        matches = [i for i in scene_items.values() if i.source == name]
        if not matches:
            missing.append((scene, name))
        requests.extend(
            Request("SetSceneItemEnabled", {"sceneName": scene, "sceneItemId": i.item_id,
                                            "sceneItemEnabled": visible})
            for i in sorted(matches, key=lambda i: i.item_id) if i.enabled != visible
        )

    if take is not None:
        requests.append(Request("SetCurrentProgramScene", {"sceneName": take}))
    preview = want.preview_scene
    if (set_preview and known.studio_mode and preview is not None and take is None
            and preview != known.preview_scene):
        requests.append(Request("SetCurrentPreviewScene", {"sceneName": preview}))
    return Plan(tuple(requests), take, tuple(missing), tuple(unread))
