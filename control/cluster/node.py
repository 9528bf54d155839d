"""One controller in the election: the thin asyncio layer that does what `Election` asks
(grant, campaign, renew, check, revoke) against etcd, watches the leader key so a follower
campaigns the moment it is deleted, and asks the peer for its promise when etcd is away.

Everything decided is decided in `election.py`; this only calls, times and reports. Ask
`drives()` before every request to OBS: it is computed from the clock, never from a role
that a frozen loop had no chance to update.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from control.cluster import protocol as p
from control.cluster.client import EtcdClient, EtcdUnavailable
from control.cluster.election import Action, Election, Role, Timing
from control.cluster.replica import Keys

log = logging.getLogger("showctl.cluster")
PeerAsk = Callable[[], Awaitable[float | None]]


@dataclass(frozen=True, slots=True)
class Holder:
    """Who the leader key names: a controller's name and the URL its pages follow."""

    name: str
    url: str = ""

    def encode(self) -> bytes:
        return json.dumps({"name": self.name, "url": self.url}).encode()

    @classmethod
    def decode(cls, value: bytes) -> Holder:
        try:
            data = json.loads(value)
            return cls(str(data["name"]), str(data.get("url", "")))
        except (ValueError, KeyError, TypeError):
            return cls(value.decode("utf-8", "replace"))


class ClusterNode:
    def __init__(self, client: EtcdClient, keys: Keys, me: Holder, *,
                 timing: Timing | None = None, ask_peer: PeerAsk | None = None,
                 on_change: Callable[[Role, bool], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.keys = keys
        self.me = me
        self.election = Election(me.name, timing)
        self.leader: Holder | None = None
        self._ask_peer = ask_peer
        self._listeners: list[Callable[[Role, bool], None]] = (
            [on_change] if on_change is not None else [])
        self._clock = clock
        self._wake = asyncio.Event()
        self._seen: tuple[Role, bool] = (self.election.role, False)
        self._tasks: list[asyncio.Task[None]] = []
        self.renewals = 0  # lease renewals that succeeded (metrics)

    # --- what the rest of the controller asks -----------------------------------------------

    def drives(self) -> bool:
        return self.election.drives(self._clock())

    def drives_for(self) -> float:
        """Seconds this node may still drive from now (0 when it may not): for the log of
        every OBS send, so a drill can check each was inside its lease."""
        now = self._clock()
        if not self.election.drives(now):
            return 0.0
        e = self.election
        return max(e.lease_deadline - e.timing.margin_s, e.peer_promise_until) - now

    def handed_over(self) -> bool:
        """Whether this node just gave the lead up on purpose (it yields for a while)."""
        return self._clock() < self.election.yield_until

    def etcd_reachable(self) -> bool:
        return self.election.etcd_reachable(self._clock())

    @property
    def role(self) -> Role:
        return self.election.tick(self._clock())

    def listen(self, callback: Callable[[Role, bool], None]) -> None:
        """`callback(role, drives)` whenever either changes (from the event loop)."""
        self._listeners.append(callback)

    @property
    def lease(self) -> int:
        return self.election.lease

    def promise(self) -> float | None:
        """The peer's request for a promise (docs/redundancy.md#the-fencing-rule)."""
        return self.election.promise(self._clock())

    def hand_over(self) -> bool:
        started = self.election.hand_over(self._clock())
        self._notify()
        self._wake.set()
        return started

    # --- running ----------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._lease_loop(), name="cluster-lease"),
                       asyncio.create_task(self._watch_loop(), name="cluster-watch")]
        if self._ask_peer is not None:
            self._tasks.append(asyncio.create_task(self._peer_loop(), name="cluster-peer"))

    async def stop(self) -> None:
        """Stop everything without revoking: to etcd this node just went silent."""
        for task in self._tasks:
            while not task.done():  # again, should a library have swallowed the cancel
                task.cancel()
                await asyncio.wait({task}, timeout=0.5)
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def _notify(self) -> None:
        now = (self.election.tick(self._clock()), self.drives())
        if now != self._seen:
            self._seen = now
            log.info("cluster: %s is %s%s", self.me.name, now[0].value,
                     " (driving)" if now[1] else "")
            for listener in list(self._listeners):
                listener(*now)

    async def _lease_loop(self) -> None:
        while True:
            now = self._clock()
            action = self.election.next_action(now)
            self._notify()
            if action is Action.WAIT:
                self._wake.clear()
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that
                # comes as the event is set, and stop() would wait on a loop still renewing
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, self.election.wake_at(now) - now)):
                        await self._wake.wait()
                continue
            try:
                await self._perform(action, now)
            except (EtcdUnavailable, p.GatewayError) as exc:
                log.warning("cluster: %s failed: %s", action.value, exc)
                self.election.unreachable(self._clock())
            except Exception:  # a bug must not end the loop (its lease would just lapse)
                log.exception("cluster: %s failed", action.value)
                self.election.unreachable(self._clock())
            self._notify()

    async def _perform(self, action: Action, sent: float) -> None:
        e = self.election
        if action is Action.GRANT:
            lease = await self.client.grant(e.timing.ttl_s)
            e.granted(lease.id, lease.ttl_s, sent, self._clock())
        elif action is Action.CAMPAIGN:
            await self._campaign()
        elif action is Action.RENEW:
            lease = await self.client.keepalive(e.lease)
            if lease.alive:
                e.renewed(lease.ttl_s, sent, self._clock())
                self.renewals += 1
            else:
                log.warning("cluster: %s: etcd says lease %x is gone", self.me.name, e.lease)
                e.expired(self._clock())
        elif action is Action.CHECK:
            self._saw((await self.client.get(p.Get(self.keys.leader))).first())
        elif action is Action.REVOKE:
            await self.client.revoke(e.lease)
            e.revoked(self._clock())

    async def _campaign(self) -> None:
        e, leader = self.election, self.keys.leader
        try:
            result = await self.client.txn([p.key_absent(leader)],
                                           [p.Put(leader, self.me.encode(), lease=e.lease)],
                                           [p.Get(leader)])
        except p.GatewayError as exc:
            if exc.code != 5:  # 5: our lease is gone already
                raise
            e.expired(self._clock())
            return
        kv = None if result.succeeded else p.ranges(result)[0].first()
        holder = self.me if result.succeeded else (Holder.decode(kv.value) if kv else None)
        self.leader = holder
        e.campaigned(result.succeeded, holder.name if holder else None,
                     kv.lease if kv else 0, self._clock())

    def _saw(self, kv: p.KeyValue | None) -> None:
        if kv is None:
            self.leader = None
            self.election.key_gone(self._clock())
        else:
            self.leader = Holder.decode(kv.value)
            if self.election.lease and kv.lease != self.election.lease:
                log.info("cluster: %s sees the leader key held by %s", self.me.name,
                         self.leader.name)
            self.election.key_held(self.leader.name, kv.lease, self._clock())

    async def _watch_loop(self) -> None:
        """The leader key's changes: a delete wakes the lease loop to campaign at once."""
        revision = 0
        while True:
            try:
                async for response in self.client.watch(self.keys.leader,
                                                        start_revision=revision):
                    for event in response.events:
                        self._saw(None if event.type is p.EventType.DELETE else event.kv)
                    revision = response.revision + 1
                    self._notify()
                    self._wake.set()
            except (EtcdUnavailable, p.GatewayError) as exc:
                log.debug("cluster: leader watch: %s", exc)
                revision = 0  # the lease loop's reads cover the gap
            except Exception:
                log.exception("cluster: leader watch failed")
                revision = 0
            await asyncio.sleep(self.election.timing.check_every_s)

    async def _peer_loop(self) -> None:
        assert self._ask_peer is not None
        while True:
            sent = self._clock()
            if self.election.should_ask_peer(sent):
                self.election.asked_peer(sent)
                try:
                    async with asyncio.timeout(self.election.timing.renew_every_s):
                        grace = await self._ask_peer()
                except Exception as exc:  # the wiring's call: any failure is "no promise"
                    log.debug("cluster: peer did not answer: %r", exc)
                    grace = None
                if grace is not None:
                    self.election.peer_promised(grace, sent, self._clock())
                    self._notify()
            await asyncio.sleep(self.election.timing.renew_every_s / 2)
