"""The show's guests as publishers in one Janus VideoRoom, each forwarded as plain RTP to
this machine and decoded (control/janus/forward.py).

    room = GuestRoom(client, RoomSettings(room=1, secret=..., admin_key=...))
    publisher = await room.publish("ada", offer_sdp, Media(on_video=..., on_audio=...,
                                                           on_up=..., on_end=...))
    publisher.answer        # Janus's SDP answer, for the guest
    await room.unpublish(publisher)

Desired state, re-applied: the room exists while the client is connected (`ensure` runs after
every (re)connection: a restarted Janus has no rooms). Publishers do not survive Janus: when
the session is lost each one ends (`on_end`), and the guest publishes again (its page
re-offers through showctl) once the room is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from control.janus import protocol
from control.janus.client import JanusClient, JanusGone
from control.janus.forward import StreamReceiver
from control.janus.protocol import JanusError, Kind, Reply

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RoomSettings:
    room: int
    secret: str  # the room's own (edit, forward, destroy)
    admin_key: str  # the VideoRoom plugin's (create rooms, and forward: lock_rtp_forward)
    publishers: int = 16
    forward_host: str = "127.0.0.1"  # where the forwarders send (this machine)


class PublisherState(Enum):
    NEGOTIATING = "negotiating"
    UP = "up"  # Janus's peer connection with the guest is up (webrtcup)
    ENDED = "ended"


@dataclass
class Media:
    """Where a publisher's media and news go (all called on the event loop)."""

    on_video: Callable[[Any], None]  # a decoded av.VideoFrame
    on_audio: Callable[[Any], None]  # a decoded av.AudioFrame
    on_up: Callable[[], None] = lambda: None
    on_end: Callable[[str], None] = lambda why: None  # hangup, Janus lost, unpublished


@dataclass
class Publisher:
    guest: str
    handle: int
    media: Media
    state: PublisherState = PublisherState.NEGOTIATING
    feed: int | None = None
    answer: str = ""
    streams: tuple[protocol.Stream, ...] = ()
    receivers: list[StreamReceiver] = field(default_factory=list)
    forwarders: tuple[int, ...] = ()
    copies: list[StreamReceiver] = field(default_factory=list)  # second subscribers


class GuestRoom:
    """One VideoRoom on `client` (see the module docstring). Takes over the client's
    `on_event`, `on_lost` and `on_back`."""

    def __init__(self, client: JanusClient, settings: RoomSettings) -> None:
        self.client = client
        self.settings = settings
        self.publishers: dict[int, Publisher] = {}  # by handle
        self._control: int | None = None  # the handle rooms are made on
        self._tasks: set[asyncio.Task[Any]] = set()
        client.on_event = self._event
        client.on_lost = self._lost
        client.on_back = self.ensure

    async def ensure(self) -> None:
        """The room exists (made now, or already there)."""
        s = self.settings
        self._control = await self.client.attach()
        try:
            await self.client.request(self._control, protocol.create_room(
                s.room, admin_key=s.admin_key, secret=s.secret, publishers=s.publishers))
            log.info("janus: room %s made", s.room)
        except JanusError as exc:
            if exc.code != protocol.ROOM_EXISTS:
                raise

    async def publish(self, guest: str, offer: str, media: Media) -> Publisher:
        """Janus answers `guest`'s offer; its media is forwarded here and decoded into
        `media`. JanusGone when Janus is down; JanusError when it refuses the offer."""
        handle = await self.client.attach()
        publisher = Publisher(guest, handle, media)
        self.publishers[handle] = publisher
        try:
            publisher.feed = protocol.joined(await self.client.call(
                handle, protocol.join_publisher(self.settings.room, guest)))
            done = protocol.published(await self.client.call(
                handle, protocol.publish(), protocol.offer(offer)))
            publisher.answer, publisher.streams = done.answer, done.streams
            publisher.receivers, publisher.forwarders = await self._forward(
                publisher, media.on_video, media.on_audio)
        except BaseException:
            await self.unpublish(publisher, "the offer was refused")
            raise
        return publisher

    async def _forward(self, publisher: Publisher, on_video: Callable[[Any], None],
                       on_audio: Callable[[Any], None]
                       ) -> tuple[list[StreamReceiver], tuple[int, ...]]:
        """A receiver per enabled audio and video stream, and Janus's forwarders to them."""
        receivers, targets = [], []
        for stream in publisher.streams:
            if stream.kind not in ("audio", "video") or stream.disabled:
                continue
            receiver = StreamReceiver(stream.kind,
                                      on_video if stream.kind == "video" else on_audio,
                                      on_keyframe=lambda p=publisher: self._keyframe(p))
            receivers.append(receiver)
            targets.append((stream.mid, await receiver.open(self.settings.forward_host)))
        s = self.settings
        assert publisher.feed is not None
        try:
            forwarders = protocol.forwarded(await self.client.request(
                publisher.handle, protocol.rtp_forward(s.room, publisher.feed, s.forward_host,
                                                       targets, secret=s.secret,
                                                       admin_key=s.admin_key)))
        except BaseException:
            for receiver in receivers:
                receiver.close()
            raise
        return receivers, forwarders

    async def copy(self, publisher: Publisher, on_video: Callable[[Any], None],
                   on_audio: Callable[[Any], None]) -> list[StreamReceiver]:
        """A second subscriber of the same guest (a clean feed, a confidence monitor):
        Janus forwards another copy of what it receives, so it costs the guest nothing.
        It ends with the publisher."""
        receivers, _ = await self._forward(publisher, on_video, on_audio)
        publisher.copies.extend(receivers)
        return receivers

    def _keyframe(self, publisher: Publisher) -> None:
        """Ask Janus to ask the guest for a keyframe (the forwarder has no RTCP back)."""
        if publisher.state is PublisherState.ENDED or self.client.session is None:
            return
        task = asyncio.create_task(self._quietly(self.client.call(
            publisher.handle, protocol.keyframe())))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _quietly(call: Any) -> None:
        with contextlib.suppress(JanusError, TimeoutError):
            await call

    async def unpublish(self, publisher: Publisher, why: str = "unpublished") -> None:
        """Stop its receivers and drop its handle (Janus ends the forwarders with it)."""
        self._end(publisher, why)
        with contextlib.suppress(JanusGone):
            await self.client.detach(publisher.handle)

    def _end(self, publisher: Publisher, why: str) -> None:
        if self.publishers.pop(publisher.handle, None) is None:
            return
        for receiver in [*publisher.receivers, *publisher.copies]:
            receiver.close()
        was = publisher.state
        publisher.state = PublisherState.ENDED
        if was is not PublisherState.NEGOTIATING or why != "the offer was refused":
            try:
                publisher.media.on_end(why)
            except Exception:
                log.exception("janus: on_end failed")

    def _event(self, reply: Reply) -> None:
        publisher = self.publishers.get(reply.sender or -1)
        if publisher is None:
            return
        if reply.kind is Kind.WEBRTCUP:
            publisher.state = PublisherState.UP
            log.info("janus: guest %s up", publisher.guest)
            publisher.media.on_up()
        elif reply.kind in (Kind.HANGUP, Kind.DETACHED):
            reason = reply.raw.get("reason", reply.kind.value)
            self._end(publisher, f"Janus: {reason}")

    def _lost(self) -> None:
        self._control = None
        for publisher in list(self.publishers.values()):
            self._end(publisher, "Janus lost")

    async def close(self) -> None:
        for publisher in list(self.publishers.values()):
            await self.unpublish(publisher, "closed")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
