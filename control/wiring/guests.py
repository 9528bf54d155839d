"""Remote scientists as the running show holds them: invite links, the guest page
(/guest/{id}), WHIP (/whip/{id}) into the program mixer, OBS's program feed kept playing,
the console's guest controls (/api/guests/*), statuses and link stats in the read model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from typing import Any, cast
from zoneinfo import ZoneInfo

from aiohttp import web

from control.config import Settings
from control.guests.bindings import CLAIM_TTL_S, BindingStore, Claim
from control.guests.feed import Transport
from control.guests.gateway import Gateway, HeldFrames, configure_ice_hosts, guest_statuses
from control.guests.gateway import parse_hosts as parse_ice_hosts
from control.guests.health import (
    Cause,
    FrameWindow,
    Grade,
    Health,
    assess,
    frame_window,
    signals,
)
from control.guests.iceservers import TurnRest, parse_ice_servers
from control.guests.invites import SECRET_ENV, load_secret
from control.guests.iso import MIB, IsoStore, Limits
from control.guests.isoroutes import install as install_iso
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.ondemand import OnDemand, needed
from control.guests.routes import GuestRoutes
from control.guests.routes import install as install_guest_pages
from control.guests.slate import GuestName
from control.metrics import Metrics
from control.obs.client import ObsClient
from control.obs.mediafeed import FeedWatch, watch_feed
from control.obs.preflight import FEED_SOURCE
from control.runner import Change, Runner
from control.show.desired import Desired
from control.show.engine import next_segment
from control.show.localtime import iso, zone
from control.show.model import Guest, Rundown
from control.show.readmodel import GuestView, HealthView, LevelView, LinkView
from control.show.state import ShowState

from .guest_controls import GuestApi
from .guest_controls import install as install_guest_controls
from .iso import IsoApi
from .iso import install as install_iso_api
from .listeners import public_base_url
from .sfu import JanusGateway, janus_room


class Guests:
    """The gateway, the program mixer (None when disabled) with its on-demand start, the
    feed watch, the guest pages and the console's guest controls, installed on `app`."""

    def __init__(self, app: web.Application, settings: Settings, runner: Runner,
                 client: ObsClient, metrics: Metrics, publish: Callable[[], None]) -> None:
        self.runner = runner
        self.client = client  # OBS: its "Program Feed" media source is watched
        self.publish = publish  # the consoles see a guest's change without waiting for a take
        self.mixer = make_mixer(settings, runner.state.rundown)
        # the encoder runs only while a guest is on air or connected (start/stop on a thread)
        self.mixing = OnDemand(self.mixer) if self.mixer is not None else None
        sink = self.mixer or HeldFrames()  # without a mixer: frames held for thumbnails
        self.gateway = make_gateway(settings, sink)
        self.gateway.on_change = self.changed
        self.frames: dict[str, FrameWindow] = {}  # guest -> the receive side's skipped share
        self.secret = load_secret(settings.state_dir, {SECRET_ENV: settings.guest_secret or ""})
        # SRT: OBS's listener opens the stream when the mixer connects, so it starts on a
        # flowing stream without a restart (docs/guests.md)
        self.feed_watch = FeedWatch(restart_on_start=settings.mixer_transport == "udp")
        self._feed_tasks: list[asyncio.Task[None]] = []
        self._named: tuple[Guest, ...] = runner.state.rundown.guests  # what the slates say
        self.invites = BindingStore(settings.state_dir)  # bindings, revocations (0600 file)
        self.pages: GuestRoutes = install_guest_pages(
            app, self.gateway, secret=self.secret, roster=self.roster, status=self.status,
            store=self.invites)
        self.claims = ClaimPrompts(publish, lambda: [
            claim for guest in self.roster()
            if (claim := self.invites.bindings.pending(guest, self.pages.clock())) is not None],
            self.pages.clock)
        self.pages.on_claim = self.claims.changed  # the director's prompt
        self.iso = IsoStore(settings.state_dir / "iso",  # full-quality recordings (ISO)
                            Limits(max_guest_bytes=settings.guest_iso_max_mb * MIB))
        install_iso(app, self.pages, self.iso, self.segment_ids)
        install_iso_api(app, IsoApi(self.iso, self.roster))  # the console's list, downloads
        self.controls: GuestApi = install_guest_controls(app, GuestApi(
            roster=self.roster, deliver=self.pages.message, secret=self.secret,
            invites=self.invites, revoke=self.pages.revoke, send=self.pages.send,
            ttl_s=settings.guest_invite_ttl_ms / 1000, mixer=lambda: self.mixer,
            on_change=publish, pictures=sink.picture,
            av_offsets=dict(settings.guest_av_offsets),
            link_base=partial(public_base_url, settings)))
        if self.mixer is not None:
            self.mixer.feed.on_compose = metrics.observe_mix_frame  # mix frame seconds
        metrics.lend_guests(self.link_metrics, self.mix_metrics)
        if isinstance(self.gateway, JanusGateway):  # connects (and reconnects) to Janus
            app.on_startup.append(self._start_sfu)
        app.on_startup.append(self._start_feed_watch)
        app.on_cleanup.append(self._close)

    def segment_ids(self) -> set[str]:
        return {s.id for s in self.runner.state.rundown.segments}

    def roster(self) -> dict[str, dict[str, Any]]:
        return {g.id: _person(g) for g in self.runner.state.rundown.guests}

    def follow(self, change: Change) -> None:
        """The mixer shows what this step's desired state says; it runs while it is needed."""
        if self.mixer is None or self.mixing is None:
            return
        if change.state.rundown.guests != self._named:  # a reloaded rundown
            self._named = change.state.rundown.guests
            self.mixer.set_names({g.id: GuestName(g.name, g.name_zh) for g in self._named})
        self.mixer.apply(change.desired)
        self.mixing.want(needed(change.desired.guests, self.gateway.sessions))

    def changed(self) -> None:
        """A join, a leave, a connect, a dead browser: the mixer and the consoles follow."""
        self.follow(self.runner.change)
        self.publish()

    def view(self, state: ShowState, desired: Desired) -> list[GuestView]:
        """The read model's `guests`: every roster guest, status, link, level, A/V offset."""
        nxt = next_segment(state)
        ready = nxt.guests if nxt is not None else ()
        tz = zone(state.rundown.show.timezone)
        statuses = guest_statuses([_person(g) for g in state.rundown.guests], self.gateway,
                                  desired.guests, ready)
        return [{"id": g["id"], "name": g["name"], "name_zh": g["name_zh"], "role": g["role"],
                 "status": g["status"], "on_air": g["on_air"], "link": _link(g["link"], tz),
                 "level": cast(LevelView, self.controls.level(g["id"])),
                 "av_offset_ms": self.controls.av_offset(g["id"]),
                 "invite": self.controls.invite_view(g["id"], tz),
                 "health": self.health_view(g["id"], g["status"])} for g in statuses]

    def health_view(self, guest: str, status: str) -> HealthView | None:
        """The guest's health figure while they have a session (None: never joined)."""
        if status in ("invited", "connecting"):
            return None
        health = self.health(guest)
        return cast(HealthView, health.view()) if health is not None else None

    def health(self, guest: str) -> Health | None:
        """From the page's report, its age and the server's own loss (control.guests.health)."""
        if guest not in self.gateway.sessions:
            return None
        if self.gateway.phase(guest) == "disconnected":
            return Health(0, Grade.LOST, Cause.SILENT)
        link = self.gateway.link.get(guest)
        at = link.get("at") if link else None
        age = max(0.0, time.time() - at) if isinstance(at, int | float) else None
        loss = self.gateway.meter.metrics(guest)["loss_ratio"]
        counts = self.gateway.video_frames.get(guest)
        if counts is not None:
            self.frames[guest] = frame_window(self.frames.get(guest), *counts)
        late = self.frames[guest].late_pct if guest in self.frames else None
        return assess(signals(link, loss, age, late))

    def status(self, guest: str) -> dict[str, Any]:
        """What the guest's own page shows of them."""
        change = self.runner.change
        for g in self.view(change.state, change.desired):
            if g["id"] == guest:  # (the segment: what the page's ISO recording is of)
                return {"status": g["status"], "on_air": g["on_air"],
                        "segment": change.state.on_air if g["on_air"] else None}
        return {"status": "invited", "on_air": False, "segment": None}

    def link_metrics(self) -> list[dict[str, Any]]:
        """Per connected guest, for Prometheus: bytes, loss, RTT, jitter, audio peak, health."""
        peaks = ({g["id"]: g["audio_peak_dbfs"] for g in self.mixer.stats()["guests"]}
                 if self.mixer is not None and self.mixing is not None and self.mixing.running
                 else {})
        out = []
        for gid in self.gateway.sessions:
            link = self.gateway.link.get(gid) or {}
            rtt, jitter = link.get("rtt_ms"), link.get("jitter_ms")
            out.append({**self.gateway.meter.metrics(gid),  # received_bytes, loss_ratio
                        "id": gid, "connected": self.gateway.phase(gid) == "connected",
                        "rtt_seconds": rtt / 1000 if isinstance(rtt, int | float) else None,
                        "jitter_seconds": (jitter / 1000 if isinstance(jitter, int | float)
                                           else None),
                        "audio_peak_dbfs": peaks.get(gid),
                        "health": getattr(self.health(gid), "score", None)})
        return out

    def mix_metrics(self) -> dict[str, Any] | None:
        if self.mixer is None or self.mixing is None:
            return None
        stats = self.mixer.stats() if self.mixing.running else {"fps": 0.0}
        return {**stats, "feed_restarts": dict(self.feed_watch.restarts)}

    async def _start_sfu(self, _app: web.Application) -> None:
        cast(JanusGateway, self.gateway).start()

    async def _start_feed_watch(self, _app: web.Application) -> None:
        """OBS's "Program Feed" media source restarted when it stops or stalls while the
        mixer sends."""
        mixing = self.mixing
        if mixing is not None:
            self._feed_tasks.append(asyncio.create_task(watch_feed(
                self.client, FEED_SOURCE, lambda: mixing.running, watch=self.feed_watch),
                name="feed-watch"))

    async def _close(self, _app: web.Application) -> None:
        self.claims.close()
        for task in self._feed_tasks:
            task.cancel()
        await asyncio.gather(*self._feed_tasks, return_exceptions=True)
        await self.gateway.close()
        if self.mixing is not None:
            await self.mixing.close()


class ClaimPrompts:
    """The director's prompts for browsers asking in: pushed when one asks or is let in, and
    again when its claim lapses (CLAIM_TTL_S after it was made), so the prompt leaves the
    consoles then, even when that browser has stopped asking and nothing else changes."""

    def __init__(self, publish: Callable[[], None], pending: Callable[[], list[Claim]],
                 clock: Callable[[], float], ttl_s: float = CLAIM_TTL_S) -> None:
        self.publish, self.pending, self.clock, self.ttl_s = publish, pending, clock, ttl_s
        self._lapses: dict[str, asyncio.TimerHandle] = {}  # claim id -> its lapse's push

    def changed(self) -> None:
        self.publish()
        loop, now = asyncio.get_running_loop(), self.clock()
        for claim in self.pending():
            if claim.id not in self._lapses:
                self._lapses[claim.id] = loop.call_later(
                    max(0.0, claim.at + self.ttl_s - now) + 0.05, self._lapsed, claim.id)

    def _lapsed(self, claim_id: str) -> None:
        self._lapses.pop(claim_id, None)
        self.publish()

    def close(self) -> None:
        for handle in self._lapses.values():
            handle.cancel()
        self._lapses.clear()


def make_mixer(settings: Settings, rundown: Rundown) -> ProgramMixer | None:
    """The program mixer (YUV compositor, audio with mix-minus, MPEG-TS to OBS), if enabled."""
    if not settings.mixer_enabled:
        return None
    return ProgramMixer(MixerSettings(
        port=settings.mixer_port, host=settings.mixer_host, width=settings.mixer_width,
        height=settings.mixer_height, fps=settings.mixer_fps,
        stale_after=settings.mixer_stale_after_ms / 1000,
        keyframe_every=max(1, round(settings.mixer_keyframe_every_ms * settings.mixer_fps
                                    / 1000)),
        transport=Transport(settings.mixer_transport), passphrase=settings.mixer_srt_passphrase,
        latency_ms=settings.mixer_srt_latency_ms),
        names={g.id: GuestName(g.name, g.name_zh) for g in rundown.guests})


def make_gateway(settings: Settings, sink: ProgramMixer | HeldFrames) -> Gateway:
    """WHIP in, frames to `sink`; STUN/TURN from the config only (checked when the settings
    loaded; the page gets them too). With `guests.sfu: janus`, Janus answers the guests and
    forwards their media here (control/wiring/sfu.py); the door and its limits stay ours."""
    configure_ice_hosts(parse_ice_hosts(settings.guest_ice_hosts))
    ice_servers = parse_ice_servers(settings.guest_ice_servers, settings.turn_username,
                                    settings.turn_credential,
                                    rest=settings.turn_secret is not None)
    turn = (TurnRest(settings.turn_secret, settings.guest_turn_ttl_ms / 1000)
            if settings.turn_secret else None)
    options: dict[str, Any] = dict(
        joins_per_minute=settings.guest_joins_per_minute,
        joins_per_address=settings.guest_joins_per_address,
        joins_per_guest=settings.guest_joins_per_guest,
        media_gap=settings.guest_media_gap_ms / 1000, ice_servers=ice_servers, turn=turn)
    if settings.guest_sfu == "janus" and settings.janus_admin_key:  # (config checks the key)
        room = janus_room(settings.janus_url, settings.janus_room, settings.janus_admin_key,
                          settings.janus_room_secret, settings.janus_forward_host)
        return JanusGateway(sink, room, **options)
    return Gateway(sink, **options)


def _person(g: Guest) -> dict[str, Any]:
    return {"id": g.id, "name": g.name, "name_zh": g.name_zh, "role": g.role}


def _link(link: dict[str, Any] | None, tz: ZoneInfo) -> LinkView | None:
    """The page's link report with its instant in both forms (the gateway keeps epoch s)."""
    if link is None:
        return None
    at_ms = round(link["at"] * 1000) if isinstance(link.get("at"), int | float) else None
    return cast(LinkView, {**link, "at": iso(at_ms, tz), "at_ms": at_ms})
