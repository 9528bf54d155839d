"""The guest-lossy fault's pieces without a browser: the SDP rewriting that routes a
guest's media through the relay, and the relay itself on loopback (loss only on RTP/RTCP,
STUN and DTLS always pass, the client↔server mapping kept)."""

from __future__ import annotations

import asyncio

from control.drill.relay import (
    PAUSE_S,
    LossyRelay,
    answer_port,
    is_rtp,
    media_ssrcs,
    rtp_ssrc,
    strip_candidates,
    via_relay,
)

OFFER = "\r\n".join([
    "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=ice-ufrag:abcd",
    "a=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host generation 0",
    "a=candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
    "a=end-of-candidates", "a=fingerprint:sha-256 AA", ""])
ANSWER = "\r\n".join([
    "v=0", "m=audio 41000 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 127.0.0.1",
    "a=candidate:abc 1 udp 2130706431 127.0.0.1 41000 typ host",
    "a=candidate:def 1 udp 2130706431 10.0.0.5 41001 typ host", "a=end-of-candidates", ""])


def test_the_offer_loses_its_candidates_and_nothing_else():
    out = strip_candidates(OFFER)
    assert "a=candidate" not in out and "a=end-of-candidates" not in out
    assert "a=ice-ufrag:abcd" in out and "a=fingerprint:sha-256 AA" in out
    assert out.startswith("v=0\r\n") and out.endswith("\r\n")


def test_the_answer_points_at_the_relay():
    assert answer_port(ANSWER) == 41000
    out = via_relay(ANSWER, 55555)
    assert "a=candidate:abc 1 udp 2130706431 127.0.0.1 55555 typ host" in out
    assert "10.0.0.5" not in out and "a=end-of-candidates" in out
    assert answer_port("v=0\r\n") is None


def test_only_rtp_and_rtcp_count_as_media():
    assert is_rtp(bytes([0x80, 96])) and is_rtp(bytes([0x81, 200]))
    assert not is_rtp(b"\x00\x01") and not is_rtp(bytes([22, 254])) and not is_rtp(b"")


CHROME_OFFER = "\r\n".join([
    "v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:0", "a=ssrc:1111 cname:x",
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97", "a=mid:1", "a=ssrc-group:FID 2222 3333",
    "a=ssrc:2222 cname:x", "a=ssrc:3333 cname:x", ""])


def test_each_kind_s_primary_stream_is_read_from_the_offer():
    assert media_ssrcs(CHROME_OFFER) == {"audio": 1111, "video": 2222}  # not the RTX stream
    assert media_ssrcs("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n") == {}


def test_an_rtp_packet_names_its_stream_and_rtcp_does_not():
    rtp = bytes([0x80, 96, 0, 1, 0, 0, 0, 0]) + (2222).to_bytes(4, "big") + b"payload"
    assert rtp_ssrc(rtp) == 2222
    assert rtp_ssrc(bytes([0x80, 96 | 0x80]) + rtp[2:]) == 2222  # the marker bit set
    assert rtp_ssrc(bytes([0x80, 201, 0, 7]) + (2222).to_bytes(4, "big") + bytes(8)) is None
    assert rtp_ssrc(rtp[:11]) is None and rtp_ssrc(b"\x00\x01" + rtp[2:]) is None


class _Peer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: list[tuple[bytes, tuple[str, int]]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.got.append((data, addr))


async def _wait(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.01)


async def test_the_relay_forwards_both_ways_and_drops_a_share_of_media():
    loop = asyncio.get_running_loop()
    _, server = await loop.create_datagram_endpoint(_Peer, local_addr=("127.0.0.1", 0))
    _, client = await loop.create_datagram_endpoint(_Peer, local_addr=("127.0.0.1", 0))
    assert server.transport is not None and client.transport is not None
    relay = await LossyRelay.start(server.transport.get_extra_info("sockname")[1], seed=7)
    try:
        to_relay = ("127.0.0.1", relay.port)
        client.transport.sendto(b"\x00\x01stun", to_relay)  # a STUN check: learns the client
        await _wait(lambda: len(server.got) == 1)
        server.transport.sendto(b"\x01\x01stun-answer", server.got[0][1])
        await _wait(lambda: len(client.got) == 1)
        assert client.got[0] == (b"\x01\x01stun-answer", to_relay)
        relay.set(loss=0.5, jitter_ms=5)
        for i in range(200):  # RTP of stream 7 (a 12-byte header, the SSRC in its last 4)
            client.transport.sendto(bytes([0x80, 96]) + i.to_bytes(2, "big") + bytes(4)
                                    + (7).to_bytes(4, "big"), to_relay)
        for _ in range(20):
            client.transport.sendto(bytes([22, 254]) + b"dtls", to_relay)  # never dropped
        up = relay.counts.by_direction
        await _wait(lambda: up["up"] + relay.counts.dropped == 221)  # all through the relay
        await _wait(lambda: len(server.got) == up["up"])  # ... and delivered, jitter or not
        assert sum(d[0] == 22 for d, _ in server.got) == 20
        media = sum(d[0] == 0x80 for d, _ in server.got)
        assert 60 <= media <= 140 and relay.counts.dropped == 200 - media
        assert relay.counts.dropped_up == {7: 200 - media}  # what was lost, by stream
        relay.set()
        assert relay.loss == 0 and relay.jitter_ms == 0
    finally:
        relay.close()
        server.transport.close()
        client.transport.close()


async def test_the_relay_notes_each_pause_in_what_the_guest_sends():
    """The guest-lossy fault's word on a brief slate: the guest's media really stopped."""
    loop = asyncio.get_running_loop()
    _, server = await loop.create_datagram_endpoint(_Peer, local_addr=("127.0.0.1", 0))
    _, client = await loop.create_datagram_endpoint(_Peer, local_addr=("127.0.0.1", 0))
    assert server.transport is not None and client.transport is not None
    relay = await LossyRelay.start(server.transport.get_extra_info("sockname")[1])
    try:
        to_relay = ("127.0.0.1", relay.port)
        for _ in range(3):  # packets close together: no pause
            client.transport.sendto(b"\x00\x01stun", to_relay)
        await _wait(lambda: len(server.got) == 3)
        assert relay.pauses == []
        await asyncio.sleep(PAUSE_S + 0.1)  # the pause itself (what is measured)
        client.transport.sendto(b"\x00\x01stun", to_relay)
        await _wait(lambda: len(server.got) == 4)
        ((ended, length),) = relay.pauses
        assert PAUSE_S <= length < 5 and ended <= loop.time() + 1e-3
    finally:
        relay.close()
        server.transport.close()
        client.transport.close()
