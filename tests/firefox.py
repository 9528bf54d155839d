"""Debian's Firefox ESR for the tests, as easily as ``helpers.launch_chromium``.

Playwright's Firefox is a patched build it downloads; Debian's is not, so it is driven by
puppeteer-core over WebDriver BiDi (the node package in tests/browsers/, `make setup`
installs it; no browser is ever downloaded). One node process (tests/browsers/bridge.mjs)
holds the browser and speaks JSON lines over stdin/stdout; this module is its client::

    async with launch_firefox() as firefox:
        await firefox.goto(link)
        await firefox.click("#join")
        status = await firefox.evaluate("showctlGuest.state().status")

Every call is bounded (``timeout``); closing (or leaving the ``async with``) asks the bridge
to close Firefox, then SIGKILLs both process groups, whatever happened before. The prefs
give a guest's browser a fake camera and microphone without prompts, and let WebRTC use
127.0.0.1 (the suite's media never leaves loopback: tests/netns.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

FIREFOX = "/usr/bin/firefox-esr"
BROWSERS = Path(__file__).resolve().parent / "browsers"
BRIDGE = BROWSERS / "bridge.mjs"
# A guest's browser: fake devices that count as capturing (without that Firefox gathers no
# ICE candidate in a namespace with no default route), no permission prompt, loopback ICE
# candidates with their real address (not an mDNS name the gateway cannot resolve).
MEDIA_PREFS: dict[str, Any] = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.navigator.permission.fake": True,
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
}
QUIET_PREFS: dict[str, Any] = {  # nothing of the suite's reaches the network
    "app.update.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
}


class FirefoxError(RuntimeError):
    """The bridge answered an error, timed out, or is gone."""


def available() -> str | None:
    """Why Firefox cannot run here (None when it can): for ``pytest.skip``."""
    if not Path(FIREFOX).exists():
        return f"needs {FIREFOX} (Debian firefox-esr)"
    if not shutil.which("node"):
        return "needs node"
    if not (BROWSERS / "node_modules" / "puppeteer-core").is_dir():
        return "needs tests/browsers/node_modules (make setup)"
    return None


def _using(profile: Path) -> list[int]:
    """The processes started with this (the test's own, unique) profile directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if str(profile).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


class Page:
    """One tab of the browser."""

    def __init__(self, firefox: Firefox, number: int) -> None:
        self.firefox = firefox
        self.number = number

    async def goto(self, url: str, timeout: float = 15.0) -> None:
        await self.firefox.call("goto", timeout + 5, page=self.number, url=url,
                                timeoutMs=int(timeout * 1000))

    async def evaluate(self, expression: str, timeout: float = 15.0) -> Any:
        """The value of a JavaScript expression (a promise is awaited), as JSON gives it."""
        return await self.firefox.call("evaluate", timeout, page=self.number,
                                       expression=expression)

    async def click(self, selector: str, timeout: float = 15.0) -> None:
        """A real click (input actions): the page may play sound after it."""
        await self.firefox.call("click", timeout, page=self.number, selector=selector)

    async def close(self, timeout: float = 10.0) -> None:
        await self.firefox.call("closePage", timeout, page=self.number)


class Firefox:
    """The browser (and its first tab: ``goto``, ``evaluate``, ``click`` act on it)."""

    def __init__(self, proc: asyncio.subprocess.Process, profile: Path) -> None:
        self.proc = proc
        self.profile = profile
        self.pid: int | None = None  # Firefox's own (puppeteer starts it in its own group)
        self.version = ""
        self.page = Page(self, 0)
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._stderr: list[str] = []
        self._closed = False

    async def _start(self, timeout: float) -> None:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        hello = json.loads(line) if line.strip() else {}
        if not hello.get("ready"):
            raise FirefoxError(f"Firefox did not start: {hello.get('error') or line!r}")
        self.pid, self.version = hello.get("pid"), str(hello.get("version", ""))
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            with contextlib.suppress(ValueError):
                answer = json.loads(line)
                waiter = self._waiting.pop(answer.get("id"), None)
                if waiter is not None and not waiter.done():
                    if answer.get("ok"):
                        waiter.set_result(answer.get("value"))
                    else:
                        waiter.set_exception(FirefoxError(str(answer.get("error"))))
        for waiter in self._waiting.values():  # the bridge is gone: nobody answers
            if not waiter.done():
                waiter.set_exception(FirefoxError("the Firefox bridge exited"))
        self._waiting.clear()

    async def call(self, op: str, timeout: float, **args: Any) -> Any:
        if self._closed or self.proc.stdin is None:
            raise FirefoxError("Firefox is closed")
        request_id = next(self._ids)
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiter
        self.proc.stdin.write((json.dumps({"id": request_id, "op": op, **args}) + "\n").encode())
        try:
            await self.proc.stdin.drain()
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            raise FirefoxError(f"{op} took over {timeout} s") from None
        except (BrokenPipeError, ConnectionResetError):
            raise FirefoxError("the Firefox bridge exited") from None
        finally:
            self._waiting.pop(request_id, None)

    async def new_page(self) -> Page:
        return Page(self, await self.call("newPage", 15))

    async def goto(self, url: str, timeout: float = 15.0) -> None:
        await self.page.goto(url, timeout)

    async def evaluate(self, expression: str, timeout: float = 15.0) -> Any:
        return await self.page.evaluate(expression, timeout)

    async def click(self, selector: str, timeout: float = 15.0) -> None:
        await self.page.click(selector, timeout)

    def kill(self) -> None:
        """SIGKILL Firefox and the bridge, every process of each; returns at once."""
        for pid in (self.pid, self.proc.pid):
            if pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
        for pid in _using(self.profile):  # a Firefox whose pid the bridge never told
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    async def close(self, timeout: float = 10.0) -> None:
        """Close politely (bounded), then kill whatever is left; idempotent."""
        if self._closed:
            return
        if self.proc.returncode is None:
            with contextlib.suppress(FirefoxError):
                await self.call("close", timeout)
        self._closed = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), timeout)
        self.kill()
        await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        shutil.rmtree(self.profile, ignore_errors=True)

    async def __aenter__(self) -> Firefox:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()


class _Launch:
    """``launch_firefox(...)``: awaitable (a Firefox) and an async context manager."""

    def __init__(self, options: dict[str, Any], timeout: float, wrap: Sequence[str]) -> None:
        self.options = options
        self.timeout = timeout
        self.wrap = tuple(wrap)
        self.firefox: Firefox | None = None

    def __await__(self) -> Any:
        return self._launch().__await__()

    async def _launch(self) -> Firefox:
        profile = Path(tempfile.mkdtemp(prefix="showctl-firefox-"))
        proc = await asyncio.create_subprocess_exec(
            *self.wrap, "node", str(BRIDGE), json.dumps({**self.options, "userDataDir": str(profile)}),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, cwd=BROWSERS, start_new_session=True,
            env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1", "MOZ_CRASHREPORTER_DISABLE": "1"})
        firefox = Firefox(proc, profile)
        try:
            await firefox._start(self.timeout)
        except BaseException:
            firefox._closed = True
            firefox.kill()
            await proc.wait()
            shutil.rmtree(profile, ignore_errors=True)
            raise
        return firefox

    async def __aenter__(self) -> Firefox:
        self.firefox = await self._launch()
        return self.firefox

    async def __aexit__(self, *_exc: object) -> None:
        if self.firefox is not None:
            await self.firefox.close()


def launch_firefox(*, media: bool = True, prefs: Mapping[str, Any] | None = None,
                   headless: bool = True, timeout: float = 45.0,
                   wrap: Sequence[str] = ()) -> _Launch:
    """Start Debian's Firefox ESR (headless) through the bridge: ``await`` it for a
    ``Firefox`` (then ``close()`` it), or use it as ``async with``. ``media``: a guest's
    browser (MEDIA_PREFS); ``prefs`` on top. ``timeout`` bounds the start. ``wrap``: a
    command the bridge runs under (e.g. one entering a network namespace of its own: the
    bridge and Firefox talk over that namespace's loopback); it must exec its arguments, so
    the bridge keeps its process id."""
    chosen = {**QUIET_PREFS, **(MEDIA_PREFS if media else {}), **(prefs or {})}
    return _Launch({"executablePath": FIREFOX, "headless": headless, "prefs": chosen,
                    "launchTimeoutMs": int(timeout * 1000)}, timeout + 5, wrap)
