"""What one client is sent next: sans-I/O, so the rules are tested without a socket.

Three kinds of message wait, and go out in this order:
1. replies (pongs, errors): at most `max_replies`, the oldest dropped: a client that sends
   pings without reading cannot grow them;
2. a snapshot (the whole state), when one is due: never queued as text, only *marked* due
   and built when it is sent, so a client is owed at most one however often it asks
   (`resync`) and it is always the newest. It covers every message queued before it, so
   those are dropped;
3. data, in order: `push` appends (the graphics pages' deltas), `replace` keeps only the
   newest (the console's states: it needs only the latest). A backlog past `max_backlog`
   is dropped for a snapshot.
Each data message carries the revision it brings the client to; `sent_rev` is the revision
of the last one handed to the socket (a hub makes the next delta from there).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

Reply = bytes | Callable[[], bytes]  # a callable is made when sent (a pong's send stamp)
Snapshot = Callable[[], tuple[bytes, int]]  # the whole state as sent now, and its revision


class Outbox:
    """One client's waiting messages (module docstring)."""

    __slots__ = ("_snapshot", "data", "max_backlog", "replies", "sent_rev", "snapshot_due")

    def __init__(self, snapshot: Snapshot, *, max_replies: int = 8,
                 max_backlog: int = 256) -> None:
        self._snapshot = snapshot
        self.max_backlog = max_backlog
        self.replies: deque[Reply] = deque(maxlen=max_replies)
        self.data: deque[tuple[bytes, int]] = deque()
        self.snapshot_due = False
        self.sent_rev = -1  # nothing sent yet

    def reply(self, message: Reply) -> None:
        self.replies.append(message)

    def push(self, message: bytes, rev: int = 0) -> None:
        """Queue `message` after the others (past the backlog: a snapshot instead)."""
        if self.snapshot_due:
            return  # the snapshot, made when sent, will hold this change
        if len(self.data) >= self.max_backlog:
            self.want_snapshot()
            return
        self.data.append((message, rev))

    def replace(self, message: bytes, rev: int = 0) -> None:
        """Make `message` the only data waiting (it supersedes what was not sent yet)."""
        if self.snapshot_due:
            return
        self.data.clear()
        self.data.append((message, rev))

    def want_snapshot(self) -> None:
        self.data.clear()
        self.snapshot_due = True

    @property
    def behind(self) -> bool:
        """Whether state (not a reply) is waiting: the client is behind the hub."""
        return self.snapshot_due or bool(self.data)

    def __bool__(self) -> bool:
        return bool(self.replies) or self.behind

    def next(self) -> bytes | None:
        """The next message to send (None: nothing waits); a data message's revision is
        then `sent_rev`."""
        if self.replies:
            reply = self.replies.popleft()
            return reply if isinstance(reply, bytes) else reply()
        if self.snapshot_due:
            self.snapshot_due = False
            self.data.clear()
            message, self.sent_rev = self._snapshot()
            return message
        if self.data:
            message, self.sent_rev = self.data.popleft()
            return message
        return None
