"""A real OBS Studio for the OBS-link tests: Debian's obs-studio under our own Xvfb.

The processes come from ``control.obs.launcher`` (the same code ``showctl demo`` runs): each
OBS gets its own HOME, port and password, so tests never touch a user's OBS or each other's.
Startup waits on conditions with deadlines; a failure fails the test with OBS's own log,
never a silent skip.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from control.obs.launcher import ObsLauncher, ObsLaunchError, Xvfb, scenes_for
from control.show.commands import Take
from control.show.desired import Desired, desired
from control.show.engine import apply
from control.show.loader import load_rundown
from control.show.model import Rundown
from control.show.state import initial_state

PASSWORD = "showctl-test-Pa55"
SCENES = ("Intro", "Studio", "Countdown", "Break")

# A show whose segments switch scenes and show/hide items; the session OBS has all of it.
SYNC_RUNDOWN = textwrap.dedent("""\
    show:
      title: Sync test
      timezone: Asia/Shanghai
      start: 2023-12-31 23:00:00
      safe_scene: Slate
    segments:
      - id: opening
        title: Opening
        duration: 1m
        scene: Studio Wide
        show: [Logo Bug]
        hide: [Clock]
      - id: weather
        title: Weather
        duration: 1m
        scene: Remote Guest
        transition: fade 200ms
        show: [Lower Third]
      - id: countdown
        title: Countdown
        duration: 1m
        scene: Countdown
        transition: cut
        show: [Clock]
        hide: [Logo Bug]
      - id: chat
        title: Chat
        duration: 1m
        scene: Studio Interview
        transition: cut
""")


def start_or_fail(launcher: ObsLauncher) -> ObsLauncher:
    try:
        return launcher.start()
    except ObsLaunchError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def sync_rundown() -> Rundown:
    return load_rundown(SYNC_RUNDOWN, "sync-test.yaml").rundown


@pytest.fixture(scope="session")
def show_outputs(sync_rundown: Rundown) -> Callable[[str], Desired]:
    """The desired outputs with segment ``seg_id`` on air, computed by the real engine."""

    def outputs(seg_id: str) -> Desired:
        now = sync_rundown.show.start_ms
        state = initial_state(sync_rundown, armed=False)
        return desired(apply(state, Take(seg_id), now).state, now)

    return outputs


@pytest.fixture(scope="session")
def x_display(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One private Xvfb shared by every OBS of the session."""
    xvfb = Xvfb(tmp_path_factory.mktemp("xvfb") / "xvfb.log")
    try:
        yield xvfb.start()
    except ObsLaunchError as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        xvfb.stop()


def _launcher(root: Path, display: str, rundown: Rundown) -> ObsLauncher:
    scenes = {name: [] for name in SCENES}
    for scene, items in scenes_for(rundown).items():
        scenes.setdefault(scene, []).extend(items)
    return ObsLauncher(root, display=display, password=PASSWORD, scenes=scenes)


@pytest.fixture(scope="session")
def obs(x_display: str, tmp_path_factory: pytest.TempPathFactory,
        sync_rundown: Rundown) -> Iterator[ObsLauncher]:
    """A running OBS shared by the tests that do not stop it."""
    launcher = _launcher(tmp_path_factory.mktemp("obs"), x_display, sync_rundown)
    try:
        yield start_or_fail(launcher)
    finally:
        launcher.close()


@pytest.fixture
def own_obs(x_display: str, tmp_path: Path, sync_rundown: Rundown) -> Iterator[ObsLauncher]:
    """A configured but NOT started OBS, for tests that start, kill and restart it."""
    launcher = _launcher(tmp_path, x_display, sync_rundown)
    try:
        yield launcher
    finally:
        launcher.close()
