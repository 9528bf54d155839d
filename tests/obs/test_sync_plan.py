"""The take's rules without OBS: known OBS state + desired outputs → the one batch to send."""

from __future__ import annotations

from control.obs.diff import KnownObs, SceneItem, item_scenes, plan
from control.obs.launcher import scene_collection, scenes_for
from control.obs.messages import Event, Request
from control.obs.stats import stats_from
from control.show.desired import Desired
from control.show.loader import load_rundown
from control.show.model import CUT, Transition


def known(**kw: object) -> KnownObs:
    base = KnownObs(program_scene="A", transition="Fade", transition_ms=300, items={
        "B": {1: SceneItem(1, "Logo", False), 2: SceneItem(2, "Clock", True)},
        "A": {7: SceneItem(7, "Logo", True)},
    })
    for key, value in kw.items():
        setattr(base, key, value)
    return base


def kinds(requests: tuple[Request, ...]) -> list[str]:
    return [r.request_type for r in requests]


def test_a_take_sends_transition_items_then_the_cut_in_one_batch() -> None:
    want = Desired("B", Transition("Cut"), None, items=(("B", "Logo", True), ("B", "Clock", False)))
    todo = plan(known(), want)
    assert todo.take == "B"
    assert todo.requests == (
        Request("SetCurrentSceneTransition", {"transitionName": "Cut"}),
        Request("SetSceneItemEnabled", {"sceneName": "B", "sceneItemId": 1, "sceneItemEnabled": True}),
        Request("SetSceneItemEnabled", {"sceneName": "B", "sceneItemId": 2, "sceneItemEnabled": False}),
        Request("SetCurrentProgramScene", {"sceneName": "B"}),
    )


def test_only_the_difference_is_sent() -> None:
    k = known()
    want = Desired("B", Transition("Fade", 300), None, items=(("B", "Logo", False),))
    assert kinds(plan(k, want).requests) == ["SetCurrentProgramScene"]  # Fade 300 already set
    want = Desired("B", Transition("Fade", 500), None)
    assert kinds(plan(k, want).requests) == ["SetCurrentSceneTransitionDuration",
                                             "SetCurrentProgramScene"]


def test_the_same_desired_twice_sends_nothing_the_second_time() -> None:
    k = known(studio_mode=True, preview_scene="A")
    want = Desired("B", Transition("Fade", 500), "C", items=(("B", "Logo", True),))
    first = plan(k, want)
    for request in first.requests:
        k.record(request)
    assert first.take == "B" and not plan(k, want).take
    second = plan(k, want)  # studio mode: the preview follows in its own batch
    assert kinds(second.requests) == ["SetCurrentPreviewScene"]
    for request in second.requests:
        k.record(request)
    assert plan(k, want).empty


def test_no_transition_or_no_program_leaves_obs_alone() -> None:
    assert kinds(plan(known(), Desired("B", None, None)).requests) == ["SetCurrentProgramScene"]
    nothing = Desired(None, CUT, "C", items=(("B", "Logo", True),))
    assert plan(known(studio_mode=True), nothing).empty


def test_transition_is_only_touched_with_a_cut() -> None:
    want = Desired("A", Transition("Swipe", 900), None, items=(("A", "Logo", False),))
    assert kinds(plan(known(), want).requests) == ["SetSceneItemEnabled"]


def test_manual_override_holds_program_but_items_and_preview_follow() -> None:
    want = Desired("B", CUT, "C", items=(("B", "Logo", True),))
    todo = plan(known(studio_mode=True, preview_scene="A"), want, hold_program=True)
    assert todo.take is None
    assert kinds(todo.requests) == ["SetSceneItemEnabled", "SetCurrentPreviewScene"]


def test_preview_only_in_studio_mode_and_only_if_wanted() -> None:
    want = Desired("A", CUT, "C")
    assert plan(known(), want).empty
    assert kinds(plan(known(studio_mode=True), want).requests) == ["SetCurrentPreviewScene"]
    assert plan(known(studio_mode=True), want, set_preview=False).empty


def test_missing_and_unread_items_are_reported_not_sent() -> None:
    want = Desired("B", CUT, None, items=(("B", "Nope", True), ("Z", "Logo", True)))
    todo = plan(known(transition="Cut"), want)
    assert todo.missing_items == (("B", "Nope"),)
    assert todo.unread_scenes == ("Z",)
    assert kinds(todo.requests) == ["SetCurrentProgramScene"]
    assert item_scenes(want) == ["B", "Z"]


def test_an_item_used_twice_in_a_scene_is_set_everywhere() -> None:
    k = known(items={"B": {3: SceneItem(3, "Logo", True), 9: SceneItem(9, "Logo", True)}})
    todo = plan(k, Desired("A", None, None, items=(("B", "Logo", False),)))
    assert [r.request_data["sceneItemId"] for r in todo.requests] == [3, 9]  # type: ignore[index]


def test_events_update_the_cache_and_say_when_to_reread() -> None:
    k = known()
    ev = Event("SceneItemEnableStateChanged", 128,
               {"sceneName": "B", "sceneItemId": 1, "sceneItemEnabled": True})
    assert k.observe(ev) is True and k.items["B"][1].enabled  # changed: re-read to be sure
    assert k.observe(ev) is False  # agrees with the cache
    assert k.observe(Event("SceneItemCreated", 128, {"sceneName": "B"})) is False
    assert "B" not in k.items  # item ids of B must be read again
    k.observe(Event("CurrentSceneTransitionChanged", 16, {"transitionName": "Cut"}))
    k.observe(Event("CurrentSceneTransitionDurationChanged", 16, {"transitionDuration": 50}))
    assert (k.transition, k.transition_ms) == ("Cut", 50)
    assert k.observe(Event("StudioModeStateChanged", 1024, {"studioModeEnabled": True}))
    assert k.observe(Event("CurrentPreviewSceneChanged", 4, {"sceneName": "C"}))
    assert k.preview_scene == "C"
    k.observe(Event("StudioModeStateChanged", 1024, {"studioModeEnabled": False}))
    assert k.preview_scene is None and not k.studio_mode
    k.observe(Event("InputNameChanged", 8, {"oldInputName": "Logo", "inputName": "Bug"}))
    assert k.items == {}


def test_stats_are_converted_to_base_units() -> None:
    stats = stats_from(
        {"activeFps": 30.0, "cpuUsage": 25.0, "memoryUsage": 2.5, "averageFrameRenderTime": 12.5,
         "renderSkippedFrames": 3, "renderTotalFrames": 900, "outputSkippedFrames": 1,
         "outputTotalFrames": 600},
        {"outputSkippedFrames": 4, "outputTotalFrames": 500, "outputCongestion": 0.25,
         "outputBytes": 12345},
    )
    assert stats.cpu_ratio == 0.25
    assert stats.memory_bytes == 2_621_440
    assert stats.frame_render_seconds == 0.0125
    assert (stats.render_lagged_frames, stats.encoder_skipped_frames) == (3, 1)
    assert (stats.stream_dropped_frames, stats.stream_total_frames) == (4, 500)
    assert stats.stream_congestion_ratio == 0.25 and stats.stream_sent_bytes == 12345
    assert stats_from({}, {}).active_fps == 0.0


def test_scenes_for_a_rundown_and_its_collection() -> None:
    rundown = load_rundown(
        "show:\n  title: T\n  timezone: Asia/Shanghai\n  start: 2023-12-31 22:00:00\n"
        "  safe_scene: Slate\nsegments:\n"
        "  - {id: a, title: A, duration: 1m, scene: Wide, show: [Bug], hide: [Clock]}\n"
        "  - {id: b, title: B, duration: 1m, scene: Close, show: [Wide]}\n"
        "  - {id: c, title: C, duration: 1m, scene: Wide, show: [Clock, Bug, Ticker]}\n",
        "t.yaml").rundown
    scenes = scenes_for(rundown)
    assert scenes == {"Wide": ["Bug", "Clock", "Ticker"], "Close": ["Wide"], "Slate": []}
    collection = scene_collection("show", scenes)
    by_name = {s["name"]: s for s in collection["sources"]}
    assert [s["name"] for s in collection["scene_order"]] == ["Wide", "Close", "Slate"]
    wide_items = [i["name"] for i in by_name["Wide"]["settings"]["items"]]
    assert wide_items == ["Wide · background", "Wide · title", "Bug", "Clock", "Ticker"]
    assert all(i["visible"] and i["scale"] == {"x": 1.0, "y": 1.0}
               for i in by_name["Wide"]["settings"]["items"])
    assert by_name["Bug"]["id"] == "text_ft2_source_v2"
    # "Wide" inside "Close" is the scene itself, nested, not a new text source of that name
    assert [s["id"] for s in collection["sources"] if s["name"] == "Wide"] == ["scene"]
    colours = {by_name[f"{n} · background"]["settings"]["color"] for n in scenes}
    assert len(colours) == 3
