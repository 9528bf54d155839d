"""A publisher's media as Janus's RTP forwarders send it: plain RTP to a UDP port on
127.0.0.1, received, reassembled and decoded here with aiortc's own parts (its RTP parser,
jitter buffer, VP8 depayloader, VP8 and Opus decoders: the same code the aiortc gateway runs,
so pictures and sound come out as the same PyAV frames).

One `StreamReceiver` per stream (audio, video). Packets arrive on the event loop (a datagram
protocol: parsing and reassembly are cheap); decoding runs on the stream's own thread, in
order (a VP8 decoder needs every frame since the last keyframe). Decoded frames come back to
the loop: video newest-only (a slow loop skips pictures, never queues them), audio in order.

There is no RTCP path back from a forwarder's receiver, so a lost keyframe is asked for
through the API instead (`on_keyframe`: the owner sends the VideoRoom's `configure` with
`keyframe: true`, Janus sends the publisher a PLI), at most every KEYFRAME_EVERY s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

KEYFRAME_EVERY = 0.5  # s between keyframe requests while the decoder waits for one
VIDEO_CODEC = ("video/VP8", 90000, None)
AUDIO_CODEC = ("audio/opus", 48000, 2)


def codec_for(kind: str, payload_type: int) -> Any:
    """aiortc's codec parameters for what the room allows (VP8, Opus)."""
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    mime, rate, channels = VIDEO_CODEC if kind == "video" else AUDIO_CODEC
    return RTCRtpCodecParameters(mimeType=mime, clockRate=rate, channels=channels,
                                 payloadType=payload_type)


class StreamReceiver(asyncio.DatagramProtocol):
    """One forwarded stream (`kind` "audio" or "video") into `deliver(av_frame)`, called on
    the event loop. `on_keyframe()` when the picture needs a keyframe."""

    def __init__(self, kind: str, deliver: Callable[[Any], None], *,
                 on_keyframe: Callable[[], None] | None = None) -> None:
        from aiortc.jitterbuffer import JitterBuffer

        self.kind = kind
        self.deliver = deliver
        self.on_keyframe = on_keyframe
        self.jitter = (JitterBuffer(capacity=512, is_video=True) if kind == "video"
                       else JitterBuffer(capacity=16, prefetch=4))
        self.packets = 0
        self.bytes = 0
        self.foreign = 0  # packets from another sender than the forwarder, dropped
        self._sender: tuple[Any, int] | None = None
        self._first_seq: int | None = None
        self._highest_seq = 0  # extended (wraps counted)
        self.frames = 0  # delivered (video: a slow loop may skip some it decoded)
        self.decoded = 0
        self.undecodable = 0  # frames the decoder refused (waiting for a keyframe)
        self.keyframes_asked = 0
        self.port = 0
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.DatagramTransport | None = None
        self._codec: Any = None
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._needs_keyframe = threading.Event()
        self._needs_keyframe.set()  # nothing decoded yet: the first picture needs one
        self._asked_at = -KEYFRAME_EVERY
        self._latest: Any = None  # video: the newest decoded picture not yet delivered
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._decode, name=f"janus-{kind}-decoder",
                                        daemon=True)

    async def open(self, host: str = "127.0.0.1") -> int:
        """Bind a free UDP port on `host` and start decoding: the port to forward to."""
        transport, _ = await self._loop.create_datagram_endpoint(lambda: self,
                                                                 local_addr=(host, 0))
        self._transport = transport  # type: ignore[assignment]
        self.port = int(transport.get_extra_info("sockname")[1])
        self._thread.start()
        return self.port

    @property
    def closed(self) -> bool:
        return self._transport is None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._thread.is_alive():
            self._inbox.put(None)  # the thread ends after what it holds (daemon: no join)

    # --- on the loop -----------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        from aiortc.codecs import depayload
        from aiortc.rtp import RtpPacket, is_rtcp

        if is_rtcp(data) or not self._from_janus(addr):
            return
        try:
            packet = RtpPacket.parse(data)
            if self._codec is None or self._codec.payloadType != packet.payload_type:
                self._codec = codec_for(self.kind, packet.payload_type)
            packet._data = depayload(self._codec, packet.payload)  # type: ignore[attr-defined]
        except ValueError:
            return  # not RTP, or a payload the depayloader refuses: dropped
        self.packets += 1
        self.bytes += len(data)
        self._count(packet.sequence_number)
        lost, frame = self.jitter.add(packet)
        if lost:
            self._needs_keyframe.set()
        if frame is not None:
            self._inbox.put((self._codec, frame))
        self._ask_keyframe()

    def _from_janus(self, addr: tuple[str | Any, int]) -> bool:
        """The first sender is the forwarder; anything else on this machine that writes to
        the port is dropped (and counted), so it cannot put pictures into a guest's box."""
        if self._sender is None:
            self._sender = (addr[0], addr[1])
        if (addr[0], addr[1]) != self._sender:
            self.foreign += 1
            return False
        return True

    def _count(self, seq: int) -> None:
        """The highest sequence number seen, extended past 16-bit wraps (for `lost`)."""
        if self._first_seq is None:
            self._first_seq = self._highest_seq = seq
            return
        delta = (seq - self._highest_seq) & 0xFFFF
        if 0 < delta < 0x8000:  # ahead (a late packet is behind: it changes nothing)
            self._highest_seq += delta

    @property
    def lost(self) -> int:
        """Packets missing from the sequence: lost between the guest and Janus (Janus
        forwards the guest's own sequence numbers) or on the way here, and not resent."""
        if self._first_seq is None:
            return 0
        return max(0, self._highest_seq - self._first_seq + 1 - self.packets)

    def _ask_keyframe(self) -> None:
        if self.kind != "video" or not self._needs_keyframe.is_set():
            return
        now = self._loop.time()
        if now - self._asked_at >= KEYFRAME_EVERY and self.on_keyframe is not None:
            self._asked_at = now
            self.keyframes_asked += 1
            self.on_keyframe()

    def _arrived(self, frame: Any = None) -> None:
        """A decoded frame back on the loop (video: the newest one waiting)."""
        if frame is None:
            with self._lock:
                frame, self._latest = self._latest, None
            if frame is None:
                return
        self.frames += 1
        try:
            self.deliver(frame)
        except Exception:
            log.exception("janus %s: deliver failed", self.kind)

    # --- on the decoder thread -------------------------------------------------------------

    def _decode(self) -> None:
        import av
        from aiortc.codecs import get_decoder

        decoder: Any = None
        while (item := self._inbox.get()) is not None:
            codec, encoded = item
            if decoder is None:
                decoder = get_decoder(codec)
            try:
                frames = decoder.decode(encoded)
            except (av.FFmpegError, ValueError):
                frames = []
            if not frames:
                self.undecodable += 1
                if self.kind == "video":
                    self._needs_keyframe.set()
                continue
            self.decoded += len(frames)
            if self.kind == "video":
                self._needs_keyframe.clear()
                with self._lock:
                    schedule = self._latest is None
                    self._latest = frames[-1]
                if schedule:
                    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                        self._loop.call_soon_threadsafe(self._arrived)
            else:
                for frame in frames:
                    with contextlib.suppress(RuntimeError):
                        self._loop.call_soon_threadsafe(self._arrived, frame)
