"""What the server itself measures of each guest's link: bytes received and packet loss.

The guest page reports its own ``getStats()`` (RTT, jitter), but bytes and loss are known
better here, from aiortc's receive side: the transport's ``bytesReceived`` and each
inbound RTP stream's ``packetsReceived``/``packetsLost``. ``summarize`` is pure: one stats
report (and the previous summary) in, the counters out; ``LinkMeter`` keeps them per guest
and folds an ended session's bytes into the guest's total, so the Prometheus counter
``showctl_guest_received_bytes`` never goes back when a guest rejoins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LinkCounters:
    received_bytes: int = 0  # this session's, all media (one bundled transport)
    packets_received: int = 0
    packets_lost: int = 0
    loss_ratio: float | None = None  # lost / expected since the previous report, 0..1


def summarize(report: Iterable[Any], previous: LinkCounters | None = None) -> LinkCounters:
    """Counters from one ``RTCPeerConnection.getStats()`` report (its values)."""
    received = packets = lost = 0
    for stats in report:
        kind = getattr(stats, "type", None)
        if kind == "transport":
            received += int(getattr(stats, "bytesReceived", 0) or 0)
        elif kind == "inbound-rtp":
            packets += int(getattr(stats, "packetsReceived", 0) or 0)
            lost += max(0, int(getattr(stats, "packetsLost", 0) or 0))
    ratio = None
    if previous is not None:
        d_lost = lost - previous.packets_lost
        expected = d_lost + packets - previous.packets_received
        ratio = (min(1.0, max(0.0, d_lost / expected)) if expected > 0
                 else previous.loss_ratio)
    return LinkCounters(received, packets, lost, ratio)


class LinkMeter:
    """Per guest: the current session's counters and the bytes of its ended sessions."""

    def __init__(self) -> None:
        self.current: dict[str, LinkCounters] = {}
        self._earlier: dict[str, int] = {}

    def update(self, guest: str, report: Iterable[Any]) -> LinkCounters:
        counters = summarize(report, self.current.get(guest))
        self.current[guest] = counters
        return counters

    def ended(self, guest: str) -> None:
        """The guest's session ended: keep its bytes in the total, restart the rest."""
        done = self.current.pop(guest, None)
        if done is not None:
            self._earlier[guest] = self._earlier.get(guest, 0) + done.received_bytes

    def metrics(self, guest: str) -> dict[str, Any]:
        """``received_bytes`` (all sessions) and ``loss_ratio`` (None: not known yet)."""
        now = self.current.get(guest)
        total = self._earlier.get(guest, 0) + (now.received_bytes if now else 0)
        known = now is not None or guest in self._earlier
        return {"received_bytes": total if known else None,
                "loss_ratio": now.loss_ratio if now else None}
