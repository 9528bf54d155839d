"""Helpers for the console tests: the controller as a process, OBS queries, a logged-in page.

Debian's Chromium (never `playwright install`) drives the console that `showctl run` serves;
the controller runs as its own process on a private headless OBS (control.obs.launcher), all
on 127.0.0.1. Waits are on conditions with deadlines, never bare sleeps.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from live_controller import ControllerProcess
from playwright.sync_api import Browser, BrowserContext, Page, expect

from control.obs.client import ObsClient
from control.obs.launcher import ObsLauncher

# A show with Chinese titles, a flexible segment and a hard start, moved to start now.
RUNDOWN = """\
show:
  title: Console test
  title_zh: 新年快乐科学跨年夜
  timezone: Asia/Shanghai
  start: 2023-12-31 23:50:00
  safe_scene: Slate
segments:
  - {id: intro, title: Intro, title_zh: 开场, duration: 3m, scene: Studio Wide, then: hold}
  - {id: talk, title: Talk, title_zh: 对谈, duration: 4m, flex: 1m..6m, scene: Studio Interview, then: hold}
  - {id: clip, title: Clip, title_zh: 短片, duration: 2m, scene: Documentary, then: hold}
  - {id: countdown, title: Countdown, title_zh: 倒计时, at: "23:59:50", duration: 1m, scene: Countdown}
  - {id: outro, title: Outro, title_zh: 结束, duration: 2m, scene: Credits}
"""
DIRECTOR, PRODUCER, VIEWER = ("director-console-token-01", "producer-console-token-01",
                              "viewer-console-token-0123")
SAFE_SCENE = "Slate"


class Controller(ControllerProcess):
    """`showctl run` in a subprocess with the console test's show and all three roles."""

    def __init__(self, tmp: Path, obs: ObsLauncher) -> None:
        super().__init__(tmp, RUNDOWN, obs_url=obs.url, obs_password=obs.password,
                         tokens={"director": DIRECTOR, "producer": PRODUCER, "viewer": VIEWER})


def obs_call(obs: ObsLauncher, request: str, data: dict[str, Any] | None = None) -> dict:
    """One obs-websocket request. In a thread of its own: Playwright's sync API keeps an
    event loop running in this one."""
    async def go() -> dict:
        async with ObsClient(obs.url, obs.password) as client:
            await client.wait_connected(10)
            return await client.call(request, data)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result(timeout=20)


def program(obs: ObsLauncher) -> str:
    return obs_call(obs, "GetCurrentProgramScene")["currentProgramSceneName"]


class Console:
    """One browser context on the console, logged in through the form."""

    def __init__(self, browser: Browser, ctl: Controller, token: str, *, locale: str = "en-US",
                 viewport: tuple[int, int] = (1600, 900)) -> None:
        self.context: BrowserContext = browser.new_context(
            locale=locale, viewport={"width": viewport[0], "height": viewport[1]})
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(ctl.url + "/")
        if token:
            self.login(token)

    def login(self, token: str) -> None:
        page = self.page
        expect(page.locator("#login")).to_be_visible()
        page.locator("#login-token").fill(token)
        page.locator("#login-submit").click()
        expect(page.locator("#console")).to_be_visible()
        expect(page.locator("#rundown-body tr").first).to_be_visible()
        expect(page.locator("#banner-reconnect")).to_be_hidden()

    def close(self) -> None:
        self.context.close()
        assert not self.errors, f"JavaScript errors in the console: {self.errors}"
