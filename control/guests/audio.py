"""The program audio mix and each guest's return feed (mix-minus), in 20 ms blocks.

WebRTC gives no mixer: Opus decodes to s16 stereo 48 kHz in 20 ms frames per guest, with no
clock shared between guests. So each guest's sound goes into its own small ring buffer, and
one 20 ms clock takes a block from every ring at once: silence when a guest is late
(underrun), the oldest sound dropped when a guest sends too much (a buffer that only grows is
delay that only grows).

A remote guest must hear the show but never themself, delayed, which is an echo that
makes people stop talking. Their return feed is the program mix minus their own voice
(mix-minus), plus the studio (the host's microphones, which OBS carries and this mixer does
not put into the program). Green-room guests hear the program. Talkback puts the producer's
voice into one guest's return feed only, with the program ducked under it.

``mix_block`` is a pure function of one block of every input; ``AudioMixer`` adds the rings,
the settings and the meters around it. Samples are float32 in [-1, 1), shape (n, channels).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

RATE = 48_000
BLOCK = 960  # 20 ms at 48 kHz: Opus's frame, and the mixer's clock
CHANNELS = 2
MAX_DELAY_MS = 500  # the longest A/V offset a guest's sound can be given (ring memory)
SILENCE_DBFS = -120.0  # what a meter reads for digital silence (-inf dBFS)
METER_FALL_DB_PER_S = 20.0  # peak meters fall back like a PPM, so a scrape sees recent peaks


def s16_to_float(pcm: np.ndarray, channels: int = CHANNELS) -> np.ndarray:
    """s16 samples (interleaved 1-D, or (n, channels)) → float32 (n, channels) in [-1, 1)."""
    return (np.asarray(pcm, dtype=np.int16).reshape(-1, channels).astype(np.float32)
            / 32768.0)


def float_to_s16(block: np.ndarray) -> np.ndarray:
    """float (n, channels) → s16 (n, channels), clipped (a hot mix must not wrap around)."""
    return np.clip(np.rint(block * 32768.0), -32768, 32767).astype(np.int16)


def peak_dbfs(block: np.ndarray) -> float:
    """Sample peak in dBFS (full scale = 1.0); SILENCE_DBFS for silence."""
    if block.size == 0:
        return SILENCE_DBFS
    peak = float(np.max(np.abs(block)))
    return SILENCE_DBFS if peak <= 0 else max(SILENCE_DBFS, 20 * math.log10(peak))


def db_to_gain(db: float) -> float:
    return 0.0 if db <= SILENCE_DBFS else 10 ** (db / 20)


def silence(n: int = BLOCK, channels: int = CHANNELS) -> np.ndarray:
    return np.zeros((n, channels), np.float32)


class AudioRing:
    """A bounded FIFO of samples between a producer (the guest's decoder) and the mixer clock.

    ``read`` always returns ``n`` samples: silence for what is missing (counted in
    ``underruns``). After running dry it waits until ``prebuffer`` (+ ``delay``) samples are
    there before it plays again, so a guest whose packets arrive in bursts stutters once, not
    on every block. ``write`` drops the oldest samples past ``capacity`` (+ ``delay``; counted
    in ``dropped``): the delay of a guest is bounded, whatever their clock does.

    ``set_delay`` is the guest's A/V offset on the sound side: the ring holds that many more
    samples (silence put in front of what is buffered, at once), and keeps them across an
    underrun, because the fill level is what delays the sound.

    The producer and the clock run on different threads, so one short lock guards the
    indexes (a copy of at most a few hundred samples).
    """

    def __init__(self, capacity: int = 10 * BLOCK, prebuffer: int = 2 * BLOCK,
                 channels: int = CHANNELS, max_delay: int = 0) -> None:
        if prebuffer > capacity:
            raise ValueError("prebuffer must not exceed capacity")
        self.capacity = capacity
        self.prebuffer = prebuffer
        self.channels = channels
        self.max_delay = max_delay
        self.delay = 0
        """Samples of A/V offset (0..max_delay) held on top of the prebuffer."""
        self._buf = np.zeros((capacity + max_delay, channels), np.float32)
        self._start = 0
        self._size = 0
        self._primed = prebuffer == 0
        self._lock = threading.Lock()
        self.underruns = 0
        """Reads that found fewer samples than asked for (each filled with silence)."""
        self.dropped = 0
        """Samples thrown away because the ring was full."""

    def __len__(self) -> int:
        return self._size

    def write(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, np.float32).reshape(-1, self.channels)
        with self._lock:
            limit, room = self.capacity + self.delay, len(self._buf)
            if len(samples) >= limit:
                self.dropped += self._size + len(samples) - limit
                samples = samples[-limit:]
                self._start, self._size = 0, 0
            overflow = self._size + len(samples) - limit
            if overflow > 0:
                self._start = (self._start + overflow) % room
                self._size -= overflow
                self.dropped += overflow
            end = (self._start + self._size) % room
            first = min(len(samples), room - end)
            self._buf[end:end + first] = samples[:first]
            self._buf[:len(samples) - first] = samples[first:]
            self._size += len(samples)
            if self._size >= self.prebuffer + self.delay:
                self._primed = True

    def read(self, n: int = BLOCK) -> np.ndarray:
        out = np.zeros((n, self.channels), np.float32)
        with self._lock:
            if not self._primed:
                return out
            room = len(self._buf)
            take = min(n, self._size)
            first = min(take, room - self._start)
            out[:first] = self._buf[self._start:self._start + first]
            out[first:take] = self._buf[:take - first]
            self._start = (self._start + take) % room
            self._size -= take
            if take < n:
                self.underruns += 1
                self._primed = self.prebuffer + self.delay == 0
        return out

    def set_delay(self, samples: int) -> None:
        """Delay what comes out by ``samples`` (clamped to 0..max_delay) from now on: a longer
        delay puts silence in front of the buffered sound, a shorter one skips the oldest."""
        samples = max(0, min(int(samples), self.max_delay))
        with self._lock:
            room, change = len(self._buf), samples - self.delay
            if change > 0:
                self._start = (self._start - change) % room
                first = min(change, room - self._start)
                self._buf[self._start:self._start + first] = 0
                self._buf[:change - first] = 0
                self._size += change
            elif change < 0:
                skip = min(-change, self._size)
                self._start = (self._start + skip) % room
                self._size -= skip
            self.delay = samples
            if self._size >= self.prebuffer + samples:
                self._primed = True

    def clear(self) -> None:
        with self._lock:
            self._start, self._size = 0, 0
            self._primed = self.prebuffer + self.delay == 0


@dataclass(frozen=True, slots=True)
class Level:
    """A guest's fader: gain in dB and mute (muted: out of the program, meters still read)."""

    gain_db: float = 0.0
    muted: bool = False

    @property
    def gain(self) -> float:
        return 0.0 if self.muted else db_to_gain(self.gain_db)


@dataclass(frozen=True, slots=True)
class Talkback:
    """The producer speaking to one guest: ``block`` goes into ``guest``'s return feed only,
    with the rest of that feed ducked by ``duck_db`` so the instruction is understood."""

    guest: str
    block: np.ndarray
    duck_db: float = -10.0


@dataclass(frozen=True, slots=True, eq=False)
class MixResult:
    """One 20 ms block of everything the mixer produces."""

    program: np.ndarray
    """What goes on air: the on-air guests, each at its gain."""
    returns: dict[str, np.ndarray]
    """Per connected guest: what they hear (mix-minus, studio, talkback)."""
    peaks: dict[str, float]
    """Per guest, the input's peak in dBFS before gain and mute (a muted guest who talks
    still shows on the meter: the producer sees who wants to speak)."""
    program_peak: float


def mix_block(blocks: Mapping[str, np.ndarray], on_air: Collection[str],
              levels: Mapping[str, Level] | None = None, *,
              studio: np.ndarray | None = None, talkback: Talkback | None = None) -> MixResult:
    """Mix one block. ``blocks``: every connected guest's input (float, same shape).
    Guests on air are summed into the program at their level; each connected guest gets
    back the program without their own contribution, plus ``studio``; the talkback target
    also gets the producer's voice over a ducked feed. Pure."""
    levels = levels or {}
    shape = next(iter(blocks.values())).shape if blocks else (
        studio.shape if studio is not None else (BLOCK, CHANNELS))
    program = np.zeros(shape, np.float32)
    contributions: dict[str, np.ndarray] = {}
    for guest in on_air:
        block = blocks.get(guest)
        if block is None:
            continue
        gain = levels.get(guest, Level()).gain
        if gain == 0.0:
            continue
        contributions[guest] = block * np.float32(gain)
        program += contributions[guest]
    house = program if studio is None else program + studio
    returns: dict[str, np.ndarray] = {}
    for guest in blocks:
        own = contributions.get(guest)
        feed = house - own if own is not None else house.copy()
        if talkback is not None and talkback.guest == guest:
            feed *= np.float32(db_to_gain(talkback.duck_db))
            feed += talkback.block
        returns[guest] = feed
    return MixResult(program, returns, {g: peak_dbfs(b) for g, b in blocks.items()},
                     peak_dbfs(program))


def fall(meter: float, block_peak: float, seconds: float) -> float:
    """A peak meter: jumps up to a new peak, falls by METER_FALL_DB_PER_S otherwise."""
    return max(block_peak, max(SILENCE_DBFS, meter - METER_FALL_DB_PER_S * seconds))


ReturnSink = Callable[[str, np.ndarray], None]
"""Receives (guest, 20 ms return block as s16 (n, channels)); called on the audio clock's
thread, so it must only hand the block over (e.g. to the guest's outgoing track), never wait."""


@dataclass(frozen=True, slots=True)
class MixSettings:
    """What the producer controls; replaced whole (one reference swap) by the control side,
    read by the clock thread: no lock, no torn update."""

    on_air: tuple[str, ...] = ()
    levels: Mapping[str, Level] = field(default_factory=dict)
    talkback_to: str | None = None


class AudioMixer:
    """The 20 ms mixer: guests ``push`` decoded sound from any thread; the clock calls
    ``tick`` every 20 ms (``clock.Ticker``) and gets the program and the return feeds."""

    def __init__(self, *, channels: int = CHANNELS, buffer_ms: int = 200,
                 prebuffer_ms: int = 40, on_return: ReturnSink | None = None,
                 max_delay_ms: int = MAX_DELAY_MS) -> None:
        self.channels = channels
        self._capacity = buffer_ms * RATE // 1000
        self._prebuffer = prebuffer_ms * RATE // 1000
        self._max_delay = max_delay_ms * RATE // 1000
        self._rings: dict[str, AudioRing] = {}
        self._delays: dict[str, int] = {}  # guest -> A/V offset in samples (kept across joins)
        self.studio = AudioRing(self._capacity, self._prebuffer, channels)
        self.talkback = AudioRing(self._capacity, self._prebuffer, channels)
        self.settings = MixSettings()
        self.on_return = on_return
        self.meters: dict[str, float] = {}
        self.program_meter = SILENCE_DBFS
        self.blocks = 0

    # --- the control side (any thread; settings are swapped whole) -----------------------

    def ring(self, guest: str) -> AudioRing:
        """The guest's ring, created when they connect (the gateway writes into it)."""
        ring = self._rings.get(guest)
        if ring is None:
            ring = AudioRing(self._capacity, self._prebuffer, self.channels, self._max_delay)
            ring.set_delay(self._delays.get(guest, 0))
            self._rings = {**self._rings, guest: ring}
        return ring

    def set_delay(self, guest: str, ms: float) -> None:
        """Delay the guest's sound by ``ms`` (0..max_delay_ms): their A/V offset. Kept for
        the guest's next connection too."""
        samples = max(0, min(round(ms * RATE / 1000), self._max_delay))
        self._delays[guest] = samples
        ring = self._rings.get(guest)
        if ring is not None:
            ring.set_delay(samples)

    def push(self, guest: str, pcm: np.ndarray) -> None:
        """Decoded sound from a guest: s16 (interleaved or (n, channels)) or float."""
        block = pcm if pcm.dtype.kind == "f" else s16_to_float(pcm, self.channels)
        self.ring(guest).write(block)

    def remove(self, guest: str) -> None:
        """The guest left: no return feed any more, no meter."""
        self._rings = {g: r for g, r in self._rings.items() if g != guest}
        self.meters.pop(guest, None)

    def set_on_air(self, guests: tuple[str, ...]) -> None:
        self.settings = replace(self.settings, on_air=tuple(guests))

    def set_level(self, guest: str, *, gain_db: float | None = None,
                  muted: bool | None = None) -> None:
        old = self.settings.levels.get(guest, Level())
        new = Level(old.gain_db if gain_db is None else gain_db,
                    old.muted if muted is None else muted)
        self.settings = replace(self.settings, levels={**self.settings.levels, guest: new})

    def set_talkback(self, guest: str | None) -> None:
        """Open the producer's talkback to one guest (None: closed)."""
        if guest != self.settings.talkback_to:
            self.talkback.clear()
        self.settings = replace(self.settings, talkback_to=guest)

    @property
    def guests(self) -> tuple[str, ...]:
        return tuple(self._rings)

    # --- the clock side ------------------------------------------------------------------

    def tick(self, n: int = BLOCK) -> MixResult:
        """One block: read every ring, mix, hand each return feed to ``on_return``."""
        settings = self.settings
        rings = self._rings
        blocks = {g: r.read(n) for g, r in rings.items()}
        studio = self.studio.read(n)
        talk = self.talkback.read(n)
        talkback = Talkback(settings.talkback_to, talk) if settings.talkback_to else None
        result = mix_block(blocks, settings.on_air, settings.levels, studio=studio,
                           talkback=talkback)
        seconds = n / RATE
        for guest, peak in result.peaks.items():
            self.meters[guest] = fall(self.meters.get(guest, SILENCE_DBFS), peak, seconds)
        self.program_meter = fall(self.program_meter, result.program_peak, seconds)
        self.blocks += 1
        if self.on_return is not None:
            for guest, feed in result.returns.items():
                self.on_return(guest, float_to_s16(feed))
        return result
