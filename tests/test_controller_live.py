"""`showctl run` as the crew runs it: a real OBS, the controller as its own process, the API.

The controller is killed with SIGKILL and started again with the same command line; OBS is
killed and started again; both must come back to the segment on air.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for
from live_controller import ControllerProcess

from control.obs.client import ObsClient
from control.obs.launcher import ObsLauncher
from control.show.loader import load_rundown

RUNDOWN = """\
show:
  title: Live test
  timezone: Asia/Shanghai
  start: 2023-12-31 22:00:00
  safe_scene: Slate
segments:
  - {id: intro, title: Intro, duration: 10m, scene: Studio Wide, show: [Logo Bug], then: hold}
  - {id: talk, title: Talk, duration: 10m, scene: Studio Interview, hide: [Logo Bug]}
  - {id: lost, title: Lost, duration: 10m, scene: No Such Scene}
  - {id: outro, title: Outro, duration: 10m, scene: Credits}
"""
DIRECTOR, VIEWER = "director-secret-token-0123", "viewer-secret-token-012345"


@pytest.fixture(scope="module")
def obs(tmp_path_factory) -> Iterator[ObsLauncher]:
    rundown_path = tmp_path_factory.mktemp("rd") / "live.yaml"
    rundown_path.write_text(RUNDOWN, "utf-8")
    from control.obs.launcher import scenes_for

    scenes = scenes_for(load_rundown(RUNDOWN, "live.yaml").rundown)
    scenes.pop("No Such Scene")
    launcher = ObsLauncher(tmp_path_factory.mktemp("obs"), scenes=scenes)
    launcher.start()
    try:
        yield launcher
    finally:
        launcher.close()


class Controller(ControllerProcess):
    """`showctl run` in a subprocess, and the API over HTTP."""

    def __init__(self, tmp: Path, obs: ObsLauncher, password: str | None = None) -> None:
        super().__init__(tmp, RUNDOWN, obs_url=obs.url, obs_password=password or obs.password,
                         tokens={"director": DIRECTOR, "viewer": VIEWER})


@pytest.fixture
def controller(tmp_path: Path, obs: ObsLauncher) -> Iterator[Controller]:
    ctl = Controller(tmp_path, obs)
    try:
        yield ctl.start()
    finally:
        ctl.stop()


def obs_call(obs: ObsLauncher, request: str, data: dict[str, Any] | None = None) -> dict:
    async def go() -> dict:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(10)
            return await client.call(request, data)
    return asyncio.run(go())


def program(obs: ObsLauncher) -> str:
    return obs_call(obs, "GetCurrentProgramScene")["currentProgramSceneName"]


def item_enabled(obs: ObsLauncher, scene: str, item: str) -> bool:
    item_id = obs_call(obs, "GetSceneItemId", {"sceneName": scene, "sourceName": item})
    return obs_call(obs, "GetSceneItemEnabled", {
        "sceneName": scene, "sceneItemId": item_id["sceneItemId"]})["sceneItemEnabled"]


def test_a_take_through_the_api_switches_obs(controller: Controller, obs: ObsLauncher):
    wait_for(lambda: controller.on_air() == "intro", 10, "the show to start")
    wait_for(lambda: program(obs) == "Studio Wide", 5, "OBS on the first scene")
    assert item_enabled(obs, "Studio Wide", "Logo Bug")
    model = controller.state()
    assert model["obs"]["connected"] and model["show"]["shift_s"] != 0
    controller.ready_to_take()
    status, body = controller.request("POST", "/api/take")
    assert status == 200, body
    assert body["state"]["on_air"]["id"] == "talk"
    wait_for(lambda: program(obs) == "Studio Interview", 5, "OBS on the second scene")
    assert not item_enabled(obs, "Studio Interview", "Logo Bug")


def test_bad_requests_leave_the_show_untouched(controller: Controller):
    wait_for(lambda: controller.on_air() == "intro", 10, "the show to start")
    before = controller.state()["asrun"]
    assert controller.request("POST", "/api/take", token=None)[0] == 401
    assert controller.request("POST", "/api/take", token="wrong")[0] == 401
    assert controller.request("POST", "/api/take", token=VIEWER)[0] == 403
    status, body = controller.request("POST", "/api/take/nope")
    assert status == 404 and "nope" in body["reason"]
    status, body = controller.request("POST", "/api/extend", {"seconds": "lots"})
    assert status == 400 and "seconds" in body["reason"]
    assert controller.state()["asrun"] == before


def test_a_missing_scene_raises_an_alarm_and_the_show_goes_on(controller: Controller,
                                                              obs: ObsLauncher):
    wait_for(lambda: controller.on_air() == "intro", 10, "the show to start")
    controller.ready_to_take()
    status, _ = controller.request("POST", "/api/take/lost")
    assert status == 200
    wait_for(lambda: any("No Such Scene" in a["text"] for a in controller.state()["alarms"]),
             5, "an alarm naming the missing scene")
    controller.ready_to_take()
    assert controller.request("POST", "/api/take")[0] == 200
    wait_for(lambda: program(obs) == "Credits", 5, "OBS on the next valid scene")


def test_controller_killed_mid_segment_resumes_where_it_was(controller: Controller):
    wait_for(lambda: controller.on_air() == "intro", 10, "the show to start")
    controller.ready_to_take()
    assert controller.request("POST", "/api/take/talk")[0] == 200
    before = controller.state()
    controller.kill()
    controller.start()  # the same command line, --start now included
    after = controller.state()
    assert after["on_air"]["id"] == "talk"
    assert after["on_air"]["since_ms"] == before["on_air"]["since_ms"]
    assert after["show"]["shift_s"] == before["show"]["shift_s"]
    elapsed_gap = (after["show"]["now_ms"] - before["show"]["now_ms"]) / 1000
    assert abs((after["on_air"]["elapsed_s"] - before["on_air"]["elapsed_s"]) - elapsed_gap) < 0.1
    journal = next(controller.state_dir.glob("*.journal.jsonl")).read_text().splitlines()
    takes = [json.loads(x)["event"] for x in journal if '"type": "event"' in x
             or '"type":"event"' in x]
    take_ids = [(e["kind"], e["segment_id"]) for e in takes if e["kind"] == "take"]
    assert take_ids == [("take", "intro"), ("take", "talk")]


def test_obs_killed_and_restarted_comes_back_to_the_segment_on_air(controller: Controller,
                                                                  obs: ObsLauncher):
    wait_for(lambda: controller.on_air() == "intro", 10, "the show to start")
    controller.ready_to_take()
    assert controller.request("POST", "/api/take/talk")[0] == 200
    wait_for(lambda: program(obs) == "Studio Interview", 5, "OBS on talk")
    obs.kill()
    wait_for(lambda: not controller.state()["obs"]["connected"], 5, "the link to notice")
    assert any(a["level"] == "critical" for a in controller.state()["alarms"])
    obs.restart()  # a fresh OBS comes up on its saved scene, not necessarily ours
    started = time.monotonic()
    wait_for(lambda: program(obs) == "Studio Interview", 3, "OBS back on the on-air scene")
    assert time.monotonic() - started < 3


def test_wrong_obs_password_is_a_clear_fatal_error(tmp_path: Path, obs: ObsLauncher):
    ctl = Controller(tmp_path, obs, password="not-the-password")
    try:
        ctl.start()
        wait_for(lambda: "password" in (ctl.state()["obs"].get("last_error") or ""), 10,
                 "the password error")
        first = ctl.state()["obs"]
        assert not first["connected"]
        assert any("password" in a["text"] for a in ctl.state()["alarms"])
        # no retry storm: the link stopped after the refusal; it does not try again
        attempts = first["connection_attempts"]
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert ctl.state()["obs"]["connection_attempts"] == attempts
            time.sleep(0.1)
    finally:
        ctl.stop()
