"""HTTP for the hosts' screens, on the controller's aiohttp app.

    GET /presenter                 the presenter view (?key=, ?lang=zh|en)
    GET /prompter                  the prompter (?key=, ?lang=, ?mirror=1, ?size=, ?marker=)
    GET /stage/static/{file}       their scripts, stylesheet and words (no secret in them)
    GET /stage/ws                  their websocket (hub.py)
    GET /lib/{file}                the library every page loads (control/pagelib.py)

Like the overlay pages: no login; the pages and their websocket need the read key (`?key=`)
when the controller has one, or a credential the `authorize` callable accepts as a viewer.
The key only reads; the prompter operator proves more on the websocket (`operate`).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from .. import pagelib
from .hub import StageHub

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"presenter": "presenter.html", "prompter": "prompter.html"}
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".json": "application/json", ".html": "text/html; charset=utf-8"}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"),
    "Referrer-Policy": "no-referrer",  # the key never leaves in a Referer
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
ASSET_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}

Authorize = Callable[[web.Request, str], str | None]


def _key_matches(given: str, key: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), key.encode("utf-8"))


class StageRoutes:
    def __init__(self, hub: StageHub, authorize: Authorize,
                 read_key: Callable[[], str | None]) -> None:
        self.hub = hub
        self.authorize = authorize
        self.read_key = read_key
        # only the files there when the app is made, by name: no path joined from a request
        self.files = {p.name: p for p in sorted(STATIC.iterdir())
                      if p.is_file() and p.suffix in TYPES and p.suffix != ".html"}

    def readable(self, request: web.Request) -> bool:
        key = self.read_key()
        if not key:
            return True
        given = request.query.get("key")
        if given is not None and _key_matches(given, key):
            return True
        return self.authorize(request, "viewer") is not None

    async def page(self, request: web.Request) -> web.StreamResponse:
        name = request.path.strip("/")
        if not self.readable(request):
            return web.Response(status=403, text=f"the {name} page needs its read key: "
                                "open it with ?key=... (docs/stage.md)\n",
                                headers={"Cache-Control": "no-store"})
        return web.FileResponse(STATIC / PAGES[name],
                                headers={**PAGE_HEADERS, "Content-Type": TYPES[".html"]})

    async def asset(self, request: web.Request) -> web.StreamResponse:
        path = self.files.get(request.match_info["name"])
        if path is None:
            return web.Response(status=404, text="no such file\n", headers=ASSET_HEADERS)
        return web.FileResponse(path, headers={**ASSET_HEADERS,
                                               "Content-Type": TYPES[path.suffix]})

    async def ws(self, request: web.Request) -> web.StreamResponse:
        if not self.readable(request):
            return web.Response(status=403, text="the stage websocket needs the read key\n")
        return await self.hub.serve(request)


def install(app: web.Application, hub: StageHub, *, authorize: Authorize,
            read_key: Callable[[], str | None]) -> StageRoutes:
    """The pages, their files and websocket on `app` (before it starts); the screens'
    sockets close when it shuts down."""
    routes = StageRoutes(hub, authorize, read_key)
    for name in PAGES:
        app.router.add_get(f"/{name}", routes.page, name=f"stage_{name}", allow_head=False)
    app.router.add_get("/stage/static/{name}", routes.asset, name="stage_static",
                       allow_head=False)
    app.router.add_get("/stage/ws", routes.ws, name="stage_ws")
    pagelib.serve(app)

    async def close(app: web.Application) -> None:
        await hub.close()

    app.on_shutdown.append(close)
    return routes
