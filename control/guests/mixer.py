"""The program mixer behind one object: what the app wires to the show and to the gateway.

    mixer = ProgramMixer(MixerSettings(port=5004), names={"zhu-dingzhen": GuestName(...)})
    mixer.start()                                   # two threads: audio clock, frame clock
    mixer.frames("zhu-dingzhen").put(frame)         # the gateway (or an SFU subscriber)
    mixer.push_audio("zhu-dingzhen", pcm_s16)       # ... and its decoded sound
    mixer.apply(outputs)                            # desired state from the show core
    mixer.stats()                                   # for control.metrics.guests

Every setter swaps an immutable value, so the asyncio side (the one writer, DESIGN.md 4)
never shares mutable state with the clock threads and never waits for them. All CPU work
(composition, encoding, mixing) runs on the mixer's own threads, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from control.guests.audio import BLOCK, RATE, AudioMixer, AudioRing, ReturnSink
from control.guests.clock import Ticker
from control.guests.layouts import BUILTIN, BoxesFor, Program, with_config
from control.guests.output import EncoderFactory, OutputSettings, ProgramOutput, TsEncoder
from control.guests.slate import GuestName, SlateMaker
from control.guests.video import Canvas, Compositor, FrameSource, LatestFrame
from control.show.outputs import Outputs


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
        self.audio = AudioMixer(buffer_ms=s.audio_buffer_ms,
                                prebuffer_ms=s.audio_prebuffer_ms, on_return=on_return)
        self.program_audio = AudioRing(s.audio_buffer_ms * RATE // 1000,
                                       s.audio_prebuffer_ms * RATE // 1000)
        self.output = ProgramOutput(
            OutputSettings(port=s.port, host=s.host, width=s.width, height=s.height,
                           fps=s.fps),
            self.compositor, audio=self.program_audio, encoder=encoder)
        self.audio_clock = Ticker("audio-mix", BLOCK / RATE, self._audio_tick, catch_up=5)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self.audio_clock.start()
        self.output.start()

    def stop(self) -> None:
        self.output.stop()
        self.audio_clock.stop()

    def __enter__(self) -> ProgramMixer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- guests (the gateway's side) -----------------------------------------------------

    def frames(self, guest: str) -> LatestFrame:
        """The guest's latest-frame holder, created on first use; the gateway ``put``s into it."""
        source = self.output.sources.get(guest)
        if isinstance(source, LatestFrame):
            return source
        holder = LatestFrame()
        self.attach(guest, holder)
        return holder

    def attach(self, guest: str, source: FrameSource) -> None:
        """Take the guest's pictures from ``source`` (any ``FrameSource``: an SFU track…)."""
        self.output.sources = {**self.output.sources, guest: source}

    def detach(self, guest: str) -> None:
        """The guest left: their box shows the slate, their return feed stops."""
        self.output.sources = {g: s for g, s in self.output.sources.items() if g != guest}
        self.audio.remove(guest)

    def push_audio(self, guest: str, pcm: np.ndarray) -> None:
        self.audio.push(guest, pcm)

    # --- the show's side -----------------------------------------------------------------

    def set_program(self, program: Program) -> None:
        self.output.program = program
        self.audio.set_on_air(program.guests)

    def apply(self, outputs: Outputs) -> None:
        """The show core's desired state: these guests on air, in this layout."""
        self.set_program(Program(tuple(outputs.guests), outputs.layout))

    def set_names(self, names: Mapping[str, GuestName]) -> None:
        self.compositor.names = dict(names)

    def set_level(self, guest: str, *, gain_db: float | None = None,
                  muted: bool | None = None) -> None:
        self.audio.set_level(guest, gain_db=gain_db, muted=muted)

    def set_talkback(self, guest: str | None) -> None:
        self.audio.set_talkback(guest)

    # --- the clock -----------------------------------------------------------------------

    def _audio_tick(self, _index: int, _due: float) -> None:
        self.program_audio.write(self.audio.tick().program)

    def stats(self) -> dict[str, Any]:
        """For ``control.metrics.guests`` (keys as it reads them) and the console."""
        slated = set(self.compositor.slated)
        guests = []
        for guest in sorted(set(self.output.sources) | set(self.audio.guests)):
            source = self.output.sources.get(guest)
            guests.append({
                "id": guest,
                "audio_peak_dbfs": self.audio.meters.get(guest),
                "frames_received": getattr(source, "received", None),
                "slate": guest in slated,
            })
        return {
            "fps": self.output.fps,
            "audio_peak_dbfs": self.audio.program_meter,
            "frames": self.output.frames,
            "frames_skipped": self.output.skipped,
            "compose_seconds": self.output.compose_seconds,
            "encode_seconds": self.output.encode_seconds,
            "audio_underruns": sum(self.audio.ring(g).underruns for g in self.audio.guests),
            "guests": guests,
        }
