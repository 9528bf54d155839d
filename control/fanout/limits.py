"""What one websocket client may cost the show's event loop, and the rate rule that holds it.

A hostile or broken client (issue 13's flood: resyncs and pings sent as fast as TCP carries
them, without reading) must not stall the loop that runs the takes. The numbers sit far above
what the real clients do (the console pings every 2 s, a graphics page bursts 8 pings 30 ms
apart and resyncs after a gap), so only a flood meets them; a burst of 400 let each
reconnecting flooder cost 400 handled messages (bench/flood.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits a hub holds each of its clients to."""

    max_message: int = 4096      # bytes in one client message; bigger closes the socket (1009)
    max_replies: int = 8         # pongs/errors owed to a client that does not read: oldest go
    max_backlog: int = 256       # queued messages; past this a snapshot replaces the backlog
    rate: float = 10.0           # client messages per second, sustained ...
    burst: int = 40              # ... and at once; past either the socket closes (1008)
    max_per_credential: int = 256  # sockets one credential (a token, the read key) holds
    penalty_s: float = 2.0       # an address whose socket broke a limit waits this long
    max_penalty_s: float = 60.0  # ... doubled at each further offence, up to this
    send_timeout: float = 10.0   # s one send may take before the client is cut (stopped reading)
    close_timeout: float = 2.0   # s a close handshake may take before the connection is cut


class RateLimit:
    """A token bucket: `burst` messages at once, then `rate` a second. Pure: the caller
    passes the clock, so the rule is tested without waiting."""

    __slots__ = ("_at", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at: float | None = None

    def allow(self, now: float) -> bool:
        """Spend one token at `now` (seconds, any monotonic origin); False when none is left."""
        if self._at is not None:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
