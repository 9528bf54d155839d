"""The replicated journal's bookkeeping without etcd: the fenced txn, what its reply means
(written, already written by a timed-out attempt, fenced), and the follower's catch-up from a
range and a watch (overlaps skipped, gaps and resets refused)."""

from __future__ import annotations

import base64

import pytest

from control.cluster import protocol as p
from control.cluster.replica import Keys, Outbox, Outcome, ReplicaError, Tail, encode

KEYS = Keys("/showctl/nye/")


def enc(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def kv(key: str, value: bytes, *, lease: int = 0, rev: int = 5) -> p.KeyValue:
    return p.KeyValue(key, value, rev, rev, 1, lease)


def failed(*reads: p.KeyValue | None) -> p.TxnResult:
    return p.TxnResult(False, 9, tuple(p.RangeResult(9, (r,) if r else (), int(bool(r)), False)
                                       for r in reads))


def test_keys_sort_in_sequence_order() -> None:
    assert KEYS.leader == "/showctl/nye/leader"
    assert KEYS.record(42) == "/showctl/nye/journal/000000000042"
    assert KEYS.seq_of(KEYS.record(42)) == 42
    assert KEYS.record(9) < KEYS.record(10)
    for bad in ("/showctl/nye/leader", "/showctl/nye/journal/12", "/other/journal/000000000001"):
        with pytest.raises(ReplicaError):
            KEYS.seq_of(bad)


def test_a_step_is_one_txn_fenced_on_the_lease_and_create_if_absent() -> None:
    outbox = Outbox(KEYS, next_seq=7)
    items = outbox.add([{"type": "command", "n": 1}, {"type": "event", "n": 2}])
    assert [i.seq for i in items] == [7, 8] and outbox.next_seq == 9
    body = outbox.write_request(items, lease=4242).body
    assert body["compare"] == [
        {"key": enc(KEYS.leader), "result": "EQUAL", "target": "LEASE", "lease": "4242"},
        {"key": enc(KEYS.record(7)), "result": "EQUAL", "target": "CREATE",
         "create_revision": "0"},
        {"key": enc(KEYS.record(8)), "result": "EQUAL", "target": "CREATE",
         "create_revision": "0"}]
    assert body["success"][1] == {"request_put": {
        "key": enc(KEYS.record(8)), "value": enc(b'{"type":"event","n":2}')}}
    assert [f["request_range"]["key"] for f in body["failure"]] == [
        enc(KEYS.leader), enc(KEYS.record(7)), enc(KEYS.record(8))]


def test_no_lease_no_write() -> None:
    """etcd compares an absent leader key as zeros: a lease of 0 would pass the fence."""
    outbox = Outbox(KEYS)
    with pytest.raises(ReplicaError):
        outbox.write_request(outbox.add([{}]), lease=0)


def test_what_a_write_reply_means() -> None:
    outbox = Outbox(KEYS)
    items = outbox.add([{"a": 1}])
    ok = p.TxnResult(True, 9, (p.PutResult(9),))
    assert outbox.outcome(items, ok, 4242) is Outcome.WRITTEN
    ours = kv(KEYS.leader, b"main", lease=4242)
    same = kv(items[0].key, items[0].value)
    assert outbox.outcome(items, failed(ours, same), 4242) is Outcome.ALREADY
    theirs = kv(KEYS.leader, b"backup", lease=77)
    assert outbox.outcome(items, failed(theirs, None), 4242) is Outcome.FENCED
    assert outbox.outcome(items, failed(None, None), 4242) is Outcome.FENCED
    other = kv(items[0].key, b'{"b":2}')
    assert outbox.outcome(items, failed(ours, other), 4242) is Outcome.FENCED
    with pytest.raises(ReplicaError):
        outbox.outcome(items, failed(ours), 4242)


def test_a_follower_reads_then_follows_without_doubles() -> None:
    tail = Tail(KEYS)
    request = tail.range_request().to_json()
    assert request["key"] == enc(KEYS.record(1)) and request["range_end"] == enc(
        "/showctl/nye/journal0")
    first = p.RangeResult(10, (kv(KEYS.record(2), encode({"n": 2})),
                               kv(KEYS.record(1), encode({"n": 1}))), 2, False)
    assert tail.apply_range(first) == [{"n": 1}, {"n": 2}]
    assert tail.revision == 10 and tail.next_seq == 3
    assert tail.range_request().key == KEYS.record(3)
    watch = p.WatchResponse(12, (
        p.WatchEvent(p.EventType.PUT, kv(KEYS.record(2), encode({"n": 2}), rev=9)),
        p.WatchEvent(p.EventType.PUT, kv(KEYS.record(3), encode({"n": 3}), rev=11)),
        p.WatchEvent(p.EventType.PUT, kv(KEYS.record(4), encode({"n": 4}), rev=12))))
    assert tail.apply_watch(watch) == [{"n": 3}, {"n": 4}]
    assert tail.revision == 12 and tail.apply_watch(watch) == []


def test_the_watchs_creation_header_does_not_skip_the_events_still_to_come() -> None:
    """etcd answers a watch's creation with the store's revision now; the events from the
    start revision up to it come after. Taking that header as seen skipped them (a "journal
    gap" under load). A progress notice's header is all sent, and is taken."""
    tail = Tail(KEYS)
    tail.apply_range(p.RangeResult(10, (kv(KEYS.record(1), encode({"n": 1})),), 1, False))
    assert tail.apply_watch(p.WatchResponse(14, created=True)) == [] and tail.revision == 10
    assert tail.apply_watch(p.WatchResponse(14, (
        p.WatchEvent(p.EventType.PUT, kv(KEYS.record(2), encode({"n": 2}), rev=11)),))) \
        == [{"n": 2}]
    assert tail.revision == 11  # the event's, not the header's 14
    assert tail.apply_watch(p.WatchResponse(14, (
        p.WatchEvent(p.EventType.PUT, kv(KEYS.record(3), encode({"n": 3}), rev=13)),))) \
        == [{"n": 3}]
    assert tail.apply_watch(p.WatchResponse(20)) == [] and tail.revision == 20  # progress


def test_a_gap_a_reset_or_a_foreign_value_is_refused() -> None:
    tail = Tail(KEYS)
    with pytest.raises(ReplicaError, match="record 1 missing"):
        tail.apply_range(p.RangeResult(3, (kv(KEYS.record(2), b"{}"),), 1, False))
    with pytest.raises(ReplicaError, match="reset"):
        Tail(KEYS).apply_watch(p.WatchResponse(4, (
            p.WatchEvent(p.EventType.DELETE, kv(KEYS.record(1), b"")),)))
    for value in (b"not json", b"[1]"):
        with pytest.raises(ReplicaError):
            Tail(KEYS).apply_range(p.RangeResult(3, (kv(KEYS.record(1), value),), 1, False))


def test_a_new_leader_numbers_after_what_it_read() -> None:
    tail = Tail(KEYS)
    tail.apply_range(p.RangeResult(4, (kv(KEYS.record(1), b"{}"),), 1, False))
    assert Outbox(KEYS, tail.next_seq).add([{}])[0].key == KEYS.record(2)
