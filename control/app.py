"""The wiring: the one module that knows every part and connects them.

rundown + journal -> state -> Runner (one writer) -> listeners: OBS sync (desired outputs),
the API's websocket hub (read model). The parts themselves never import each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
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
from .metrics.looplag import LoopLagProbe
from .metrics.looplag import install_debug as install_looplag
from .obs.client import ObsClient
from .obs.errors import ObsError
from .obs.sync import ObsSync
from .osc import OscInput
from .overlays import OPENAPI_PATHS as OVERLAY_API_DOC
from .overlays import OverlayHub, api_routes
from .overlays import install as install_overlays
from .overlays import read_key as overlay_read_key
from .runner import Runner, ScaledClock, wall_clock_ms
from .show.commands import Command
from .show.diagnostics import Diagnostic, RundownError
from .show.engine import Event, next_segment
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
    speed: float = 1.0  # compressed-time rehearsal: the show clock runs this many times faster
    anchor_ms: int = 0  # the wall instant the show clock started from (the session's wall_ms)


def open_show(rundown_path: Path, settings: Settings, *, start: str | None = None,
              fresh: bool = False, now: int | None = None, speed: float = 1.0) -> Opened:
    """Resume the show the journal holds for this rundown, or start it afresh.

    A restart with the same command line resumes, with the time shift it had; `fresh`
    archives the old journal (never overwrites it) and starts a new one. A compressed-time
    session (`speed` > 1) keeps its speed in the journal: a resumed show keeps its clock.
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
        journaled_speed = float(contents.session.get("speed", 1))
        if speed != journaled_speed:
            notes.append(f"resuming the show in {path} at the speed it started with "
                         f"(x{journaled_speed:g}); --speed {speed:g} ignored")
        state = replace(replayed.state, min_take_interval_ms=round(
            settings.min_take_interval_ms * journaled_speed))
        journal = Journal.open_existing(path)
        if replayed.unjournaled:  # the crash cut a step short: finish writing it
            start_ms, at = state.rundown.show.start_ms, state.clock_ms or now
            journal.append_all([event_record(e, start_ms, at, state.lead_ms)
                                for e in replayed.unjournaled])
        return Opened(state, journal, True, tuple(notes), journaled_speed,
                      contents.session["wall_ms"])
    if path.exists():
        notes.append(f"previous journal kept as {archive(path)}")
    rundown = load_rundown(text, str(rundown_path)).rundown
    shift = start_shift(rundown, start, now) if start is not None else 0
    session = session_record(str(rundown_path), text, shift_ms=shift, mode=settings.mode,
                             armed=settings.armed,
                             # a double press is in wall time: x speed in show time
                             min_take_interval_ms=round(settings.min_take_interval_ms * speed),
                             wall_ms=now)
    if speed != 1:
        session["speed"] = speed
    state = session_state(session)
    return Opened(state, Journal.create(path, session), False, tuple(notes), speed, now)


# the alarms the console translates (i18n `alarm.code.<code>`); others show their `text`
ALARM_CODES = ("obs_disconnected", "panic", "hard_start_cut", "hard_starts_disarmed",
               "next_is_hard_start", "manual_override", "journal_failed")


def _alarm(level: str, text: str, code: str | None = None, **params: Any) -> dict[str, Any]:
    """An alarm: `text` in English; `code` and `params` let the console say it in the
    operator's language (i18n key `alarm.code.<code>`)."""
    assert code is None or code in ALARM_CODES, code
    out: dict[str, Any] = {"level": level, "text": text}
    if code is not None:
        out["code"], out["params"] = code, params
    return out


def alarms(state: ShowState, model: dict[str, Any], obs: dict[str, Any], *,
           journal_error: str | None = None, osc_error: str | None = None,
           speed: float = 1.0, obs_stuck_s: float | None = None) -> list[dict[str, Any]]:
    """What the director must see: red (critical), amber (warning), or info. Besides the
    show and OBS: a journal that cannot be written, an OSC port that would not open, a
    compressed-time rehearsal, an OBS connected but not answering."""
    out = []
    if journal_error is not None:  # the show goes on; the records wait in memory
        out.append(_alarm("critical", "journal not written (records held in memory until it "
                          f"works): {journal_error}", "journal_failed", error=journal_error))
    if not obs.get("connected"):
        out.append(_alarm("critical", "OBS is not connected", "obs_disconnected"))
    for text in obs.get("alarms") or ():
        out.append(_alarm("warning", str(text)))
    if state.panic:
        out.append(_alarm("critical", "PANIC: program is on the safe scene", "panic"))
    for h in model["hard_starts"][:1]:
        if h["shortfall_s"] and h["shortfall_s"] > 0:
            seconds = round(h["shortfall_s"])
            out.append(_alarm("warning", f"hard start {h['id']} projected to cut {seconds} s",
                              "hard_start_cut", id=h["id"], seconds=seconds))
        if not state.armed:
            out.append(_alarm("warning",
                              f"hard starts disarmed: take {h['id']} by hand at {h['target']}",
                              "hard_starts_disarmed", id=h["id"], target=h["target"]))
    nxt = model["next"]
    if nxt is not None and state.armed:
        seg = state.rundown.segment(nxt["id"])
        if seg.at_ms is not None:
            out.append(_alarm("info", f"{seg.id} is a hard start: it is taken by itself on "
                              "time; TAKE now would put it on air early", "next_is_hard_start",
                              id=seg.id))
    if obs.get("manual_override"):
        scene = obs["manual_override"]
        out.append(_alarm("warning", f"OBS program was cut by hand to {scene}: showctl leaves "
                          "it there until the show's next scene change", "manual_override",
                          scene=scene))
    for note in state.notices[-3:]:
        out.append(_alarm("info", note))
    if osc_error is not None:
        out.append(_alarm("warning", osc_error))
    if speed != 1:
        out.append(_alarm("info", f"compressed time: the show clock runs x{speed:g} "
                          "(rehearsal only)"))
    if obs_stuck_s is not None:
        out.append(_alarm("critical", f"OBS is not answering: program not confirmed for "
                          f"{obs_stuck_s:.0f} s (frozen or overloaded)"))
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


OBS_STUCK_S = 2.0  # connected but not matching the show this long (no reason known): alarm
# a connection with no complete request this long is closed: idle keep-alives, and slow-loris
# clients trickling their headers (aiohttp counts from the connection's start)
HTTP_IDLE_TIMEOUT_S = 15.0


class ShowController:
    """What the API needs (control.web.controller.Controller), on top of the runner."""

    def __init__(self, runner: Runner, sync: ObsSync, client: ObsClient,
                 rundown_path: Path | None = None) -> None:
        self.runner = runner
        self.sync = sync
        self.client = client
        self.rundown_path = rundown_path  # what POST /api/reload reads again
        self.osc_error: str | None = None  # OSC input enabled but not listening: why
        # the guests' statuses and link stats (the guests block of `controller` sets it)
        self.guests_view: Callable[[ShowState, int], list[dict[str, Any]]] | None = None
        self.speed = 1.0  # > 1: compressed-time rehearsal, said in the read model and alarms
        self._unsynced_since: float | None = None  # monotonic s: OBS not matching the show

    def read_model(self) -> dict[str, Any]:
        state, now = self.runner.state, self.runner.now()
        model = show_view(state, now)
        model["show"]["speed"] = self.speed
        obs = self.sync.status().to_json()
        if self.client.fatal_error is not None:  # wrong password, OBS too old: no retrying
            obs["last_error"] = str(self.client.fatal_error)  # (its alarm: sync.status())
        obs["url"] = self.client.url
        obs["connection_attempts"] = self.client.connection_attempts
        model["obs"] = obs
        model["guests"] = ([{"id": g.id, "name": g.name, "name_zh": g.name_zh, "role": g.role,
                             "status": "invited"} for g in state.rundown.guests]
                           if self.guests_view is None else self.guests_view(state, now))
        model["show"]["journal_ok"] = self.runner.journal_error is None
        model["alarms"] = alarms(state, model, obs, journal_error=self.runner.journal_error,
                                 osc_error=self.osc_error, speed=self.speed,
                                 obs_stuck_s=self._obs_stuck_s(obs))
        return model

    def _obs_stuck_s(self, obs: dict[str, Any]) -> float | None:
        """Seconds OBS has been connected but not matching the show with no reason given (a
        frozen OBS keeps its socket open: the link looks up while nothing is applied)."""
        if not obs.get("connected") or obs.get("in_sync") or obs.get("alarms") \
                or obs.get("manual_override"):
            self._unsynced_since = None
            return None
        now = time.monotonic()
        if self._unsynced_since is None:
            self._unsynced_since = now
        stuck = now - self._unsynced_since
        return stuck if stuck >= OBS_STUCK_S else None

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
                     fresh: bool = False, speed: float = 1.0) -> AsyncIterator[ShowController]:
    """Everything running: OBS link, sync, runner, API. Leaves on exit, in order.
    `speed` > 1: a compressed-time rehearsal (the show clock N times the wall clock)."""
    opened = open_show(rundown_path, settings, start=start, fresh=fresh, speed=speed)
    for note in opened.notes:
        log.warning("%s", note)
    client = ObsClient(settings.obs_url, settings.obs_password)
    sync = ObsSync(client, studio_mode_preview=settings.studio_mode_preview)

    def lead() -> int | None:
        if settings.take_lead_ms is not None:
            return settings.take_lead_ms
        measured = sync.status().take_latency_ms  # wall ms: x speed in show time
        return None if measured is None else round(measured * opened.speed)

    # --- clock --- (the wall clock; in a compressed-time rehearsal, a scaled one)
    clock = (ScaledClock(opened.speed, opened.anchor_ms) if opened.speed != 1
             else wall_clock_ms)
    runner = Runner(opened.state, opened.journal, lead_source=lead, clock=clock,
                    max_lead_ms=round(500 * opened.speed))
    ctl = ShowController(runner, sync, client, rundown_path)
    ctl.speed = opened.speed
    # --- end clock ---
    # console sessions outlive a restart: a crash mid-show must not log the director out
    auth = Auth.from_settings(director=settings.director_token,
                              producer=settings.producer_token, viewer=settings.viewer_token,
                              sessions=Sessions(settings.state_dir / "console-sessions.json"))
    # the overlays' API (/api/overlays/*) goes through the same guard as the rest of /api/
    from .guest_controls import OPENAPI_PATHS as GUEST_API_DOC
    from .guest_controls import api_routes as guest_api_routes
    app = create_app(ctl, auth, extra_routes=(*api_routes(), *guest_api_routes()),
                     openapi_paths={**OVERLAY_API_DOC, **GUEST_API_DOC})
    hub = app["hub"]
    # --- metrics --- (GET /metrics, GET /healthz; reads caches only, never OBS)
    metrics = Metrics(Sources(
        show=lambda: show_view(runner.state, runner.now()),
        obs=lambda: {**sync.status().to_json(),
                     "connection_attempts": client.connection_attempts},
        take_latencies=lambda: sync.take_latencies,
        journal_seconds=lambda: runner.journal_seconds,
        websocket_clients=hub.by_role,
        journal_ok=lambda: runner.journal_error is None))
    runner.listen(metrics.on_change)
    install(app, metrics, token_ok=lambda token: auth.role_of(token) is not None,
            public=settings.metrics_public)
    # the on-demand 10 ms loop-lag probe (POST/GET/DELETE /debug/looplag; bench/fanout.py)
    install_looplag(app, LoopLagProbe(), token_ok=lambda token: auth.role_of(token) is not None)
    # --- end metrics ---
    # --- overlays --- (template pages for OBS browser sources: /overlays/*; the director's
    # graphics API: /api/overlays/*; the rundown's cues through the runner)
    overlays = OverlayHub(delay_ms=settings.overlays_delay_ms)
    overlay_key = overlay_read_key(settings.director_token, settings.producer_token,
                                   settings.viewer_token)

    def overlay_authorize(request: web.Request, min_role: str) -> str | None:
        # the pages and their websocket: a viewer's credential instead of the read key
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
    # --- guests --- (invite links, the guest page /guest/{id}, WHIP /whip/{id}: WebRTC
    # guests into the program mixer; statuses and link stats in the read model)
    from .guests.gateway import Gateway, HeldFrames, configure_ice_hosts, guest_statuses
    from .guests.gateway import parse_hosts as parse_ice_hosts
    from .guests.iceservers import parse_ice_servers
    from .guests.invites import SECRET_ENV, load_secret
    from .guests.mixer import MixerSettings, ProgramMixer
    from .guests.ondemand import OnDemand, needed
    from .guests.routes import install as install_guests
    from .guests.slate import GuestName

    configure_ice_hosts(parse_ice_hosts(settings.guest_ice_hosts))
    # STUN/TURN from config only (checked when the settings loaded); the page gets them too
    ice_servers = parse_ice_servers(settings.guest_ice_servers, settings.turn_username,
                                    settings.turn_credential)
    mixer = ProgramMixer(MixerSettings(
        port=settings.mixer_port, host=settings.mixer_host, width=settings.mixer_width,
        height=settings.mixer_height, fps=settings.mixer_fps,
        stale_after=settings.mixer_stale_after_ms / 1000,
        keyframe_every=max(1, round(settings.mixer_keyframe_every_ms * settings.mixer_fps
                                    / 1000))),
        names={g.id: GuestName(g.name, g.name_zh) for g in runner.state.rundown.guests}
    ) if settings.mixer_enabled else None
    ctl.mixer = mixer  # type: ignore[attr-defined]
    if mixer is not None:
        mixer.output.on_compose = metrics.observe_mix_frame  # showctl_mix_frame_seconds
    gateway = Gateway(mixer or HeldFrames(), joins_per_minute=settings.guest_joins_per_minute,
                      joins_per_address=settings.guest_joins_per_address,
                      joins_per_guest=settings.guest_joins_per_guest,
                      media_gap=settings.guest_media_gap_ms / 1000,
                      ice_servers=ice_servers)
    ctl.gateway = gateway  # type: ignore[attr-defined]
    guest_secret = load_secret(settings.state_dir, {SECRET_ENV: settings.guest_secret or ""})
    # the encoder runs only while a guest is on air or connected (start/stop on a thread)
    mixing = OnDemand(mixer) if mixer is not None else None
    ctl.mixing = mixing  # type: ignore[attr-defined]

    named: list[Any] = [runner.state.rundown.guests]  # the roster the slates name

    def follow_guests(state: ShowState, now: int) -> None:
        if mixer is None or mixing is None:
            return
        outputs = desired(state, now)
        if state.rundown.guests != named[0]:  # a reloaded rundown
            named[0] = state.rundown.guests
            mixer.set_names({g.id: GuestName(g.name, g.name_zh) for g in state.rundown.guests})
        mixer.apply(outputs)
        mixing.want(needed(outputs.guests, gateway.sessions))

    runner.listen(lambda state, events, now: follow_guests(state, now))

    def guests_changed() -> None:  # a join, a leave, a connect, a dead browser
        follow_guests(runner.state, runner.now())
        hub.publish_soon(ctl.read_model)  # the consoles see it without waiting for a take

    gateway.on_change = guests_changed

    def guest_metrics() -> list[dict[str, Any]]:
        peaks = ({g["id"]: g["audio_peak_dbfs"] for g in mixer.stats()["guests"]}
                 if mixer is not None and mixing is not None and mixing.running else {})
        out = []
        for gid in gateway.sessions:
            link = gateway.link.get(gid) or {}
            rtt, jitter = link.get("rtt_ms"), link.get("jitter_ms")
            out.append({**gateway.meter.metrics(gid),  # received_bytes, loss_ratio
                        "id": gid, "connected": gateway.phase(gid) == "connected",
                        "rtt_seconds": rtt / 1000 if isinstance(rtt, int | float) else None,
                        "jitter_seconds": (jitter / 1000 if isinstance(jitter, int | float)
                                           else None),
                        "audio_peak_dbfs": peaks.get(gid)})
        return out

    # OBS's "Program Feed" media source restarted when it stops or stalls while we send
    from .obs.mediafeed import FeedWatch, watch_feed
    from .obs.preflight import FEED_SOURCE
    feed_watch = FeedWatch()

    def mix_metrics() -> dict[str, Any] | None:
        if mixer is None or mixing is None:
            return None
        stats = mixer.stats() if mixing.running else {"fps": 0.0}
        return {**stats, "feed_restarts": dict(feed_watch.restarts)}

    feed_tasks: list[asyncio.Task[None]] = []

    async def start_feed_watch(_app: web.Application) -> None:
        if mixing is not None:
            feed_tasks.append(asyncio.create_task(watch_feed(
                client, FEED_SOURCE, lambda: mixing.running, watch=feed_watch),
                name="feed-watch"))

    async def stop_feed_watch(_app: web.Application) -> None:
        for task in feed_tasks:
            task.cancel()
        await asyncio.gather(*feed_tasks, return_exceptions=True)

    app.on_startup.append(start_feed_watch)
    app.on_cleanup.append(stop_feed_watch)

    metrics.lend_guests(guest_metrics, mix_metrics)

    async def close_guests(_app: web.Application) -> None:
        await gateway.close()
        if mixing is not None:
            await mixing.close()

    app.on_cleanup.append(close_guests)

    def guest_roster() -> dict[str, dict[str, Any]]:
        return {g.id: {"id": g.id, "name": g.name, "name_zh": g.name_zh, "role": g.role}
                for g in runner.state.rundown.guests}

    def guests_view(state: ShowState, now: int) -> list[dict[str, Any]]:
        nxt = next_segment(state)  # (not show_view: the read model is built once per change)
        ready = nxt.guests if nxt is not None else ()
        return [{**g, "level": guest_api.level(g["id"]),
                 "av_offset_ms": guest_api.av_offset(g["id"])} for g in guest_statuses(
            [{"id": g.id, "name": g.name, "name_zh": g.name_zh, "role": g.role}
             for g in state.rundown.guests], gateway, desired(state, now).guests, ready)]

    def guest_status(guest: str) -> dict[str, Any]:
        for g in guests_view(runner.state, runner.now()):
            if g["id"] == guest:
                return {"status": g["status"], "on_air": g["on_air"]}
        return {"status": "invited", "on_air": False}

    ctl.guests_view = guests_view
    guest_routes = install_guests(app, gateway, secret=guest_secret, roster=guest_roster,
                                  status=guest_status)
    # the console's guest controls (/api/guests/*: level, A/V offset, message, invite:
    # producer+; thumbnails: viewer+)
    from .guest_controls import GuestApi
    from .guest_controls import install as install_guest_api
    guest_api = install_guest_api(app, GuestApi(
        roster=guest_roster, deliver=guest_routes.message, secret=guest_secret,
        ttl_s=settings.guest_invite_ttl_ms / 1000, mixer=lambda: getattr(ctl, "mixer", None),
        on_change=lambda: hub.publish_soon(ctl.read_model),
        pictures=getattr(gateway.sink, "picture", None),
        av_offsets=dict(settings.guest_av_offsets)))
    # --- end guests ---

    def on_change(state: ShowState, events: tuple[Event, ...], now: int) -> None:
        sync.want(desired(state, now))
        # the consoles' read model next, not before: OBS's batch leaves first (take latency);
        # once per loop turn (a take commits what was due, then the take: one push)
        hub.publish_soon(ctl.read_model)

    # OBS hears a change before anyone else (metrics, graphics, mixer, consoles)
    runner.listen(on_change, first=True)
    sync.want(desired(runner.state, runner.now()))
    web_runner = web.AppRunner(app, access_log=None, keepalive_timeout=HTTP_IDLE_TIMEOUT_S)
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
