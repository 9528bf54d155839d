"""What the drill sees besides the API: a console on the state websocket (what a director
saw) and an independent obs-websocket client (when OBS's program really changed)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import aiohttp

from ..obs.client import ObsClient
from ..obs.launcher import ObsLauncher
from .process import ControllerProcess
from .readmodel import SHOWN_ALARMS, ReadModel


class ConsoleClient:
    """A console on the state websocket (viewer token): every read model it is sent, with the
    wall time it arrived. Reconnects while the controller is down, as the console does."""

    def __init__(self, ctl: ControllerProcess) -> None:
        self.ctl = ctl
        self.seen: list[tuple[float, ReadModel]] = []
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
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.ctl.ssl)) as http:
            while True:
                with contextlib.suppress(TimeoutError, aiohttp.ClientError, OSError):
                    async with http.ws_connect(url, headers=headers, heartbeat=5) as ws:
                        self.connects += 1
                        await self._read(ws)
                await asyncio.sleep(0.1)  # the controller is down: try again shortly

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                if data.get("type") == "state":
                    self.seen.append((time.time(), data["state"]))

    def alarms_between(self, t0: float, t1: float) -> list[str]:
        """The critical and warning alarms shown between wall times t0 and t1, once each."""
        out: list[str] = []
        for at, model in self.seen:
            if t0 <= at <= t1:
                for alarm in model.get("alarms") or ():
                    text = f"{alarm['level']}: {alarm['text']}"
                    if alarm["level"] in SHOWN_ALARMS and text not in out:
                        out.append(text)
        return out

    def takes(self) -> set[tuple[str, int]]:
        """Every (segment, since_ms) the console showed on air."""
        return {(m["on_air"]["id"], m["on_air"]["since_ms"]) for _, m in self.seen
                if m.get("on_air")}


class ProgramWatch:
    """An obs-websocket client of the drill's own: when OBS's program changed (wall clock)
    and what it is now, independent of the controller's view of OBS."""

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
        """OBS's program scene now (None while OBS is not connected)."""
        if not self.client.connected:
            return None
        data = await self.client.call("GetCurrentProgramScene", timeout=2.0)
        return str(data.get("currentProgramSceneName"))
