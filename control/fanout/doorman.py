"""Who may open a socket: sans-I/O (the caller passes the clock).

Closing a flooding socket (1008) is not enough: a hostile client reconnects at once, and
each new socket costs a handshake, a snapshot and a burst of messages before its limit is
met again (measured by bench/flood.py: reconnecting floods held `/healthz` at 7x its quiet
median). So an address whose socket was closed for breaking a limit is refused new sockets
(429 with Retry-After) for `penalty_s`, doubled at each further offence up to
`max_penalty_s`, and forgiven after a quiet `forget_s`. And one credential (a role's token,
the overlay read key) holds at most `max_per_credential` sockets at once: the read key is in
every OBS browser source URL, so it must not be a licence for unbounded sockets.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class _Offences:
    count: int
    last: float
    until: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a socket is not opened: `retry_after` seconds (0: not a matter of time)."""

    reason: str
    retry_after: int


class Doorman:
    """Admits sockets by address (offences) and credential (how many it holds)."""

    def __init__(self, *, max_per_credential: int = 256, penalty_s: float = 2.0,
                 max_penalty_s: float = 60.0, forget_s: float = 300.0,
                 max_addresses: int = 10_000) -> None:
        self.max_per_credential = max_per_credential
        self.penalty_s = penalty_s
        self.max_penalty_s = max_penalty_s
        self.forget_s = forget_s
        self.max_addresses = max_addresses
        self._offences: OrderedDict[str, _Offences] = OrderedDict()
        self._held: Counter[str] = Counter()

    def admit(self, address: str | None, credential: str, now: float) -> Refusal | None:
        """None: open it (then `opened`); else why not."""
        record = self._offences.get(address) if address is not None else None
        if record is not None and record.until > now:
            return Refusal("this address broke a socket's limits: wait before reconnecting",
                           max(1, math.ceil(record.until - now)))
        if self._held[credential] >= self.max_per_credential:
            return Refusal(f"this credential holds {self.max_per_credential} sockets already",
                           0)
        return None

    def opened(self, credential: str) -> None:
        self._held[credential] += 1

    def closed(self, credential: str) -> None:
        self._held[credential] -= 1
        if self._held[credential] <= 0:
            del self._held[credential]

    def held(self, credential: str) -> int:
        return self._held[credential]

    def offended(self, address: str | None, now: float) -> float:
        """A socket from `address` was closed for breaking a limit; the seconds it is now
        refused for."""
        if address is None:
            return 0.0
        record = self._offences.get(address)
        if record is None or (now - record.last > self.forget_s and record.until <= now):
            record = _Offences(0, now, now)
        record.count += 1
        record.last = now
        penalty = min(self.max_penalty_s, self.penalty_s * 2.0 ** min(record.count - 1, 30))
        record.until = now + penalty
        self._offences[address] = record
        self._offences.move_to_end(address)
        while len(self._offences) > self.max_addresses:
            self._offences.popitem(last=False)
        return penalty
