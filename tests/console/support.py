"""Helpers for the console tests: the controller as a process, OBS queries, a logged-in page.

Debian's Chromium (never `playwright install`) drives the console that `showctl run` serves;
the controller runs as its own process on a private headless OBS (control.obs.launcher), all
on 127.0.0.1. Waits are on conditions with deadlines, never bare sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect
from rundowns import ROOT

from control.obs.client import ObsClient
from control.obs.launcher import ObsLauncher, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-renderer-backgrounding", "--disable-background-timer-throttling"]

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
DIRECTOR, PRODUCER, VIEWER = "director-console-token", "producer-console-token", "viewer-console-token"
SAFE_SCENE = "Slate"


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `predicate` until it is truthy (a condition with a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class Controller:
    """`showctl run` in a subprocess; its API over HTTP with a bearer token."""

    def __init__(self, tmp: Path, obs: ObsLauncher) -> None:
        self.rundown = tmp / "live.yaml"
        self.rundown.write_text(RUNDOWN, "utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "controller.log"
        self.env = {**os.environ, "SHOWCTL_OBS_URL": obs.url, "SHOWCTL_OBS_PASSWORD": obs.password,
                    "SHOWCTL_HTTP_HOST": "127.0.0.1", "SHOWCTL_HTTP_PORT": str(self.port),
                    "SHOWCTL_DIRECTOR_TOKEN": DIRECTOR, "SHOWCTL_PRODUCER_TOKEN": PRODUCER,
                    "SHOWCTL_VIEWER_TOKEN": VIEWER, "SHOWCTL_STATE_DIR": str(tmp / "state")}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Controller:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "control.cli", "run", "--no-terminal", "--start", "now",
                 str(self.rundown)], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        wait_for(self._up, 20, "the controller's API")
        return self

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"controller exited:\n{self.log.read_text()}")
        try:
            return self.request("GET", "/api/state")[0] == 200
        except OSError:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def request(self, method: str, path: str, body: Any = None,
                token: str | None = DIRECTOR) -> tuple[int, dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def state(self) -> dict[str, Any]:
        status, body = self.request("GET", "/api/state")
        assert status == 200, body
        return body

    def on_air(self) -> str | None:
        model = self.state()
        return model["on_air"]["id"] if model["on_air"] else None

    def ready_to_take(self) -> None:
        """Past the minimum time between takes (500 ms), so a take is not a double press."""
        wait_for(lambda: time.time() * 1000 - self.state()["on_air"]["since_ms"] > 600, 5,
                 "the minimum time between takes")


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


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


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
