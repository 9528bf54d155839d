"""The program feed to OBS: H.264 + AAC in MPEG-TS over UDP or SRT, on the mixer's own clock.

MPEG-TS into an OBS media source (``ffmpeg_source``, ``is_local_file: false``,
``input: udp://127.0.0.1:PORT``, ``input_format: mpegts``) works on every OBS build,
Debian's too, and keeps OBS out of WebRTC entirely. Plain UDP is for loopback only: anyone
who can reach the port puts pictures into the guest scenes. Across a network the feed is
SRT with a passphrase (AES): OBS's media source is the SRT *listener*, the mixer the
*caller* that (re)connects whenever the link is down (docs/guests.md says why).

The stream is made for a receiver that may join at any moment and must show a picture at
once: a keyframe at least every second (``keyframe_every``; the controller sends one every
250 ms: OBS's source shows nothing after it reopens the stream, at every take, until a
keyframe), SPS/PPS repeated with each, no B-frames (they add a frame of delay), x264
``veryfast`` + ``zerolatency`` (no lookahead, no frame buffering).

``ProgramFeed`` runs on two threads: a ``Ticker`` frame clock that every 1/fps s takes
each on-air guest's latest frame (never waiting for one) and composes, and an encoder that
encodes and sends (two stages on two cores: under load each still fits a frame time). A
guest who stalls only turns into a slate; the feed keeps its frame rate. The encoder
thread opens the stream itself (an SRT connect waits up to ``connect_timeout_ms``, never
on the frame clock); a write error drops that encoder and the next frame opens a new one
(with a pause between failed attempts), while the frame clock ticks on. When the machine
cannot keep up, frames are skipped, not queued, and the timestamps stay on the wall clock,
so audio stays in sync.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from typing import Any

import av
import numpy as np
from av.audio.fifo import AudioFifo

from control.guests.audio import RATE, AudioRing
from control.guests.avframes import audio_to_av, video_to_av
from control.guests.clock import Ticker
from control.guests.layouts import Program
from control.guests.srt import PAYLOAD, LinkError, SrtSender
from control.guests.video import Compositor, FrameSource, VideoFrame

log = logging.getLogger(__name__)

AAC_FRAME = 1024
SRT_PBKEYLEN = 16  # AES-128; both ends set it (control.obs.preflight.feed_input_url too)


class Transport(Enum):
    """How the feed reaches OBS: plain UDP (loopback only) or SRT with a passphrase."""

    UDP = "udp"
    SRT = "srt"


class Link(Enum):
    """The encoder thread's connection to OBS."""

    STOPPED = "stopped"
    CONNECTING = "connecting"  # no stream open: the next frame tries (after ``retry_at``)
    SENDING = "sending"


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """Where and how the program is sent. 1280x720 or 1920x1080; loopback by default (OBS
    runs on the same machine; another host only on a network made for it)."""

    port: int
    host: str = "127.0.0.1"
    width: int = 1280
    height: int = 720
    fps: int = 30
    video_bitrate: int = 6_000_000
    audio: bool = True
    audio_bitrate: int = 160_000
    channels: int = 2
    preset: str = "veryfast"
    tune: str = "zerolatency"
    threads: int = 0  # x264 threads; 0: x264 decides (sliced threads under zerolatency)
    pkt_size: int = 1316  # 7 TS packets: one UDP datagram below any loopback or LAN MTU
    keyframe_every: int = 0
    """Frames between keyframes (0: fps, one a second). OBS's media source shows nothing
    after it (re)opens the stream until the first keyframe (see ``docs/guests.md``)."""
    catch_up: int = 1
    """A frame whose tick comes up to this many periods late is still sent (a short hiccup
    of a busy machine costs no frame); later ones are skipped, never queued."""
    transport: Transport = Transport.UDP
    passphrase: str | None = None  # SRT: 10-79 characters (control.config checks it)
    latency_ms: int = 120  # SRT: the receive buffer both ends agree on (TSBPD delay)
    connect_timeout_ms: int = 1000  # SRT: one connect attempt, on the encoder thread
    retry_after: float = 0.5  # s between failed attempts (doubling up to ``retry_max``)
    retry_max: float = 4.0

    @property
    def url(self) -> str:
        """What libavformat opens for UDP (SRT goes through ``SrtSender``, not a URL)."""
        return f"udp://{self.host}:{self.port}?pkt_size={self.pkt_size}"

    @property
    def where(self) -> str:
        """The URL without secrets, for logs and metrics."""
        return f"{self.transport.value}://{self.host}:{self.port}"


class TsEncoder:
    """H.264 (+ AAC) into MPEG-TS, sent over UDP, over SRT (``SrtSender``) or to a file.
    Blocking: use it from one thread (``ProgramFeed``'s encoder thread). The stream is
    opened (an SRT caller connects) in the constructor: ``LinkError`` if it cannot be;
    ``LinkError`` too from a write that fails."""

    def __init__(self, settings: FeedSettings, target: str | None = None) -> None:
        self.settings = s = settings
        # flush_packets: each packet leaves at once (no 32 KiB AVIO buffer = no added delay);
        # max_delay 0: no offset between PCR and timestamps (the ffmpeg CLI's -muxdelay 0.7);
        # omit_video_pes_length 0: a frame's PES says its length, so a demuxer can end it
        # at once. (libavformat's H.264 parser, in OBS too, still releases a frame only when
        # the next one begins: one frame time at the receiver, measured by bench/mixer.py.)
        # (Sound adds ~0.1-0.2 s in OBS, measured: its media source waits for sound and
        # picture alike. pes_payload_size 0, an AAC frame per PES, made it no better there.)
        self.sender: SrtSender | None = None
        output: Any = target or s.url
        extra: dict[str, Any] = {}
        if target is None and s.transport is Transport.SRT:
            if not s.passphrase:
                raise LinkError("the SRT program feed needs a passphrase")
            # connects here (at most connect_timeout_ms); PyAV writes the TS into it in
            # whole 188-byte packets (the buffer is a multiple of the SRT payload)
            output = self.sender = SrtSender(
                s.host, s.port, passphrase=s.passphrase, latency_ms=s.latency_ms,
                pbkeylen=SRT_PBKEYLEN, connect_timeout_ms=s.connect_timeout_ms)
            extra["buffer_size"] = 8 * PAYLOAD
        self.container: Any = av.open(output, mode="w", format="mpegts",
                                      options={"flush_packets": "1", "max_delay": "0",
                                               "omit_video_pes_length": "0"}, **extra)
        self.time_base = Fraction(1, s.fps)
        v = self.video = self.container.add_stream("libx264", rate=s.fps)
        v.width, v.height, v.pix_fmt = s.width, s.height, "yuv420p"
        v.bit_rate = s.video_bitrate
        gop = s.keyframe_every or s.fps
        v.gop_size = gop
        v.codec_context.max_b_frames = 0
        v.codec_context.time_base = self.time_base
        kbps = s.video_bitrate // 1000
        v.options = {
            "preset": s.preset, "tune": s.tune,
            "x264-params": (f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:"
                            f"repeat-headers=1:vbv-maxrate={kbps}:vbv-bufsize={kbps}:"
                            f"threads={s.threads or 'auto'}:"
                            "colorprim=bt709:transfer=bt709:colormatrix=bt709"),
        }
        self.audio: Any = None
        self._fifo: AudioFifo | None = None
        if s.audio:
            self.audio = self.container.add_stream(
                "aac", rate=RATE, layout="stereo" if s.channels == 2 else "mono")
            self.audio.bit_rate = s.audio_bitrate
            self._fifo = AudioFifo()
        self._audio_origin: int | None = None
        self.frames = 0
        self.bytes = 0
        self._closed = False
        try:
            self.container.start_encoding()  # opens codecs, connects, writes the header
        except Exception as exc:
            self.abandon()
            raise LinkError(f"cannot open the program feed to {s.where}: {exc}") from exc

    def encode_video(self, frame: VideoFrame, index: int) -> None:
        """Encode the program frame for tick ``index`` (pts = index / fps)."""
        for packet in self.video.encode(video_to_av(frame, index, self.time_base)):
            self._mux(packet)
        self.frames += 1

    def encode_audio(self, block: np.ndarray, sample: int) -> None:
        """Encode float (n, channels) samples starting at sample ``sample`` of the feed."""
        if self._fifo is None or len(block) == 0:
            return
        # the FIFO counts from 0; a stream reopened mid-feed starts at a later sample
        if self._audio_origin is None:
            self._audio_origin = sample
        self._fifo.write(audio_to_av(block, sample - self._audio_origin))
        while self._fifo.samples >= AAC_FRAME:
            frame = self._fifo.read(AAC_FRAME)
            frame.pts += self._audio_origin
            for packet in self.audio.encode(frame):
                self._mux(packet)

    def _mux(self, packet: Any) -> None:
        self.bytes += packet.size
        try:
            self.container.mux(packet)
        except LinkError:
            raise
        except (av.FFmpegError, OSError) as exc:
            raise LinkError(f"program feed to {self.settings.where}: {exc}") from exc

    def abandon(self) -> None:
        """Close without flushing (the link is gone: nothing more can be sent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.container.close()
        except Exception as exc:  # the trailer cannot go out either; the socket is closed
            log.debug("program feed closed with: %s", exc)
        finally:
            if self.sender is not None:
                self.sender.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            for stream in (self.video, self.audio):
                if stream is not None:
                    for packet in stream.encode(None):
                        self._mux(packet)
        finally:
            try:
                self.container.close()
            finally:
                if self.sender is not None:
                    self.sender.close()


EncoderFactory = Callable[[FeedSettings], TsEncoder]


class Handoff:
    """One slot between the frame clock (composes) and the encoder thread (encodes): the
    two stages use both cores, and a composed frame waits for at most one frame time. If
    the encoder is still busy when the next frame is ready, the waiting one is replaced
    (counted in ``replaced``): frames are skipped, never queued, so delay cannot build."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: tuple[int, VideoFrame] | None = None
        self._closed = False
        self.replaced = 0

    def put(self, index: int, frame: VideoFrame) -> None:
        with self._cond:
            if self._item is not None:
                self.replaced += 1
            self._item = (index, frame)
            self._cond.notify()

    def take(self) -> tuple[int, VideoFrame] | None:
        """The next frame, waiting for it; None once closed and empty."""
        with self._cond:
            while self._item is None and not self._closed:
                self._cond.wait()
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed = False
            self._item = None


class ProgramFeed:
    """The program feed: a frame clock thread composes, an encoder thread encodes and sends.
    The control side swaps ``program`` and ``sources`` whole; the threads only read them."""

    def __init__(self, settings: FeedSettings, compositor: Compositor, *,
                 audio: AudioRing | None = None,
                 encoder: EncoderFactory = TsEncoder,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if (compositor.canvas.width, compositor.canvas.height) != (settings.width,
                                                                   settings.height):
            raise ValueError("the compositor's canvas and the output size differ")
        self.settings = settings
        self.compositor = compositor
        self.audio = audio if settings.audio else None
        self.clock = clock
        self.program = Program()
        self.sources: Mapping[str, FrameSource] = {}
        self._encoder_factory = encoder
        self.encoder: TsEncoder | None = None
        self.ticker = Ticker("program-compose", 1 / settings.fps, self._tick,
                             catch_up=settings.catch_up, clock=clock)
        self.handoff = Handoff()
        self._encoding: threading.Thread | None = None
        self._samples = 0
        self.frames = 0
        """Program frames sent since construction."""
        self.encode_errors = 0
        self.link = Link.STOPPED
        self.connects = 0
        """Streams opened (an SRT connection each) since construction."""
        self.link_errors = 0
        """Failed opens and writes: each drops the stream, and a later frame reopens it."""
        self._retry_at = 0.0
        self._failures = 0  # failed opens since the last one that worked
        self.source_errors: dict[str, int] = {}
        """Failed ``latest()`` calls per guest (the first one of each guest is logged)."""
        self._times: deque[float] = deque(maxlen=2 * settings.fps)
        self.compose_seconds = 0.0
        self.encode_seconds = 0.0
        """Smoothed time per frame of each stage (for metrics and the bench)."""
        self.on_compose: Callable[[float], None] | None = None
        """Told each frame's compose time (seconds), on the frame clock's thread: the
        ``showctl_mix_frame_seconds`` histogram (thread-safe). Must return at once."""

    def start(self) -> None:
        """Open the stream (one try: at most ``connect_timeout_ms``) and start both threads.
        Not open yet (OBS not listening): the encoder thread keeps trying, frames skipped."""
        self._samples = 0
        self.handoff.reopen()
        self.link, self._retry_at, self._failures = Link.CONNECTING, 0.0, 0
        if self.encoder is None:
            self._open(0)
        self._encoding = threading.Thread(target=self._encode_loop, name="program-encode",
                                          daemon=True)
        self._encoding.start()
        self.ticker.start()

    def stop(self) -> None:
        self.ticker.stop()
        self.handoff.close()
        if self._encoding is not None:
            self._encoding.join(10)
            self._encoding = None
        encoder, self.encoder = self.encoder, None
        self.link = Link.STOPPED
        if encoder is not None:
            try:
                encoder.close()
            except LinkError as exc:  # the last packets could not go out: nothing to do
                log.info("%s", exc)

    def __enter__(self) -> ProgramFeed:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def skipped(self) -> int:
        """Frame times with no frame sent: clock ticks skipped plus frames replaced."""
        return self.ticker.skipped + self.handoff.replaced

    @property
    def fps(self) -> float:
        """Frames per second actually sent, over the last two seconds."""
        times = self._times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def latest_frames(self, program: Program) -> dict[str, VideoFrame | None]:
        frames: dict[str, VideoFrame | None] = {}
        sources = self.sources
        for guest in program.guests:
            source = sources.get(guest)
            try:
                frames[guest] = source.latest() if source is not None else None
            except Exception:  # a broken source is a missing guest: slate, not a crash
                count = self.source_errors[guest] = self.source_errors.get(guest, 0) + 1
                if count == 1:
                    log.exception("frame source of %s failed; showing the slate", guest)
                frames[guest] = None
        return frames

    def _tick(self, index: int, due: float) -> None:
        """The frame clock: compose from whatever latest frames exist, hand over, return."""
        program = self.program
        t0 = time.perf_counter()
        picture = self.compositor.render(program, self.latest_frames(program), self.clock())
        took = time.perf_counter() - t0
        self.compose_seconds = 0.9 * self.compose_seconds + 0.1 * took
        if self.on_compose is not None:
            try:
                self.on_compose(took)
            except Exception:  # metrics must never cost a frame
                self.on_compose = None
                log.exception("on_compose failed; no more compose times are reported")
        self.handoff.put(index, picture)

    def _encode_loop(self) -> None:
        while (item := self.handoff.take()) is not None:
            encoder = self.encoder or self._open(item[0])
            if encoder is None:
                continue  # no stream yet: the frame is dropped, the clock goes on
            try:
                self._encode(encoder, *item)
            except LinkError as exc:
                self._lost(encoder, exc)
            except Exception:
                self.encode_errors += 1
                log.exception("program frame %d could not be encoded", item[0])

    def _open(self, index: int) -> TsEncoder | None:
        """A new stream for frame ``index``, or None (failed, or before ``_retry_at``)."""
        if time.monotonic() < self._retry_at:
            return None
        self.link = Link.CONNECTING
        try:
            encoder = self._encoder_factory(self.settings)
        except Exception as exc:  # OBS not listening yet, a wrong passphrase, ...
            self.link_errors += 1
            self._failures += 1
            wait = min(self.settings.retry_max,
                       self.settings.retry_after * 2 ** (self._failures - 1))
            self._retry_at = time.monotonic() + wait
            (log.warning if self._failures == 1 else log.debug)(
                "program feed: %s; trying again every %.1f s at most", exc, wait)
            return None
        if self._failures or self.connects:
            log.info("program feed to %s open again", self.settings.where)
        self.encoder, self.link, self._failures = encoder, Link.SENDING, 0
        self.connects += 1
        # the new stream's sound starts with this frame (not with what the outage missed)
        self._samples = index * RATE // self.settings.fps
        return encoder

    def _lost(self, encoder: TsEncoder, exc: LinkError) -> None:
        """A write failed: drop this stream; the next frame opens a new one."""
        self.link_errors += 1
        self.link = Link.CONNECTING
        self.encoder = None
        log.warning("%s; reopening", exc)
        encoder.abandon()

    def _encode(self, encoder: TsEncoder, index: int, picture: VideoFrame) -> None:
        t0 = time.perf_counter()
        encoder.encode_video(picture, index)
        if self.settings.audio:
            # audio follows the frame clock: exactly the samples up to the end of this frame,
            # silence where the audio clock has none (so a missing mixer cannot stall the mux)
            end = (index + 1) * RATE // self.settings.fps
            n = end - self._samples
            if n > 0:
                block = (self.audio.read(n) if self.audio is not None
                         else np.zeros((n, self.settings.channels), np.float32))
                encoder.encode_audio(block, self._samples)
                self._samples = end
        self.frames += 1
        self.encode_seconds = 0.9 * self.encode_seconds + 0.1 * (time.perf_counter() - t0)
        self._times.append(self.clock())
