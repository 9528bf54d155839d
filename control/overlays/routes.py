"""HTTP for the overlays, on the controller's aiohttp app: the pages OBS loads, their
websocket, and the director's API.

    GET  /overlays/{template}            the template page (program; ?preview=1: preview bus)
    GET  /overlays/{template}.js|.schema.json   its module and its field schema
    GET  /overlays/lib/...               the shared runtime (graphic.js) and stylesheet
    GET  /overlays/ws                    the pages' websocket (snapshot, deltas, clock)
    GET  /api/overlays                   every graphic's state and its OBS browser-source URL
    POST /api/overlays/{template}/{verb} play | update | next | stop | preview, {"data": {...}}

Pages and their websocket need the read key (`?key=`) when the controller has one (or a
credential the `authorize` callable accepts as a viewer); the key only reads. The API needs
`api_role` (producer: the director and producers). The wiring passes `authorize(request,
min_role) -> role | None`; this package knows nothing of tokens or sessions.

The API answers its own routes ahead of the app's other middlewares (`install` puts its
middleware first): its errors are the API's JSON (`{"error", "reason"}`, 4xx), and nothing it
receives can stop the process.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .board import BUSES, PROGRAM, Bus, OverlayError
from .hub import OverlayHub, dumps
from .keys import key_matches

log = logging.getLogger(__name__)

Authorize = Callable[[web.Request, str], str | None]
VERBS = ("play", "update", "next", "stop", "preview")
MAX_BODY = 64 * 1024
ASSET_RE = re.compile(r"^([a-z0-9][a-z0-9-]{0,63})\.(js|schema\.json)$")
PAGE_HEADERS = {
    # data is inserted as text by the templates; this is the second lock: no inline script,
    # no foreign script, the page's key never leaves in a Referer
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https: http:; connect-src 'self'; font-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
ASSET_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def _error(status: int, code: str, reason: str, **extra: Any) -> web.Response:
    if len(reason) > 500:
        reason = reason[:500] + "…"
    reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")
    return web.json_response({**extra, "error": code, "reason": reason}, status=status,
                             dumps=dumps)


class _Bad(Exception):
    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


class OverlayRoutes:
    def __init__(self, hub: OverlayHub, authorize: Authorize,
                 read_key: Callable[[], str | None] | None = None,
                 api_role: str = "producer") -> None:
        self.hub = hub
        self.authorize = authorize
        self.read_key = read_key or (lambda: None)
        self.api_role = api_role

    # -- pages

    def readable(self, request: web.Request) -> bool:
        key = self.read_key()
        if not key:
            return True
        given = request.query.get("key")
        if given is not None and key_matches(given, key):
            return True
        return self.authorize(request, "viewer") is not None

    async def page(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        catalog = self.hub.catalog
        asset = ASSET_RE.match(name)
        if asset and asset.group(1) in catalog and (catalog.directory / name).is_file():
            return web.FileResponse(catalog.directory / name, headers=ASSET_HEADERS)
        if name not in catalog:
            raise web.HTTPNotFound(text=f"no overlay template {name!r}\n")
        if not self.readable(request):
            return web.Response(status=403, text="this overlay page needs its read key: "
                                "copy the URL from GET /api/overlays (?key=...)\n",
                                headers={"Cache-Control": "no-store"})
        return web.FileResponse(catalog.page(name), headers=PAGE_HEADERS)

    async def ws(self, request: web.Request) -> web.StreamResponse:
        if not self.readable(request):
            return web.Response(status=403, text="the overlay websocket needs the read key\n")
        return await self.hub.serve(request)

    # -- API

    def _role(self, request: web.Request) -> str:
        role = self.authorize(request, self.api_role)
        if role is not None:
            return role
        has_credential = "Authorization" in request.headers or bool(request.cookies)
        if has_credential:
            raise _Bad(403, "forbidden", f"the overlay API needs the {self.api_role} role or "
                       "higher (director, producer)")
        raise _Bad(401, "unauthorized", "a token is required: Authorization: Bearer TOKEN")

    def _urls(self, request: web.Request, name: str) -> tuple[str, str]:
        base = f"{request.url.origin()}/overlays/{name}"
        key = self.read_key()
        program = f"{base}?key={key}" if key else base
        return program, (f"{program}&preview=1" if key else f"{base}?preview=1")

    async def state(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._state)

    async def _state(self, request: web.Request) -> web.Response:
        self._role(request)
        board, catalog = self.hub.board, self.hub.catalog
        graphics = []
        for name in board.names():
            known = name in catalog
            schema = catalog.schema(name) if known else {}
            url, preview_url = self._urls(request, name) if known else (None, None)
            graphics.append({
                "template": name,
                "title": schema.get("title", name),
                "description": schema.get("description", ""),
                "steps": catalog.steps(name) if known else 1,
                "schema": schema,
                "program": board.graphic(name, "program").to_json(),
                "preview": board.graphic(name, "preview").to_json(),
                "url": url,
                "preview_url": preview_url,
            })
        return web.json_response({"rev": board.rev, "settings": board.settings(),
                                  "pages": len(self.hub), "graphics": graphics}, dumps=dumps)

    async def verb(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._verb)

    async def _verb(self, request: web.Request) -> web.Response:
        self._role(request)
        name, verb = request.match_info["template"], request.match_info["verb"]
        if verb not in VERBS:
            raise _Bad(404, "not_found", f"no overlay action {verb!r}; one of {', '.join(VERBS)}")
        body = await _body(request)
        allowed = {"play": {"data", "bus"}, "update": {"data", "bus"}, "preview": {"data"},
                   "next": {"bus"}, "stop": {"bus"}}[verb]
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise _Bad(400, "bad_field", f"{unknown[0]}: unknown field for {verb} (fields: "
                       f"{', '.join(sorted(allowed))})")
        data = body.get("data")
        if data is not None and not isinstance(data, dict):
            raise _Bad(400, "bad_field", "data: must be an object of the template's fields")
        bus = body.get("bus", PROGRAM)
        if bus not in BUSES:
            raise _Bad(400, "bad_field", f"bus: must be one of {', '.join(BUSES)}")
        hub = self.hub
        target: Bus = "preview" if verb == "preview" else bus
        if verb == "play":
            g = hub.play(name, data, target)
        elif verb == "preview":
            g = hub.preview(name, data)
        elif verb == "update":
            g = hub.update(name, data, target)
        elif verb == "next":
            g = hub.next(name, target)
        else:
            g = hub.stop(name, target)
        log.info("overlay %s %s on %s", verb, name, target)
        return web.json_response({"ok": True, "template": name, "bus": target,
                                  "state": g.to_json(), "rev": hub.board.rev}, dumps=dumps)

    async def _guarded(self, request: web.Request,
                       handler: Callable[[web.Request], Any]) -> web.Response:
        try:
            response: web.Response = await handler(request)
            return response
        except OverlayError as e:
            return _error(e.status, e.code, e.reason, errors=e.errors)
        except _Bad as e:
            return _error(e.status, e.code, e.reason)
        except web.HTTPException as e:
            return _error(e.status, "http_error", e.reason)
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("overlay API internal error %s on %s %s", incident, request.method,
                          request.path)
            return _error(500, "internal", f"internal error {incident}; the show goes on, "
                          "tell an engineer this id")


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _Bad(413, "too_large", f"the body is over {MAX_BODY} bytes")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise _Bad(413, "too_large", f"the body is over {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Bad(400, "bad_json", f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _Bad(400, "bad_json", "the body must be a JSON object, e.g. {\"data\": {...}}")
    return body


def install(app: web.Application, hub: OverlayHub, *, authorize: Authorize,
            read_key: Callable[[], str | None] | None = None,
            api_role: str = "producer") -> OverlayRoutes:
    """Register the overlay routes on `app` (before it starts) and close the pages'
    sockets when it shuts down."""
    routes = OverlayRoutes(hub, authorize, read_key, api_role)
    app.router.add_get("/overlays/ws", routes.ws, name="overlays_ws")
    lib = hub.catalog.directory / "lib"
    if lib.is_dir():
        app.router.add_static("/overlays/lib", lib, name="overlays_lib")
    app.router.add_get("/overlays/{name}", routes.page, name="overlays_page")
    app.router.add_get("/api/overlays", routes.state, name="overlays_state")
    app.router.add_post("/api/overlays/{template}/{verb}", routes.verb, name="overlays_verb")
    own = {routes.state, routes.verb}

    @web.middleware
    async def overlay_api(request: web.Request, handler: Any) -> web.StreamResponse:
        # the overlay API checks its own roles (`authorize`): answer it before the app's
        # other middlewares, whose route table does not list it
        route_handler = getattr(request.match_info, "handler", None)
        if request.match_info.http_exception is None and route_handler in own:
            response: web.StreamResponse = await route_handler(request)
            return response
        result: web.StreamResponse = await handler(request)
        return result

    app.middlewares.insert(0, overlay_api)

    async def close(app: web.Application) -> None:
        await hub.close()

    app.on_shutdown.append(close)
    return routes
