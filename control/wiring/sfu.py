"""Guests through an SFU: Janus answers each guest's WHIP offer, showctl keeps the door.

`JanusGateway` is the gateway (control/guests/gateway.py) with one part swapped: the guest's
media session. The WHIP door, invites, tokens, join limits, phases, liveness (slate at once)
and the sink (the mixer's `LatestFrame` / `push_audio`) are the gateway's own, unchanged; the
offer goes to a Janus VideoRoom (control/janus/room.py) and Janus's answer back to the guest,
and the guest's media comes back from Janus as RTP forwarded to this machine and decoded
(control/janus/forward.py). Chosen by `guests.sfu: janus` (control/wiring/guests.py).

Janus down: a join is refused with 503 and Retry-After (the guest page tries again); the
guests already in lose their sessions at once (slate), and their pages re-offer, which
succeeds as soon as Janus is back (the client makes a new session, the room is made again).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from types import SimpleNamespace
from typing import Any

from control.guests.avframes import AudioConverter, video_from_av
from control.guests.gateway import Gateway, GatewayError, GuestSink, Session
from control.janus.client import JanusClient, JanusGone
from control.janus.protocol import JanusError
from control.janus.room import GuestRoom, Media, Publisher, RoomSettings

log = logging.getLogger(__name__)

RETRY_AFTER = 2  # s a guest waits before offering again while Janus is away


class JanusPeer:
    """What a gateway Session holds as its `pc` when Janus holds the guest's connection."""

    def __init__(self, room: GuestRoom, publisher: Publisher) -> None:
        self.room = room
        self.publisher = publisher

    async def close(self) -> None:
        await self.room.unpublish(self.publisher)

    async def getStats(self) -> dict[str, Any]:  # aiortc's name: the gateway asks
        """The forwarded streams' counters in the shape of aiortc's stats (what the
        gateway's LinkMeter reads): bytes as forwarded, packets and the sequence's gaps."""
        receivers = self.publisher.receivers
        stats: dict[str, Any] = {"transport": SimpleNamespace(
            type="transport", bytesReceived=sum(r.bytes for r in receivers))}
        for r in receivers:
            stats[r.kind] = SimpleNamespace(type="inbound-rtp", packetsReceived=r.packets,
                                            packetsLost=r.lost)
        return stats


class JanusGateway(Gateway):
    """The gateway with Janus answering the guests (see the module docstring)."""

    def __init__(self, sink: GuestSink, room: GuestRoom, **options: Any) -> None:
        super().__init__(sink, **options)
        self.room = room
        self._supervisor: asyncio.Task[None] | None = None
        self._ending: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        """Connect to Janus (and again whenever it comes back); on the event loop."""
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self.room.client.stay_connected(),
                                                   name="janus-client")

    @property
    def sfu_up(self) -> bool:
        return self.room.client.ready.is_set()

    async def _answer(self, guest: str, offer: str) -> tuple[Session, str]:
        if not self.sfu_up:
            raise GatewayError(503, "the studio's media server is not reachable; the page "
                               "tries again", retry_after=RETRY_AFTER)
        session = Session(guest, secrets.token_urlsafe(12), None)
        converter = AudioConverter()
        media = Media(
            on_video=lambda frame: self._picture(session, frame),
            on_audio=lambda frame: self._sound(session, converter, frame),
            on_up=lambda: self.connected(session),
            on_end=lambda why: self._ended(session, why))
        try:
            publisher = await self.room.publish(guest, offer, media)
        except JanusGone:
            raise GatewayError(503, "the studio's media server went away; the page tries "
                               "again", retry_after=RETRY_AFTER) from None
        except TimeoutError:
            log.warning("guest %s: Janus did not answer the offer in time", guest)
            raise GatewayError(503, "the studio's media server did not answer in time; the "
                               "page tries again", retry_after=RETRY_AFTER) from None
        except JanusError as exc:
            log.info("guest %s: Janus refused the offer: %s", guest, exc)
            raise GatewayError(400, "the SDP offer cannot be used (its media sections, "
                               "codecs or ICE/DTLS attributes are not what the studio's "
                               "media server takes)") from None
        session.pc = JanusPeer(self.room, publisher)
        return session, publisher.answer

    def _picture(self, session: Session, frame: Any) -> None:
        if self.sessions.get(session.guest) is session and self._media(session.guest):
            self.sink.frames(session.guest).put(video_from_av(frame, time.monotonic()))

    def _sound(self, session: Session, converter: AudioConverter, frame: Any) -> None:
        if self.sessions.get(session.guest) is session and self._media(session.guest):
            self.sink.push_audio(session.guest, converter.convert(frame))

    def _ended(self, session: Session, why: str) -> None:
        """Janus hung up on the guest, or Janus went away: slate at once, end the session
        (the page offers again)."""
        if self.sessions.get(session.guest) is not session:
            return
        self._lose(session.guest, why)
        task = asyncio.create_task(self.leave(session.guest, session.id))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def close(self) -> None:
        await super().close()
        await asyncio.gather(*self._ending, return_exceptions=True)
        await self.room.close()
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        await self.room.client.close()


def room_secret(admin_key: str, room: int) -> str:
    """The room's secret when none is configured: derived from the admin key, so a showctl
    restarted (after a crash, with the room still on Janus) still holds it, and nobody
    without the admin key can guess it."""
    return hmac.new(admin_key.encode(), f"showctl-room-{room}".encode(),
                    hashlib.sha256).hexdigest()


def janus_room(url: str, room: int, admin_key: str, secret: str | None,
               forward_host: str = "127.0.0.1") -> GuestRoom:
    """The guests' room on Janus at `url`."""
    return GuestRoom(JanusClient(url), RoomSettings(
        room=room, secret=secret or room_secret(admin_key, room), admin_key=admin_key,
        forward_host=forward_host))
