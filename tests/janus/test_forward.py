"""The forwarders' receiver (control/janus/forward.py) on packets made here."""

from __future__ import annotations

import pytest
from aiortc.rtp import RtpPacket

from control.janus.forward import StreamReceiver

pytestmark = pytest.mark.unit


async def test_the_forwarded_sequence_counts_its_gaps_across_a_wrap():
    """A forwarder's receiver counts what is missing from the guest's RTP sequence (16-bit,
    wrapping); a late packet fills its gap."""
    receiver = StreamReceiver("audio", lambda frame: None)
    for seq in (65533, 65534, 1, 2, 0):  # 65535 lost; 0 arrives late
        packet = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960,
                           ssrc=1, payload=b"\xfc\xff\xfe")
        receiver.datagram_received(packet.serialize(), ("127.0.0.1", 9))
    assert (receiver.packets, receiver.lost) == (5, 1)
    assert receiver.bytes > 5 * 12


async def test_only_the_first_sender_is_taken():
    """Another process writing to the port cannot put packets into a guest's stream."""
    receiver = StreamReceiver("audio", lambda frame: None)
    for seq, sender in ((1, 4000), (2, 4000), (3, 5555), (3, 4000)):
        packet = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960,
                           ssrc=1, payload=b"\xfc\xff\xfe")
        receiver.datagram_received(packet.serialize(), ("127.0.0.1", sender))
    assert (receiver.packets, receiver.foreign, receiver.lost) == (3, 1, 0)
