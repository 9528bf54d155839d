"""HTTP for the overlays, on the controller's aiohttp app: the pages OBS loads, their
websocket, and the director's API.

    GET  /overlays/{template}            the template page (program; ?preview=1: preview bus)
    GET  /overlays/{template}.js|.schema.json   its module and its field schema
    GET  /overlays/lib/...               the templates' runtime (graphic.js) and stylesheet
    GET  /lib/{file}                     the library every page loads (control/pagelib.py)
    GET  /overlays/ws                    the pages' websocket (snapshot, deltas, clock)
    GET  /api/overlays                   every graphic's state and its OBS browser-source URL
    POST /api/overlays/{template}/{verb} play | update | next | stop | preview, {"data": {...}}

Pages and their websocket need the read key (`?key=`) when the controller has one (or a
credential the `authorize` callable accepts as a viewer); the key only reads. The wiring
passes `authorize(request, min_role) -> role | None`, the API guard's own rule (tokens, the
console's session and its same-origin rule: one guard for all); this package knows nothing of
tokens or sessions.

The API's routes go through the app's own guard and JSON error middleware, like every other
route under /api/: the app is made with `api_routes()` (method, path, lowest role: producer,
i.e. the director and producers) in its permission table (`create_app(..., extra_routes=
api_routes(), openapi_paths=OPENAPI_PATHS)`), and `install` refuses an app whose table does not
list them, so the API is never served unguarded. Its own refusals are the API's JSON
(`{"error", "reason"}`, 4xx); a crash is the app's JSON 500, and nothing it receives can stop
the process.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from .. import pagelib
from ..bodies import MAX_BODY, BodyError, read_body
from .board import BUSES, PROGRAM, Bus, OverlayError
from .hub import OverlayHub, dumps
from .keys import key_matches
from .urls import page_url

log = logging.getLogger(__name__)

Authorize = Callable[[web.Request, str], str | None]
API_ROLE = "producer"  # the director and producers
STATE_PATH = "/api/overlays"
VERB_PATH = "/api/overlays/{template}/{verb}"
VERBS = ("play", "update", "next", "stop", "preview")
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
                 read_key: Callable[[], str | None] | None = None) -> None:
        self.hub = hub
        self.authorize = authorize
        self.read_key = read_key or (lambda: None)

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

    # -- API (the app's guard has checked the caller's role)

    def _urls(self, request: web.Request, name: str) -> tuple[str, str]:
        base, key = str(request.url.origin()), self.read_key()
        return page_url(base, name, key), page_url(base, name, key, preview=True)

    async def state(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._state)

    async def _state(self, request: web.Request) -> web.Response:
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
        # anything else is the app's: its JSON error middleware answers (a crash: a 500
        # with an incident id in the log)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        raw = await read_body(request, MAX_BODY)
    except BodyError as e:  # too slow, too big, cut off (control/bodies.py)
        raise _Bad(e.status, e.code, e.reason) from None
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError) as exc:  # NaN/Infinity too: pages parse strictly
        raise _Bad(400, "bad_json", f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise _Bad(400, "bad_json", "the body is not JSON: nested too deeply") from None
    try:  # a lone surrogate ("\\udc80") is valid JSON but no text a page could be sent
        dumps(body).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        raise _Bad(400, "bad_json", "the body is not valid Unicode: it has a lone surrogate "
                   "(an escape such as \\udc80 without its pair)") from None
    if not isinstance(body, dict):
        raise _Bad(400, "bad_json", "the body must be a JSON object, e.g. {\"data\": {...}}")
    return body


def api_routes(role: str = API_ROLE) -> tuple[tuple[str, str, str], ...]:
    """The API's routes with the lowest role for each: the app's guard checks them
    (`create_app(..., extra_routes=api_routes())`)."""
    return (("GET", STATE_PATH, role), ("POST", VERB_PATH, role))


def install(app: web.Application, hub: OverlayHub, *, authorize: Authorize,
            read_key: Callable[[], str | None] | None = None) -> OverlayRoutes:
    """Register the overlay routes on `app` (before it starts) and close the pages'
    sockets when it shuts down. `app["permissions"]` (create_app's table) must list the
    API's routes (`api_routes()`): else ValueError, rather than an API open to anyone."""
    permissions: Mapping[tuple[str, str], str] = app.get("permissions") or {}
    unguarded = [f"{m} {path}" for m, path, _ in api_routes() if (m, path) not in permissions]
    if unguarded:
        raise ValueError(f"the app does not guard {', '.join(unguarded)}: make it with "
                         "create_app(..., extra_routes=control.overlays.api_routes())")
    routes = OverlayRoutes(hub, authorize, read_key)
    app.router.add_get("/overlays/ws", routes.ws, name="overlays_ws")
    lib = hub.catalog.directory / "lib"
    if lib.is_dir():
        app.router.add_static("/overlays/lib", lib, name="overlays_lib")
    pagelib.serve(app)
    app.router.add_get("/overlays/{name}", routes.page, name="overlays_page")
    # GET only (no automatic HEAD): every API route is one entry of the guard's table
    app.router.add_route("GET", STATE_PATH, routes.state, name="overlays_state")
    app.router.add_route("POST", VERB_PATH, routes.verb, name="overlays_verb")

    async def close(app: web.Application) -> None:
        await hub.close()

    app.on_shutdown.append(close)
    return routes


# -- the OpenAPI document's entries for the API (create_app's `openapi_paths`); references
# point into the app's document (its error responses)

_RESPONSES = "#/components/responses/"
_GRAPHIC = {"type": "object", "required": ["visible", "data", "step", "since_ms", "rev"],
            "properties": {"visible": {"type": "boolean"}, "data": {"type": "object"},
                           "step": {"type": "integer", "minimum": 0},
                           "since_ms": {"type": "integer"},
                           "rev": {"type": "integer", "minimum": 0}}}
_URL = {"type": ["string", "null"],
        "description": "the page with its read key (`preview_url`: on the preview bus)"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _RESPONSES + name}


OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    STATE_PATH: {"get": {
        "summary": "Graphics: every graphic",
        "description": (
            "Every template (and graphic a cue named): its field schema (JSON Schema), step "
            "count, state on the program and preview buses, and `url` / `preview_url`: the "
            "page an OBS browser source (or a preview monitor) loads, with the read key. "
            "Director or producer. Pages follow changes live on `GET /overlays/ws`."),
        "responses": {
            "200": {"description": "the graphics", "content": {"application/json": {
                "schema": {"type": "object", "required": ["rev", "settings", "graphics"],
                           "properties": {
                               "rev": {"type": "integer"},
                               "settings": {"type": "object", "properties": {
                                   "delay_ms": {"type": "integer"}}},
                               "pages": {"type": "integer",
                                         "description": "connected pages"},
                               "graphics": {"type": "array", "items": {
                                   "type": "object",
                                   "required": ["template", "program", "preview", "url"],
                                   "properties": {
                                       "template": {"type": "string"},
                                       "title": {"type": "string"},
                                       "description": {"type": "string"},
                                       "steps": {"type": "integer", "minimum": 1},
                                       "schema": {"type": "object"},
                                       "program": _GRAPHIC, "preview": _GRAPHIC,
                                       "url": _URL, "preview_url": _URL}}}}}}}},
            "401": _ref("Unauthorized"), "403": _ref("Forbidden"), "500": _ref("Internal")},
    }},
    VERB_PATH: {"post": {
        "summary": "Graphics: play, preview, update, next, stop",
        "description": (
            "`play` shows the graphic from step 0 (without data, program takes what the "
            "preview shows); `preview` shows it on preview pages only; `update` merges "
            "fields in (`null` removes one); `next` is its next step; `stop` takes it out. "
            "`bus: preview` acts on the preview bus. Data is checked against the template's "
            "schema: 422 `invalid_data` with every field that does not fit. Director or "
            "producer."),
        "parameters": [
            {"name": "template", "in": "path", "required": True,
             "description": "a template (`graphics[*].template`)",
             "schema": {"type": "string"}},
            {"name": "verb", "in": "path", "required": True, "schema": {"enum": list(VERBS)}}],
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False,
            "properties": {"data": {"type": "object", "description": "the template's fields"},
                           "bus": {"enum": list(BUSES), "default": PROGRAM}}}}}},
        "responses": {
            "200": {"description": "done; the graphic's state on the bus", "content": {
                "application/json": {"schema": {
                    "type": "object", "required": ["ok", "template", "bus", "state", "rev"],
                    "properties": {"ok": {"const": True}, "template": {"type": "string"},
                                   "bus": {"enum": list(BUSES)}, "state": _GRAPHIC,
                                   "rev": {"type": "integer"}}}}}},
            "400": _ref("BadRequest"), "401": _ref("Unauthorized"), "403": _ref("Forbidden"),
            "404": {"description": "no such template (`unknown_template`) or action",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"}}}},
            "409": {"description": "`not_playing` (next on a hidden graphic) or `last_step`",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"}}}},
            "413": _ref("TooLarge"),
            "422": {"description": "the data does not fit the template (`invalid_data`); "
                                   "`errors`: each field and why",
                    "content": {"application/json": {"schema": {
                        "type": "object", "required": ["error", "reason", "errors"],
                        "properties": {"error": {"const": "invalid_data"},
                                       "reason": {"type": "string"},
                                       "errors": {"type": "array",
                                                  "items": {"type": "string"}}}}}}},
            "500": _ref("Internal")},
    }},
}
