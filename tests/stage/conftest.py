"""The hosts' screens in Debian's Chromium against `showctl run` as its own process, on
127.0.0.1 (stage/support.py); one controller and one browser per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import launch_chromium, wait_for
from playwright.sync_api import Browser, Playwright, sync_playwright
from stage.support import Controller


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    ctl = Controller(tmp_path_factory.mktemp("stage"))
    try:
        ctl.start()
        wait_for(lambda: ctl.on_air() == "intro", 20, "the show to start")
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
