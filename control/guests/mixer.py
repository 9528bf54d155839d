"""The program mixer behind one object: what the app wires to the show and to the gateway.

    mixer = ProgramMixer(MixerSettings(port=5004), names={"zhu-dingzhen": GuestName(...)})
    mixer.start()                                   # two threads: audio clock, frame clock
    mixer.frames("zhu-dingzhen").put(frame)         # the gateway (or an SFU subscriber)
    mixer.push_audio("zhu-dingzhen", pcm_s16)       # ... and its decoded sound
    mixer.route_return("zhu-dingzhen", track.feed)  # what they hear back (mix-minus)
    mixer.set_av_offset("zhu-dingzhen", 120)        # their sound 120 ms later
    mixer.apply(desired)                            # desired state from the show core
    mixer.stats()                                   # for control.metrics.guests

Every setter swaps an immutable value, so the asyncio side (the one writer: see
docs/architecture.md) never shares mutable state with the clock threads and never waits for
them. All CPU work
(composition, encoding, mixing) runs on the mixer's own threads, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from control.guests.audio import BLOCK, RATE, AudioMixer, AudioRing, ReturnSink
from control.guests.avsync import DelayedFrames, split_offset
from control.guests.clock import Ticker
from control.guests.feed import (
    EncoderFactory,
    FeedSettings,
    ProgramFeed,
    Transport,
    TsEncoder,
)
from control.guests.layouts import BUILTIN, BoxesFor, Program, with_config
from control.guests.slate import GuestName, SlateMaker
from control.guests.video import Canvas, Compositor, FrameSource, LatestFrame, VideoFrame
from control.show.desired import Desired

ReturnConsumer = Callable[[np.ndarray], None]
"""Takes one guest's 20 ms return blocks (s16 (n, channels)) on the audio clock's thread,
e.g. ``returnfeed.ReturnTrack.feed``; must never wait."""


@dataclass(frozen=True, slots=True)
class MixerSettings:
    """The mixer's settings (config/showctl: the ``mixer`` section, when wired)."""

    port: int
    host: str = "127.0.0.1"
    width: int = 1280
    height: int = 720
    fps: int = 30
    stale_after: float = 1.0  # s without a new frame before a guest's box shows the slate
    audio_buffer_ms: int = 200  # per-guest ring: the most delay a guest's sound can gather
    audio_prebuffer_ms: int = 40  # refill after an underrun before playing again
    layouts: Mapping[str, Any] = field(default_factory=dict)  # the show's own layouts
    keyframe_every: int = 0  # frames between keyframes (0: fps); FeedSettings says why
    transport: Transport = Transport.UDP  # SRT: with passphrase and latency_ms (FeedSettings)
    passphrase: str | None = None
    latency_ms: int = 120


class ProgramMixer:
    """Guests in (frames through ``FrameSource``, sound through ``push_audio``), program out
    (MPEG-TS to OBS) and return feeds out (``on_return``)."""

    def __init__(self, settings: MixerSettings, *,
                 names: Mapping[str, GuestName] | None = None,
                 on_return: ReturnSink | None = None,
                 encoder: EncoderFactory = TsEncoder,
                 slates: SlateMaker | None = None) -> None:
        self.settings = s = settings
        layouts: Mapping[str, BoxesFor] = with_config(s.layouts) if s.layouts else BUILTIN
        self.compositor = Compositor(Canvas(s.width, s.height), stale_after=s.stale_after,
                                     layouts=layouts, names=names, slates=slates)
        self.on_return = on_return
        self._returns: Mapping[str, ReturnConsumer] = {}  # swapped whole, read by the clock
        self._offsets: dict[str, float] = {}  # guest -> A/V offset (ms)
        self.audio = AudioMixer(buffer_ms=s.audio_buffer_ms,
                                prebuffer_ms=s.audio_prebuffer_ms,
                                on_return=self._deliver_return)
        self.program_audio = AudioRing(s.audio_buffer_ms * RATE // 1000,
                                       s.audio_prebuffer_ms * RATE // 1000)
        self.feed = ProgramFeed(
            FeedSettings(port=s.port, host=s.host, width=s.width, height=s.height,
                           fps=s.fps, keyframe_every=s.keyframe_every,
                           transport=s.transport, passphrase=s.passphrase,
                           latency_ms=s.latency_ms),
            self.compositor, audio=self.program_audio, encoder=encoder)
        self.audio_clock = Ticker("audio-mix", BLOCK / RATE, self._audio_tick, catch_up=5)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self.audio_clock.start()
        self.feed.start()

    def stop(self) -> None:
        self.feed.stop()
        self.audio_clock.stop()

    def __enter__(self) -> ProgramMixer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- guests (the gateway's side) -----------------------------------------------------

    def frames(self, guest: str) -> LatestFrame:
        """The guest's latest-frame holder, created on first use; the gateway ``put``s into it."""
        source = self.feed.sources.get(guest)
        if isinstance(source, LatestFrame):
            return source
        holder = DelayedFrames(split_offset(self._offsets.get(guest, 0.0))[1] / 1000)
        self.attach(guest, holder)
        return holder

    def attach(self, guest: str, source: FrameSource) -> None:
        """Take the guest's pictures from ``source`` (any ``FrameSource``: an SFU track…)."""
        self.feed.sources = {**self.feed.sources, guest: source}

    def detach(self, guest: str) -> None:
        """The guest left: their box shows the slate, their return feed stops."""
        self.feed.sources = {g: s for g, s in self.feed.sources.items() if g != guest}
        self._returns = {g: c for g, c in self._returns.items() if g != guest}
        self.audio.remove(guest)

    def push_audio(self, guest: str, pcm: np.ndarray) -> None:
        self.audio.push(guest, pcm)

    def picture(self, guest: str) -> VideoFrame | None:
        """The guest's picture as the program would show it now (None: none); unlike
        ``frames`` it makes no holder (the console's thumbnails ask for any guest)."""
        source = self.feed.sources.get(guest)
        return source.latest() if source is not None else None

    def route_return(self, guest: str, consumer: ReturnConsumer) -> None:
        """Hand the guest's return feed to ``consumer`` every 20 ms (replacing an earlier
        one); the guest gets a ring, so they hear the show even before they send sound."""
        self.audio.ring(guest)
        self._returns = {**self._returns, guest: consumer}

    def unroute_return(self, guest: str, consumer: ReturnConsumer) -> None:
        """Stop handing the return feed to ``consumer`` (not to a newer one that replaced it)."""
        if self._returns.get(guest) == consumer:
            self._returns = {g: c for g, c in self._returns.items() if g != guest}

    def _deliver_return(self, guest: str, block: np.ndarray) -> None:
        if self.on_return is not None:
            self.on_return(guest, block)
        consumer = self._returns.get(guest)
        if consumer is not None:
            consumer(block)

    # --- the show's side -----------------------------------------------------------------

    def set_program(self, program: Program) -> None:
        self.feed.program = program
        self.audio.set_on_air(program.guests)

    def apply(self, desired: Desired) -> None:
        """The show core's desired state: these guests on air, in this layout."""
        self.set_program(Program(tuple(desired.guests), desired.layout))

    def set_names(self, names: Mapping[str, GuestName]) -> None:
        self.compositor.names = dict(names)

    def set_level(self, guest: str, *, gain_db: float | None = None,
                  muted: bool | None = None) -> None:
        self.audio.set_level(guest, gain_db=gain_db, muted=muted)

    def set_talkback(self, guest: str | None) -> None:
        self.audio.set_talkback(guest)

    def set_av_offset(self, guest: str, offset_ms: float) -> None:
        """The guest's A/V offset (ms, -500..500; + delays their sound, - their picture)."""
        audio_ms, video_ms = split_offset(offset_ms)
        self._offsets[guest] = offset_ms
        self.audio.set_delay(guest, audio_ms)
        source = self.feed.sources.get(guest)
        if isinstance(source, DelayedFrames):
            source.set_delay(video_ms / 1000)

    # --- the clock -----------------------------------------------------------------------

    def _audio_tick(self, _index: int, _due: float) -> None:
        self.program_audio.write(self.audio.tick().program)

    def stats(self) -> dict[str, Any]:
        """For ``control.metrics.guests`` (keys as it reads them) and the console."""
        slated = set(self.compositor.slated)
        guests = []
        for guest in sorted(set(self.feed.sources) | set(self.audio.guests)):
            source = self.feed.sources.get(guest)
            guests.append({
                "id": guest,
                "audio_peak_dbfs": self.audio.meters.get(guest),
                "frames_received": getattr(source, "received", None),
                "slate": guest in slated,
            })
        return {
            "fps": self.feed.fps,
            "audio_peak_dbfs": self.audio.program_meter,
            "frames": self.feed.frames,
            "frames_skipped": self.feed.skipped,
            "compose_seconds": self.feed.compose_seconds,
            "encode_seconds": self.feed.encode_seconds,
            "audio_underruns": sum(self.audio.ring(g).underruns for g in self.audio.guests),
            "feed_link": self.feed.link.value,  # stopped / connecting / sending (SRT: to OBS)
            "feed_connects": self.feed.connects,
            "feed_link_errors": self.feed.link_errors,
            "guests": guests,
        }
