"""A guest's A/V offset: a tone's onset moves by the offset (positive: the sound is delayed,
held in the guest's ring); a negative offset delays the picture instead; config and bounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from guests.support import solid, tone

from control.config import ConfigError, load_settings
from control.guests.audio import BLOCK, RATE, AudioMixer, AudioRing
from control.guests.avsync import DelayedFrames, split_offset
from control.guests.layouts import Program
from control.guests.mixer import MixerSettings, ProgramMixer

ONSET = 3 * BLOCK + 123  # where the guest's tone starts in what they send


def onset(delay_ms: float | None, *, prebuffer_ms: int = 0, set_after: int = 0) -> int:
    """Send silence then a tone through the mixer (20 ms at a time, as the clock does);
    the sample at which the tone starts in the program. ``set_after``: blocks sent before
    the offset is set (a change during the show)."""
    mixer = AudioMixer(prebuffer_ms=prebuffer_ms)
    mixer.set_on_air(("ada",))
    signal = tone(1000.0, 60 * BLOCK, 0.5)
    signal[:ONSET] = 0
    out = []
    for i in range(60):
        if i == set_after and delay_ms is not None:
            mixer.set_delay("ada", delay_ms)
        mixer.push("ada", signal[i * BLOCK:(i + 1) * BLOCK])
        out.append(mixer.tick().program)
    program = np.concatenate(out)[:, 0]
    return int(np.argmax(np.abs(program) > 0.01))


@pytest.mark.parametrize("delay_ms", [20, 100, 250, 500])
def test_the_onset_moves_by_the_offset(delay_ms: int) -> None:
    assert onset(None) == ONSET
    assert onset(delay_ms) - onset(None) == delay_ms * RATE // 1000


def test_with_a_prebuffer_and_set_during_the_show() -> None:
    base = onset(0, prebuffer_ms=40)
    assert onset(150, prebuffer_ms=40) - base == 150 * 48
    # set after two blocks went through: what follows is 150 ms later all the same
    assert onset(150, set_after=2) - onset(0, set_after=2) == 150 * 48


def test_the_offset_is_clamped_and_survives_an_underrun() -> None:
    ring = AudioRing(capacity=10 * BLOCK, prebuffer=0, channels=1, max_delay=25 * BLOCK)
    ring.set_delay(10_000 * BLOCK)
    assert ring.delay == 25 * BLOCK  # at most max_delay (500 ms)
    ring.set_delay(5 * BLOCK)
    assert len(ring) == 5 * BLOCK  # a shorter delay skips what was held for the longer
    for _ in range(6):
        ring.read(BLOCK)  # dry: an underrun
    assert ring.underruns == 1
    ones = np.ones((BLOCK, 1), np.float32)
    for _ in range(4):
        ring.write(ones)
        assert not ring.read(BLOCK).any()  # refilling up to the delay before playing
    ring.write(ones)
    ring.write(ones)
    assert ring.read(BLOCK).all()  # five blocks held: it plays, still 5 blocks late
    # too much sound still drops the oldest, past capacity + delay
    ring.write(np.ones((40 * BLOCK, 1), np.float32))
    assert len(ring) == 15 * BLOCK


def test_negative_offsets_delay_the_picture() -> None:
    assert split_offset(120) == (120, 0) and split_offset(-80) == (0, 80)
    assert split_offset(-9000) == (0, 500)
    now = [10.0]
    holder = DelayedFrames(0.2, clock=lambda: now[0])
    frames = [solid("red", 64, 36, captured=10.0 + i * 0.04) for i in range(10)]
    for frame in frames:
        now[0] = frame.captured
        holder.put(frame)
    # at 10.36 the newest frame captured by 10.16 (0.2 s ago) is shown: frame 4
    shown = holder.latest()
    assert shown is not None and shown.y is frames[4].y
    assert shown.captured == pytest.approx(frames[4].captured + 0.2)  # not stale: shown now
    now[0] = 11.0
    assert holder.latest().y is frames[9].y  # type: ignore[union-attr]
    assert holder.received == 10
    holder.set_delay(0)
    assert holder.latest() is frames[9]  # no delay: exactly a LatestFrame


def test_the_mixer_applies_the_offset_to_sound_or_picture() -> None:
    mixer = ProgramMixer(MixerSettings(port=1))
    mixer.set_program(Program(("ada",), "solo"))
    mixer.set_av_offset("ada", 120)
    assert mixer.audio.ring("ada").delay == 120 * 48
    holder = mixer.frames("ada")
    assert isinstance(holder, DelayedFrames) and holder.delay == 0
    mixer.set_av_offset("ada", -200)
    assert mixer.audio.ring("ada").delay == 0 and holder.delay == pytest.approx(0.2)
    # kept for the next connection: a new holder and ring get it
    mixer.detach("ada")
    assert mixer.frames("ada").delay == pytest.approx(0.2)  # type: ignore[attr-defined]
    mixer.set_av_offset("ada", 60)
    mixer.detach("ada")
    assert mixer.audio.ring("ada").delay == 60 * 48


def test_offsets_from_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("guests: {av_offsets: {zhu-dingzhen: 120, gou-lijun: -40ms}}\n")
    s = load_settings(path, {})
    assert s.guest_av_offsets == (("zhu-dingzhen", 120), ("gou-lijun", -40))
    s = load_settings(path, {"SHOWCTL_GUEST_AV_OFFSETS": "ada=80, bob=-500"})
    assert s.guest_av_offsets == (("ada", 80), ("bob", -500))
    for bad, reason in (("{ada: 600}", "outside -500..500"), ("{ada: soon}", "whole milli")):
        path.write_text(f"guests: {{av_offsets: {bad}}}\n")
        with pytest.raises(ConfigError, match=reason):
            load_settings(path, {})
    with pytest.raises(ConfigError, match="GUEST=MS"):
        load_settings(None, {"SHOWCTL_GUEST_AV_OFFSETS": "ada:80"})
