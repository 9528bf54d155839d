"""The WebRTC guest gateway: one aiortc peer connection per guest, fed into the mixer.

``join(guest, offer)`` answers a WHIP offer (RFC 9725; ICE fully gathered, no trickle);
a guest's decoded pictures go to ``sink.frames(guest).put`` (the newest only: frames that
queued up meanwhile are skipped, never buffered) and its sound to ``sink.push_audio``. A
second join by the same guest replaces the first (whether it may, the same browser or one
the director let in, is the routes' question: control.guests.bindings). The sink is the
``ProgramMixer`` (or anything with ``frames``, ``push_audio``, ``detach``), so the mixer
never sees WebRTC.

DTLS role: the gateway is the DTLS server (answers ``a=setup:passive``) whenever the offer
leaves the choice to it (``actpass``, as every WHIP offer does). aiortc would answer
``active``, and as a DTLS client it offers only ECDHE-ECDSA suites: a publisher with an RSA
certificate (GStreamer's webrtcbin) then fails the handshake ("no shared cipher"). As the
server, aiortc's own ECDSA certificate decides the suite, which every client offers.

ICE host addresses: aioice offers every interface but 127.0.0.1. ``configure_ice_hosts``
pins the addresses it offers (process-wide, as aioice reads them from a module function):
a deployment pins its public interface, tests pin 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from control.guests.avframes import AudioConverter, video_from_av
from control.guests.health import clean_report
from control.guests.iceservers import IceServer, TurnRest, minted
from control.guests.linkstats import LinkMeter
from control.guests.liveness import Liveness
from control.guests.ratelimit import JoinLimiter
from control.guests.video import LatestFrame, VideoFrame

log = logging.getLogger(__name__)

MAX_SDP = 64 * 1024
WATCH_EVERY = 0.05  # s between the watchdog's looks at the guests' media
PHASES = ("invited", "connecting", "connected", "disconnected")


class GuestSink(Protocol):
    def frames(self, guest: str) -> LatestFrame: ...
    def push_audio(self, guest: str, pcm: np.ndarray) -> None: ...
    def detach(self, guest: str) -> None: ...


class HeldFrames:
    """A sink that only holds each guest's newest frame (no mixer running)."""

    def __init__(self) -> None:
        self.held: dict[str, LatestFrame] = {}
        self.audio_samples: dict[str, int] = {}

    def frames(self, guest: str) -> LatestFrame:
        return self.held.setdefault(guest, LatestFrame())

    def picture(self, guest: str) -> VideoFrame | None:
        held = self.held.get(guest)
        return held.latest() if held is not None else None

    def push_audio(self, guest: str, pcm: np.ndarray) -> None:
        self.audio_samples[guest] = self.audio_samples.get(guest, 0) + len(pcm)

    def detach(self, guest: str) -> None:
        self.held.pop(guest, None)


class GatewayError(Exception):
    """A join refused: ``status`` (400 bad SDP, 429 too many joins) and the reason."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


_original_host_addresses: Callable[[bool, bool], list[str]] | None = None


def configure_ice_hosts(hosts: Iterable[str]) -> None:
    """Offer only these host addresses in ICE (empty: aioice's default, every interface
    but loopback). Process-wide."""
    global _original_host_addresses
    import aioice.ice as ice

    if _original_host_addresses is None:
        _original_host_addresses = ice.get_host_addresses
    pinned = [h.strip() for h in hosts if h.strip()]
    if not pinned:
        ice.get_host_addresses = _original_host_addresses  # type: ignore[assignment]
        return

    def pinned_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [h for h in pinned if (":" in h and use_ipv6) or (":" not in h and use_ipv4)]

    ice.get_host_addresses = pinned_addresses  # type: ignore[assignment]


def parse_hosts(text: str) -> list[str]:
    return [h.strip() for h in text.split(",") if h.strip()]


def check_offer(sdp: str) -> None:
    """Refuse what is plainly not a WebRTC offer, with a reason (GatewayError 400)."""
    if len(sdp) > MAX_SDP:
        raise GatewayError(400, f"the SDP offer is longer than {MAX_SDP} bytes")
    lines = [line.strip() for line in sdp.splitlines() if line.strip()]
    if not lines or lines[0] != "v=0":
        raise GatewayError(400, "not an SDP offer: it must start with v=0")
    media = [line for line in lines if line.startswith("m=")]
    if not any(m.startswith(("m=audio", "m=video")) for m in media):
        raise GatewayError(400, "the SDP offer has no audio or video (m=audio, m=video)")
    if not any(line.startswith("a=fingerprint:") for line in lines):
        raise GatewayError(400, "the SDP offer has no DTLS fingerprint (a=fingerprint)")
    if not any(line.startswith("a=ice-ufrag:") for line in lines):
        raise GatewayError(400, "the SDP offer has no ICE credentials (a=ice-ufrag)")


def passive_answer(offer: str, answer: str) -> str:
    """``answer`` with the gateway as the DTLS server (``a=setup:passive``) on every m-line
    whose offer said ``actpass``. aiortc has no setting for it; its ``setLocalDescription``
    takes the role from the answer it is given, so the answer is rewritten through aiortc's
    own SDP model before it is set (never by string search)."""
    from aiortc import sdp

    theirs = sdp.SessionDescription.parse(offer)
    ours = sdp.SessionDescription.parse(answer)
    for mine, their in zip(ours.media, theirs.media, strict=False):
        if mine.dtls is not None and their.dtls is not None and their.dtls.role == "auto":
            mine.dtls.role = "server"
    return str(ours)


@dataclass
class Session:
    guest: str
    id: str
    pc: Any  # aiortc RTCPeerConnection
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    returns: Any = None  # the return feed's outbound track (control.guests.returnfeed)


class Gateway:
    """Guests' peer connections. Runs on the event loop; frames go to ``sink``."""

    def __init__(self, sink: GuestSink, *, joins_per_minute: int = 30,
                 joins_per_address: int = 12, joins_per_guest: int = 8,
                 media_gap: float = 0.4, stats_every: float = 1.0,
                 ice_servers: Sequence[IceServer] = (), turn: TurnRest | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sink = sink
        self.ice_servers = tuple(ice_servers)  # none by default: aiortc's would be Google's
        self.turn = turn  # a TURN secret: each guest gets credentials of its own
        self.joins_per_minute = joins_per_minute
        self.limiter = JoinLimiter(total=joins_per_minute, per_address=joins_per_address,
                                   per_guest=joins_per_guest)
        self.liveness = Liveness(gap_s=media_gap)  # a dead browser: slate at once
        self.meter = LinkMeter()  # bytes and loss, from aiortc's own stats
        self.stats_every = stats_every
        self._watch: asyncio.Task[None] | None = None
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self.phases: dict[str, str] = {}  # guest -> one of PHASES (absent: invited)
        self.link: dict[str, dict[str, Any]] = {}  # guest -> the page's own getStats()
        # guest -> [frames received, skipped: a newer one came before the mixer took it]
        self.video_frames: dict[str, list[int]] = {}
        self._lock = asyncio.Lock()
        self.on_change: Callable[[], None] | None = None
        """Called (on the event loop) when a session begins, connects or ends."""

    def ice_servers_for(self, name: str, now: float) -> tuple[IceServer, ...]:
        """The STUN/TURN servers as ``name`` (a guest, or the gateway itself) uses them:
        with credentials minted for it when a TURN secret is set (``now``: unix time)."""
        return minted(self.ice_servers, self.turn, name, now)

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                log.exception("gateway: on_change failed")

    # --- the WHIP side ------------------------------------------------------------------

    def _rate_limit(self, guest: str, address: str | None) -> None:
        refused = self.limiter.admit(guest, address, self.clock())
        if refused is not None:
            raise GatewayError(429, refused.reason, retry_after=refused.retry_after)

    async def join(self, guest: str, offer: str, address: str | None = None
                   ) -> tuple[str, str]:
        """Answer ``guest``'s SDP offer: (session id, SDP answer). Replaces their earlier
        session. GatewayError 400 (bad offer) or 429 (too many joins from ``address``, for
        ``guest``, or overall), or what ``_answer`` refuses with."""
        self._rate_limit(guest, address)
        check_offer(offer)
        async with self._lock:  # one join at a time: replacing must not interleave
            old = self.sessions.pop(guest, None)
            if old is not None:
                log.info("guest %s joins again: session %s replaced", guest, old.id)
                await self._end(old, detach=False)
            try:
                session, answer = await self._answer(guest, offer)
            except GatewayError:
                if old is not None:  # (a refused offer leaves the guest's phase as it was)
                    self.phases[guest] = "disconnected"
                raise
            self.sessions[guest] = session
            self.phases[guest] = "connecting"
            self.liveness.start(guest)
            if self._watch is None or self._watch.done():
                self._watch = asyncio.create_task(self._watchdog(), name="guest-watchdog")
            self._changed()
            return session.id, answer

    async def _answer(self, guest: str, offer: str) -> tuple[Session, str]:
        """The guest's media session and the SDP answer: here an aiortc peer connection of
        our own (an SFU in front answers in a subclass the wiring chooses: docs/scaling.md).
        GatewayError 400 when the offer cannot be used."""
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

        from control.guests.returnfeed import attach_return, detach_return

        pc = RTCPeerConnection(RTCConfiguration(iceServers=[
            server.to_aiortc() for server in self.ice_servers_for("studio", time.time())]))
        session = Session(guest, secrets.token_urlsafe(12), pc)

        @pc.on("track")
        def on_track(track: Any) -> None:
            consume = self._video if track.kind == "video" else self._audio
            session.tasks.append(asyncio.create_task(consume(guest, track),
                                                     name=f"guest-{guest}-{track.kind}"))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            state = pc.connectionState
            if state == "connected":
                self.connected(session)
            elif state in ("failed", "closed") and self.sessions.get(guest) is session:
                log.info("guest %s: connection %s", guest, state)
                await self.leave(guest, session.id)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            # what the guest hears (mix-minus) goes back on their audio m-line
            session.returns = attach_return(pc, guest, self.sink)
            answer = await pc.createAnswer()
            answer.sdp = passive_answer(offer, answer.sdp)
            await pc.setLocalDescription(answer)  # gathers fully
        except Exception as exc:  # aiortc raises all kinds on a malformed offer
            detach_return(session.returns, guest, self.sink)
            with contextlib.suppress(Exception):  # (its close too, when half set up)
                await pc.close()
            # the library's words stay in the log: they name its internals and version
            log.info("guest %s: the SDP offer cannot be used: %s: %s", guest,
                     type(exc).__name__, exc)
            raise GatewayError(400, "the SDP offer cannot be used (its media sections, "
                               "codecs or ICE/DTLS attributes are not what WebRTC "
                               "expects)") from None
        return session, pc.localDescription.sdp

    def connected(self, session: Session) -> None:
        """The guest's media connection is up (ignored for a session already replaced)."""
        if self.sessions.get(session.guest) is not session:
            return
        self.phases[session.guest] = "connected"
        self.liveness.connected(session.guest, self.clock())
        log.info("guest %s connected (session %s)", session.guest, session.id)
        self._changed()

    async def leave(self, guest: str, session_id: str) -> bool:
        """End that session (False: no such session, e.g. already replaced)."""
        session = self.sessions.get(guest)
        if session is None or session.id != session_id:
            return False
        del self.sessions[guest]
        await self._end(session, detach=True)
        self.phases[guest] = "disconnected"
        self.liveness.forget(guest)
        self.meter.ended(guest)
        self._changed()
        return True

    async def _end(self, session: Session, *, detach: bool) -> None:
        from control.guests.returnfeed import detach_return

        for task in session.tasks:
            task.cancel()
        await asyncio.gather(*session.tasks, return_exceptions=True)
        detach_return(session.returns, session.guest, self.sink)
        with contextlib.suppress(Exception):
            await session.pc.close()
        if detach:
            self.sink.detach(session.guest)

    async def close(self) -> None:
        for guest, session in list(self.sessions.items()):
            await self.leave(guest, session.id)
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None

    # --- is the guest still there? (control.guests.liveness) ---------------------------------

    def _media(self, guest: str) -> bool:
        """A frame arrived: True when it may be shown (the guest is live)."""
        if self.liveness.media(guest, self.clock()):
            log.info("guest %s: media again", guest)
            self._changed()
        return self.liveness.live(guest)

    def _lose(self, guest: str, why: str) -> None:
        """Slate the guest at once (keep the session: the slot stays for a rejoin)."""
        log.info("guest %s: %s; slate at once", guest, why)
        self.sink.frames(guest).clear()
        self._changed()

    def pages(self, guest: str, count: int) -> None:
        """The guest's pages with an open websocket are now ``count`` (the routes call it):
        the last one closing while a session exists means the browser died or the tab
        closed (before its first frame too)."""
        lost = self.liveness.pages(guest, count, self.clock())  # counted with or without
        if lost and guest in self.sessions:  # a session: the page opens before its join
            self._lose(guest, "guest page closed")

    async def _watchdog(self) -> None:
        """While sessions exist: lose guests whose media stopped (every WATCH_EVERY s; a
        late wake is the loop's stall, not the guests') and read the peer connections' own
        stats for metrics (every ``stats_every`` s)."""
        next_stats = 0.0
        slept_at = self.clock()
        while self.sessions:
            now = self.clock()
            late = now - slept_at - WATCH_EVERY
            if late > WATCH_EVERY:  # frames waited in the loop's queue as long
                self.liveness.stalled(late)
            for guest in self.liveness.check(now):
                if guest in self.sessions:
                    self._lose(guest, "no media")
            if now >= next_stats:
                next_stats = now + self.stats_every
                for guest, session in list(self.sessions.items()):
                    with contextlib.suppress(Exception):
                        report = await session.pc.getStats()
                        if self.sessions.get(guest) is session:
                            self.meter.update(guest, report.values())
            slept_at = self.clock()
            await asyncio.sleep(WATCH_EVERY)

    # --- media ----------------------------------------------------------------------------

    async def _video(self, guest: str, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        holder = self.sink.frames(guest)
        counts = self.video_frames[guest] = [0, 0]  # this session's: received, skipped
        try:
            while True:
                frame = await track.recv()
                counts[0] += 1
                queue = getattr(track, "_queue", None)
                while queue is not None and queue.qsize() > 0:  # newest only, never a backlog
                    frame = await track.recv()
                    counts[0] += 1
                    counts[1] += 1
                holder = self.sink.frames(guest)
                if self._media(guest):
                    holder.put(video_from_av(frame, time.monotonic()))
        except MediaStreamError:
            pass

    async def _audio(self, guest: str, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        converter = AudioConverter()
        try:
            while True:
                frame = await track.recv()
                if self._media(guest):
                    self.sink.push_audio(guest, converter.convert(frame))
        except MediaStreamError:
            pass

    # --- what the read model and the guest page show ---------------------------------------

    def phase(self, guest: str) -> str:
        phase = self.phases.get(guest, "invited")
        if phase in ("connecting", "connected") and not self.liveness.live(guest):
            return "disconnected"  # the browser died; the session waits for ICE to end
        return phase

    def report(self, guest: str, stats: dict[str, Any]) -> None:
        """The guest page's own getStats() and battery (control.guests.health.clean_report:
        known keys in range only); ReportError when it is not a report."""
        self.link[guest] = {**clean_report(stats), "at": round(time.time(), 3)}


def guest_statuses(roster: Sequence[dict[str, Any]], gateway: Gateway, on_air: Iterable[str],
                   ready: Iterable[str]) -> list[dict[str, Any]]:
    """The read model's ``guests``: every roster guest with its status and link stats.
    status: invited | connecting | green-room | ready | on-air | disconnected."""
    on_air, ready = set(on_air), set(ready)
    out = []
    for g in roster:
        phase = gateway.phase(g["id"])
        if phase == "connected":
            status = ("on-air" if g["id"] in on_air else "ready" if g["id"] in ready
                      else "green-room")
        else:
            status = phase
        out.append({**g, "status": status, "on_air": g["id"] in on_air,
                    "link": gateway.link.get(g["id"])})
    return out
