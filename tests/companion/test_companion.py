"""The Companion module (integrations/companion/) against a running controller.

`showctl run` as its own process on a private headless OBS; the module's node tests host the
module as Companion does (integrations/companion/host/host.js: a child process spoken to over
the base library's host API) and press its buttons; this test then reads the controller's
own state to check that the presses landed. Everything on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import wait_for
from live_controller import ControllerProcess
from rundowns import ROOT

from control.obs.launcher import ObsLauncher, scenes_for
from control.show.loader import load_rundown

MODULE = ROOT / "integrations" / "companion"
RUNDOWN = """\
show:
  title: Companion test
  timezone: Asia/Shanghai
  start: 2023-12-31 23:50:00
  safe_scene: Slate
guests:
  ada:
    name: Ada
segments:
  - {id: intro, title: Intro, duration: 3m, scene: Studio, then: hold}
  - {id: talk, title: Talk, duration: 4m, flex: 1m..6m, scene: Studio, then: hold}
  - {id: clip, title: Clip, duration: 2m, scene: Documentary, then: hold}
  - {id: countdown, title: Countdown, at: "23:59:50", duration: 1m, scene: Countdown}
  - {id: outro, title: Outro, duration: 2m, scene: Credits}
"""
DIRECTOR, VIEWER = "director-companion-token-01", "viewer-companion-token-0123"


@pytest.fixture(scope="module")
def obs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObsLauncher]:
    launcher = ObsLauncher(tmp_path_factory.mktemp("obs"),
                           scenes=scenes_for(load_rundown(RUNDOWN, "live.yaml").rundown))
    launcher.start()
    try:
        yield launcher
    finally:
        launcher.close()


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory,
               obs: ObsLauncher) -> Iterator[ControllerProcess]:
    ctl = ControllerProcess(tmp_path_factory.mktemp("controller"), RUNDOWN, obs_url=obs.url,
                            obs_password=obs.password,
                            tokens={"director": DIRECTOR, "viewer": VIEWER})
    ctl.env["SHOWCTL_MIXER_ENABLED"] = "false"  # the guests' roster, without their mixer
    try:
        ctl.start()
        wait_for(lambda: ctl.on_air() == "intro", 20, "the show to start")
        wait_for(lambda: ctl.state()["obs"]["connected"], 30, "the controller to reach OBS")
        yield ctl
    finally:
        ctl.stop()


def node_modules() -> Path:
    """The module's packages: `make setup` installs them (npm ci); a checkout without them
    is installed here the same way, from package-lock.json."""
    installed = MODULE / "node_modules" / "@companion-module" / "base"
    if not installed.is_dir():
        npm = shutil.which("npm")
        assert npm, "npm is needed for the Companion module's tests (Debian: nodejs, npm)"
        subprocess.run([npm, "ci", "--prefix", str(MODULE)], check=True, timeout=300)
    return installed


def test_companion_module_drives_the_controller(controller: ControllerProcess) -> None:
    node_modules()
    env = {**os.environ, "SHOWCTL_URL": controller.url, "SHOWCTL_TOKEN": DIRECTOR,
           "SHOWCTL_VIEWER_TOKEN": VIEWER}
    run = subprocess.run(["node", "--test", "--test-concurrency=1", "test/"], cwd=MODULE,
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"node --test failed:\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    assert "# skipped 0" in run.stdout, "a node test was skipped:\n" + run.stdout[-3000:]
    assert "# fail 0" in run.stdout, run.stdout[-3000:]

    # what the presses left on the controller, read from its own API
    state = controller.state()
    assert state["show"]["panic"] is True  # two presses of Panic
    aired = [entry for entry in state["asrun"] if entry["kind"] == "aired"]
    assert [entry["id"] for entry in aired][:3] == ["intro", "talk", "intro"]  # take, take intro
    assert all(entry["by"] == "director" for entry in aired[1:]), aired
    assert state["show"]["held"] is False  # hold pressed twice
