"""A lossy UDP relay on loopback for the drill's `guest-lossy` fault, and the SDP rewriting
that routes one guest's media through it.

This kernel has no netem (`tc qdisc add dev lo root netem` → "Specified qdisc kind is
unknown"), so the bad link is made in user space: the guest's browser is told (in the WHIP
answer) that the server is at the relay's port, and the server is told nothing (the offer's
candidates are stripped), so it learns the relay's server-facing socket as a peer-reflexive
candidate from the first STUN check. The relay forwards each direction and drops a share of
the RTP/RTCP packets (STUN and DTLS pass, so the setup itself stays deterministic) with a
random delay each (jitter, which also reorders, as a real network does).

    relay = await LossyRelay.start(server_port)       # loss 0: a clean link until told
    relay.set(loss=0.05, jitter_ms=30)                # the fault
    offer = strip_candidates(offer); answer = via_relay(answer, relay.port)
    relay.counts.dropped_up[media_ssrcs(offer)["video"]]  # the guest's video packets lost

SRTP leaves the RTP header in the clear, so the relay counts what it drops of each stream
(SSRC): the guest page's loss figure is its video stream's, which a drop of audio or RTCP
never moves.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

PAUSE_S = 0.3  # a pause in the guest's packets worth noting (its audio comes every 20 ms)
_CANDIDATE = re.compile(r"^a=(candidate:.*|end-of-candidates)$")
_FID = re.compile(r"^a=ssrc-group:FID (\d+)")
_SSRC = re.compile(r"^a=ssrc:(\d+) ")
_HOST = re.compile(r"^(a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 )(\d+)( typ host.*)$", re.I)


def strip_candidates(offer: str) -> str:
    """The offer without its ICE candidates (and end-of-candidates, so the server keeps
    waiting for one and pairs the peer-reflexive candidate its first check reveals)."""
    lines = offer.splitlines()
    return "\r\n".join(line for line in lines if not _CANDIDATE.match(line)) + "\r\n"


def answer_port(answer: str) -> int | None:
    """The server's UDP port on 127.0.0.1 in the answer's host candidate (component 1)."""
    for line in answer.splitlines():
        m = _HOST.match(line)
        if m:
            return int(m.group(2))
    return None


def via_relay(answer: str, relay_port: int) -> str:
    """The answer with the server's 127.0.0.1 host candidate(s) moved to the relay's port
    (other candidates dropped: loopback is the only way in the drill's namespace)."""
    out = []
    for line in answer.splitlines():
        m = _HOST.match(line)
        if m:
            out.append(f"{m.group(1)}{relay_port}{m.group(3)}")
        elif not line.startswith("a=candidate:"):
            out.append(line)
    return "\r\n".join(out) + "\r\n"


def media_ssrcs(offer: str) -> dict[str, int]:
    """Each media kind's primary SSRC in an SDP offer ({"audio": ..., "video": ...}): the
    first of its `a=ssrc-group:FID` (the second is the retransmissions'), else its first
    `a=ssrc:`."""
    out: dict[str, int] = {}
    kind: str | None = None
    for line in offer.splitlines():
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
        elif kind is not None and kind not in out:
            m = _FID.match(line) or _SSRC.match(line)
            if m:
                out[kind] = int(m.group(1))
    return out


def rtp_ssrc(data: bytes) -> int | None:
    """The SSRC of an RTP packet (None for RTCP, whose type is 192..223 in the second byte
    (RFC 5761), or a packet too short to be RTP)."""
    if len(data) < 12 or not is_rtp(data) or 192 <= data[1] <= 223:
        return None
    return int.from_bytes(data[8:12], "big")


def is_rtp(data: bytes) -> bool:
    """RTP or RTCP (RFC 7983: first byte 128..191), not STUN (0..3) or DTLS (20..63)."""
    return bool(data) and 128 <= data[0] <= 191


@dataclass
class RelayCounts:
    forwarded: int = 0
    dropped: int = 0
    by_direction: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})
    dropped_up: Counter[int] = field(default_factory=Counter)  # guest -> server RTP, by SSRC


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: LossyRelay, up: bool) -> None:
        self.relay, self.up = relay, up
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.relay._received(data, addr, self.up)


class LossyRelay:
    """Client ↔ relay (client-facing socket) ↔ relay (server-facing socket) ↔ server, on
    127.0.0.1. The client's address is learnt from its first packet (the mapping is kept;
    a new client address replaces it, as a NAT rebinding would)."""

    def __init__(self, server_port: int, seed: int | None = None) -> None:
        self.server = ("127.0.0.1", server_port)
        self.client: tuple[str, int] | None = None
        self.loss = 0.0
        self.jitter_ms = 0.0
        self.counts = RelayCounts()
        self.pauses: list[tuple[float, float]] = []
        """(monotonic s it ended, its length) of each pause of PAUSE_S or more in what came
        from the guest: its media really stopped there (a browser, or the drill itself,
        starved of CPU), and the controller is right to slate it."""
        self._last_up: float | None = None
        self._rand = random.Random(seed)
        self._front: _Side | None = None
        self._back: _Side | None = None

    @classmethod
    async def start(cls, server_port: int, seed: int | None = None) -> LossyRelay:
        relay = cls(server_port, seed)
        loop = asyncio.get_running_loop()
        _, relay._front = await loop.create_datagram_endpoint(
            lambda: _Side(relay, up=True), local_addr=("127.0.0.1", 0))
        _, relay._back = await loop.create_datagram_endpoint(
            lambda: _Side(relay, up=False), local_addr=("127.0.0.1", 0))
        return relay

    @property
    def port(self) -> int:
        """The client-facing port (what the guest's browser is told the server is)."""
        assert self._front is not None and self._front.transport is not None
        return int(self._front.transport.get_extra_info("sockname")[1])

    def set(self, loss: float = 0.0, jitter_ms: float = 0.0) -> None:
        """The link's quality from now on: a share of RTP/RTCP dropped, 0..jitter_ms delay."""
        self.loss, self.jitter_ms = max(0.0, min(1.0, loss)), max(0.0, jitter_ms)

    def _received(self, data: bytes, addr: tuple[str, int], up: bool) -> None:
        if up:
            self.client = addr
            now = time.monotonic()
            if self._last_up is not None and now - self._last_up >= PAUSE_S:
                self.pauses.append((now, now - self._last_up))
            self._last_up = now
            out, to = self._back, self.server
        else:
            if addr != self.server or self.client is None:
                return  # only the server's answers go back, and only to the known client
            out, to = self._front, self.client
        if out is None or out.transport is None:
            return
        if self.loss and is_rtp(data) and self._rand.random() < self.loss:
            self.counts.dropped += 1
            if up and (ssrc := rtp_ssrc(data)) is not None:
                self.counts.dropped_up[ssrc] += 1
            return
        self.counts.forwarded += 1
        self.counts.by_direction["up" if up else "down"] += 1
        transport = out.transport
        if self.jitter_ms:
            delay = self._rand.uniform(0, self.jitter_ms) / 1000
            asyncio.get_running_loop().call_later(delay, _send, transport, data, to)
        else:
            transport.sendto(data, to)

    def close(self) -> None:
        for side in (self._front, self._back):
            if side is not None and side.transport is not None:
                side.transport.close()


def _send(transport: asyncio.DatagramTransport, data: bytes, to: tuple[str, int]) -> None:
    if not transport.is_closing():
        transport.sendto(data, to)
