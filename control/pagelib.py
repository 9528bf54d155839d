"""The browser library every page loads (`control/lib/`, served at `GET /lib/{file}`): one
reconnecting websocket client with the revision protocol (socket.js), one server clock
(clock.js), JSON Patch (patch.js) and the two languages (i18n.js). Plain ES modules, no build.

The console (/), the overlay pages in OBS (/overlays/), the guest page (/guest/) and any
other port that serves a page import it from the same path, so it holds no secret and needs
no credential. Only the files in the directory when the app is made are served, by name: no
path is ever joined from a request.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

LIB_DIR = Path(__file__).resolve().parent / "lib"
PREFIX = "/lib/"
ROUTE_NAME = "pagelib"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".json": "application/json"}
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def serve(app: web.Application) -> None:
    """Serve the library on `app` (before it starts); a second call on the same app (the
    console and the overlays on one port) is a no-op."""
    if ROUTE_NAME in app.router.named_resources():
        return
    files = {p.name: p for p in sorted(LIB_DIR.iterdir())
             if p.is_file() and p.suffix in CONTENT_TYPES}

    async def get(request: web.Request) -> web.StreamResponse:
        path = files.get(request.match_info["name"])
        if path is None:
            return web.Response(status=404, text="no such file\n",
                                headers={"Cache-Control": "no-cache"})
        return web.FileResponse(path, headers={**HEADERS,
                                               "Content-Type": CONTENT_TYPES[path.suffix]})

    app.router.add_get(PREFIX + "{name}", get, name=ROUTE_NAME, allow_head=False)
