"""The show-day drill: the whole show against a real OBS, in compressed time, with faults.

The only way to trust a show that is live once a year is to run all of it with things going
wrong. This starts a private headless OBS (ObsLauncher), the controller as its own process
(`showctl run --start now --speed N`, its own state dir, tokens in its environment, free
ports), a console client on the state websocket and an OBS observer; runs the rundown with
hard starts armed; injects faults on a schedule; then checks the as-run journal against what
must have happened and writes a report (markdown + JSON).

Faults (each waits for its time on the show clock, then for its recovery, under deadlines):
  obs-kill         OBS SIGKILLed mid-segment and started again: program back on air's scene
  obs-freeze       OBS SIGSTOPped 5 s (a take sent meanwhile), SIGCONT: an alarm, the API
                   never blocks, the show catches up
  double-take      two takes pressed at once, both expecting the segment on air: one lands
  viewer-take      a take with the viewer's token: 403, nothing changes
  bad-reload       a malformed rundown on disk, POST /api/reload: 422 with the errors, the
                   running show untouched
  controller-kill  the controller SIGKILLed and started with the same command line: position
                   and elapsed continue, the journal loses and duplicates nothing
  guest-kill       (--guests N) an on-air guest's browser SIGKILLed, a new one with the
                   same link: disconnected, slate in OBS, on air again (control.drill.guests)
  guest-lossy      (--guests N) a guest's link drops 5 % with jitter: it stays on air, the
                   link stats show the loss, the show goes on
Then the final hard start: where OBS's program changed against the target, within a frame.

Run: `make drill RUNDOWN=rundown/nye-of-science-2023.yaml SPEED=60` or
`python -m control.drill RUNDOWN --speed N --out DIR [--guests N]`. Loopback only (with
guests, inside a network namespace of its own); every wait is a condition with a deadline.
The show never sees the drill's bad inputs: they are refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from ..journal import read_journal, replay
from ..obs.client import ObsClient
from ..obs.launcher import ObsLauncher, free_port, scenes_for
from ..show.loader import load_rundown
from .guest_faults import GuestFaults, guest_lines
from .guests import (
    NETNS_ENV,
    GuestBrowsers,
    guest_env,
    guest_view,
    invite_links,
    provision,
    reexec_in_netns,
)

ROOT = Path(__file__).resolve().parents[1]
ALL_FAULTS = ("obs-kill", "obs-freeze", "double-take", "viewer-take", "bad-reload",
              "controller-kill")
GUEST_FAULTS = ("guest-kill", "guest-lossy")  # need --guests N (Chromium, a namespace)
FREEZE_S = 5.0
BROKEN_RUNDOWN = "show:\n  title: [unclosed\nsegments:\n  - {id: x, duration: soon}\n"


class DrillError(RuntimeError):
    """The drill could not run (a part would not start); not a failed verdict."""


@dataclass
class FaultResult:
    """One injected fault: when (show and wall clock), how long until recovered, the checks."""

    name: str
    planned_show_s: float  # from the show start, on the show clock
    show_s: float | None = None  # when it was injected
    wall_s: float | None = None  # wall seconds since the drill began
    recovery_s: float | None = None  # wall seconds from injection until recovered
    checks: dict[str, bool] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(self.checks.values())


async def until(predicate: Callable[[], Awaitable[Any]], timeout: float, what: str,
                interval: float = 0.02) -> Any:
    """Await `predicate` until truthy: a condition with a deadline, never a bare sleep."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            value = await predicate()
            if value:
                return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)


class Controller:
    """`showctl run --no-terminal --start now --speed N RUNDOWN` as its own process; the same
    command line starts it again after a kill (it resumes from its journal)."""

    def __init__(self, root: Path, rundown: Path, speed: float, obs: ObsLauncher,
                 tokens: dict[str, str], guests: dict[str, str] | None = None) -> None:
        self.rundown, self.speed, self.tokens = rundown, speed, tokens
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_dir = root / "state"
        self.log = root / "controller.log"
        self.env = {**os.environ, "SHOWCTL_OBS_URL": obs.url,
                    "SHOWCTL_OBS_PASSWORD": obs.password, "SHOWCTL_HTTP_HOST": "127.0.0.1",
                    "SHOWCTL_HTTP_PORT": str(self.port), "SHOWCTL_STATE_DIR": str(self.state_dir),
                    "SHOWCTL_MODE": "rehearsal",
                    "SHOWCTL_DIRECTOR_TOKEN": tokens["director"],
                    "SHOWCTL_VIEWER_TOKEN": tokens["viewer"],
                    "SHOWCTL_MIXER_ENABLED": "false", "SHOWCTL_OSC_ENABLED": "false",
                    **(guests or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.http: aiohttp.ClientSession | None = None
        self.starts = 0

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "control.cli", "run", "--no-terminal", "--start", "now",
                "--speed", f"{self.speed:g}", str(self.rundown)]

    async def start(self, timeout: float = 30) -> None:
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"\n===== start #{self.starts} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                         stderr=log, stdin=subprocess.DEVNULL)
        if self.http is None:
            self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

        async def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise DrillError(f"the controller exited:\n{self.log.read_text()[-3000:]}")
            return (await self.request("GET", "/api/state"))[0] == 200
        await until(up, timeout, "the controller's API")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(self.proc.wait, 15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.http is not None:
            await self.http.close()
            self.http = None

    async def request(self, method: str, path: str, body: Any = None,
                      role: str | None = "director") -> tuple[int, dict[str, Any]]:
        assert self.http is not None
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        async with self.http.request(method, self.url + path, json=body,
                                     headers=headers) as resp:
            try:
                data = await resp.json(content_type=None)
            except (json.JSONDecodeError, aiohttp.ContentTypeError):
                data = {}
            return resp.status, data if isinstance(data, dict) else {}

    async def state(self) -> dict[str, Any]:
        status, body = await self.request("GET", "/api/state")
        if status != 200:
            raise DrillError(f"GET /api/state answered {status}: {body}")
        return body

    def journal(self) -> list[dict[str, Any]]:
        path = next(self.state_dir.glob("*.journal.jsonl"))
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


class Console:
    """A console client on the state websocket (viewer token): every read model it is sent,
    with the wall time it arrived. Reconnects while the controller is down, as the console
    does, so the drill sees what a director would have seen."""

    def __init__(self, ctl: Controller) -> None:
        self.ctl = ctl
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self.connects = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="drill-console")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        url = self.ctl.url.replace("http", "ws", 1) + "/api/ws"
        headers = {"Authorization": f"Bearer {self.ctl.tokens['viewer']}"}
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.ws_connect(url, headers=headers, heartbeat=5) as ws:
                        self.connects += 1
                        async for msg in ws:
                            if msg.type != aiohttp.WSMsgType.TEXT:
                                continue
                            data = json.loads(msg.data)
                            if data.get("type") == "state":
                                self.seen.append((time.time(), data["state"]))
                except (TimeoutError, aiohttp.ClientError, OSError):
                    pass
                await asyncio.sleep(0.1)  # the controller is down: try again shortly

    def alarms_between(self, t0: float, t1: float) -> list[str]:
        out: list[str] = []
        for at, model in self.seen:
            if t0 <= at <= t1:
                for alarm in model.get("alarms") or ():
                    text = f"{alarm['level']}: {alarm['text']}"
                    if alarm["level"] in ("critical", "warning") and text not in out:
                        out.append(text)
        return out

    def takes(self) -> set[tuple[str, int]]:
        """Every (segment, since_ms) the console showed on air."""
        return {(m["on_air"]["id"], m["on_air"]["since_ms"]) for _, m in self.seen
                if m.get("on_air")}


class Observer:
    """An independent obs-websocket client: when OBS's program really changed (wall clock)."""

    def __init__(self, obs: ObsLauncher) -> None:
        self.client = ObsClient(obs.url, obs.password, request_timeout=2.0)
        self.changes: list[tuple[float, str]] = []  # (wall s, scene) CurrentProgramSceneChanged
        self.transitions: list[float] = []  # SceneTransitionStarted arrivals (wall s)
        self.client.add_event_listener(self._on_event)

    def _on_event(self, event: Any) -> None:
        now = time.time()
        if event.event_type == "CurrentProgramSceneChanged":
            self.changes.append((now, event.data.get("sceneName", "")))
        elif event.event_type == "SceneTransitionStarted":
            self.transitions.append(now)

    async def program(self) -> str | None:
        if not self.client.connected:
            return None
        data = await self.client.call("GetCurrentProgramScene", timeout=2.0)
        return str(data.get("currentProgramSceneName"))


@dataclass
class Drill:
    """One drill run. `faults` in the order they are injected."""

    rundown: Path
    speed: float
    out: Path
    faults: tuple[str, ...] = ALL_FAULTS
    fps: float = 25.0
    after_final_s: float = 2.0  # wall seconds the show runs on after the final hard start
    log: Callable[[str], None] = print
    guests: int = 0  # headless Chromium guests (only inside the drill's network namespace)

    def __post_init__(self) -> None:
        self.results: list[FaultResult] = []
        self.t0 = time.time()

    def say(self, text: str) -> None:
        self.log(f"[drill {time.time() - self.t0:6.1f}s] {text}")

    async def run(self) -> dict[str, Any]:
        text = self.rundown.read_text("utf-8")
        rundown = load_rundown(text, str(self.rundown)).rundown  # refuses a broken one here
        self.out.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="showctl-drill-"))
        copy = root / self.rundown.name  # the file the controller reads (bad-reload edits it)
        copy.write_text(text, "utf-8")
        tokens = {"director": secrets.token_urlsafe(18), "viewer": secrets.token_urlsafe(18)}
        guest_ids = self._guest_ids(rundown)
        secret = secrets.token_urlsafe(24)
        self.layouts = {s.id: s.layout for s in rundown.segments}
        obs = ObsLauncher(root / "obs", scenes=scenes_for(rundown))
        self.say(f"OBS starting ({root})")
        await asyncio.to_thread(obs.start)
        observer = Observer(obs)
        await observer.client.start()
        ctl = Controller(root, copy, self.speed, obs, tokens,
                         guest_env(secret) if guest_ids else None)
        console = Console(ctl)
        browsers: GuestBrowsers | None = None
        report: dict[str, Any] = {}
        try:
            if guest_ids:
                created = await provision(ctl.env, copy, ROOT)
                self.say(f"preflight --provision: {len(created)} created (the Program Feed)")
            self.say(f"controller starting at x{self.speed:g}")
            await ctl.start()
            console.start()
            if guest_ids:
                lossy = guest_ids[-1] if "guest-lossy" in self.faults else None
                browsers = GuestBrowsers(root, invite_links(secret, guest_ids, ctl.port), lossy)
                self.say(f"guests joining: {', '.join(guest_ids)}"
                         + (f" ({lossy} through the lossy relay)" if lossy else ""))
                await browsers.start()
                await self._joined(ctl, guest_ids)
                self.guest_faults = GuestFaults(ctl, observer, browsers, self.layouts,
                                                self.speed, self.say)
            report = await self._show(ctl, obs, observer, console, text)
        finally:
            if browsers is not None:
                await browsers.close()
            await console.stop()
            await ctl.stop()
            await observer.client.stop()
            await asyncio.to_thread(obs.close)
            for name in ("controller.log",):
                with contextlib.suppress(OSError):
                    shutil.copy(root / name, self.out / name)
            with contextlib.suppress(OSError, StopIteration):
                shutil.copy(next(ctl.state_dir.glob("*.journal.jsonl")),
                            self.out / "journal.jsonl")
        shutil.rmtree(root, ignore_errors=True)
        return report

    # --- the guests -------------------------------------------------------------------------

    def _guest_ids(self, rundown: Any) -> list[str]:
        """The first N guests of the rundown's roster (the drill's browsers)."""
        if not self.guests:
            if wanted := [f for f in self.faults if f in GUEST_FAULTS]:
                raise DrillError(f"{', '.join(wanted)} need(s) --guests N")
            return []
        if not os.environ.get(NETNS_ENV):
            raise DrillError("guests run only inside the drill's own loopback network "
                             "namespace: start it with scripts/drill or python -m control.drill")
        ids = [g.id for g in rundown.guests]
        if len(ids) < self.guests:
            raise DrillError(f"--guests {self.guests}: the rundown lists {len(ids)} guest(s)")
        return ids[: self.guests]

    async def _joined(self, ctl: Controller, guest_ids: list[str], timeout: float = 45) -> None:
        async def all_in() -> bool:
            state = await ctl.state()
            return all(guest_view(state, g).get("status") in ("green-room", "ready", "on-air")
                       for g in guest_ids)
        await until(all_in, timeout, "every guest connected", 0.1)
        self.say("every guest connected")

    async def _guest_fault(self, ctl: Controller, r: FaultResult, name: str) -> None:
        state = await ctl.state()
        left_s = (self._final_ms - state["show"]["now_ms"]) / 1000 / self.speed
        fault = getattr(self.guest_faults, name.replace("-", "_"))
        await fault(r, max(5.0, left_s - 5), mark=lambda now_ms: self._mark(r, now_ms))

    def _mark(self, r: FaultResult, now_ms: int) -> None:
        """When the fault was really injected (a guest fault waits for its guest on air)."""
        r.show_s = round((now_ms - self._start_ms) / 1000, 1)
        r.wall_s = round(time.time() - self.t0, 2)
        self.say(f"{r.name} injected at show +{r.show_s:.0f}s")

    async def _guest_kill(self, ctl: Controller, obs: ObsLauncher, observer: Observer,
                          console: Console, r: FaultResult, text: str) -> None:
        await self._guest_fault(ctl, r, "guest-kill")

    async def _guest_lossy(self, ctl: Controller, obs: ObsLauncher, observer: Observer,
                           console: Console, r: FaultResult, text: str) -> None:
        await self._guest_fault(ctl, r, "guest-lossy")

    # --- the show ---------------------------------------------------------------------------

    async def _show(self, ctl: Controller, obs: ObsLauncher, observer: Observer,
                    console: Console, text: str) -> dict[str, Any]:
        first = await ctl.state()
        start_ms = _ms(first["show"]["planned_start"])
        targets = [(h["id"], h["target_ms"]) for h in first["hard_starts"]]
        if not targets:
            raise DrillError("the rundown has no hard start: the drill checks one")
        final_id, final_ms = targets[-1]
        self._start_ms, self._final_ms = start_ms, final_ms
        span = final_ms - start_ms
        # faults spread over the first 60 % of the time before the final hard start, so the
        # last one has recovered before it (a restart costs seconds of wall time, x speed)
        n = len(self.faults)
        plan = [(name, start_ms + round(span * 0.6 * (i + 1) / (n + 1)))
                for i, name in enumerate(self.faults)]
        self.say(f"show starts {first['show']['planned_start']}, final hard start {final_id} "
                 f"at +{span / 1000:.0f} s show time; faults: "
                 + ", ".join(f"{f} +{(at - start_ms) / 1000:.0f}s" for f, at in plan))
        await until(lambda: _on_air(ctl), 30, "the show to start")
        for name, at in plan:
            result = FaultResult(name, round((at - start_ms) / 1000, 1))
            self.results.append(result)
            await self._wait_show_ms(ctl, at, final_ms)
            now = (await ctl.state())["show"]["now_ms"]
            result.show_s = round((now - start_ms) / 1000, 1)
            result.wall_s = round(time.time() - self.t0, 2)
            self.say(f"{name} at show +{result.show_s:.0f}s")
            try:
                await getattr(self, "_" + name.replace("-", "_"))(ctl, obs, observer, console,
                                                                  result, text)
            except (TimeoutError, DrillError, AssertionError) as exc:
                result.checks["completed"] = False
                result.detail["error"] = str(exc)
            self.say(f"{name}: {'ok' if result.ok else 'FAILED'} "
                     f"(recovered in {result.recovery_s} s) {result.checks}")
        final = await self._final_hard_start(ctl, observer, final_id, final_ms)
        last = await ctl.state()
        await ctl.stop()
        return self._report(ctl, console, final, start_ms, final_ms, last)

    async def _wait_show_ms(self, ctl: Controller, at_ms: int, final_ms: int) -> None:
        async def due() -> bool:
            return (await ctl.state())["show"]["now_ms"] >= at_ms
        wall = max(0.0, (at_ms - (await ctl.state())["show"]["now_ms"]) / 1000 / self.speed)
        await until(due, wall + 30, f"show time {at_ms}")

    # --- faults -----------------------------------------------------------------------------

    async def _obs_kill(self, ctl: Controller, obs: ObsLauncher, observer: Observer,
                        console: Console, r: FaultResult, text: str) -> None:
        t0 = time.time()
        await asyncio.to_thread(obs.kill)
        r.checks["controller noticed OBS down"] = bool(await until(
            lambda: _obs_down(ctl), 10, "the controller to see OBS down"))
        r.checks["alarm shown"] = any("OBS is not connected" in a for a in
                                      console.alarms_between(t0, time.time() + 1)) or bool(
            [a for a in (await ctl.state())["alarms"] if a["level"] == "critical"])
        await asyncio.to_thread(obs.start)
        ready = time.time()
        if self.guests:  # a killed OBS may not have saved the provisioned feed source
            r.detail["reprovisioned"] = await provision(ctl.env, ctl.rundown, ROOT)
        scene = await _back_on_air(ctl, observer, 20)
        r.recovery_s = round(time.time() - t0, 2)
        r.detail.update(obs_restart_s=round(ready - t0, 2),
                        program_back_after_obs_ready_s=round(time.time() - ready, 2), scene=scene)
        r.checks["program back on the on-air segment's scene"] = scene is not None

    async def _obs_freeze(self, ctl: Controller, obs: ObsLauncher, observer: Observer,
                          console: Console, r: FaultResult, text: str) -> None:
        assert obs.proc is not None
        t0 = time.time()
        os.killpg(obs.proc.pid, signal.SIGSTOP)
        slowest = 0.0
        took: int | None = None
        try:
            # a take while OBS cannot answer: the API acknowledges it at once (journaled)
            state = await ctl.state()
            nxt = state["next"]
            if nxt is not None and not _is_hard_start(state, nxt["id"]):
                s0 = time.monotonic()
                took, _ = await ctl.request("POST", "/api/take",
                                            {"expect": state["on_air"]["id"]})
                slowest = time.monotonic() - s0
            while time.time() - t0 < FREEZE_S:  # the freeze's own length, polled
                s0 = time.monotonic()
                await ctl.state()
                slowest = max(slowest, time.monotonic() - s0)
                await asyncio.sleep(0.2)
        finally:
            os.killpg(obs.proc.pid, signal.SIGCONT)
        scene = await _back_on_air(ctl, observer, 30)
        r.recovery_s = round(time.time() - t0, 2)
        alarms = console.alarms_between(t0, time.time())
        r.detail.update(take_status=took, slowest_api_s=round(slowest, 3), alarms=alarms,
                        caught_up_after_sigcont_s=round(time.time() - t0 - FREEZE_S, 2))
        r.checks["API never blocked (< 1 s)"] = slowest < 1.0
        r.checks["take acknowledged during the freeze"] = took in (None, 200)
        r.checks["alarm shown"] = bool(alarms)
        r.checks["caught up: program on the on-air scene"] = scene is not None

    async def _double_take(self, ctl: Controller, obs: ObsLauncher, observer: Observer,
                           console: Console, r: FaultResult, text: str) -> None:
        state = await _settled(ctl)
        on_air, nxt = state["on_air"]["id"], state["next"]
        if nxt is None or _is_hard_start(state, nxt["id"]):
            r.checks["a segment to take"] = False
            return
        before = _commands(ctl.journal())
        t0 = time.time()
        answers = await asyncio.gather(*(ctl.request("POST", "/api/take", {"expect": on_air})
                                         for _ in range(2)))
        statuses = sorted(status for status, _ in answers)
        takes = [c for c in _commands(ctl.journal())[len(before):] if c["kind"] == "take"]
        r.recovery_s = round(time.time() - t0, 2)
        r.detail.update(statuses=statuses, reason=next(
            (b.get("reason") for s, b in answers if s != 200), None))
        r.checks["one 200, one 409"] = statuses == [200, 409]
        r.checks["one take journaled"] = len(takes) == 1
        r.checks["the next segment on air"] = (await ctl.state())["on_air"]["id"] == nxt["id"]

    async def _viewer_take(self, ctl: Controller, obs: ObsLauncher, observer: Observer,
                           console: Console, r: FaultResult, text: str) -> None:
        before = await ctl.state()
        commands = len(_commands(ctl.journal()))
        status, body = await ctl.request("POST", "/api/take", role="viewer")
        after = await ctl.state()
        r.recovery_s = 0.0
        r.detail.update(status=status, reason=body.get("reason"))
        r.checks["403"] = status == 403
        r.checks["nothing journaled"] = len(_commands(ctl.journal())) == commands
        r.checks["the as-run has nothing by the viewer"] = not any(
            e.get("by") == "viewer" for e in after["asrun"]) and len(after["asrun"]) >= len(
            before["asrun"])

    async def _bad_reload(self, ctl: Controller, obs: ObsLauncher, observer: Observer,
                          console: Console, r: FaultResult, text: str) -> None:
        before = await ctl.state()
        records = len(ctl.journal())
        ctl.rundown.write_text(BROKEN_RUNDOWN, "utf-8")
        try:
            status, body = await ctl.request("POST", "/api/reload")
        finally:
            ctl.rundown.write_text(text, "utf-8")
        after = await ctl.state()
        journal = ctl.journal()
        r.recovery_s = 0.0
        r.detail.update(status=status, errors=(body.get("errors") or [])[:3])
        r.checks["422 with the errors"] = status == 422 and bool(body.get("errors"))
        r.checks["no rundown journaled"] = not any(x["type"] == "rundown"
                                                   for x in journal[records:])
        r.checks["plan untouched"] = (
            [(s["id"], s["hard_start"]) for s in before["segments"]]
            == [(s["id"], s["hard_start"]) for s in after["segments"]]
            and before["show"]["last_reload"] == after["show"]["last_reload"])

    async def _controller_kill(self, ctl: Controller, obs: ObsLauncher, observer: Observer,
                               console: Console, r: FaultResult, text: str) -> None:
        before = await ctl.state()
        lines_before = ctl.journal()
        t0 = time.time()
        await asyncio.to_thread(ctl.kill)
        await ctl.start()
        after = await ctl.state()
        r.recovery_s = round(time.time() - t0, 2)
        lines_after = ctl.journal()
        gap_s = (after["show"]["now_ms"] - before["show"]["now_ms"]) / 1000
        same = after["on_air"]["id"] == before["on_air"]["id"]
        r.detail.update(on_air_before=before["on_air"]["id"], on_air_after=after["on_air"]["id"],
                        show_s_while_down=round(gap_s, 1))
        r.checks["journal kept every record"] = lines_after[:len(lines_before)] == lines_before
        if same:
            r.checks["position continues (same segment, same since)"] = (
                after["on_air"]["since_ms"] == before["on_air"]["since_ms"])
            elapsed = after["on_air"]["elapsed_s"] - before["on_air"]["elapsed_s"]
            r.checks["elapsed continues"] = abs(elapsed - gap_s) < 0.2 + 0.01 * self.speed
        else:  # its time ran out while the controller was down: the show moved on, in order
            r.checks["position continues (the show moved on in order)"] = (
                after["show"]["now_ms"] >= before["on_air"]["planned_end_ms"])
        r.checks["program on the on-air scene"] = await _back_on_air(ctl, observer, 20) \
            is not None

    # --- the final hard start ----------------------------------------------------------------

    async def _final_hard_start(self, ctl: Controller, observer: Observer, seg_id: str,
                                target_ms: int) -> dict[str, Any]:
        state = await ctl.state()
        scene = next(s["scene"] for s in state["segments"] if s["id"] == seg_id)
        wall = max(0.0, (target_ms - state["show"]["now_ms"]) / 1000 / self.speed)
        self.say(f"final hard start {seg_id} in {wall:.1f} s wall")

        near = _wall_of(state, target_ms, self.speed) - 5  # well before the target

        async def landed() -> bool:
            return any(name == scene and at >= near for at, name in observer.changes)
        await until(landed, wall + 20, f"OBS on {scene!r} for {seg_id}")
        after = await until(lambda: _past(ctl, target_ms + round(self.after_final_s * 1000 *
                                                                 self.speed)),
                            self.after_final_s + 20, "the show after the final hard start")
        # the show clock's wall mapping, from two readings (request midpoints): robust to
        # how long each request took
        target_wall = await _wall_for_show_ms(ctl, target_ms, self.speed)
        arrival = min(at for at, name in observer.changes
                      if name == scene and at >= target_wall - 5)
        started = [t for t in observer.transitions if target_wall - 1 <= t <= arrival]
        landing = min(started) if started else arrival
        error_ms = (landing - target_wall) * 1000
        frame_ms = 1000 / self.fps
        take = next((e for e in _events(ctl.journal()) if e["kind"] == "take"
                     and e["segment_id"] == seg_id), None)
        return {"segment": seg_id, "scene": scene, "target_ms": target_ms,
                "error_wall_ms": round(error_ms, 1),
                "error_show_ms": round(error_ms * self.speed, 1),
                "frame_ms": frame_ms, "within_one_frame": abs(error_ms) <= frame_ms,
                "journal_take_at_target": bool(take and take["at_ms"] == target_ms
                                               and take["source"] == "hard-start"),
                "on_air_after": after["on_air"]["id"] if after.get("on_air") else None}

    # --- the as-run check and the report ---------------------------------------------------------

    def _report(self, ctl: Controller, console: Console, final: dict[str, Any], start_ms: int,
                final_ms: int, last: dict[str, Any]) -> dict[str, Any]:
        journal = ctl.journal()
        events = _events(journal)
        keys = [(e["kind"], e["segment_id"], e["at_ms"], e.get("source"), e.get("detail"))
                for e in events]
        duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
        takes = [(e["segment_id"], e["at_ms"]) for e in events if e["kind"] == "take"]
        retaken = sorted({s for s, _ in takes if sum(1 for x, _ in takes if x == s) > 1})
        missing = sorted(f"{s}@{ms}" for s, ms in console.takes() if (s, ms) not in takes)
        # every segment before the final hard start aired or was skipped, once
        replay_of = replay(read_journal(next(ctl.state_dir.glob("*.journal.jsonl"))))
        replayed = replay_of.state
        ids = [s.id for s in replayed.rundown.segments]
        before_final = ids[: ids.index(final["segment"]) + 1]
        accounted = [e.segment_id for e in replayed.asrun]
        unaccounted = [s for s in before_final if s not in accounted]
        asrun = {
            "entries": len(replayed.asrun), "takes": len(takes),
            "duplicated": duplicates, "taken_twice": retaken,
            "seen_on_air_but_not_journaled": missing, "segments_unaccounted": unaccounted,
            "replay_warnings": list(replay_of.warnings),
            # the journal alone rebuilds what the controller showed last
            "replay_matches_controller": len(replayed.asrun) == len(last["asrun"]) and (
                replayed.on_air == (last["on_air"] or {}).get("id")),
        }
        asrun["every_entry_present"] = not missing and not unaccounted
        asrun["none_duplicated"] = not duplicates and not retaken
        verdicts = {
            **{f"fault {r.name}": r.ok for r in self.results},
            "final hard start within one frame": final["within_one_frame"],
            "final hard start journaled at its target": final["journal_take_at_target"],
            "every as-run entry present": asrun["every_entry_present"],
            "no as-run entry duplicated": asrun["none_duplicated"],
            "the journal replays to the controller's state": asrun["replay_matches_controller"],
        }
        report = {
            "rundown": str(self.rundown), "speed": self.speed, "fps": self.fps,
            "wall_s": round(time.time() - self.t0, 1),
            "show_s": round((final_ms - start_ms) / 1000, 1),
            "faults": [{**asdict(r), "ok": r.ok} for r in self.results],
            "final_hard_start": final, "asrun": asrun, "verdicts": verdicts,
            "ok": all(verdicts.values()),
            "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()},
        }
        (self.out / "drill.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        (self.out / "drill.md").write_text(markdown(report), "utf-8")
        return report


def markdown(report: dict[str, Any]) -> str:
    """The report for people: each fault, when, how long until recovered, the verdicts."""
    final = report["final_hard_start"]
    lines = [f"# Show-day drill: {report['rundown']} at x{report['speed']:g}", "",
             f"{report['show_s']:.0f} s of show up to the final hard start, "
             f"{report['wall_s']:.0f} s of wall time; load {report['machine']['load'][0]:.1f} "
             f"on {report['machine']['cpus']} CPUs. **{'PASS' if report['ok'] else 'FAIL'}**",
             "", "| fault | show time | wall time | recovered in | checks |",
             "|---|---|---|---|---|"]
    for f in report["faults"]:
        checks = "; ".join(f"{'ok' if v else 'FAILED'}: {k}" for k, v in f["checks"].items())
        rec = "" if f["recovery_s"] is None else f"{f['recovery_s']:.2f} s"
        lines.append(f"| {f['name']} | +{f['show_s'] or 0:.0f} s | {f['wall_s'] or 0:.1f} s "
                     f"| {rec} | {checks} |")
    lines += ["", f"Final hard start `{final['segment']}` ({final['scene']}): OBS's program "
              f"changed {final['error_wall_ms']:+.1f} ms (wall) from its target "
              f"({final['error_show_ms']:+.0f} ms of show time at x{report['speed']:g}); "
              f"one frame is {final['frame_ms']:.0f} ms: "
              f"**{'within' if final['within_one_frame'] else 'NOT within'} one frame**; "
              f"journaled at its target: {final['journal_take_at_target']}.", "",
              f"As-run: {report['asrun']['entries']} entries, {report['asrun']['takes']} takes; "
              f"missing {report['asrun']['seen_on_air_but_not_journaled'] or 'none'}, "
              f"unaccounted {report['asrun']['segments_unaccounted'] or 'none'}, "
              f"duplicated {report['asrun']['duplicated'] or 'none'}.", *guest_lines(
                  report["faults"]), "", "## Verdicts", ""]
    lines += [f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in report["verdicts"].items()]
    return "\n".join(lines) + "\n"


# --- helpers ----------------------------------------------------------------------------------

def _ms(iso_text: str) -> int:
    return round(datetime.fromisoformat(iso_text).timestamp() * 1000)


def _events(journal: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["event"] for r in journal if r["type"] == "event"]


def _commands(journal: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["command"] for r in journal if r["type"] == "command"]


def _is_hard_start(state: dict[str, Any], seg_id: str) -> bool:
    return any(s["id"] == seg_id and s["hard_start"] for s in state["segments"])


async def _on_air(ctl: Controller) -> bool:
    return (await ctl.state())["on_air"] is not None


async def _obs_down(ctl: Controller) -> bool:
    return not (await ctl.state())["obs"]["connected"]


async def _past(ctl: Controller, show_ms: int) -> dict[str, Any] | None:
    state = await ctl.state()
    return state if state["show"]["now_ms"] >= show_ms else None


async def _settled(ctl: Controller) -> dict[str, Any]:
    """The state once the last take is older than the minimum between takes (a take now is
    the director's, not refused as a double press of the previous one)."""
    async def ready() -> dict[str, Any] | None:
        state = await ctl.state()
        on_air = state["on_air"]
        if on_air and state["show"]["now_ms"] - on_air["since_ms"] > 600 * ctl.speed:
            return state
        return None
    return await until(ready, 10, "the minimum time between takes")


async def _back_on_air(ctl: Controller, observer: Observer, timeout: float) -> str | None:
    """OBS's program (seen by the observer, not the controller) on the scene the controller
    wants for the on-air segment, and the controller in sync: the scene, or None."""
    async def back() -> str | None:
        state = await ctl.state()
        want = state["obs"].get("desired_scene")
        if not state["obs"]["connected"] or not want:
            return None
        return want if await observer.program() == want else None
    try:
        return await until(back, timeout, "OBS back on the on-air segment's scene", 0.05)
    except TimeoutError:
        return None


def _wall_of(state: dict[str, Any], show_ms: int, speed: float) -> float:
    """Rough wall time (s) at which the show clock reads `show_ms`, from one read model."""
    return time.time() - (state["show"]["now_ms"] - show_ms) / 1000 / speed


async def _wall_for_show_ms(ctl: Controller, show_ms: int, speed: float) -> float:
    """The wall time (s) at which the controller's show clock read `show_ms`: from the best
    of several readings (the shortest round trip bounds the error, NTP-style)."""
    best: tuple[float, float] | None = None
    for _ in range(8):
        t0 = time.time()
        state = await ctl.state()
        t1 = time.time()
        if best is None or t1 - t0 < best[0]:
            mid = (t0 + t1) / 2
            best = (t1 - t0, mid - (state["show"]["now_ms"] - show_ms) / 1000 / speed)
    assert best is not None
    return best[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="showctl-drill", description=__doc__.splitlines()[0])
    parser.add_argument("rundown", type=Path)
    parser.add_argument("--speed", type=float, default=20.0,
                        help="compressed time: the show clock runs N times the wall clock")
    parser.add_argument("--out", type=Path, default=ROOT / "state" / "drill",
                        help="where drill.md, drill.json, the journal and the log go")
    parser.add_argument("--faults", default=None,
                        help=f"comma-separated, in order (default: {','.join(ALL_FAULTS)}, "
                        f"and {','.join(GUEST_FAULTS)} with --guests)")
    parser.add_argument("--fps", type=float, default=25.0, help="the frame rate (one frame)")
    parser.add_argument("--guests", type=int, default=0, metavar="N",
                        help="N headless Chromium guests from the rundown's roster (needs root: "
                        "the drill re-runs itself in a loopback-only network namespace)")
    args = parser.parse_args(argv)
    default = ALL_FAULTS + (GUEST_FAULTS if args.guests else ())
    faults = tuple(f for f in (args.faults or ",".join(default)).split(",") if f)
    known = ALL_FAULTS + GUEST_FAULTS
    unknown = [f for f in faults if f not in known]
    if unknown:
        parser.error(f"unknown fault(s) {unknown}; known: {', '.join(known)}")
    if not args.guests and (wanted := [f for f in faults if f in GUEST_FAULTS]):
        parser.error(f"{', '.join(wanted)} need(s) --guests N")
    if args.guests < 0:
        parser.error("--guests must be 0 or more")
    if args.guests and not os.environ.get(NETNS_ENV):
        return reexec_in_netns(sys.argv[1:] if argv is None else argv)
    drill = Drill(args.rundown, args.speed, args.out, faults, args.fps, guests=args.guests)
    try:
        report = asyncio.run(drill.run())
    except DrillError as exc:
        print(f"drill: {exc}", file=sys.stderr)
        return 2
    print((args.out / "drill.md").read_text("utf-8"))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
