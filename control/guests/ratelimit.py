"""WHIP join limits: per address, per guest and for everyone, each a one-minute window.

A join costs a peer connection and a full ICE gathering, so a flood must be cut off; but
one window for everyone would let a single noisy client (or someone hammering one guest's
link) lock every other guest out. So a join must fit three windows: its address's, its
guest's, and the overall one (the last resort against a flood from many addresses). Only
accepted joins count: a refused flood keeps nobody else out. Pure: the clock is passed in.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a join was refused and when to try again (whole seconds, at least 1)."""

    reason: str
    retry_after: int


class JoinLimiter:
    """``admit(guest, address, now)``: None (counted) or a ``Refusal``. A limit of 0 is off
    (``per_address=0`` behind a reverse proxy, where every guest has the proxy's address)."""

    def __init__(self, *, total: int = 30, per_address: int = 12, per_guest: int = 8,
                 window_s: float = WINDOW_S) -> None:
        self.total = total
        self.per_address = per_address
        self.per_guest = per_guest
        self.window_s = window_s
        self._all: deque[float] = deque()
        self._by: dict[tuple[str, str], deque[float]] = {}

    def _window(self, key: tuple[str, str] | None, now: float) -> deque[float]:
        times = self._all if key is None else self._by.setdefault(key, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def _wait(self, times: deque[float], now: float) -> int:
        return max(1, int(self.window_s - (now - times[0])) + 1)

    def admit(self, guest: str, address: str | None, now: float) -> Refusal | None:
        checks: list[tuple[deque[float], int, str]] = [
            (self._window(("guest", guest), now), self.per_guest,
             f"too many joins for {guest}: at most {self.per_guest} a minute"),
            (self._window(None, now), self.total,
             f"too many joins: at most {self.total} a minute for all guests"),
        ]
        if address:
            checks.insert(0, (self._window(("address", address), now), self.per_address,
                              f"too many joins from {address}: at most {self.per_address} "
                              "a minute"))
        for times, limit, reason in checks:
            if limit > 0 and len(times) >= limit:
                return Refusal(f"{reason}; try again shortly", self._wait(times, now))
        for times, _, _ in checks:
            times.append(now)
        self._forget_idle(now)
        return None

    def _forget_idle(self, now: float) -> None:
        """Drop empty windows so a scan of many addresses cannot grow memory for long."""
        if len(self._by) > 1024:
            for key in [k for k, t in self._by.items()
                        if not t or now - t[-1] >= self.window_s]:
                del self._by[key]
