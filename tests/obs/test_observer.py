"""The sync's rules without OBS: events and answers in, the picture of OBS and the next phase
out (control/obs/observer.py, takes.py, silence.py). Time is a number passed in."""

from __future__ import annotations

from typing import Any

import pytest

from control.obs.codes import RequestStatus
from control.obs.diff import SceneItem
from control.obs.messages import Event, Request, RequestResult, Status
from control.obs.observer import (
    OBS_STUCK_S,
    RESYNC_REQUESTS,
    Fact,
    Knowledge,
    ObsObserver,
    Phase,
)
from control.obs.silence import Silence
from control.obs.takes import TAKE_MARGIN, InFlight
from control.show.desired import Desired
from control.show.model import CUT, Transition

FADE = Transition("Fade", 300)


def ok(request_type: str = "", **data: Any) -> RequestResult:
    return RequestResult(request_type, Status(True, RequestStatus.Success), data)


def refused(request_type: str, code: int = RequestStatus.ResourceNotFound,
            comment: str | None = None) -> RequestResult:
    return RequestResult(request_type, Status(False, code, comment))


def event(kind: str, **data: Any) -> Event:
    return Event(kind, 0, data)


def resync_answers(program: str = "A", *, studio: bool = False, preview: str | None = None,
                   transition: str = "Cut", ms: int | None = None,
                   fps: tuple[int, int] = (30, 1)) -> list[RequestResult]:
    """The answers to RESYNC_REQUESTS, in their order."""
    answers = [
        ok(currentProgramSceneName=program),
        ok(studioModeEnabled=studio),
        ok(transitionName=transition, transitionDuration=ms),
        ok(fpsNumerator=fps[0], fpsDenominator=fps[1]),
        ok(currentPreviewSceneName=preview) if studio
        else refused("GetCurrentPreviewScene", RequestStatus.StudioModeNotActive),
    ]
    assert len(answers) == len(RESYNC_REQUESTS)
    return answers


def ready(program: str = "A", **kw: Any) -> ObsObserver:
    """An observer that has read OBS (program ``program``) and applied nothing yet."""
    obs = ObsObserver()
    obs.resync_started()
    obs.resynced(resync_answers(program, **kw))
    return obs


def idle(obs: ObsObserver) -> ObsObserver:
    obs.start_apply()
    assert obs.phase(True) is Phase.IDLE
    return obs


def take(obs: ObsObserver, outputs: Desired, now: float) -> Any:
    """want() + plan + send + answered (all accepted), as the applier does."""
    obs.want(outputs)
    obs.start_apply()
    todo = obs.plan()
    sent = obs.take_sent(todo, now)
    obs.batch_answered(todo.requests, [ok() for _ in todo.requests], sent)
    return sent


# --- phases ---------------------------------------------------------------------------------

def test_offline_before_anything_else() -> None:
    assert ObsObserver().phase(False) is Phase.OFFLINE
    assert ready().phase(False) is Phase.OFFLINE


def test_a_new_observer_reads_obs_first() -> None:
    assert ObsObserver().phase(True) is Phase.RESYNC


def test_after_a_read_it_applies_once_then_idles() -> None:
    obs = ready()
    assert obs.knowledge is Knowledge.READ
    assert obs.phase(True) is Phase.APPLY
    obs.start_apply()
    assert obs.phase(True) is Phase.IDLE


def test_each_want_asks_for_an_apply() -> None:
    obs = idle(ready())
    obs.want(Desired("B", CUT, None))
    assert obs.phase(True) is Phase.APPLY
    assert obs.start_apply() == Desired("B", CUT, None)
    assert obs.applied_seq == obs.want_seq == 1
    assert obs.phase(True) is Phase.IDLE


def test_a_want_during_an_apply_asks_for_another() -> None:
    obs = ready()
    obs.want(Desired("B", CUT, None))
    obs.start_apply()
    obs.want(Desired("C", CUT, None))  # arrives while the batch is out
    assert obs.phase(True) is Phase.APPLY
    assert obs.applied_seq == 1 and obs.want_seq == 2


def test_a_reread_applies_again_even_with_no_new_want() -> None:
    obs = ready()
    obs.want(Desired("B", CUT, None))
    idle(obs)
    obs.forget()  # a timeout
    assert obs.phase(True) is Phase.RESYNC
    obs.resync_started()
    obs.resynced(resync_answers("A"))
    assert obs.phase(True) is Phase.APPLY


def test_scene_collection_change_pauses_then_rereads() -> None:
    obs = idle(ready())
    obs.on_event(event("CurrentSceneCollectionChanging", sceneCollectionName="x"), 1.0)
    assert obs.knowledge is Knowledge.CHANGING_COLLECTION
    assert obs.phase(True) is Phase.PAUSED
    obs.on_event(event("CurrentSceneCollectionChanged", sceneCollectionName="x"), 2.0)
    assert obs.phase(True) is Phase.RESYNC


def test_a_new_session_rereads_even_mid_collection_change() -> None:
    obs = idle(ready())
    obs.on_event(event("CurrentSceneCollectionChanging"), 1.0)
    obs.link_up()
    assert obs.phase(True) is Phase.RESYNC


def test_precedence_resync_settle_refresh_apply() -> None:
    obs = ready(studio=True, preview="C")
    obs.known.items["B"] = {}
    take(obs, Desired("B", CUT, "C"), 1.0)
    obs.stale.add(Fact.PROGRAM)
    obs.want(Desired("C", CUT, None))
    assert obs.phase(True) is Phase.SETTLE
    obs.settled()
    assert obs.phase(True) is Phase.REFRESH
    obs.refresh_requests()
    assert obs.phase(True) is Phase.APPLY
    obs.forget()
    assert obs.phase(True) is Phase.RESYNC


# --- reading OBS ----------------------------------------------------------------------------

def test_resync_folds_the_answers() -> None:
    obs = ready("Intro", studio=True, preview="Next", transition="Fade", ms=300, fps=(60, 1))
    k = obs.known
    assert (k.program_scene, k.preview_scene, k.studio_mode) == ("Intro", "Next", True)
    assert (k.transition, k.transition_ms) == ("Fade", 300)
    assert obs.reported == obs.target == "Intro"
    assert obs.frame_ms == pytest.approx(1000 / 60)


def test_resync_with_failed_reads_knows_nothing_and_assumes_30_fps() -> None:
    obs = ObsObserver()
    obs.resynced([refused(r.request_type, 500) for r in RESYNC_REQUESTS])
    assert obs.known.program_scene is None and obs.reported is None
    assert not obs.known.studio_mode
    assert obs.frame_ms == pytest.approx(1000 / 30)


@pytest.mark.parametrize("video", [{}, {"fpsNumerator": 30, "fpsDenominator": 0},
                                   {"fpsNumerator": "x", "fpsDenominator": 1}])
def test_a_bad_frame_rate_answer_means_30_fps(video: dict[str, Any]) -> None:
    answers = resync_answers()
    answers[3] = ok(**video)
    obs = ObsObserver()
    obs.resynced(answers)
    assert obs.frame_ms == pytest.approx(1000 / 30)


def test_resync_forgets_takes_transitions_and_stale_facts() -> None:
    obs = ready()
    take(obs, Desired("B", FADE, None), 1.0)
    obs.on_event(event("SceneTransitionStarted"), 1.0)
    obs.stale.add(Fact.PROGRAM)
    obs.stale_scenes.add("B")
    obs.resync_started()
    assert not obs.in_flight.pending and not obs.busy(1.1)
    assert not obs.stale and not obs.stale_scenes


def test_items_read_tells_missing_scenes_from_other_failures() -> None:
    obs = ready()
    missing, errors = obs.items_read(["A", "Gone", "Odd"], [
        ok(sceneItems=[{"sceneItemId": 3, "sourceName": "Logo", "sceneItemEnabled": True}]),
        refused("GetSceneItemList"),
        refused("GetSceneItemList", 702)])
    assert obs.known.items["A"] == {3: SceneItem(3, "Logo", True)}
    assert missing == ["Gone"]
    assert len(errors) == 1 and "'Odd'" in errors[0]


# --- takes ----------------------------------------------------------------------------------

def test_a_cut_take_is_confirmed_by_its_event_and_timed() -> None:
    obs = ready()
    sent = take(obs, Desired("B", CUT, None), 10.0)
    assert sent is not None and sent.cut
    assert obs.target == "B" and obs.reported == "A" and obs.busy(10.01)
    obs.on_event(event("CurrentProgramSceneChanged", sceneName="B"), 10.04)
    assert obs.reported == obs.known.program_scene == "B"
    assert obs.take_latencies == pytest.approx((0.04,))
    assert obs.take_latency_ms == pytest.approx(40)
    assert not obs.busy(10.05) and not obs.stale


def test_a_faded_take_is_not_a_latency_sample() -> None:
    obs = ready()
    take(obs, Desired("B", FADE, None), 10.0)
    obs.on_event(event("CurrentProgramSceneChanged", sceneName="B"), 10.33)
    assert obs.take_latencies == ()


def test_the_event_may_beat_the_answer() -> None:
    obs = ready()
    obs.want(Desired("B", CUT, None))
    obs.start_apply()
    todo = obs.plan()
    sent = obs.take_sent(todo, 1.0)
    obs.on_event(event("CurrentProgramSceneChanged", sceneName="B"), 1.02)
    obs.batch_answered(todo.requests, [ok() for _ in todo.requests], sent)
    assert obs.reported == obs.target == "B" and obs.override is None
    assert obs.in_sync() and obs.not_answering_s(5.0, True) is None


def test_a_later_take_confirms_one_cut_short() -> None:
    obs = ready()
    take(obs, Desired("B", FADE, None), 1.0)
    take(obs, Desired("C", CUT, None), 1.1)
    obs.on_event(event("CurrentProgramSceneChanged", sceneName="C"), 1.15)
    assert not obs.in_flight.pending and obs.known.program_scene == "C"


def test_a_refused_cut_is_not_in_flight_and_names_the_scene() -> None:
    obs = ready()
    obs.want(Desired("Nope", CUT, None))
    obs.start_apply()
    todo = obs.plan()
    sent = obs.take_sent(todo, 1.0)
    failures = obs.batch_answered(
        todo.requests, [refused("SetCurrentProgramScene", comment="No source was found")], sent)
    assert not obs.in_flight.pending and obs.target == "A"
    assert failures.alarms == ("scene 'Nope' missing in OBS",)
    assert failures.errors == ("SetCurrentProgramScene 'Nope' failed with ResourceNotFound "
                               "(600): No source was found",)


def test_a_refused_item_drops_its_scene_from_the_cache() -> None:
    obs = ready()
    obs.known.items["A"] = {1: SceneItem(1, "Logo", False)}
    obs.want(Desired("A", CUT, None, items=(("A", "Logo", True),)))
    obs.start_apply()
    todo = obs.plan()
    failures = obs.batch_answered(todo.requests, [refused("SetSceneItemEnabled", 702)], None)
    assert "A" not in obs.known.items
    assert failures.alarms == ("item in scene 'A' not set (RequestProcessingFailed)",)


def test_a_transition_keeps_obs_busy_until_its_end_in_either_order() -> None:
    obs = ready()
    obs.on_event(event("SceneTransitionEnded"), 1.0)  # swapped: the end first
    obs.on_event(event("SceneTransitionStarted"), 1.0)
    assert not obs.busy(1.01)
    obs.on_event(event("SceneTransitionStarted"), 2.0)
    assert obs.busy(2.1)
    obs.on_event(event("SceneTransitionEnded"), 2.3)
    assert not obs.busy(2.3)


def test_a_transition_whose_end_is_lost_stops_counting_at_its_deadline() -> None:
    obs = ready(transition="Fade", ms=300)
    obs.on_event(event("SceneTransitionStarted"), 5.0)
    assert obs.settle_deadline(5.1) == pytest.approx(5.3 + TAKE_MARGIN)
    assert obs.busy(5.3 + TAKE_MARGIN - 0.01)
    assert not obs.busy(5.3 + TAKE_MARGIN)
    assert obs.settle_deadline(6.4) is None


def test_an_unconfirmed_take_is_dropped_at_its_deadline() -> None:
    obs = ready()
    take(obs, Desired("B", CUT, None), 1.0)
    assert obs.settle_deadline(1.5) == pytest.approx(1.0 + TAKE_MARGIN)
    assert not obs.busy(1.0 + TAKE_MARGIN)


def test_a_studio_mode_take_settles_then_puts_the_preview_back() -> None:
    obs = ready(studio=True, preview="B")
    take(obs, Desired("B", CUT, "C"), 1.0)
    assert obs.settling is not None and obs.phase(True) is Phase.SETTLE
    obs.settled()
    assert obs.settling is None and Fact.PREVIEW in obs.stale
    assert [r.request_type for r in obs.refresh_requests()] == ["GetCurrentPreviewScene"]
    assert obs.phase(True) is Phase.APPLY  # then set it


def test_without_studio_mode_preview_setting_a_take_does_not_settle() -> None:
    obs = ObsObserver(studio_mode_preview=False)
    obs.resynced(resync_answers(studio=True, preview="B"))
    take(obs, Desired("B", CUT, "C"), 1.0)
    assert obs.settling is None


# --- manual override ------------------------------------------------------------------------

def manual_cut(obs: ObsObserver, scene: str, now: float = 3.0) -> None:
    """An operator cuts in OBS: the event, then the re-read it asks for."""
    obs.on_event(event("CurrentProgramSceneChanged", sceneName=scene), now)
    assert obs.phase(True) is Phase.REFRESH
    requests = obs.refresh_requests()
    assert [r.request_type for r in requests] == ["GetCurrentProgramScene"]
    obs.refreshed(requests, [ok(currentProgramSceneName=scene)])


def test_an_unexplained_cut_is_a_manual_override_and_is_held() -> None:
    obs = ready()
    obs.want(Desired("A", CUT, None))
    idle(obs)
    manual_cut(obs, "Break")
    assert obs.override == obs.target == obs.reported == "Break"
    assert not obs.in_sync()
    obs.want(Desired("A", CUT, None))  # same scene again: leave the operator's cut
    assert obs.override == "Break" and obs.plan().take is None


def test_the_override_ends_when_the_show_moves_on() -> None:
    obs = ready()
    obs.want(Desired("A", CUT, None))
    manual_cut(obs, "Break")
    obs.want(Desired("C", CUT, None))
    assert obs.override is None and obs.plan().take == "C"


def test_panic_ends_the_override() -> None:
    obs = ready()
    obs.want(Desired("A", CUT, None))
    manual_cut(obs, "Break")
    obs.want(Desired("A", CUT, None, panic=True))
    assert obs.override is None


def test_cutting_back_to_the_show_scene_ends_the_override() -> None:
    obs = ready()
    obs.want(Desired("A", CUT, None))
    manual_cut(obs, "Break")
    manual_cut(obs, "A")
    assert obs.override is None and obs.in_sync()


def test_a_late_event_of_our_own_take_is_not_an_override() -> None:
    obs = ready()
    take(obs, Desired("B", FADE, None), 1.0)
    obs.in_flight.pending.clear()  # dropped at its deadline
    obs.refreshed([Request("GetCurrentProgramScene")], [ok(currentProgramSceneName="B")])
    assert obs.override is None


def test_an_override_survives_a_reread_that_still_shows_it() -> None:
    obs = ready()
    obs.want(Desired("A", CUT, None))
    manual_cut(obs, "Break")
    obs.resynced(resync_answers("Break"))
    assert obs.override == "Break"
    obs.resynced(resync_answers("A"))  # OBS restarted with another scene: the show's again
    assert obs.override is None


# --- unsure facts ---------------------------------------------------------------------------

def test_an_item_change_that_contradicts_the_cache_rereads_its_scene() -> None:
    obs = idle(ready())
    obs.known.items["A"] = {1: SceneItem(1, "Logo", True)}
    obs.on_event(event("SceneItemEnableStateChanged", sceneName="A", sceneItemId=1,
                       sceneItemEnabled=True), 1.0)
    assert obs.phase(True) is Phase.IDLE  # what we knew
    obs.on_event(event("SceneItemEnableStateChanged", sceneName="A", sceneItemId=1,
                       sceneItemEnabled=False), 1.0)
    requests = obs.refresh_requests()
    assert requests == [Request("GetSceneItemList", {"sceneName": "A"})]
    obs.refreshed(requests, [ok(sceneItems=[
        {"sceneItemId": 1, "sourceName": "Logo", "sceneItemEnabled": True}])])
    assert obs.known.items["A"][1].enabled  # the later read wins over the swapped event
    assert obs.phase(True) is Phase.IDLE  # an operator's item change is not fought


def test_a_failed_item_reread_forgets_the_scene() -> None:
    obs = ready()
    obs.known.items["A"] = {}
    obs.stale_scenes.add("A")
    requests = obs.refresh_requests()
    obs.refreshed(requests, [refused("GetSceneItemList")])
    assert "A" not in obs.known.items


def test_preview_reread_only_in_studio_mode() -> None:
    obs = ready()
    obs.stale.add(Fact.PREVIEW)
    assert obs.refresh_requests() == []
    studio = ready(studio=True, preview="B")
    studio.on_event(event("CurrentPreviewSceneChanged", sceneName="C"), 1.0)
    requests = studio.refresh_requests()
    studio.refreshed(requests, [ok(currentPreviewSceneName="D")])
    assert studio.known.preview_scene == "D"


def test_entering_studio_mode_sets_the_preview() -> None:
    obs = ready()
    obs.want(Desired("A", CUT, "B"))
    idle(obs)
    obs.on_event(event("StudioModeStateChanged", studioModeEnabled=True), 1.0)
    assert obs.known.studio_mode and obs.phase(True) is Phase.REFRESH
    obs.refreshed(obs.refresh_requests(), [ok(currentPreviewSceneName="A")])
    assert obs.phase(True) is Phase.APPLY
    obs.start_apply()
    assert obs.plan().requests == (Request("SetCurrentPreviewScene", {"sceneName": "B"}),)


# --- in sync --------------------------------------------------------------------------------

def test_in_sync_when_nothing_is_wanted() -> None:
    assert ready().in_sync()
    obs = ready()
    obs.want(Desired(None, None, None))
    assert obs.in_sync()


def test_in_sync_needs_the_scene_and_the_items() -> None:
    obs = ready()
    obs.known.items["A"] = {1: SceneItem(1, "Logo", False)}
    obs.want(Desired("A", CUT, None, items=(("A", "Logo", False),)))
    assert obs.in_sync()
    obs.want(Desired("A", CUT, None, items=(("A", "Logo", True),)))
    assert not obs.in_sync()
    obs.want(Desired("A", CUT, None, items=(("Unread", "Logo", True),)))
    assert not obs.in_sync()


# --- OBS not answering ----------------------------------------------------------------------

def test_silence_counts_from_the_oldest_unanswered_request() -> None:
    obs = ready()
    first = obs.silence.sent(10.0)
    obs.silence.sent(10.5)
    assert obs.not_answering_s(10.0 + OBS_STUCK_S - 0.01, True) is None  # a busy moment
    assert obs.not_answering_s(12.5, True) == pytest.approx(2.5)
    obs.silence.answered(first)
    assert obs.not_answering_s(12.5, True) == pytest.approx(2.0)  # the second is still out


def test_not_answering_is_none_while_disconnected() -> None:
    obs = ready()
    obs.silence.sent(0.0)
    assert obs.not_answering_s(10.0, False) is None


def test_a_timed_out_request_stays_unanswered_until_a_later_one_is_answered() -> None:
    s = Silence()
    early = s.sent(1.0)
    lost = s.sent(2.0)
    s.timed_out(lost)
    s.answered(early)  # sent before the lost one: says nothing about it
    assert s.since() == 2.0
    later = s.sent(7.0)
    assert s.since() == 2.0
    s.answered(later)
    assert s.since() is None


def test_a_dropped_request_is_not_silence() -> None:
    s = Silence()
    s.dropped(s.sent(1.0))
    assert s.since() is None


def test_a_new_session_starts_without_silence() -> None:
    obs = ready()
    obs.silence.timed_out(obs.silence.sent(1.0))
    obs.link_up()
    assert obs.not_answering_s(100.0, True) is None


def test_a_take_answered_but_never_confirmed_is_silence() -> None:
    """A frozen UI thread: OBS answers, the program never changes."""
    obs = ready()
    take(obs, Desired("B", CUT, None), 10.0)
    assert obs.not_answering_s(11.9, True) is None
    assert obs.not_answering_s(12.5, True) == pytest.approx(2.5)
    obs.on_event(event("CurrentProgramSceneChanged", sceneName="B"), 12.6)
    assert obs.not_answering_s(12.7, True) is None


def test_a_faded_take_counts_from_the_end_of_its_fade() -> None:
    obs = ready()
    take(obs, Desired("B", Transition("Fade", 3000), None), 10.0)
    assert obs.not_answering_s(14.9, True) is None  # fade ends at 13 s
    assert obs.not_answering_s(15.0, True) == pytest.approx(2.0)


def test_a_reread_resets_an_unconfirmed_take() -> None:
    obs = ready()
    take(obs, Desired("B", CUT, None), 10.0)
    obs.resync_started()
    obs.resynced(resync_answers("A"))
    assert obs.not_answering_s(20.0, True) is None


# --- in flight ------------------------------------------------------------------------------

def test_latency_samples_are_the_last_twenty() -> None:
    flight = InFlight()
    for i in range(25):
        flight.sent(f"S{i}", None, float(i))
        assert flight.arrived(f"S{i}", i + 0.001 * i)
    assert len(flight.latencies) == 20
    assert flight.latencies[0] == pytest.approx(0.005)


def test_an_event_for_no_take_of_ours_is_not_ours() -> None:
    flight = InFlight()
    flight.sent("B", None, 1.0)
    assert not flight.arrived("C", 1.1)
    assert flight.pending and not flight.latencies
