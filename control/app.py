"""The wiring: the one module that knows every part and connects them.

rundown + journal -> state -> Runner (one writer) -> listeners: OBS sync (desired outputs),
the API's websocket hub (read model). The parts themselves never import each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import web

from .config import Settings
from .journal import (
    Journal,
    archive,
    event_record,
    journal_path,
    read_journal,
    replay,
    session_record,
    session_state,
)
from .metrics import Metrics, Sources, install
from .obs.client import ObsClient
from .obs.errors import ObsError
from .obs.sync import ObsSync
from .osc import OscInput
from .overlays import OverlayHub, derive_read_key
from .overlays import install as install_overlays
from .runner import Runner, wall_clock_ms
from .show.commands import Command
from .show.diagnostics import Diagnostic, RundownError
from .show.engine import Event
from .show.loader import Loaded, load_rundown
from .show.outputs import desired
from .show.shift import start_shift
from .show.state import ShowState
from .show.view import show_view
from .web.app import create_app
from .web.auth import SAFE_METHODS, Auth, at_least, same_origin
from .web.controller import Output, OutputFailed
from .web.sessions import Sessions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Opened:
    """A show ready to run: its state (fresh or replayed) and its open journal."""

    state: ShowState
    journal: Journal
    resumed: bool
    notes: tuple[str, ...]


def open_show(rundown_path: Path, settings: Settings, *, start: str | None = None,
              fresh: bool = False, now: int | None = None) -> Opened:
    """Resume the show the journal holds for this rundown, or start it afresh.

    A restart with the same command line resumes, with the time shift it had; `fresh`
    archives the old journal (never overwrites it) and starts a new one.
    """
    now = wall_clock_ms() if now is None else now
    text = rundown_path.read_text("utf-8")
    path = journal_path(settings.state_dir, str(rundown_path))
    notes: list[str] = []
    if path.exists() and not fresh:
        contents = read_journal(path)
        replayed = replay(contents)
        notes.extend(replayed.warnings)
        if start is not None:
            notes.append(f"resuming the show in {path}: --start {start} ignored "
                         "(use --fresh to start again)")
        if contents.session["rundown_path"] != str(rundown_path):
            notes.append(f"{path} was written for {contents.session['rundown_path']}; "
                         "resuming it anyway")
        state = replace(replayed.state, min_take_interval_ms=settings.min_take_interval_ms)
        journal = Journal.open_existing(path)
        if replayed.unjournaled:  # the crash cut a step short: finish writing it
            start_ms, at = state.rundown.show.start_ms, state.clock_ms or now
            journal.append_all([event_record(e, start_ms, at, state.lead_ms)
                                for e in replayed.unjournaled])
        return Opened(state, journal, True, tuple(notes))
    if path.exists():
        notes.append(f"previous journal kept as {archive(path)}")
    rundown = load_rundown(text, str(rundown_path)).rundown
    shift = start_shift(rundown, start, now) if start is not None else 0
    session = session_record(str(rundown_path), text, shift_ms=shift, mode=settings.mode,
                             armed=settings.armed,
                             min_take_interval_ms=settings.min_take_interval_ms, wall_ms=now)
    state = session_state(session)
    return Opened(state, Journal.create(path, session), False, tuple(notes))


def alarms(state: ShowState, model: dict[str, Any], obs: dict[str, Any]) -> list[dict[str, str]]:
    """What the director must see: red (critical), amber (warning), or info."""
    out = []
    if not obs.get("connected"):
        out.append({"level": "critical", "text": "OBS is not connected"})
    for text in obs.get("alarms") or ():
        out.append({"level": "warning", "text": str(text)})
    if state.panic:
        out.append({"level": "critical", "text": "PANIC: program is on the safe scene"})
    for h in model["hard_starts"][:1]:
        if h["shortfall_s"] and h["shortfall_s"] > 0:
            out.append({"level": "warning",
                        "text": f"hard start {h['id']} projected to cut {h['shortfall_s']:.0f} s"})
        if not state.armed:
            out.append({"level": "warning",
                        "text": f"hard starts disarmed: take {h['id']} by hand at {h['target']}"})
    nxt = model["next"]
    if nxt is not None and state.armed:
        seg = state.rundown.segment(nxt["id"])
        if seg.at_ms is not None:
            out.append({"level": "info", "text": f"{seg.id} is a hard start: it is taken by "
                        "itself on time; TAKE now would put it on air early"})
    if obs.get("manual_override"):
        out.append({"level": "warning",
                    "text": f"OBS program was cut by hand to {obs['manual_override']}: showctl "
                    "leaves it there until the show's next scene change"})
    for note in state.notices[-3:]:
        out.append({"level": "info", "text": note})
    return out


def read_rundown_file(path: Path) -> tuple[str, Loaded]:
    """Read and load a rundown file (its text as loaded, for the journal). Raises
    RundownError; an unreadable file is a diagnostic like any other."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RundownError([Diagnostic(str(path), 1, 1, "error", f"cannot read: {exc}")]
                           ) from None
    return text, load_rundown(text, str(path))


class ShowController:
    """What the API needs (control.web.controller.Controller), on top of the runner."""

    def __init__(self, runner: Runner, sync: ObsSync, client: ObsClient,
                 rundown_path: Path | None = None) -> None:
        self.runner = runner
        self.sync = sync
        self.client = client
        self.rundown_path = rundown_path  # what POST /api/reload reads again
        self.osc_error: str | None = None  # OSC input enabled but not listening: why

    def read_model(self) -> dict[str, Any]:
        state, now = self.runner.state, self.runner.now()
        model = show_view(state, now)
        obs = self.sync.status().to_json()
        if self.client.fatal_error is not None:  # wrong password, OBS too old: no retrying
            obs["last_error"] = str(self.client.fatal_error)
            obs["alarms"] = [*obs["alarms"], f"OBS link stopped: {self.client.fatal_error}"]
        obs["url"] = self.client.url
        obs["connection_attempts"] = self.client.connection_attempts
        model["obs"] = obs
        model["guests"] = [{"id": g.id, "name": g.name, "name_zh": g.name_zh, "role": g.role,
                            "status": "invited"} for g in state.rundown.guests]
        model["alarms"] = alarms(state, model, obs)
        if self.osc_error is not None:
            model["alarms"].append({"level": "warning", "text": self.osc_error})
        return model

    async def command(self, cmd: Command) -> None:
        await self.runner.command(cmd)

    async def reload(self) -> dict[str, Any]:
        """Re-read the rundown file; swap it in through the runner (journaled)."""
        if self.rundown_path is None:
            raise RundownError([Diagnostic("<rundown>", 1, 1, "error",
                                           "this controller was not started from a file")])
        path = self.rundown_path
        # file I/O and YAML off the event loop
        text, loaded = await asyncio.to_thread(read_rundown_file, path)
        shift = self.runner.state.rundown.shift_ms  # the session's rehearsal shift
        rundown = loaded.rundown.shifted(shift) if shift else loaded.rundown
        changes = await self.runner.reload(rundown, str(path), text)
        return {"changes": changes.to_json(), "warnings": [str(w) for w in loaded.warnings]}

    async def output(self, name: Output, active: bool) -> None:
        """Start or stop streaming or recording; returns once OBS confirms it."""
        action = {("stream", True): self.sync.start_stream,
                  ("stream", False): self.sync.stop_stream,
                  ("record", True): self.sync.start_record,
                  ("record", False): self.sync.stop_record}[(name, active)]
        try:
            await action()
        except ObsError as exc:
            raise OutputFailed(str(exc)) from exc


@contextlib.asynccontextmanager
async def controller(rundown_path: Path, settings: Settings, *, start: str | None = None,
                     fresh: bool = False) -> AsyncIterator[ShowController]:
    """Everything running: OBS link, sync, runner, API. Leaves on exit, in order."""
    opened = open_show(rundown_path, settings, start=start, fresh=fresh)
    for note in opened.notes:
        log.warning("%s", note)
    client = ObsClient(settings.obs_url, settings.obs_password)
    sync = ObsSync(client, studio_mode_preview=settings.studio_mode_preview)

    def lead() -> int | None:
        if settings.take_lead_ms is not None:
            return settings.take_lead_ms
        measured = sync.status().take_latency_ms
        return None if measured is None else round(measured)

    runner = Runner(opened.state, opened.journal, lead_source=lead)
    ctl = ShowController(runner, sync, client, rundown_path)
    # console sessions outlive a restart: a crash mid-show must not log the director out
    auth = Auth.from_settings(director=settings.director_token,
                              producer=settings.producer_token, viewer=settings.viewer_token,
                              sessions=Sessions(settings.state_dir / "console-sessions.json"))
    app = create_app(ctl, auth)
    hub = app["hub"]
    # --- metrics --- (GET /metrics, GET /healthz; reads caches only, never OBS)
    metrics = Metrics(Sources(
        show=lambda: show_view(runner.state, runner.now()),
        obs=lambda: {**sync.status().to_json(),
                     "connection_attempts": client.connection_attempts},
        take_latencies=lambda: sync.take_latencies,
        journal_seconds=lambda: runner.journal_seconds,
        websocket_clients=lambda: len(hub)))
    runner.listen(metrics.on_change)
    install(app, metrics, token_ok=lambda token: auth.role_of(token) is not None,
            public=settings.metrics_public)
    # --- end metrics ---
    # --- overlays --- (template pages for OBS browser sources: /overlays/*; the director's
    # graphics API: /api/overlays/*; the rundown's cues through the runner)
    overlays = OverlayHub(delay_ms=settings.overlays_delay_ms)
    overlay_key = derive_read_key(settings.director_token or settings.producer_token
                                  or settings.viewer_token or "")

    def overlay_authorize(request: web.Request, min_role: str) -> str | None:
        role, via = auth.identify(request)
        if role is None or not at_least(role, min_role):  # type: ignore[arg-type]
            return None
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if via == "cookie" and (request.method not in SAFE_METHODS or upgrade) \
                and not same_origin(request):
            return None  # a session cookie counts only from this server's own pages
        return role

    install_overlays(app, overlays, authorize=overlay_authorize, read_key=lambda: overlay_key)
    runner.listen(lambda state, events, now: overlays.follow(state, now))
    overlays.follow(runner.state, runner.now())
    # --- end overlays ---

    def on_change(state: ShowState, events: tuple[Event, ...], now: int) -> None:
        sync.want(desired(state, now))
        hub.publish(ctl.read_model())

    runner.listen(on_change)
    sync.want(desired(runner.state, runner.now()))
    web_runner = web.AppRunner(app, access_log=None)
    await web_runner.setup()
    site = web.TCPSite(web_runner, settings.http_host, settings.http_port)
    await client.start()
    tasks = [asyncio.create_task(sync.run(), name="obs-sync"),
             asyncio.create_task(runner.run(), name="runner")]
    await site.start()
    osc = await _start_osc(ctl, settings)
    try:
        yield ctl
    finally:
        if osc is not None:
            await osc.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await web_runner.cleanup()
        await client.stop()
        opened.journal.close()


async def _start_osc(ctl: ShowController, settings: Settings) -> OscInput | None:
    """OSC input, when enabled. A port it cannot have is an alarm, not a stopped show."""
    if not settings.osc_enabled:
        return None
    osc = OscInput(ctl, settings.osc_host, settings.osc_port)
    try:
        await osc.start()
    except OSError as exc:
        ctl.osc_error = (f"OSC input is not listening: cannot bind {settings.osc_host}:"
                         f"{settings.osc_port}/udp: {exc.strerror or exc}")
        log.error("%s", ctl.osc_error)
        return None
    return osc
