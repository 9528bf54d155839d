"""The pair of controllers in the web layer: /cluster/leader, /api/cluster, the hand-over,
the gate that makes a follower refuse control, and console sessions carried across."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from web.support import DIRECTOR, TOKENS, VIEWER, FakeShow, call, make_app

from control.web.app import create_app
from control.web.auth import Auth
from control.web.cluster import NOT_LEADER_CLOSE
from control.web.clusterview import ClusterStatus
from control.web.hosts import AllowedHosts
from control.web.hub import StateHub
from control.web.sessions import COOKIE, ResumeTickets, Session

SECRET = "shared-cluster-secret-0123456789"
NODES = {"main": "http://127.0.0.1:18001", "backup": "http://127.0.0.1:18002"}


class FakeCluster:
    """A ClusterView whose leader the test sets (the election is not what is tested)."""

    def __init__(self, name: str, leader: str | None = "main") -> None:
        self.name = name
        self.leader = leader
        self.hand_overs = 0
        self.hand_over_works = True
        self.etcd = True

    def status(self) -> ClusterStatus:
        leads = self.leader == self.name
        return ClusterStatus(name=self.name, role="leader" if leads else "follower",
                             leader=self.leader,
                             leader_url=NODES.get(self.leader) if self.leader else None,
                             nodes=dict(NODES), standby_lag_s=0.02 if leads else None,
                             etcd_reachable=self.etcd)

    def hand_over(self) -> bool:
        self.hand_overs += 1
        if self.hand_over_works:
            self.leader = next(n for n in NODES if n != self.name)
        return self.hand_over_works


def cluster_app(fake: FakeShow, view: FakeCluster, auth: Auth | None = None,
                secret: str | None = SECRET) -> Any:
    return create_app(fake, auth or Auth.from_settings(**TOKENS),
                      hub=StateHub(send_timeout=2.0, close_timeout=0.5),
                      allowed_hosts=AllowedHosts(("localhost",)), cluster=view,
                      cluster_secret=secret)


async def test_one_machine_has_no_cluster_routes_and_no_gate(client: TestClient) -> None:
    async with client.get("/cluster/leader") as resp:
        assert resp.status == 404
    async with client.get("/") as resp:
        assert "showctl_nodes" not in resp.cookies  # its pages ask nothing
    status, _ = await call(client, "GET", "/api/cluster")
    assert status == 404
    status, body = await call(client, "POST", "/api/hold", body={})
    assert status == 200 and body["ok"] is True


async def test_the_leader_question_is_open_and_names_no_secret(fake: FakeShow) -> None:
    view = FakeCluster("backup")
    async with TestClient(TestServer(cluster_app(fake, view), host="127.0.0.1")) as client, \
            client.get("/cluster/leader") as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        body = await resp.json()
    assert body == {"node": "backup", "leads": False, "leader": "main",
                    "url": NODES["main"], "nodes": NODES}
    assert SECRET not in str(body) and DIRECTOR not in str(body)


async def test_status_needs_a_role_and_says_everything(fake: FakeShow) -> None:
    view = FakeCluster("main")
    async with TestClient(TestServer(cluster_app(fake, view), host="127.0.0.1")) as client:
        status, _ = await call(client, "GET", "/api/cluster", token=None)
        assert status == 401
        status, body = await call(client, "GET", "/api/cluster", token=VIEWER)
    assert status == 200
    assert body["role"] == "leader" and body["leads"] is True and body["leader"] == "main"
    assert body["standby_lag_s"] == 0.02 and body["etcd_reachable"] is True
    assert body["nodes"] == NODES


async def test_a_follower_refuses_control_and_names_the_leader(fake: FakeShow) -> None:
    view = FakeCluster("backup")
    async with TestClient(TestServer(cluster_app(fake, view), host="127.0.0.1")) as client:
        status, body = await call(client, "POST", "/api/take", body={})
        assert status == 421
        assert body["error"] == "not_leader" and body["url"] == NODES["main"]
        assert NODES["main"] in body["reason"]
        assert fake.received == []
        status, _ = await call(client, "GET", "/api/state")  # reading is fine
        assert status == 200
        ws = await client.ws_connect(f"/api/ws?token={DIRECTOR}")
        message = await ws.receive(timeout=5)
        assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
        assert ws.close_code == NOT_LEADER_CLOSE
        assert message.extra == NODES["main"]
        # the leader changes: the same node now acts
        view.leader = "backup"
        status, _ = await call(client, "POST", "/api/take", body={})
        assert status == 200 and len(fake.received) == 1
        ws = await client.ws_connect(f"/api/ws?token={DIRECTOR}")
        first = await ws.receive_json(timeout=5)
        assert first["type"] == "state"
        await ws.close()


async def test_hand_over_is_the_directors_and_refused_on_a_follower(
        fake: FakeShow, caplog: pytest.LogCaptureFixture) -> None:
    view = FakeCluster("main")
    async with TestClient(TestServer(cluster_app(fake, view), host="127.0.0.1")) as client:
        status, _ = await call(client, "POST", "/api/cluster/hand-over", body={}, token=VIEWER)
        assert status == 403 and view.hand_overs == 0
        view.hand_over_works = False
        status, body = await call(client, "POST", "/api/cluster/hand-over", body={})
        assert status == 409 and body["error"] == "no_standby"
        view.hand_over_works = True
        with caplog.at_level(logging.INFO):
            status, body = await call(client, "POST", "/api/cluster/hand-over", body={})
        assert status == 200 and body["cluster"]["leader"] == "backup"
        assert "hand over to the backup asked by the director (bearer)" in caplog.text
        assert "POST /api/cluster/hand-over by director (bearer)" in caplog.text  # audit
        status, body = await call(client, "POST", "/api/cluster/hand-over", body={})
    assert status == 409 and body["error"] == "not_leader" and body["url"] == NODES["backup"]
    assert view.hand_overs == 2


async def _login(client: TestClient, token: str = DIRECTOR) -> str:
    async with client.post("/api/login", json={"token": token}) as resp:
        assert resp.status == 200
        return resp.cookies[COOKIE].value


def _origin(client: TestClient) -> dict[str, str]:
    return {"Origin": str(client.make_url("/")).rstrip("/")}


async def test_a_session_moves_to_the_other_node_once(fake: FakeShow) -> None:
    a_view, b_view = FakeCluster("main"), FakeCluster("backup")
    async with TestClient(TestServer(cluster_app(fake, a_view), host="127.0.0.1")) as a, \
            TestClient(TestServer(cluster_app(fake, b_view), host="127.0.0.1")) as b:
        await _login(a)
        status, body = await call(a, "POST", "/api/session/ticket", body={}, token=None,
                                  headers=_origin(a))
        assert status == 200 and body["ttl_s"] > 0
        ticket = body["ticket"]
        async with b.post("/api/session/resume", json={"ticket": ticket},
                          headers=_origin(b)) as resp:
            assert resp.status == 200 and (await resp.json())["role"] == "director"
            cookie = resp.cookies[COOKIE]
            assert cookie["httponly"] and cookie.value not in ticket
        b_view.leader = "backup"
        status, _ = await call(b, "POST", "/api/hold", body={}, token=None, headers=_origin(b))
        assert status == 200  # B's own cookie works on B
        status, body = await call(b, "POST", "/api/session/resume", body={"ticket": ticket},
                                  token=None, headers=_origin(b))
        assert status == 401  # once
        forged = ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BB")
        status, _ = await call(b, "POST", "/api/session/resume", body={"ticket": forged},
                               token=None, headers=_origin(b))
        assert status == 401


async def test_a_ticket_needs_a_session_and_a_secret(fake: FakeShow) -> None:
    async with TestClient(TestServer(cluster_app(fake, FakeCluster("main")),
                                     host="127.0.0.1")) as client:
        status, body = await call(client, "POST", "/api/session/ticket", body={})
        assert status == 400 and body["error"] == "no_session"  # a bearer token: no need
    async with TestClient(TestServer(cluster_app(fake, FakeCluster("main"), secret=None),
                                     host="127.0.0.1")) as client:
        await _login(client)
        status, body = await call(client, "POST", "/api/session/ticket", body={}, token=None,
                                  headers=_origin(client))
        assert status == 409 and body["error"] == "no_secret"


async def test_a_rotated_token_ends_what_its_tickets_carry(fake: FakeShow) -> None:
    old = Auth.from_settings(**TOKENS)
    rotated = Auth.from_settings(**{**TOKENS, "director": "a-new-director-token-0123456"})
    async with TestClient(TestServer(cluster_app(fake, FakeCluster("main"), auth=old),
                                     host="127.0.0.1")) as a, \
            TestClient(TestServer(cluster_app(fake, FakeCluster("backup"), auth=rotated),
                                  host="127.0.0.1")) as b:
        await _login(a)
        _, body = await call(a, "POST", "/api/session/ticket", body={}, token=None,
                             headers=_origin(a))
        status, _ = await call(b, "POST", "/api/session/resume", body={"ticket": body["ticket"]},
                               token=None, headers=_origin(b))
    assert status == 401


def test_tickets_expire_and_are_signed_by_the_shared_secret() -> None:
    now = [1000.0]
    issuer = ResumeTickets(SECRET, ttl_s=60, clock=lambda: now[0])
    other = ResumeTickets("another-secret-0123456789abcdef", clock=lambda: now[0])
    same = ResumeTickets(SECRET, clock=lambda: now[0])
    session = Session("director", "tid", expires=5000.0)
    assert other.take(issuer.issue(session)) is None
    taken = same.take(issuer.issue(session))
    assert taken is not None and taken.role == "director" and taken.token_id == "tid"
    late = issuer.issue(session)
    now[0] += 61
    assert same.take(late) is None
    short = issuer.issue(replace(session, expires=now[0] + 5))  # never past the session
    now[0] += 6
    assert same.take(short) is None
    for junk in ("", ".", "x.y", "a" * 2000, "\ud800.\ud800"):
        assert same.take(junk) is None
    with pytest.raises(ValueError, match="too short"):
        ResumeTickets("short")


async def test_pages_may_reach_every_node(fake: FakeShow) -> None:
    """Every page's connect-src names the nodes (to ask them who leads), and every page is
    told the nodes in a cookie its scripts read."""
    from aiohttp import web

    app = cluster_app(fake, FakeCluster("main"))

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="x", content_type="text/html", headers={
            "Content-Security-Policy": "default-src 'none'; connect-src 'self'"})

    app.router.add_get("/page", page)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client, \
            client.get("/page") as resp:
        csp = resp.headers["Content-Security-Policy"]
        told = resp.cookies["showctl_nodes"]
    assert json.loads(unquote(told.value)) == NODES and not told["httponly"]
    assert csp == ("default-src 'none'; connect-src http://127.0.0.1:18001 "
                   "http://127.0.0.1:18002 'self'")


def test_the_single_machine_app_is_unchanged(fake: FakeShow) -> None:
    app = make_app(fake)
    assert not any(r.resource is not None and r.resource.canonical.startswith("/cluster")
                   for r in app.router.routes())


async def test_a_leader_that_steps_down_cuts_its_sockets(fake: FakeShow) -> None:
    view = FakeCluster("main")
    async with TestClient(TestServer(cluster_app(fake, view), host="127.0.0.1")) as client:
        ws = await client.ws_connect(f"/api/ws?token={DIRECTOR}")
        assert (await ws.receive_json(timeout=5))["type"] == "state"
        view.leader = "backup"  # a hand-over, or the lease lost
        while True:  # pings and states until the cut; bounded by the receive timeout
            message = await ws.receive(timeout=10)
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
        again = await client.ws_connect(f"/api/ws?token={DIRECTOR}")
        await again.receive(timeout=5)
        assert again.close_code == NOT_LEADER_CLOSE


async def test_the_openapi_document_has_the_cluster_routes(fake: FakeShow) -> None:
    async with TestClient(TestServer(cluster_app(fake, FakeCluster("main")),
                                     host="127.0.0.1")) as client:
        status, doc = await call(client, "GET", "/api/openapi.json")
    assert status == 200
    routes = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert {("GET", "/cluster/leader"), ("GET", "/api/cluster"),
            ("POST", "/api/cluster/hand-over"), ("POST", "/api/session/ticket"),
            ("POST", "/api/session/resume")} <= routes
    assert doc["paths"]["/api/session/resume"]["post"]["security"] == []


async def test_the_gate_covers_the_adapters_routes_too(fake: FakeShow) -> None:
    """A guest's WHIP POST (outside /api/) on a follower: a 421 JSON, the handler untouched."""
    from aiohttp import web

    app = cluster_app(fake, FakeCluster("backup"))
    reached: list[str] = []

    async def whip(request: web.Request) -> web.Response:
        reached.append(request.path)
        return web.Response(status=201)

    app.router.add_post("/whip/{guest}", whip)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client, \
            client.post("/whip/ada", data=b"v=0") as resp:
        assert resp.status == 421
        body = await resp.json()
    assert body["error"] == "not_leader" and body["url"] == NODES["main"]
    assert reached == []
