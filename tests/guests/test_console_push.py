"""A guest joining, dying or leaving reaches the consoles at once (the read model is pushed
on the gateway's change), not with the next take or clock heartbeat.

The controller runs in-process (``control.wiring.run_show``; OBS a closed port, no mixer);
the guest's session is a stand-in with no media, driven through the gateway's own entry
points: what the peer connection's callbacks and the guest page's websocket call."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from metrics.support import RUNDOWN

from control.config import Settings
from control.guests.gateway import Session
from control.obs.launcher import free_port
from control.web.patch import apply
from control.wiring.live import run_show

VIEWER = "push-viewer-token-0123456789"
GUESTS = """\
guests:
  ada:
    name: Ada
"""


class FakePC:
    async def close(self) -> None:
        pass

    async def getStats(self) -> dict:
        return {}


class Console:
    """A console's websocket: the read model as the hub sends it (state, then deltas)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.model: Any = None

    async def until(self, check, timeout: float, what: str) -> Any:
        async def read() -> Any:
            while True:
                message = await self.ws.receive_json()
                if message.get("type") == "state":
                    self.model = message["state"]
                elif message.get("type") == "delta":
                    self.model = apply(self.model, message["patch"])
                if self.model is not None and check(self.model):
                    return self.model

        try:
            return await asyncio.wait_for(read(), timeout)
        except TimeoutError:
            raise AssertionError(f"the console never saw {what}") from None


def status(model: dict[str, Any], guest: str = "ada") -> str | None:
    return next((g["status"] for g in model.get("guests", ()) if g["id"] == guest), None)


async def test_guest_changes_reach_the_console_without_a_take(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    # no clock heartbeat during the test: only the gateway's change can push the model
    monkeypatch.setattr("control.runner.HEARTBEAT_MS", 600_000)
    rundown = tmp_path / "show.yaml"
    rundown.write_text(RUNDOWN.replace("segments:", GUESTS + "segments:"), "utf-8")
    port = free_port()
    settings = Settings(obs_url=f"ws://127.0.0.1:{free_port()}", http_port=port,
                        director_token="push-director-token-0123456789",
                        viewer_token=VIEWER, state_dir=tmp_path / "state",
                        mixer_enabled=False)
    async with run_show(rundown, settings, start="now", fresh=True) as ctl, \
            aiohttp.ClientSession() as http:
        gateway = ctl.guests.gateway
        async with http.ws_connect(f"http://127.0.0.1:{port}/api/ws", headers={
                "Authorization": f"Bearer {VIEWER}"}) as ws:
            console = Console(ws)
            # (the show started: its first take is not a take in between, even when a busy
            # machine lets the runner reach it only now)
            await console.until(lambda m: status(m) == "invited" and m["on_air"] is not None,
                                10, "ada invited, the show on air")
            takes = ctl.runner.state.on_air

            # the peer connection connects (what its connectionstatechange handler does)
            gateway.sessions["ada"] = Session("ada", "s1", FakePC())
            gateway.liveness.start("ada")
            gateway.phases["ada"] = "connected"
            gateway._changed()
            await console.until(lambda m: status(m) == "green-room", 10, "ada connected")

            # media flows, the page is open; then the browser dies: its websocket closes
            gateway.pages("ada", 1)
            gateway._media("ada")
            gateway.pages("ada", 0)
            await console.until(lambda m: status(m) == "disconnected", 10,
                                "ada's browser gone")

            # a rejoin; then the guest leaves (WHIP DELETE)
            gateway.liveness.start("ada")
            gateway._changed()
            await console.until(lambda m: status(m) == "green-room", 10, "ada back")
            assert await gateway.leave("ada", "s1")
            await console.until(lambda m: status(m) == "disconnected", 10, "ada gone")
            assert ctl.runner.state.on_air == takes  # no take in between
