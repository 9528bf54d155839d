"""Per-address backoff for wrong tokens: sans-I/O (the caller passes the clock).

Without it an address could try tokens as fast as the loop answers (issue 13 measured 300
wrong tokens in 0.1 s, never refused). Each address has `free` wrong tokens; every one after
that blocks it for `base_s`, doubled for each further failure up to `max_s`. While blocked,
its token checks are answered 429 with `Retry-After` and never evaluated, so guessing gains
nothing. A success does not clear the count (a viewer could otherwise interleave its own
token to keep guessing the director's); an address quiet for `forget_s` starts afresh.
Memory is bounded: at most `max_addresses` are tracked, the longest quiet forgotten first.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class _Record:
    failures: int
    last: float           # when the last wrong token came
    blocked_until: float


class Throttle:
    """Wrong tokens per address (module docstring). `free` 0: no limit (behind a proxy that
    hides the addresses, or in a test that counts on none)."""

    def __init__(self, free: int = 10, *, base_s: float = 1.0, max_s: float = 300.0,
                 forget_s: float = 600.0, max_addresses: int = 10_000) -> None:
        self.free = free
        self.base_s = base_s
        self.max_s = max_s
        self.forget_s = forget_s
        self.max_addresses = max_addresses
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def retry_after(self, address: str | None, now: float) -> int:
        """Whole seconds `address` must wait before its next token is checked (0: go on)."""
        record = self._live(address, now)
        if record is None or record.blocked_until <= now:
            return 0
        return max(1, math.ceil(record.blocked_until - now))

    def failed(self, address: str | None, now: float) -> int:
        """Count a wrong token from `address`; the seconds it is now blocked for (0: none)."""
        if not self.free or address is None:
            return 0
        record = self._live(address, now) or _Record(0, now, now)
        record.failures += 1
        record.last = now
        over = record.failures - self.free
        if over > 0:
            record.blocked_until = now + min(self.max_s, self.base_s * 2.0 ** min(over - 1, 30))
        self._records[address] = record
        self._records.move_to_end(address)
        while len(self._records) > self.max_addresses:
            self._records.popitem(last=False)
        return self.retry_after(address, now)

    def _live(self, address: str | None, now: float) -> _Record | None:
        if address is None:
            return None
        record = self._records.get(address)
        if record is not None and now - record.last > self.forget_s and record.blocked_until <= now:
            del self._records[address]
            return None
        return record

    def __len__(self) -> int:
        return len(self._records)
