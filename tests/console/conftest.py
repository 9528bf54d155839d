"""The director's console in a real browser, against a real controller and a real OBS.

Debian's Chromium (never `playwright install`) drives the console that `showctl run` serves;
the controller runs as its own process on a private headless OBS (control.obs.launcher), all
on 127.0.0.1. One OBS, one controller and one browser per module.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from console.support import RUNDOWN, Controller
from helpers import launch_chromium, wait_for
from playwright.sync_api import Browser, Playwright, sync_playwright

from control.obs.launcher import ObsLauncher, scenes_for
from control.show.loader import load_rundown


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
def controller(tmp_path_factory: pytest.TempPathFactory, obs: ObsLauncher) -> Iterator[Controller]:
    ctl = Controller(tmp_path_factory.mktemp("controller"), obs)
    try:
        ctl.start()
        wait_for(lambda: ctl.on_air() == "intro", 10, "the show to start")
        yield ctl
    finally:
        ctl.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = launch_chromium(playwright)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the console's screenshots go: $SHOWCTL_CONSOLE_SCREENSHOTS or a temp dir."""
    configured = os.environ.get("SHOWCTL_CONSOLE_SCREENSHOTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
