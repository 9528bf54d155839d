"""The control API and the console: `create_app(show, auth)` → an aiohttp Application.

Each command route turns a request into one `control.show.commands` value with `by` = the
caller's role, hands it to the show (a `ShowPort`) and answers with the read model after it.
Everything that can be wrong with a request is a 4xx JSON error before the show sees
anything; what the show refuses is a 409 with the engine's own reason.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast, get_args

from aiohttp import web

from control.show.commands import (
    MAX_NOTE,
    Arm,
    Back,
    BadCommand,
    Command,
    Extend,
    Hold,
    Panic,
    SetMode,
    SetNext,
    SetNote,
    Skip,
    Take,
    from_json,
)
from control.show.diagnostics import RundownError
from control.show.engine import Refused
from control.show.state import Mode

from . import cluster as pair
from . import openapi, serverheader
from .audit import audit
from .auth import ROLE, Access, Auth, Endpoint, clear_cookie_header, guard
from .bodies import MAX_BODY, bad_field, boolean, choice, fields, number, read_json
from .clusterview import ClusterView
from .console import Console, set_session_cookie
from .errors import ApiError, json_errors, json_ok
from .hosts import AllowedHosts
from .hub import StateHub
from .port import Output, OutputFailed, ShowPort
from .sessions import COOKIE, ResumeTickets

log = logging.getLogger(__name__)

SOURCE_HEADER = "X-Showctl-Source"
SOURCES = ("api", "console", "osc")  # where a take came from: counted apart in metrics
MAX_EXTEND_S = 3600
MODES: tuple[Mode, ...] = get_args(Mode)

# Every API route and the lowest role allowed on it: the one place to read who may do what.
# Producers write notes (and messages to guests: control/wiring/guest_controls.py); takes and
# everything else that changes the show stay the director's. "public": no credential
# (logging in and out).
ROUTES: tuple[tuple[str, str, str, Access], ...] = (
    ("POST", "/api/login", "login", "public"),
    ("POST", "/api/logout", "logout", "public"),
    ("GET", "/api/whoami", "whoami", "viewer"),
    ("GET", "/api/state", "state", "viewer"),
    ("GET", "/api/ws", "ws", "viewer"),
    ("GET", "/api/openapi.json", "openapi", "viewer"),
    ("POST", "/api/notes/{id}", "note", "producer"),
    ("POST", "/api/take", "take", "director"),
    ("POST", "/api/take/{id}", "take_segment", "director"),
    ("POST", "/api/next/{id}", "set_next", "director"),
    ("DELETE", "/api/next", "clear_next", "director"),
    ("POST", "/api/hold", "hold", "director"),
    ("POST", "/api/extend", "extend", "director"),
    ("POST", "/api/skip/{id}", "skip", "director"),
    ("POST", "/api/back", "back", "director"),
    ("POST", "/api/panic", "panic", "director"),
    ("POST", "/api/mode", "mode", "director"),
    ("POST", "/api/arm", "arm", "director"),
    ("POST", "/api/command", "command", "director"),
    ("POST", "/api/reload", "reload", "director"),
    ("POST", "/api/stream", "stream", "director"),
    ("POST", "/api/record", "record", "director"),
)
PERMISSIONS: dict[Endpoint, Access] = {(m, path): role for m, path, _, role in ROUTES}
QUERY_TOKEN: frozenset[Endpoint] = frozenset({("GET", "/api/ws")})
# An adapter's API route (the overlays' /api/overlays/*): (method, path as routed, lowest
# role). create_app puts it in the guard's table; the adapter adds the handler to the app.
ExtraRoute = tuple[str, str, str]
ACCESS: tuple[Access, ...] = get_args(Access)


def permissions_with(extra_routes: Iterable[ExtraRoute]) -> dict[Endpoint, Access]:
    """PERMISSIONS and the adapters' routes: one table for the one guard. Raises ValueError
    for a route outside /api/, one that is already there, or an unknown role."""
    table = dict(PERMISSIONS)
    for entry in extra_routes:
        method, path, role = entry
        endpoint = (method.upper(), path)
        if not (path == "/api" or path.startswith("/api/")):
            raise ValueError(f"{method} {path}: an API route lives under /api/")
        if endpoint in table:
            raise ValueError(f"{method} {path} is already a route of the API")
        if role not in ACCESS:
            raise ValueError(f"{method} {path}: unknown role {role!r}; one of "
                             f"{', '.join(ACCESS)}")
        table[endpoint] = cast(Access, role)
    return table


def create_app(show: ShowPort, auth: Auth, *, hub: StateHub | None = None,
               static_dir: Path | None = None, extra_routes: Iterable[ExtraRoute] = (),
               openapi_paths: Mapping[str, Mapping[str, Any]] | None = None,
               allowed_hosts: AllowedHosts | None = None,
               cluster: ClusterView | None = None,
               cluster_secret: str | None = None) -> web.Application:
    """The API and console app; `app["hub"]` is the StateHub to publish every new read model
    into. `static_dir`: the console's files (default control/web/static).

    `extra_routes`: adapters' API routes with the lowest role for each; they go through the
    same guard and JSON errors as the API's own (the adapter registers their handlers on
    the app before it starts; a route of /api/ that is in no table is open to no role).
    `app["permissions"]` is the whole table, for the adapter to check its routes are in it.
    `openapi_paths`: the adapters' routes for the OpenAPI document (every extra route, and
    only those). `allowed_hosts`: the Host names served (hosts.py; default localhost and
    any address literal). `cluster`: the pair of controllers (cluster.py: the routes, and
    the gate that refuses control on a node that does not lead); None, one machine.
    `cluster_secret`: the secret the two share, to carry console sessions across."""
    permissions = permissions_with(extra_routes)
    extra = set(permissions) - set(PERMISSIONS)
    documented = {(m.upper(), path) for path, item in (openapi_paths or {}).items()
                  for m in item if m.upper() in openapi.METHODS}
    if openapi_paths is not None and documented != extra:
        raise ValueError(f"openapi_paths must document the extra routes, no more and no less: "
                         f"{sorted(documented ^ extra)}")
    hosts = allowed_hosts if allowed_hosts is not None else AllowedHosts()
    gate = pair.Gate(cluster) if cluster is not None else None
    if cluster is not None:
        permissions.update({(m, path): cast(Access, role) for m, path, _, role in pair.ROUTES})
    app = web.Application(client_max_size=MAX_BODY,
                          middlewares=[hosts.middleware(), json_errors, audit,
                                       *([gate.middleware] if gate else []),
                                       guard(auth, permissions, QUERY_TOKEN)])
    serverheader.install(app)
    states = hub if hub is not None else StateHub()  # (not `hub or`: an empty hub is falsy)
    with warnings.catch_warnings():
        # the wiring's contract is the plain keys "hub" and "permissions"; aiohttp would
        # rather have AppKeys
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app["hub"] = states
        app["permissions"] = MappingProxyType(permissions)
    documented_paths = {**(openapi_paths or {}), **(pair.OPENAPI_PATHS if cluster else {})}
    api = _Api(show, states, auth, openapi.document(documented_paths))
    for method, path, name, _ in ROUTES:
        app.router.add_route(method, path, getattr(api, name), name=name)
    Console(auth, static_dir).add_routes(app)
    if cluster is not None and gate is not None:
        tickets = ResumeTickets(cluster_secret) if cluster_secret else None
        pair.ClusterRoutes(cluster, auth, tickets).add_routes(app)
        app.cleanup_ctx.append(gate.watch)

    async def close_sockets(app: web.Application) -> None:
        await states.close()

    app.on_shutdown.append(close_sockets)
    return app


def _source(request: web.Request) -> str:
    source = request.headers.get(SOURCE_HEADER, "api").strip()
    if source not in SOURCES:
        raise ApiError(400, "bad_header", f"{SOURCE_HEADER} must be one of {', '.join(SOURCES)}")
    return source


def _expect(body: dict[str, Any]) -> str | None:
    """A take's `expect`: the segment on air as the presser saw it ("" for none)."""
    value = body.get("expect")
    if value is not None and (not isinstance(value, str) or len(value) > 200):
        raise bad_field("expect", "must be the id of the segment on air (\"\" for none)")
    return value


class _Api:
    """The route handlers, over one show."""

    def __init__(self, show: ShowPort, hub: StateHub, auth: Auth,
                 document: dict[str, Any]) -> None:
        self.show = show
        self.hub = hub
        self.auth = auth
        self.document = document  # OpenAPI: the API's routes and the adapters'

    async def _run(self, request: web.Request, cmd: Command) -> web.Response:
        cmd = replace(cmd, by=request[ROLE])
        try:
            # shielded: a client hanging up must not cancel a take halfway through
            await asyncio.shield(self.show.command(cmd))
        except Refused as e:
            raise ApiError(409, "refused", str(e) or "the show refused the command") from None
        return json_ok({"ok": True, "state": self.show.read_model()})

    def _known(self, segment_id: str) -> str:
        if not self.show.has_segment(segment_id):
            raise ApiError(404, "unknown_segment", f"no segment {segment_id!r} in the rundown")
        return segment_id

    async def _segment(self, request: web.Request, *names: str) -> tuple[str, dict[str, Any]]:
        body = fields(await read_json(request), *names)
        return self._known(request.match_info["id"]), body

    async def login(self, request: web.Request) -> web.Response:
        body = fields(await read_json(request), "token")
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise bad_field("token", "is required (a token as text)")
        role = self.auth.check_token(token, request)
        if role is None:
            log.warning("console login with a wrong token from %s", request.remote)
            raise ApiError(401, "unauthorized", "the token is not valid")
        session_id = await self.auth.sessions.create(role, token)
        response = json_ok({"role": role})
        response.headers["Cache-Control"] = "no-store"
        set_session_cookie(response, request, session_id, self.auth.sessions.ttl_s)
        log.info("console login (%s) from %s", role, request.remote)
        return response

    async def logout(self, request: web.Request) -> web.Response:
        fields(await read_json(request))
        session_id = request.cookies.get(COOKIE)
        if session_id is not None:
            await self.auth.sessions.drop(session_id)
        response = json_ok({"ok": True})
        response.headers["Set-Cookie"] = clear_cookie_header()
        return response

    async def whoami(self, request: web.Request) -> web.Response:
        return json_ok({"role": request[ROLE]})

    async def note(self, request: web.Request) -> web.Response:
        segment_id, body = await self._segment(request, "text")
        text = body.get("text")
        if not isinstance(text, str):
            raise bad_field("text", "is required (text; empty clears the note)")
        if len(text) > MAX_NOTE:
            raise bad_field("text", f"is {len(text)} characters long; at most {MAX_NOTE}")
        return await self._run(request, SetNote(segment_id, text))

    async def reload(self, request: web.Request) -> web.Response:
        fields(await read_json(request))
        try:
            result = await asyncio.shield(self.show.reload())
        except RundownError as e:
            errors = [str(d) for d in e.errors] or [str(e)]
            raise ApiError(422, "invalid_rundown",
                           f"the rundown has {len(errors)} error(s); the show goes on with the "
                           f"rundown it has. First: {errors[0]}",
                           extra={"errors": errors}) from None
        except Refused as e:
            raise ApiError(409, "refused", str(e) or "the show refused the reload") from None
        log.info("rundown reloaded by the %s: %s", request[ROLE], result.get("changes"))
        return json_ok({"ok": True, "changes": result["changes"],
                        "warnings": result.get("warnings", []),
                        "state": self.show.read_model()})

    async def stream(self, request: web.Request) -> web.Response:
        return await self._output(request, "stream")

    async def record(self, request: web.Request) -> web.Response:
        return await self._output(request, "record")

    async def _output(self, request: web.Request, name: Output) -> web.Response:
        body = fields(await read_json(request), "active")
        active = boolean(body, "active")
        log.info("%s %s asked by the %s", "start" if active else "stop", name, request[ROLE])
        try:
            await asyncio.shield(self.show.output(name, active))
        except OutputFailed as e:
            raise ApiError(502, "output_failed", str(e) or f"the {name} did not change") from None
        return json_ok({"ok": True, "state": self.show.read_model()})

    async def state(self, request: web.Request) -> web.Response:
        return json_ok(self.show.read_model())

    async def openapi(self, request: web.Request) -> web.Response:
        return json_ok(self.document)

    async def ws(self, request: web.Request) -> web.StreamResponse:
        # ?delta=1: the whole state once, then JSON Patches (hub.py); the console asks for it
        delta = request.query.get("delta") in ("1", "true")
        return await self.hub.serve(request, self.show.read_model(), delta=delta)

    async def take(self, request: web.Request) -> web.Response:
        body = fields(await read_json(request), "expect")
        return await self._run(request, Take(source=_source(request), expect=_expect(body)))

    async def take_segment(self, request: web.Request) -> web.Response:
        segment_id, body = await self._segment(request, "expect")
        return await self._run(request, Take(segment_id, source=_source(request),
                                             expect=_expect(body)))

    async def set_next(self, request: web.Request) -> web.Response:
        segment_id, _ = await self._segment(request)
        return await self._run(request, SetNext(segment_id))

    async def clear_next(self, request: web.Request) -> web.Response:
        fields(await read_json(request))
        return await self._run(request, SetNext(None))

    async def hold(self, request: web.Request) -> web.Response:
        body = fields(await read_json(request), "on")
        return await self._run(request, Hold(on=boolean(body, "on", default=True)))

    async def extend(self, request: web.Request) -> web.Response:
        body = fields(await read_json(request), "seconds")
        seconds = number(body, "seconds", MAX_EXTEND_S)
        return await self._run(request, Extend(ms=round(seconds * 1000)))

    async def skip(self, request: web.Request) -> web.Response:
        segment_id, body = await self._segment(request, "skip")
        return await self._run(request, Skip(segment_id, skip=boolean(body, "skip", default=True)))

    async def back(self, request: web.Request) -> web.Response:
        fields(await read_json(request))
        return await self._run(request, Back())

    async def panic(self, request: web.Request) -> web.Response:
        fields(await read_json(request))
        return await self._run(request, Panic())

    async def mode(self, request: web.Request) -> web.Response:
        body = fields(await read_json(request), "mode")
        mode = cast(Mode, choice(body, "mode", MODES))
        return await self._run(request, SetMode(mode))

    async def arm(self, request: web.Request) -> web.Response:
        body = fields(await read_json(request), "armed")
        return await self._run(request, Arm(armed=boolean(body, "armed")))

    async def command(self, request: web.Request) -> web.Response:
        """Any command in the journal's `to_json` form; `by` and `source` are ours to set."""
        body = await read_json(request)
        if isinstance(body, dict):
            ours = {"by", "source"} if body.get("kind") == "take" else {"by"}
            body = {k: v for k, v in body.items() if k not in ours}
        try:
            cmd = from_json(body)
        except BadCommand as e:
            raise ApiError(400, "bad_command", str(e)) from None
        if isinstance(cmd, Take):
            cmd = replace(cmd, source=_source(request))
        if isinstance(cmd, Extend) and abs(cmd.ms) > MAX_EXTEND_S * 1000:
            raise bad_field("ms", f"must be between -{MAX_EXTEND_S * 1000} and "
                            f"{MAX_EXTEND_S * 1000}")
        segment_id = getattr(cmd, "segment_id", None)
        if segment_id is not None:
            self._known(segment_id)
        return await self._run(request, cmd)
