"""The running show: `LiveShow` holds every part, typed, made in order in its constructor,
and is what the API and OSC need of the show (`ShowPort`); `run_show` runs it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from control.config import Settings
from control.osc import OscInput
from control.runner import Change
from control.show import view
from control.show.commands import Command
from control.show.diagnostics import Diagnostic, RundownError
from control.show.readmodel import ReadModel
from control.web.auth import authorizer
from control.web.hub import StateHub
from control.web.port import Output

from .guests import Guests
from .http import http_server, make_app, make_auth
from .metrics import count, make_metrics
from .obs import make_obs_link
from .osc import start_osc
from .overlays import make_overlays
from .rundown import read_rundown_file
from .show import Opened, make_runner, open_show
from .stage import make_stage

log = logging.getLogger(__name__)


class LiveShow:
    """The show running: the one writer (runner), OBS, the API and its push, metrics,
    graphics, guests, OSC. Every step of the runner reaches the parts in one order (`_follow`):
    OBS first (take latency), the consoles last."""

    def __init__(self, opened: Opened, settings: Settings,
                 rundown_path: Path | None = None) -> None:
        self.rundown_path = rundown_path  # what POST /api/reload reads again
        self.speed = opened.speed  # > 1: compressed-time rehearsal (read model, alarms)
        self.obs = make_obs_link(settings)
        self.runner = make_runner(opened, self.obs.lead(settings, opened.speed))
        self.hub = StateHub()  # the consoles' state websocket
        self.auth = make_auth(settings)
        self.metrics = make_metrics(self.runner, self.obs, self.hub,
                                    screens=lambda: self.stage.hub.screens())
        self.app = make_app(self, self.auth, self.hub, self.metrics, settings)
        self.overlays = make_overlays(settings)
        self.overlays.install(self.app, authorizer(self.auth))
        self.stage = make_stage(settings, self.auth, authorizer(self.auth), self.runner.command)
        self.stage.install(self.app, authorizer(self.auth), self.overlays.read_key)
        self.guests = Guests(self.app, settings, self.runner, self.obs.client, self.metrics,
                             self.publish)
        self.osc: OscInput | None = None  # listening once started, when enabled
        self.osc_error: str | None = None  # OSC enabled but not listening: why
        self._follow()

    def _follow(self) -> None:
        """The one place for side effects of a step, in order. OBS hears a change before
        anyone else; the consoles' read model last, once per loop turn (a take commits what
        was due, then the take: one push)."""
        for listener in (self.obs.follow, count(self.metrics), self.overlays.follow,
                         self.guests.follow, self.stage.follow, self._publish_change):
            self.runner.listen(listener)
        first = self.runner.change  # what the devices should show from the start
        self.obs.follow(first)
        self.overlays.follow(first)
        self.stage.follow(first)

    def _publish_change(self, _change: Change) -> None:
        self.publish()

    def publish(self) -> None:
        """Push the read model to the consoles (on the next loop turn)."""
        self.hub.publish_soon(self.read_model)

    # -- ShowPort (control/web/port.py): what the API and OSC need

    def read_model(self) -> ReadModel:
        state, now = self.runner.state, self.runner.now()
        return view.read_model(state, now, view.Devices(
            obs=self.obs.view(), guests=self.guests.view(state, self.runner.change.desired),
            speed=self.speed, journal_error=self.runner.journal_error,
            osc_error=self.osc_error))

    def has_segment(self, segment_id: str) -> bool:
        return any(seg.id == segment_id for seg in self.runner.state.rundown.segments)

    async def command(self, cmd: Command) -> None:
        await self.runner.command(cmd)

    async def reload(self) -> dict[str, Any]:
        """Re-read the rundown file through the one reader (the checks `showctl validate`
        makes); swap it in through the runner (journaled)."""
        if self.rundown_path is None:
            raise RundownError([Diagnostic("<rundown>", 1, 1, "error",
                                           "this show was not started from a file")])
        path = self.rundown_path
        # file I/O and YAML off the event loop
        text, loaded = await asyncio.to_thread(read_rundown_file, path)
        shift = self.runner.state.rundown.shift_ms  # the session's rehearsal shift
        rundown = loaded.rundown.shifted(shift) if shift else loaded.rundown
        changes = await self.runner.reload(rundown, str(path), text)
        return {"changes": changes.to_json(), "warnings": [str(w) for w in loaded.warnings]}

    async def output(self, name: Output, active: bool) -> None:
        await self.obs.output(name, active)

    # -- running

    @contextlib.asynccontextmanager
    async def running(self, settings: Settings) -> AsyncIterator[None]:
        """OBS link, sync, runner, HTTP, OSC started; stopped on exit, in order."""
        try:
            async with http_server(self.app, settings) as site:
                await self.obs.client.start()
                tasks = [asyncio.create_task(self.obs.sync.run(), name="obs-sync"),
                         asyncio.create_task(self.runner.run(), name="runner")]
                try:
                    await site.start()
                    osc = await start_osc(self, settings)
                    self.osc, self.osc_error = osc.input, osc.error
                    try:
                        yield
                    finally:
                        if self.osc is not None:
                            await self.osc.close()
                finally:
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await self.obs.client.stop()


@contextlib.asynccontextmanager
async def run_show(rundown_path: Path, settings: Settings, *, start: str | None = None,
                   fresh: bool = False, speed: float = 1.0) -> AsyncIterator[LiveShow]:
    """Everything running: OBS link, sync, runner, API. Leaves on exit, in order.
    `speed` > 1: a compressed-time rehearsal (the show clock N times the wall clock)."""
    opened = open_show(rundown_path, settings, start=start, fresh=fresh, speed=speed)
    for note in opened.notes:
        log.warning("%s", note)
    try:
        show = LiveShow(opened, settings, rundown_path)
        async with show.running(settings):
            yield show
    finally:
        opened.journal.close()
