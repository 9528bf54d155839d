"""The 20 ms mixer: gain, mute, on-air only, meters, mix-minus, green room, talkback, rings."""

from __future__ import annotations

import numpy as np
import pytest
from guests.support import amplitude_at, tone

from control.guests.audio import (
    BLOCK,
    SILENCE_DBFS,
    AudioMixer,
    AudioRing,
    Level,
    Talkback,
    float_to_s16,
    mix_block,
    peak_dbfs,
    s16_to_float,
)

# one tone per guest, each a whole number of cycles in 20 ms (multiples of 50 Hz): every
# tone is exactly one DFT bin of the block, so they can be measured apart
FREQS = {"zhu": 450.0, "gou": 700.0, "ning": 1150.0, "green": 1600.0, "producer": 2500.0}
A = 0.1


def blocks(*guests: str) -> dict[str, np.ndarray]:
    return {g: tone(FREQS[g], BLOCK, A) for g in guests}


def heard(block: np.ndarray, guest: str) -> float:
    return amplitude_at(block, FREQS[guest])


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_gain_and_mute_by_rms() -> None:
    one = mix_block(blocks("zhu"), on_air=["zhu"])
    assert rms(one.program) == pytest.approx(A / np.sqrt(2), rel=1e-3)
    quieter = mix_block(blocks("zhu"), ["zhu"], {"zhu": Level(gain_db=-6.0206)})
    assert rms(quieter.program) == pytest.approx(rms(one.program) / 2, rel=1e-3)
    louder = mix_block(blocks("zhu"), ["zhu"], {"zhu": Level(gain_db=6.0206)})
    assert rms(louder.program) == pytest.approx(rms(one.program) * 2, rel=1e-3)
    muted = mix_block(blocks("zhu", "gou"), ["zhu", "gou"], {"zhu": Level(muted=True)})
    assert heard(muted.program, "zhu") < 1e-6
    assert heard(muted.program, "gou") == pytest.approx(A, rel=1e-3)
    assert muted.peaks["zhu"] == pytest.approx(-20, abs=0.1)  # the meter still reads


def test_only_guests_on_air_are_in_the_program() -> None:
    result = mix_block(blocks("zhu", "gou", "green"), on_air=["zhu", "gou"])
    assert heard(result.program, "zhu") == pytest.approx(A, rel=1e-3)
    assert heard(result.program, "gou") == pytest.approx(A, rel=1e-3)
    assert heard(result.program, "green") < 1e-6


def test_each_return_feed_is_mix_minus() -> None:
    on_air = ["zhu", "gou", "ning"]
    result = mix_block(blocks(*on_air, "green"), on_air)
    for guest in on_air:
        feed = result.returns[guest]
        assert heard(feed, guest) < 1e-5, f"{guest} hears themself"
        for other in on_air:
            if other != guest:
                assert heard(feed, other) == pytest.approx(A, rel=1e-3)
        # the rest of the feed is exactly the other guests: no residue of one's own voice
        others = sum(tone(FREQS[o], BLOCK, A) for o in on_air if o != guest)
        assert np.max(np.abs(feed - others)) < 1e-6
    # the green room hears the program (all on-air guests) but nobody hears the green room
    green = result.returns["green"]
    assert all(heard(green, g) == pytest.approx(A, rel=1e-3) for g in on_air)
    assert heard(green, "green") < 1e-6


def test_gain_applies_to_what_the_others_hear_and_studio_reaches_every_guest() -> None:
    studio = tone(3000.0, BLOCK, 0.2)
    result = mix_block(blocks("zhu", "gou"), ["zhu", "gou"], {"gou": Level(gain_db=-6.0206)},
                       studio=studio)
    assert heard(result.returns["zhu"], "gou") == pytest.approx(A / 2, rel=1e-3)
    assert amplitude_at(result.returns["zhu"], 3000.0) == pytest.approx(0.2, rel=1e-3)
    assert amplitude_at(result.returns["gou"], 3000.0) == pytest.approx(0.2, rel=1e-3)
    assert amplitude_at(result.program, 3000.0) < 1e-6  # OBS has the studio already


def test_talkback_reaches_one_guest_only() -> None:
    voice = tone(FREQS["producer"], BLOCK, 0.3)
    result = mix_block(blocks("zhu", "gou", "green"), ["zhu", "gou"],
                       talkback=Talkback("zhu", voice, duck_db=-20))
    assert heard(result.returns["zhu"], "producer") == pytest.approx(0.3, rel=1e-3)
    assert heard(result.returns["zhu"], "gou") == pytest.approx(A / 10, rel=1e-3)  # ducked
    for feed in (result.program, result.returns["gou"], result.returns["green"]):
        assert heard(feed, "producer") < 1e-6


def test_peaks() -> None:
    result = mix_block({"zhu": tone(450, BLOCK, 0.5), "gou": np.zeros((BLOCK, 2), np.float32)},
                       ["zhu", "gou"])
    assert result.peaks["zhu"] == pytest.approx(-6.02, abs=0.05)
    assert result.peaks["gou"] == SILENCE_DBFS
    assert result.program_peak == pytest.approx(-6.02, abs=0.05)
    assert peak_dbfs(np.ones((4, 2), np.float32)) == 0.0


def test_s16_conversion_clips_instead_of_wrapping() -> None:
    pcm = np.array([[-32768, 32767], [0, 16384]], np.int16)
    assert np.array_equal(float_to_s16(s16_to_float(pcm)), pcm)
    assert np.array_equal(float_to_s16(np.array([[1.5, -1.5]], np.float32)),
                          np.array([[32767, -32768]], np.int16))


def test_ring_underrun_is_silence_and_overflow_drops_the_oldest() -> None:
    ring = AudioRing(capacity=4 * BLOCK, prebuffer=2 * BLOCK, channels=1)
    assert not ring.read(BLOCK).any()  # empty: silence
    ring.write(np.ones((BLOCK, 1), np.float32))
    assert not ring.read(BLOCK).any()  # not primed yet: still silence, sound kept
    ring.write(np.ones((BLOCK, 1), np.float32))
    assert ring.read(BLOCK).all() and ring.read(BLOCK).all()
    out = ring.read(BLOCK)  # dry: silence, counted
    assert not out.any() and ring.underruns == 1
    ramp = np.arange(10 * BLOCK, dtype=np.float32).reshape(-1, 1)
    for chunk in np.split(ramp, 10):
        ring.write(chunk)
    assert len(ring) == 4 * BLOCK and ring.dropped == 6 * BLOCK
    assert ring.read(BLOCK)[0, 0] == 6 * BLOCK  # the newest 80 ms remain: bounded delay
    ring.write(np.zeros((9 * BLOCK, 1), np.float32))  # one write larger than the ring
    assert len(ring) == 4 * BLOCK


def test_the_mixer_clock_end_to_end() -> None:
    """Guests push 20 ms of s16 each; every tick gives the program and mix-minus returns."""
    returned: dict[str, list[np.ndarray]] = {}
    mixer = AudioMixer(prebuffer_ms=0, on_return=lambda g, b: returned.setdefault(g, []).append(b))
    mixer.set_on_air(("zhu", "gou"))
    mixer.set_level("gou", gain_db=-6.0206)
    mixer.set_talkback("green")
    programs = []
    for i in range(5):
        for guest in ("zhu", "gou", "green"):
            mixer.push(guest, float_to_s16(tone(FREQS[guest], BLOCK, A, start=i * BLOCK)))
        mixer.talkback.write(tone(FREQS["producer"], BLOCK, A, start=i * BLOCK))
        programs.append(mixer.tick().program)
    program = np.concatenate(programs)
    assert heard(program, "zhu") == pytest.approx(A, rel=1e-2)
    assert heard(program, "gou") == pytest.approx(A / 2, rel=1e-2)
    assert heard(program, "green") < 1e-4
    zhu = s16_to_float(np.concatenate(returned["zhu"]))
    assert heard(zhu, "zhu") < 1e-3 and heard(zhu, "gou") == pytest.approx(A / 2, rel=1e-2)
    green = s16_to_float(np.concatenate(returned["green"]))
    assert heard(green, "producer") == pytest.approx(A, rel=1e-2)
    assert heard(s16_to_float(np.concatenate(returned["gou"])), "producer") < 1e-3
    assert mixer.meters["zhu"] == pytest.approx(-20, abs=0.2)
    assert mixer.program_meter > -20
    # a guest who stops sending is silence, not a stall; one who leaves has no return feed
    assert heard(mixer.tick().program, "zhu") < 1e-6
    mixer.remove("gou")
    assert "gou" not in mixer.tick().returns
