"""`showctl run` with `cluster:` settings (docs/redundancy.md#showctl-run-in-a-pair): stand
by until this controller leads, then run the show from the mirrored journal, fenced; leave
when another took the lead.

Standing by: the election node runs, the OBS link is connected (reads and events only: the
send gate refuses everything else), the mirror keeps the replicated journal in the local
journal file, and a small app answers the peer's promise and says who leads. Leading: the
mirror read to its end, the show resumed from it exactly as after a crash (replay with its
clocks, the desired state applied to OBS again, hard starts and cues armed again by the
runner), the runner journaling through etcd.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from control.cluster.election import Role
from control.cluster.replica import catch_up
from control.config import Settings
from control.journal.store import journal_path, read_journal
from control.metrics import Metrics, Sources
from control.metrics import install as install_metrics
from control.obs.client import ObsClient
from control.web.errors import error_response

from .cluster import (
    PROMISE_PATH,
    STATUS_PATH,
    ClusterPart,
    Mirror,
    PairView,
    ReplicatedJournal,
    cluster_source,
    make_cluster,
    peer_asker,
    promise_handler,
)
from .http import make_auth, metrics_token_check
from .listeners import make_certificates
from .obs import make_gated_client, make_obs_link
from .show import Opened, open_show

if TYPE_CHECKING:
    from .live import LiveShow

log = logging.getLogger("showctl.cluster")
LEADER_PATH = "/cluster/leader"  # control/web/cluster.py's, for the pages
NOT_LEADER_CLOSE = 4421  # control/web/cluster.py's: a websocket on a node that does not lead
NOT_LEADER_STATUS = 421  # Misdirected Request, with the leader's URL
SEED_CHUNK = 100  # records per txn: etcd refuses a txn of more than 128 operations


class StandbyStopped(Exception):
    """Asked to stop while standing by: there is no show to leave."""


def install_routes(app: web.Application, view: PairView, secret: str | None) -> None:
    """The peer's promise, and this node's status (open: names, URLs, role, lag; no
    secret): what the peer polls, and the pages may ask."""
    node = view.part.node

    async def status(_request: web.Request) -> web.Response:
        now = view.status()
        own_lag = view.mirror.lag_s() if view.mirror is not None else None
        return web.json_response({
            "name": now.name, "role": now.role, "drives": node.drives(),
            "leader": now.leader, "leader_url": now.leader_url, "nodes": now.nodes,
            "standby_lag_s": own_lag, "etcd_reachable": now.etcd_reachable})

    app.router.add_post(PROMISE_PATH, promise_handler(node, secret))
    app.router.add_get(STATUS_PATH, status)


@contextlib.asynccontextmanager
async def standby_server(view: PairView, settings: Settings) -> AsyncIterator[None]:
    """The standby's own small app on the console's port, while it stands by: the peer's
    promise, who leads, its metrics (the pair's only: role, lag, etcd); the rest is the
    leader's (`elsewhere`)."""
    app = web.Application()
    install_routes(app, view, settings.cluster_secret)
    auth = make_auth(settings)
    install_metrics(app, Metrics(Sources(cluster=cluster_source(view.part, view.mirror))),
                    token_ok=metrics_token_check(auth), public=settings.metrics_public)
    install_the_rest(app, view)
    # HTTPS as the leader's listeners (pages and Prometheus reach both nodes the same way)
    certificates = make_certificates(settings)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    watch = (asyncio.create_task(certificates.run(), name="standby-tls-watch")
             if certificates is not None else None)
    try:
        await web.TCPSite(runner, settings.http_host, settings.http_port,
                          ssl_context=certificates.context if certificates else None).start()
        yield
    finally:
        if watch is not None:
            watch.cancel()
        await runner.cleanup()


def install_the_rest(app: web.Application, view: PairView) -> None:
    """On a standby, `/cluster/leader`; and everything else is the leader's."""
    async def elsewhere(request: web.Request) -> web.StreamResponse:
        """Anything else is the leader's, as the web layer's gate says on a follower: a
        websocket closed with NOT_LEADER_CLOSE and the leader's URL, a page redirected to
        the leader, any other request 421 `not_leader` with the leader's URL."""
        now = view.status()
        where = now.leader_url
        if request.headers.get("Upgrade", "").lower() == "websocket":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.close(code=NOT_LEADER_CLOSE, message=(where or "").encode()[:123])
            return ws
        if request.method == "GET" and where and "text/html" in request.headers.get(
                "Accept", ""):
            raise web.HTTPTemporaryRedirect(where + request.path_qs)
        return error_response(NOT_LEADER_STATUS, "not_leader",
                              f"this controller ({now.name}) stands by; the leader is at "
                              f"{where or 'unknown (an election is under way)'}",
                              extra={"leader": now.leader, "url": where})

    async def leader(_request: web.Request) -> web.Response:
        """As the web layer's `GET /cluster/leader` answers it on a leader: a page that
        lost its leader asks every node where the show went (any origin may ask)."""
        now = view.status()
        return web.json_response(
            {"node": now.name, "leads": now.leads, "leader": now.leader,
             "url": now.leader_url, "nodes": now.nodes},
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"})

    app.router.add_get(LEADER_PATH, leader)
    app.router.add_route("*", "/{tail:.*}", elsewhere)


async def first_of(*events: asyncio.Event) -> None:
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()


async def stand_by(view: PairView, settings: Settings, stop: asyncio.Event) -> None:
    """Until this node drives (or `stop`): the mirror follows the journal."""
    part, mirror = view.part, view.mirror
    assert mirror is not None
    leading = asyncio.Event()
    part.node.listen(lambda _role, drives: leading.set() if drives else None)
    if part.node.drives():
        leading.set()
    follower = asyncio.create_task(mirror.run(part.client), name="cluster-mirror")
    try:
        async with standby_server(view, settings):
            log.info("cluster: %s stands by (the mirror follows the journal)", part.node.me.name)
            await first_of(leading, stop)
        log.info("cluster: %s stops standing by", part.node.me.name)
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
    if not leading.is_set():
        mirror.close()
        raise StandbyStopped


async def take_over(part: ClusterPart, mirror: Mirror, rundown_path: Path,
                    settings: Settings, *, start: str | None, fresh: bool,
                    speed: float) -> tuple[Opened, ReplicatedJournal]:
    """The show resumed from the whole replicated journal, and the journal it goes on with.
    The read is linearizable and our lease holds the key: nothing of the old leader's can
    land after it. etcd empty (the pair's first show): the local journal is sent."""
    log.info("cluster: %s takes over: reading the journal to its end", part.node.me.name)
    mirror.apply(await catch_up(part.client, mirror.tail))
    mirror.close()
    have = mirror.tail.next_seq - 1  # records etcd holds
    if fresh and have:  # the pair's journal is the show: a standby restarted must not drop it
        log.warning("cluster: --fresh ignored: etcd holds this show's journal (%d records); "
                    "to start again, delete %s first (docs/redundancy.md)", have,
                    part.keys.journal)
        fresh = False
    opened = open_show(rundown_path, settings, start=start, fresh=fresh, speed=speed)
    for note in opened.notes:
        log.warning("%s", note)
    contents = read_journal(opened.journal.path)
    local = [contents.session, *contents.records]
    journal = ReplicatedJournal(opened.journal, part, asyncio.get_running_loop(), have + 1)
    for i in range(have, len(local), SEED_CHUNK):  # what the resume added, or all of it
        await journal.seed(local[i:i + SEED_CHUNK])
    log.info("cluster: %s leads: show resumed from %d replicated record(s), %d sent",
             part.node.me.name, have, max(0, len(local) - have))
    return opened, journal


def step_down_on_loss(part: ClusterPart, stop: asyncio.Event) -> None:
    """Our lease is gone (this controller froze, or was cut off from etcd, past its TTL):
    another may have led meanwhile, so this show's state may be behind. Stop the show here;
    the gate sends nothing to OBS already, and a restart stands by again."""
    def changed(role: Role, _drives: bool) -> None:
        if role in (Role.FOLLOWER, Role.CANDIDATE) and not stop.is_set():
            me, leader = part.node.me.name, part.node.leader
            if part.node.handed_over():
                log.warning("cluster: %s handed the lead over: stopping (restart to stand "
                            "by)", me)
            else:
                log.error("cluster: %s lost the lead%s: stopping (restart to stand by)", me,
                          f" to {leader.name}" if leader and leader.name != me else "")
            stop.set()
    part.node.listen(changed)


def warm_up() -> None:
    """What building the show imports on first use (the guests' WebRTC stack), imported
    before this controller campaigns: a leader whose loop stalls on a cold import for a
    second loses its lease."""
    import aioice.ice  # noqa: F401
    import aiortc  # noqa: F401
    import PIL.Image  # noqa: F401


APPLIED_MARK = "takeover-applied "  # then JSON: when OBS had the desired state (the bench)


async def report_applied(show: LiveShow, name: str) -> None:
    """One log line when OBS first holds the desired state under this leader (sent, or found
    right already): the end of a takeover, for the drill and bench/failover.py."""
    await show.obs.sync.wait_applied()
    log.info("cluster: %s%s", APPLIED_MARK, json.dumps(
        {"t": round(time.time(), 6), "node": name, "batches": show.obs.sync.apply_batches},
        separators=(",", ":")))


@contextlib.asynccontextmanager
async def run_clustered(rundown_path: Path, settings: Settings,
                        make_show: Callable[..., LiveShow], *, start: str | None,
                        fresh: bool, speed: float,
                        stop: asyncio.Event) -> AsyncIterator[LiveShow]:
    """Stand by, lead, yield the running show. StandbyStopped: `stop` came first."""
    session = aiohttp.ClientSession()
    part = make_cluster(settings, rundown_path, ask_peer=peer_asker(
        session, settings.cluster_peer_url, settings.cluster_secret))
    assert part is not None
    client: ObsClient = make_gated_client(settings, part.node)
    mirror = Mirror(journal_path(settings.state_dir, str(rundown_path)), part.keys)
    view = PairView(part, settings.cluster_peer_url, mirror)
    peer = asyncio.create_task(view.poll_peer(session), name="cluster-peer-status")
    opened: Opened | None = None
    try:
        await asyncio.to_thread(warm_up)
        part.node.start()
        await client.start()
        await stand_by(view, settings, stop)
        opened, journal = await take_over(part, mirror, rundown_path, settings,
                                          start=start, fresh=fresh, speed=speed)
        view.mirror = None  # leading: the lag shown is the peer's
        show = make_show(opened, settings, rundown_path, obs=make_obs_link(settings, client),
                         journal=journal, cluster=view)
        install_routes(show.app, view, settings.cluster_secret)
        show.metrics.lend_cluster(cluster_source(part, None))
        step_down_on_loss(part, stop)
        async with show.running(settings):
            applied = asyncio.create_task(report_applied(show, part.node.me.name))
            flush = asyncio.create_task(journal.flush_loop(), name="cluster-journal-flush")
            try:
                yield show
            finally:
                applied.cancel()
                flush.cancel()
    finally:
        peer.cancel()
        if opened is not None:
            opened.journal.close()
        await client.stop()
        await part.node.stop()
        await part.client.close()
        await session.close()
