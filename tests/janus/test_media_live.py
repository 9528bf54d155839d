"""A guest's picture and sound through a real Janus: aiortc publishes into the VideoRoom,
Janus forwards plain RTP to this machine, control/janus/forward.py decodes it. Runs inside a
namespace of its own (tests/janus/space.py: Janus offers no loopback candidate)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from helpers import until
from janus.space import STUDIO, only_in_studio, rerun_in_studio

from control.guests.gateway import configure_ice_hosts
from control.janus.client import JanusClient
from control.janus.room import GuestRoom, Media, PublisherState, RoomSettings
from control.janus.server import JanusServer

pytestmark = pytest.mark.live
INNER = "SHOWCTL_TEST_JANUS_STUDIO"


def test_in_the_studio_namespace():
    rerun_in_studio(__file__, "::test_a_guest_published_reaches_us_decoded", INNER,
                    timeout=120)


@pytest.mark.timeout(90)
async def test_a_guest_published_reaches_us_decoded(tmp_path: Path):
    only_in_studio(INNER, "test_in_the_studio_namespace")
    from janus.guest import RED, Guest

    configure_ice_hosts([STUDIO])
    pictures: list = []
    sounds: list = []
    ups: list[int] = []
    ends: list[str] = []
    with JanusServer(tmp_path / "janus", interface=STUDIO) as server:
        client = JanusClient(server.url)
        room = GuestRoom(client, RoomSettings(room=7, secret="s3", admin_key=server.admin_key))
        supervisor = asyncio.create_task(client.stay_connected())
        guest = Guest(RED)
        try:
            await asyncio.wait_for(client.ready.wait(), 10)
            media = Media(on_video=pictures.append, on_audio=sounds.append,
                          on_up=lambda: ups.append(1), on_end=ends.append)

            async def answer(offer: str) -> str:
                publisher = await room.publish("ada", offer, media)
                return publisher.answer

            await guest.join(answer)
            await until(lambda: ups == [1], 20, "Janus's webrtcup")
            await until(lambda: len(pictures) > 15 and len(sounds) > 25, 20,
                        "decoded pictures and sound")
            rgb = pictures[-1].to_ndarray(format="rgb24")
            assert rgb.shape[:2] == (240, 320)
            assert np.abs(rgb.reshape(-1, 3).mean(axis=0) - RED).max() < 12
            pcm = sounds[-1].to_ndarray()
            assert sounds[-1].sample_rate == 48_000 and np.abs(pcm).max() > 1000  # the tone
            (publisher,) = room.publishers.values()
            assert publisher.state is PublisherState.UP and len(publisher.forwarders) == 2
            # a second subscriber of the same guest: Janus sends another copy, the guest's
            # connection is untouched (no renegotiation: it still has its one answer)
            monitor: list = []
            copies = await room.copy(publisher, monitor.append, lambda frame: None)
            assert [r.kind for r in copies] == ["audio", "video"]
            seen = len(pictures)
            await until(lambda: len(monitor) > 10 and len(pictures) > seen + 10, 20,
                        "pictures in both subscribers")
            assert guest.pc.signalingState == "stable"
            assert np.abs(monitor[-1].to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
                          - RED).max() < 12
            await room.unpublish(publisher)
            assert ends == ["unpublished"] and room.publishers == {}
            assert all(r.closed for r in copies)  # they ended with it
        finally:
            await guest.close()
            await room.close()
            supervisor.cancel()
            await client.close()
