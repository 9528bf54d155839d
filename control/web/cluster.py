"""The pair of controllers as the pages see it (docs/redundancy.md, "Pages and sessions").

- `GET /cluster/leader`, open: who leads and every node's URL (no secret in it). Every HTML
  page is told the nodes in the `showctl_nodes` cookie; a page asks this route on load and,
  after losing its socket, asks every node (cross-origin: the answer allows any origin,
  and every page's `connect-src` names the nodes).
- `GET /api/cluster` (any console role): the whole `ClusterStatus`.
- `POST /api/cluster/hand-over` (director): the leader gives the lease up for the backup;
  a 409 on a node that does not lead.
- `POST /api/session/ticket` (a console session) and `POST /api/session/resume` (public):
  the resume exchange that carries a console session to the other node (sessions.py).
- The gate: on a node that does not lead, every websocket upgrade is closed at once with
  `NOT_LEADER_CLOSE` and a reason naming the leader, and every state-changing request is
  answered 421 JSON `not_leader` with the leader's URL, before anything acts. Logging in
  and out, the resume exchange, the hand-over's own 409, the loop-lag probe and the peers'
  /cluster/ calls pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web
from yarl import URL

from .auth import ROLE, SAFE_METHODS, VIA, Auth
from .bodies import fields, read_json
from .clusterview import ClusterStatus, ClusterView
from .console import set_session_cookie
from .errors import ApiError, Handler, error_response, json_ok
from .sessions import COOKIE, ResumeTickets

log = logging.getLogger(__name__)

NOT_LEADER_CLOSE = 4421    # websocket close code: this node does not lead (reason: where)
NOT_LEADER_STATUS = 421    # HTTP: Misdirected Request, with the leader's URL in the body
LEADER_PATH = "/cluster/leader"
NODES_COOKIE = "showctl_nodes"  # the nodes' URLs, for the pages' scripts (not HttpOnly)
NODES_COOKIE_S = 24 * 3600
WATCH_S = 0.25             # how often a leader checks it still leads (to cut its sockets)
# what a follower still answers (log in and out, carry a session, the hand-over's own 409)
PASS = frozenset({"/api/login", "/api/logout", "/api/session/ticket", "/api/session/resume",
                  "/api/cluster/hand-over", "/debug/looplag"})
ROUTES: tuple[tuple[str, str, str, str], ...] = (  # (method, path, handler, lowest role)
    ("GET", "/api/cluster", "status", "viewer"),
    ("POST", "/api/cluster/hand-over", "hand_over", "director"),
    ("POST", "/api/session/ticket", "ticket", "viewer"),
    ("POST", "/api/session/resume", "resume", "public"),
)


def leader_answer(status: ClusterStatus) -> dict[str, Any]:
    """What anyone may know: this node, whether it leads, the leader and the nodes' URLs."""
    return {"node": status.name, "leads": status.leads, "leader": status.leader,
            "url": status.leader_url, "nodes": dict(status.nodes)}


def status_answer(status: ClusterStatus) -> dict[str, Any]:
    return {**leader_answer(status), "role": status.role,
            "standby_lag_s": status.standby_lag_s, "etcd_reachable": status.etcd_reachable}


def _not_leader_reason(status: ClusterStatus) -> str:
    where = status.leader_url or "unknown (an election is under way)"
    return f"this controller ({status.name}) is not the leader; the leader is at {where}"


def _gated(request: web.Request) -> bool:
    if request.path.startswith("/cluster/") or request.path in PASS:
        return False
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    return upgrade or request.method not in SAFE_METHODS


class Gate:
    """A node that does not lead refuses control requests (module docstring); and when it
    stops leading (a hand-over, a lease lost), it cuts the websockets it let through, so
    their pages go and find the leader."""

    def __init__(self, view: ClusterView, *, watch_s: float = WATCH_S) -> None:
        self.view = view
        self.watch_s = watch_s
        self._upgrades: set[asyncio.BaseTransport] = set()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not _gated(request):
            return await handler(request)
        status = self.view.status()
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if status.leads:
            if not upgrade or request.transport is None:
                return await handler(request)
            transport = request.transport
            self._upgrades.add(transport)
            try:
                return await handler(request)
            finally:
                self._upgrades.discard(transport)
        if upgrade:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            # a close reason is at most 123 bytes: the URL alone, the pages ask for the rest
            await ws.close(code=NOT_LEADER_CLOSE,
                           message=(status.leader_url or "").encode("utf-8")[:123])
            return ws
        return error_response(NOT_LEADER_STATUS, "not_leader", _not_leader_reason(status),
                              extra={"leader": status.leader, "url": status.leader_url})

    async def watch(self, app: web.Application) -> AsyncIterator[None]:
        """cleanup_ctx: while the app runs, cut the sockets when this node stops leading."""
        task = asyncio.create_task(self._watch())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _watch(self) -> None:
        led = self.view.status().leads
        while True:
            await asyncio.sleep(self.watch_s)
            try:
                leads = self.view.status().leads
            except Exception:  # a view that fails is no reason to stop watching
                log.exception("the cluster view failed")
                continue
            if led and not leads and self._upgrades:
                log.warning("no longer the leader: closing %d websocket(s) so their pages "
                            "find the leader", len(self._upgrades))
                for transport in list(self._upgrades):
                    transport.close()
            led = leads


def page_origins(status: ClusterStatus) -> str:
    """The nodes' origins, for the pages' Content-Security-Policy `connect-src`."""
    origins = []
    for url in status.nodes.values():
        try:
            parsed = URL(url)
        except ValueError:
            continue
        if parsed.scheme in ("http", "https") and parsed.host:
            origins.append(str(parsed.origin()))
    return " ".join(sorted(set(origins)))


Prepare = Callable[[web.BaseRequest, web.StreamResponse], Awaitable[None]]


def nodes_cookie(status: ClusterStatus) -> str:
    """The nodes as the pages read them (`NODES_COOKIE`: URL-encoded JSON, no secret)."""
    return quote(json.dumps(status.nodes, separators=(",", ":")), safe="")


def for_pages(view: ClusterView) -> Prepare:
    """on_response_prepare: every page may reach every node (its CSP `connect-src` names
    them), and every HTML page is told the nodes in a cookie its scripts read
    (`NODES_COOKIE`), so a page knows where to look before its controller is gone; one
    machine sets no cookie, and its pages ask nothing."""
    async def prepare(request: web.BaseRequest, response: web.StreamResponse) -> None:
        csp = response.headers.get("Content-Security-Policy")
        html = response.content_type == "text/html"
        if not html and not (csp and "connect-src" in csp):
            return
        status = view.status()
        origins = page_origins(status)
        if csp and "connect-src" in csp and origins:
            response.headers["Content-Security-Policy"] = csp.replace(
                "connect-src", f"connect-src {origins}", 1)
        if html:
            # (a header: aiohttp has rendered the response's cookies before this hook)
            response.headers.add("Set-Cookie", f"{NODES_COOKIE}={nodes_cookie(status)}; "
                                 f"Max-Age={NODES_COOKIE_S}; Path=/; SameSite=Strict"
                                 + ("; Secure" if request.secure else ""))
    return prepare


class ClusterRoutes:
    """The handlers, over one view, the auth and (with a shared secret) the tickets."""

    def __init__(self, view: ClusterView, auth: Auth, tickets: ResumeTickets | None) -> None:
        self.view = view
        self.auth = auth
        self.tickets = tickets

    def add_routes(self, app: web.Application) -> None:
        """The routes and the CSP hook (the gate is create_app's: before the guard)."""
        app.router.add_get(LEADER_PATH, self.leader, name="cluster_leader", allow_head=False)
        for method, path, name, _ in ROUTES:
            app.router.add_route(method, path, getattr(self, name), name=f"cluster_{name}")
        app.on_response_prepare.append(for_pages(self.view))

    async def leader(self, request: web.Request) -> web.Response:
        response = json_ok(leader_answer(self.view.status()))
        response.headers["Access-Control-Allow-Origin"] = "*"  # nothing secret in it
        response.headers["Cache-Control"] = "no-store"
        return response

    async def status(self, request: web.Request) -> web.Response:
        return json_ok(status_answer(self.view.status()))

    async def hand_over(self, request: web.Request) -> web.Response:
        fields(await read_json(request))
        status = self.view.status()
        who = f"the {request[ROLE]} ({request.get(VIA)}) from {request.remote}"
        if not status.leads:
            raise ApiError(409, "not_leader", _not_leader_reason(status) + ": only the leader "
                           "can hand over", extra={"leader": status.leader,
                                                   "url": status.leader_url})
        log.warning("hand over to the backup asked by %s at %s", who,
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        if not self.view.hand_over():
            raise ApiError(409, "no_standby", "the hand over did not happen: no standby is "
                           "ready to take the show (see GET /api/cluster)")
        return json_ok({"ok": True, "cluster": status_answer(self.view.status())})

    def _tickets(self) -> ResumeTickets:
        if self.tickets is None:
            raise ApiError(409, "no_secret", "sessions cannot move between the controllers: "
                           "no cluster secret is configured (cluster.secret_file)")
        return self.tickets

    async def ticket(self, request: web.Request) -> web.Response:
        fields(await read_json(request))
        tickets = self._tickets()
        session = self.auth.sessions.lookup(request.cookies.get(COOKIE, ""))
        if request.get(VIA) != "cookie" or session is None:
            raise ApiError(400, "no_session", "a resume ticket is for a console session "
                           "(log in first); a token works on either controller as it is")
        response = json_ok({"ticket": tickets.issue(session), "ttl_s": tickets.ttl_s})
        response.headers["Cache-Control"] = "no-store"
        return response

    async def resume(self, request: web.Request) -> web.Response:
        body = fields(await read_json(request), "ticket")
        ticket = body.get("ticket")
        if not isinstance(ticket, str) or not ticket:
            raise ApiError(400, "bad_field", "ticket is required (the text the other "
                           "controller gave)")
        found = self._tickets().take(ticket)
        if found is None or not self.auth.opener_valid(found.token_id, found.role):
            log.warning("refused a session resume ticket from %s", request.remote)
            raise ApiError(401, "unauthorized", "the resume ticket is not valid (expired, "
                           "used, or its token was changed): log in again")
        session_id = await self.auth.sessions.resume(found.role, found.token_id)
        response = json_ok({"role": found.role})
        response.headers["Cache-Control"] = "no-store"
        set_session_cookie(response, request, session_id, self.auth.sessions.ttl_s)
        log.info("console session resumed (%s) from %s", found.role, request.remote)
        return response


def _op(summary: str, description: str, answer: dict[str, Any], *, public: bool = False,
        body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "description": description, "responses": {
        "200": {"description": "done", "content": {"application/json": {"schema": answer}}},
        "409": {"description": "refused: the reason says why"}}}
    if public:
        op["security"] = []
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


_OBJECT: dict[str, Any] = {"type": "object"}
# the OpenAPI document's entries for these routes (create_app adds them with a cluster)
OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    LEADER_PATH: {"get": _op(
        "Two controllers: who leads", "Open, any origin: this node, whether it leads, the "
        "leader and every node's URL (docs/redundancy.md, \"Pages and sessions\").", _OBJECT,
        public=True)},
    "/api/cluster": {"get": _op(
        "Two controllers: the pair's status", "This node's role, the leader, the standby's "
        "lag, etcd reachable.", _OBJECT)},
    "/api/cluster/hand-over": {"post": _op(
        "Two controllers: hand over to the backup", "Director. The leader gives its lease "
        "up for the standby; 409 on a node that does not lead.", _OBJECT)},
    "/api/session/ticket": {"post": _op(
        "Two controllers: a resume ticket", "A console session's signed, single-use ticket "
        "to carry it to the other node (5 minutes).", _OBJECT)},
    "/api/session/resume": {"post": _op(
        "Two controllers: resume a session", "Public: a ticket from the other node opens a "
        "session here (this node's own cookie); 401 for one expired, used or forged.",
        _OBJECT, public=True, body={"type": "object", "required": ["ticket"],
                                    "properties": {"ticket": {"type": "string"}}})},
}
