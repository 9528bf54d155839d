"""The standby controller's parts, wired (docs/redundancy.md): the election node built from
the settings, the leader's journal that goes through etcd, and the follower's mirror of it.

The follower keeps the replicated journal in its own local journal file, at the path a
restart reads. A takeover is then the resume the controller already does after a crash
(`control/wiring/show.py`: replay with its clocks, missed segments skipped, the desired
state re-applied to OBS), from a journal that holds every acknowledged record.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from control.cluster.client import EtcdClient, EtcdUnavailable
from control.cluster.election import Timing
from control.cluster.node import ClusterNode, Holder, PeerAsk
from control.cluster.replica import (
    Keys,
    Outbox,
    Outcome,
    Pending,
    Record,
    ReplicaError,
    Tail,
    catch_up,
    follow,
    write,
)
from control.config import Settings
from control.journal.records import JournalError
from control.journal.store import Journal, archive
from control.web.clusterview import ClusterStatus

log = logging.getLogger("showctl.cluster")
WRITE_TIMEOUT_S = 10.0  # a bound on one step's etcd write, retries included


def keys_for(rundown_path: str | Path) -> Keys:
    """One show, one prefix: like the local journal, named after the rundown."""
    return Keys(f"/showctl/{Path(rundown_path).stem}/")


@dataclass(slots=True)
class ClusterPart:
    client: EtcdClient
    node: ClusterNode
    keys: Keys


def make_cluster(settings: Settings, rundown_path: str | Path, *,
                 ask_peer: PeerAsk | None = None) -> ClusterPart | None:
    """The election node, or None without `cluster:` settings (one machine, as ever)."""
    if not settings.cluster_endpoints:
        return None
    client = EtcdClient(settings.cluster_endpoints)
    keys = keys_for(rundown_path)
    node = ClusterNode(client, keys, Holder(settings.cluster_name, settings.cluster_url),
                       timing=Timing.for_ttl(settings.cluster_lease_ttl_s), ask_peer=ask_peer)
    return ClusterPart(client, node, keys)


class ReplicatedJournal:
    """The leader's journal (the runner's `JournalWriter`): a step's records go to etcd in
    one fenced txn, then to the local journal, before the step is acknowledged.

    Runs in the runner's journal thread; the etcd write runs on the event loop. Fenced (our
    lease no longer holds the leader key): JournalError, nothing written locally. etcd away
    while we drive on the peer's promise: written locally, kept, and sent ahead of the next
    step's records once etcd answers (their numbers are taken, so the order holds), or by
    `flush_loop` as soon as etcd answers again, whichever comes first: a standby that takes
    over must find them even if no step came after the outage."""

    def __init__(self, local: Journal, part: ClusterPart, loop: asyncio.AbstractEventLoop,
                 next_seq: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.local = local
        self.part = part
        self.outbox = Outbox(part.keys, next_seq)
        self.backlog: list[Pending] = []
        self._loop = loop
        self._clock = clock
        self._lock = threading.Lock()  # the runner's journal thread and the flush's

    def _lease_valid(self) -> bool:
        return self.part.node.election.lease_valid(self._clock())

    def _to_etcd(self, items: Sequence[Pending]) -> Outcome:
        node = self.part.node
        future = asyncio.run_coroutine_threadsafe(
            write(self.part.client, self.outbox, items, node.lease,
                  retry_while=self._lease_valid), self._loop)
        try:
            return future.result(WRITE_TIMEOUT_S)
        except TimeoutError:
            future.cancel()
            raise EtcdUnavailable("etcd: the journal write took too long") from None

    def append_all(self, records: list[dict[str, Any]]) -> float:
        with self._lock:
            return self._append_all(records)

    def flush(self) -> bool:
        """Send the records kept while etcd was away (in a worker thread); True when none
        are left."""
        with self._lock:
            if not self.backlog:
                return True
            try:
                outcome = self._to_etcd(self.backlog)
            except (ReplicaError, EtcdUnavailable):
                return False
            if outcome is Outcome.FENCED:
                return False
            log.info("journal: etcd back, %d kept record(s) sent", len(self.backlog))
            self.backlog = []
            return True

    async def flush_loop(self, every_s: float = 0.5) -> None:
        """While the show runs: the backlog goes to etcd once etcd answers again."""
        while True:
            await asyncio.sleep(every_s)
            if self.backlog:
                await asyncio.to_thread(self.flush)

    def _append_all(self, records: list[dict[str, Any]]) -> float:
        began = time.perf_counter()
        first = self.outbox.next_seq  # given back if nothing is written: no gap
        items = [*self.backlog, *self.outbox.add(records)]
        try:
            outcome = self._to_etcd(items)
        except ReplicaError as exc:  # no lease: we never led, or lost it
            self.outbox.next_seq = first
            raise JournalError(f"not written: this controller does not lead ({exc})") from exc
        except EtcdUnavailable as exc:
            if not self.part.node.drives():
                self.outbox.next_seq = first
                raise JournalError(f"not written: etcd away and the lease ended ({exc})") \
                    from exc
            log.warning("journal: etcd away, %d record(s) kept for it: %s", len(items), exc)
            self.backlog = items
        else:
            if outcome is Outcome.FENCED:
                self.outbox.next_seq = first
                raise JournalError("not written: this controller no longer leads (fenced)")
            self.backlog = []
        self.local.append_all(records)
        return time.perf_counter() - began

    async def seed(self, records: Sequence[Record]) -> Outcome:
        """Put the local journal's records that etcd lacks (all of them on a first start,
        none after a takeover from the mirror) before the first step."""
        items = self.outbox.add(records)
        if not items:
            return Outcome.ALREADY
        return await write(self.part.client, self.outbox, items, self.part.node.lease,
                           retry_while=self._lease_valid)


class Mirror:
    """The follower's copy of the replicated journal, in a local journal file."""

    def __init__(self, path: Path, keys: Keys,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.tail = Tail(keys)
        self.journal: Journal | None = None
        self.records = 0
        self.following = False  # caught up, and etcd's watch stream open
        self._clock = clock
        self._complete_at = clock()  # when the mirror was last known complete

    def lag_s(self) -> float:
        """0 while the mirror follows etcd's watch after a complete read; else how long
        since it was last known complete (a broken stream, etcd away, starting again)."""
        self._seen_complete()
        return 0.0 if self.following else self._clock() - self._complete_at

    def _seen_complete(self) -> None:
        if self.following:
            self._complete_at = self._clock()

    def apply(self, records: Sequence[Record]) -> None:
        if not records:
            return
        if self.journal is None:
            first, *rest = records
            if first.get("type") != "session":
                raise ReplicaError("the replicated journal does not start with a session")
            if self.path.exists():
                log.info("mirror: previous journal kept as %s", archive(self.path))
            self.journal = Journal.create(self.path, first)
            self.records = 1
            records = rest
        if records:
            self.journal.append_all(records)
            self.records += len(records)

    async def run(self, client: EtcdClient, retry_s: float = 0.25) -> None:
        """Catch up, then follow, for ever: after a broken stream, from where it was; after
        a gap or a reset, from the start again."""
        while True:
            try:
                self.apply(await catch_up(client, self.tail))
                self.following = True
                self._seen_complete()
                async for records in follow(client, self.tail):
                    self.apply(records)
            except EtcdUnavailable as exc:
                log.debug("mirror: %s", exc)
            except ReplicaError as exc:
                log.warning("mirror: starting again: %s", exc)
                self.close()
                self.tail = Tail(self.tail.keys)
            finally:
                self._seen_complete()
                self.following = False
            await asyncio.sleep(retry_s)

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
            self.journal = None


def cluster_source(part: ClusterPart, mirror: Mirror | None) -> Callable[[], dict[str, Any]]:
    """What the metrics read of the pair (control/metrics/cluster.py): the mirror's lag
    while this controller stands by (`mirror`), none once it leads (None)."""
    def read() -> dict[str, Any]:
        node = part.node
        return {"role": node.role.value, "lease_renewals": node.renewals,
                "etcd_reachable": node.etcd_reachable(),
                "standby_lag_seconds": mirror.lag_s() if mirror is not None else None}
    return read


class PairView:
    """The pair as the web layer sees it (control/web/clusterview.py `ClusterView`): this
    node's role from the election, the peer's name and lag from its `/cluster/status`
    (`poll_peer`), the hand-over."""

    def __init__(self, part: ClusterPart, peer_url: str, mirror: Mirror | None = None) -> None:
        self.part = part
        self.peer_url = peer_url
        self.mirror = mirror  # while standing by: our own lag
        self.peer_name: str | None = None
        self.peer_lag_s: float | None = None

    def status(self) -> ClusterStatus:
        node = self.part.node
        leader = node.me if node.drives() else node.leader
        nodes = {node.me.name: node.me.url}
        if self.peer_name is not None:
            nodes[self.peer_name] = self.peer_url
        if leader is not None and leader.url:
            nodes.setdefault(leader.name, leader.url)
        lag = self.mirror.lag_s() if self.mirror is not None else self.peer_lag_s
        return ClusterStatus(name=node.me.name, role=node.role.value,
                             leader=leader.name if leader else None,
                             leader_url=leader.url if leader else None, nodes=nodes,
                             standby_lag_s=lag, etcd_reachable=node.etcd_reachable())

    def hand_over(self) -> bool:
        """Planned maintenance: give the lead to the standby (docs/redundancy.md)."""
        return self.part.node.hand_over()

    def saw_peer(self, answer: dict[str, Any] | None) -> None:
        if answer is None:
            self.peer_lag_s = None
            return
        name, lag = answer.get("name"), answer.get("standby_lag_s")
        self.peer_name = name if isinstance(name, str) and name else self.peer_name
        self.peer_lag_s = float(lag) if isinstance(lag, int | float) else None

    async def poll_peer(self, session: aiohttp.ClientSession, every_s: float = 1.0) -> None:
        """The peer's status, every second, for ever (its name, and its lag as a standby)."""
        while True:
            try:
                async with session.get(self.peer_url.rstrip("/") + STATUS_PATH,
                                       timeout=aiohttp.ClientTimeout(total=every_s)) as resp:
                    self.saw_peer(await resp.json() if resp.status == 200 else None)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                self.saw_peer(None)
            await asyncio.sleep(every_s)


# --- the peer's promise over HTTP (docs/redundancy.md#the-fencing-rule) -------------------

PROMISE_PATH = "/cluster/promise"
STATUS_PATH = "/cluster/status"
PEER_TIMEOUT_S = 0.2


def promise_handler(node: ClusterNode, secret: str | None
                    ) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`POST /cluster/promise`, for the other controller only (the shared secret as a bearer
    token). Without a secret configured nobody gets a promise: a leader then stops at its
    lease deadline when etcd is away, which is safe, and the alarm says why."""
    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("cluster: promise refused to %s: bad or missing secret",
                        request.remote)
            return web.json_response({"error": "the cluster secret is required"}, status=401)
        grace = node.promise()
        log.info("cluster: %s %s a promise to %s", node.me.name,
                 "gave" if grace else "refused", request.remote)
        return web.json_response({"name": node.me.name, "promise_s": grace})
    return handle


def peer_asker(session: aiohttp.ClientSession, peer_url: str, secret: str | None) -> PeerAsk:
    """What the election node calls to ask the peer for its promise: seconds, or None."""
    async def ask() -> float | None:
        if not secret:
            return None
        async with session.post(peer_url.rstrip("/") + PROMISE_PATH,
                                headers={"Authorization": f"Bearer {secret}"},
                                timeout=aiohttp.ClientTimeout(total=PEER_TIMEOUT_S)) as resp:
            if resp.status != 200:
                return None
            value = (await resp.json()).get("promise_s")
        return float(value) if isinstance(value, int | float) and value > 0 else None
    return ask
