"""How long OBS has gone without answering: a frozen OBS keeps its socket open, so the link
looks up while nothing is applied. Only the requests tell.

Pure: each request gets a ticket when sent (``now`` given) and one outcome. A request that
timed out stays unanswered until OBS answers one sent after it (OBS has moved on past it);
a request that never left, or whose connection dropped, is the link's business, not OBS's
silence.
"""

from __future__ import annotations


class Silence:
    """Requests without an answer; ``since()`` is the oldest of them."""

    def __init__(self) -> None:
        self._tickets = 0
        self._in_flight: dict[int, float] = {}  # ticket -> sent
        self._lost_since: float | None = None  # oldest timed-out request not forgiven yet

    def reset(self) -> None:
        """A new session: nothing in it is unanswered yet."""
        self._in_flight.clear()
        self._lost_since = None

    def sent(self, now: float) -> int:
        """A request (or batch) goes to OBS now; returns its ticket for the outcome."""
        self._tickets += 1
        self._in_flight[self._tickets] = now
        return self._tickets

    def answered(self, ticket: int) -> None:
        """OBS answered: requests that timed out before this one was sent are forgiven."""
        sent = self._in_flight.pop(ticket, None)
        if sent is not None and self._lost_since is not None and sent >= self._lost_since:
            self._lost_since = None

    def timed_out(self, ticket: int) -> None:
        """No answer within the request timeout: still unanswered until a later one is."""
        sent = self._in_flight.pop(ticket, None)
        if sent is not None:
            self._lost_since = sent if self._lost_since is None else min(self._lost_since, sent)

    def dropped(self, ticket: int) -> None:
        """Never sent, or the connection went."""
        self._in_flight.pop(ticket, None)

    def since(self) -> float | None:
        """When the oldest request still without an answer was sent; None: all answered."""
        times = [*self._in_flight.values(), self._lost_since]
        return min((t for t in times if t is not None), default=None)
