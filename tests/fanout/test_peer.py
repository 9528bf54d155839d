"""The fan-out library's rules without a socket: the rate limit, the outbox (replies bounded,
one snapshot made when sent, newest-only or ordered data), the pacer's batches."""

from __future__ import annotations

import asyncio

from control.fanout import Outbox, Pacer, RateLimit


def test_the_rate_limit_allows_a_burst_then_the_rate() -> None:
    limit = RateLimit(rate=10, burst=3)
    assert [limit.allow(0.0) for _ in range(4)] == [True, True, True, False]
    assert not limit.allow(0.05)          # half a token back
    assert limit.allow(0.1)               # a whole one
    assert [limit.allow(100.0) for _ in range(4)] == [True, True, True, False]  # burst at most


class Snapshots:
    """A hub's snapshot maker that counts its calls."""

    def __init__(self) -> None:
        self.made = 0
        self.rev = 7

    def __call__(self) -> tuple[bytes, int]:
        self.made += 1
        return b"snapshot", self.rev


def test_replies_are_bounded_and_go_first() -> None:
    box = Outbox(Snapshots(), max_replies=3)
    box.push(b"d1", 1)
    for n in range(10):  # a client that pings without reading
        box.reply(f"pong{n}".encode())
    box.reply(lambda: b"stamped when sent")
    assert [box.next() for _ in range(5)] == [b"pong8", b"pong9", b"stamped when sent", b"d1",
                                              None]


def test_a_snapshot_is_made_once_when_sent_however_often_asked() -> None:
    snapshots = Snapshots()
    box = Outbox(snapshots)
    box.push(b"old delta", 3)
    for _ in range(1000):  # a resync flood
        box.want_snapshot()
    box.push(b"covered by the snapshot", 4)
    assert snapshots.made == 0 and box.behind
    assert box.next() == b"snapshot" and box.sent_rev == 7
    assert box.next() is None and snapshots.made == 1 and not box


def test_replace_keeps_the_newest_and_push_keeps_the_order() -> None:
    box = Outbox(Snapshots())
    box.replace(b"s1", 1)
    box.replace(b"s2", 2)
    assert box.next() == b"s2" and box.sent_rev == 2 and box.next() is None
    box.push(b"a", 3)
    box.push(b"b", 4)
    assert [box.next(), box.next(), box.next()] == [b"a", b"b", None] and box.sent_rev == 4


def test_a_backlog_past_the_limit_becomes_one_snapshot() -> None:
    snapshots = Snapshots()
    box = Outbox(snapshots, max_backlog=4)
    for n in range(100):
        box.push(f"d{n}".encode(), n)
    assert len(box.data) == 0 and box.snapshot_due
    assert box.next() == b"snapshot" and box.next() is None and snapshots.made == 1


async def test_the_pacer_wakes_a_batch_per_loop_turn_sized_by_the_last_ones_cost() -> None:
    now = [0.0]
    pacer = Pacer(budget=0.001, clock=lambda: now[0])  # first guess: 50 us a sender
    events = [asyncio.Event() for _ in range(31)]
    pacer.forget(events[0])  # (not queued: nothing to forget)
    for event in events:
        pacer.wake(event)
        pacer.wake(event)  # once, however often asked
    pacer.forget(events[-1])  # a sender that went away
    assert len(pacer) == 30
    woken: list[int] = []
    for cost in (0.004, 0.0, 0.0):  # what the senders woken in each turn cost
        await asyncio.sleep(0)  # the pacer's turn (it was called soon before this task)
        woken.append(sum(e.is_set() for e in events))
        now[0] += cost
    # 1 ms / 50 us = 20; they cost 200 us each: (50 + 200) / 2 = 125 us, 8 fit; then the rest
    assert woken == [20, 28, 30] and len(pacer) == 0
    assert not events[-1].is_set()
