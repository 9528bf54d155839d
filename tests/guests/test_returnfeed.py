"""The return feed's outbound track: 20 ms frames of 48 kHz s16 stereo, paced, bounded,
silence when the mixer gives nothing; the mixer routes each guest's mix-minus to it; the
WHIP answer carries it on the guest's audio m-line. No network: SDP only."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from guests.support import amplitude_at, tone

from control.guests.audio import BLOCK, RATE, float_to_s16, s16_to_float
from control.guests.layouts import Program
from control.guests.mixer import MixerSettings, ProgramMixer
from control.guests.returnfeed import MAX_BLOCKS, ReturnTrack, attach_return, detach_return


def block(i: int) -> np.ndarray:
    """A block whose every sample holds its number: which block came out is plain to see."""
    return np.full((BLOCK, 2), i, np.int16)


def samples(frame) -> np.ndarray:
    return frame.to_ndarray().reshape(-1, 2)


async def test_frames_are_20_ms_of_48_khz_s16_stereo_and_paced() -> None:
    track = ReturnTrack()
    frames = []
    t0 = time.monotonic()
    for i in range(10):
        track.feed(block(i + 1))
        frames.append(await track.recv())
    elapsed = time.monotonic() - t0
    for i, frame in enumerate(frames):
        assert (frame.samples, frame.sample_rate) == (BLOCK, RATE)
        assert (frame.format.name, frame.layout.name) == ("s16", "stereo")
        assert frame.time_base == Fraction(1, RATE) and frame.pts == i * BLOCK
        assert np.all(samples(frame) == i + 1)
    # the 10th frame is due 9 x 20 ms after the first (a lower bound: a loaded machine
    # may be late, never early by more than the loop's clock resolution)
    assert elapsed >= 0.175


async def test_silence_when_the_mixer_gives_nothing() -> None:
    track = ReturnTrack()
    frame = await track.recv()
    assert frame.samples == BLOCK and not samples(frame).any()
    assert track.silent == 1


async def test_the_queue_is_bounded_and_keeps_the_newest() -> None:
    track = ReturnTrack()
    for i in range(100):  # the mixer ran ahead while nobody pulled (a stalled sender)
        track.feed(block(i))
    assert track.waiting == MAX_BLOCKS and track.dropped == 100 - MAX_BLOCKS
    first = await track.recv()
    assert np.all(samples(first) == 100 - MAX_BLOCKS)


async def test_a_stalled_loop_skips_ahead_instead_of_bursting() -> None:
    now = [0.0]
    track = ReturnTrack(clock=lambda: now[0])
    await track.recv()
    now[0] = 5.0  # five seconds without a recv
    await track.recv()  # late: goes on from now
    t0 = time.monotonic()
    frame = await track.recv()  # due 20 ms after the late one: waits, no burst
    assert time.monotonic() - t0 >= 0.015
    assert frame.pts == 2 * BLOCK  # timestamps stay continuous


async def test_bad_blocks_and_a_stopped_track() -> None:
    track = ReturnTrack()
    with pytest.raises(ValueError, match="s16"):
        track.feed(np.zeros((BLOCK, 2), np.float32))
    with pytest.raises(ValueError):
        track.feed(np.zeros((BLOCK // 2, 2), np.int16))
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_the_mixer_feeds_each_guest_their_mix_minus() -> None:
    mixer = ProgramMixer(MixerSettings(port=1, audio_prebuffer_ms=0))
    mixer.set_program(Program(("ada", "bob"), "two-up"))
    tracks = {g: ReturnTrack(max_blocks=10) for g in ("ada", "bob")}
    for guest, track in tracks.items():
        mixer.route_return(guest, track.feed)
    freqs = {"ada": 450.0, "bob": 1150.0}
    for i in range(4):
        for guest, freq in freqs.items():
            mixer.push_audio(guest, float_to_s16(tone(freq, BLOCK, 0.2, start=i * BLOCK)))
        mixer._audio_tick(i, 0.0)  # the audio clock's tick, without its thread
    for guest, track in tracks.items():
        heard = s16_to_float(np.concatenate([samples(await track.recv()) for _ in range(4)]))
        other = "bob" if guest == "ada" else "ada"
        assert amplitude_at(heard, freqs[other]) == pytest.approx(0.2, rel=0.01)
        assert amplitude_at(heard, freqs[guest]) < 1e-3
    # a replaced session's track is not unrouted by the old session's cleanup
    newer = ReturnTrack()
    mixer.route_return("ada", newer.feed)
    mixer.unroute_return("ada", tracks["ada"].feed)
    mixer._audio_tick(4, 0.0)
    assert newer.waiting == 1
    mixer.detach("ada")
    mixer._audio_tick(5, 0.0)
    assert newer.waiting == 1  # gone with the guest


async def offer(direction: str) -> str:
    """An aiortc offer with audio in ``direction`` and video send-only (no ICE gathering:
    createOffer alone opens no socket)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: loopback only
    pc.addTransceiver("audio", direction=direction)
    pc.addTransceiver("video", direction="sendonly")
    sdp = (await pc.createOffer()).sdp
    await pc.close()
    return sdp


def audio_direction(sdp: str) -> str:
    section = sdp.split("m=audio", 1)[1].split("m=video", 1)[0]
    return next(d for d in ("sendrecv", "sendonly", "recvonly", "inactive") if f"a={d}" in section)


class Sink:
    def __init__(self) -> None:
        self.routed: dict[str, object] = {}

    def route_return(self, guest: str, consumer: object) -> None:
        self.routed[guest] = consumer

    def unroute_return(self, guest: str, consumer: object) -> None:
        if self.routed.get(guest) == consumer:
            del self.routed[guest]


@pytest.mark.parametrize(("offered", "answered"), [("sendrecv", "sendrecv"),
                                                   ("sendonly", "recvonly")])
async def test_the_answer_carries_the_return_feed(offered: str, answered: str) -> None:
    sdp = await offer(offered)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: loopback only
    sink = Sink()
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        track = attach_return(pc, "ada", sink)
        answer = (await pc.createAnswer()).sdp
        assert audio_direction(answer) == answered
        if offered == "sendonly":  # a send-only WHIP publisher: nothing to send back on
            assert track is None and sink.routed == {}
        else:
            assert isinstance(track, ReturnTrack) and sink.routed["ada"] == track.feed
            detach_return(track, "ada", sink)
            assert sink.routed == {} and track.readyState == "ended"
    finally:
        await pc.close()
