"""The journal replicated through etcd: the leader's fenced writes and the follower's
catch-up (docs/redundancy.md#what-is-replicated).

Every journal record is one key, `PREFIX/journal/<seq>`, written in a txn that succeeds only
while the writer's lease still holds the leader key (the lease is the fencing token) and the
record's key is absent (so a write retried after a timeout, that etcd had applied, is
recognised and not doubled). A follower reads the journal once (a range) and then follows
it from the next revision with a watch; a gap in the sequence means it missed something and
reads again.

The bookkeeping (`Keys`, `Outbox`, `Tail`) is pure; `write` and `follow` are the thin I/O.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from control.cluster import protocol as p
from control.cluster.client import EtcdClient, EtcdUnavailable

Record = dict[str, Any]
SEQ_DIGITS = 12  # keys sort in sequence order as text


class ReplicaError(Exception):
    """The replicated journal is not what it must be (a gap, a foreign key, bad JSON)."""


@dataclass(frozen=True, slots=True)
class Keys:
    """Where one show lives in etcd: `prefix` names it (one per cluster and show)."""

    prefix: str = "/showctl/"

    @property
    def leader(self) -> str:
        return self.prefix + "leader"

    @property
    def journal(self) -> str:
        return self.prefix + "journal/"

    def record(self, seq: int) -> str:
        return f"{self.journal}{seq:0{SEQ_DIGITS}d}"

    def seq_of(self, key: str) -> int:
        tail = key.removeprefix(self.journal)
        if tail == key or len(tail) != SEQ_DIGITS or not tail.isdigit():
            raise ReplicaError(f"not a journal key: {key!r}")
        return int(tail)


def encode(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(value: bytes, key: str) -> Record:
    try:
        record = json.loads(value)
    except ValueError:
        raise ReplicaError(f"{key}: not JSON") from None
    if not isinstance(record, dict):
        raise ReplicaError(f"{key}: not a JSON object")
    return record


# --- the leader's side ----------------------------------------------------------------------

class Outcome(Enum):
    WRITTEN = "written"
    ALREADY = "already written"  # an earlier attempt that timed out had been applied
    FENCED = "fenced"            # our lease no longer holds the leader key: stop leading


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    key: str
    value: bytes


class Outbox:
    """Numbers the leader's records and says how to write each and what the reply means.
    A new leader starts numbering after the last record it read (`Tail.next_seq`)."""

    def __init__(self, keys: Keys, next_seq: int = 1) -> None:
        self.keys = keys
        self.next_seq = next_seq

    def add(self, records: Sequence[Mapping[str, Any]]) -> list[Pending]:
        out = []
        for record in records:
            out.append(Pending(self.next_seq, self.keys.record(self.next_seq), encode(record)))
            self.next_seq += 1
        return out

    def write_request(self, items: Sequence[Pending], lease: int) -> p.Request:
        """One txn for `items` (a step's records go together): all or nothing, fenced."""
        if lease == 0:  # etcd compares an absent key as zeros: LEASE == 0 would hold
            raise ReplicaError("a journal write needs the writer's lease")
        compares = [p.key_on_lease(self.keys.leader, lease)]
        compares += [p.key_absent(item.key) for item in items]
        return p.txn(compares, [p.Put(item.key, item.value) for item in items],
                     [p.Get(self.keys.leader), *(p.Get(item.key) for item in items)])

    def outcome(self, items: Sequence[Pending], result: p.TxnResult, lease: int) -> Outcome:
        if result.succeeded:
            return Outcome.WRITTEN
        reads = p.ranges(result)
        if len(reads) != len(items) + 1:
            raise ReplicaError(f"txn failure read {len(reads)} keys, expected {len(items) + 1}")
        holder = reads[0].first()
        if holder is None or holder.lease != lease:
            return Outcome.FENCED
        for item, read in zip(items, reads[1:], strict=True):
            kv = read.first()
            if kv is None or kv.value != item.value:
                # absent: a partial earlier write cannot be (txns are atomic); another value:
                # someone else wrote this number, so we are not the only writer
                return Outcome.FENCED
        return Outcome.ALREADY


async def write(client: EtcdClient, outbox: Outbox, items: Sequence[Pending], lease: int,
                *, retry_while: Callable[[], bool] | None = None) -> Outcome:
    """Write `items`: once, or again and again while `retry_while()` holds (the leader's
    `drives`: the same txn is safe to repeat). EtcdUnavailable when no attempt got through."""
    request = outbox.write_request(items, lease)
    while True:
        try:
            return outbox.outcome(items, await client.call(request, p.parse_txn), lease)
        except EtcdUnavailable:
            if retry_while is None or not retry_while():
                raise


# --- the follower's side --------------------------------------------------------------------

class Tail:
    """What a follower has of the journal: the records in order, up to a revision."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.revision = 0   # every change up to this revision is applied
        self.next_seq = 1

    def _take(self, kvs: Sequence[p.KeyValue]) -> list[Record]:
        out = []
        for kv in sorted(kvs, key=lambda kv: kv.key):
            seq = self.keys.seq_of(kv.key)
            if seq < self.next_seq:
                continue  # seen already (a range overlapping the watch)
            if seq != self.next_seq:
                raise ReplicaError(f"journal gap: record {self.next_seq} missing before {seq}")
            out.append(decode(kv.value, kv.key))
            self.next_seq += 1
        return out

    def apply_range(self, result: p.RangeResult) -> list[Record]:
        """A read of the whole journal (from `next_seq` on): the new records."""
        records = self._take(result.kvs)
        self.revision = max(self.revision, result.revision)
        return records

    def apply_watch(self, response: p.WatchResponse) -> list[Record]:
        """A watch response: the records it adds. Deletes (a journal cleared by hand)
        are refused: the follower must start again."""
        puts = []
        for event in response.events:
            if event.kv.mod_revision <= self.revision:
                continue
            if event.type is p.EventType.DELETE:
                raise ReplicaError(f"{event.kv.key} deleted: the journal was reset")
            puts.append(event.kv)
        records = self._take(puts)
        if puts:  # the events' own revisions: a response's header may be ahead of them
            self.revision = max(self.revision, max(kv.mod_revision for kv in puts))
        elif not response.created and not response.events:
            # a progress notice: every event up to its header's revision has been sent. Not
            # the creation's header: it is the store's revision when the watch was made,
            # and the events from the start revision up to it are still to come (taking it
            # skipped them: "journal gap", seen under load)
            self.revision = max(self.revision, response.revision)
        return records

    def range_request(self) -> p.Get:
        """The records from `next_seq` to the journal's end."""
        return p.Get(self.keys.record(self.next_seq), range_end=p.prefix_end(self.keys.journal))


async def catch_up(client: EtcdClient, tail: Tail) -> list[Record]:
    """Read the journal to its end (linearizable: after a takeover, nothing is missing)."""
    return tail.apply_range(await client.get(tail.range_request()))


async def follow(client: EtcdClient, tail: Tail) -> AsyncIterator[list[Record]]:
    """The journal's new records as they are written, from after `tail.revision`. Ends with
    EtcdUnavailable when the stream breaks: call again (it resumes where it was)."""
    async for response in client.watch(tail.keys.journal, prefix=True,
                                       start_revision=tail.revision + 1):
        records = tail.apply_watch(response)
        if records:
            yield records
