"""The director's console as files: `GET /` (index.html) and `GET /static/{path}`; the
library every page shares at `GET /lib/{file}` (control/pagelib.py).

Both are open without a credential (the login form lives there); everything the console
does goes through /api/, which is not. `GET /?token=TOKEN` logs in once: it sets the session
cookie and sends the browser to `/` (303), so the token leaves the address bar and history.
Only a link opened directly does: one that another site's page follows (Sec-Fetch-Site,
Origin or Referer say so) would swap the victim's session for the sender's, and is refused.

Files are served from one directory only: a path with a dot-segment, a hidden name, a
backslash or a NUL, or one that resolves (through symlinks) outside the directory, is a 404,
as is a directory (no listings). ES modules need `text/javascript`; every answer says
`Cache-Control: no-cache` (the browser revalidates: a console reloaded during the show gets
the files as they are now).
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from .. import pagelib
from .auth import Auth, same_origin
from .errors import ApiError
from .sessions import COOKIE

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".txt": "text/plain; charset=utf-8",
}
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    # a TAKE button must never be clickable through someone else's page
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


def set_session_cookie(response: web.StreamResponse, request: web.BaseRequest,
                       session_id: str, max_age: float) -> None:
    response.set_cookie(COOKIE, session_id, max_age=int(max_age), path="/", httponly=True,
                        samesite="Strict", secure=request.secure)


def from_another_site(request: web.BaseRequest) -> bool:
    """Whether a navigation came from another site's page: the browser says so in
    Sec-Fetch-Site (`none` is a link typed, pasted or bookmarked), or, in a browser without
    it, an Origin or Referer names another host. A client that sends none of them (curl) is
    not a browser led by a page."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site.strip().lower() not in ("none", "same-origin")
    if "Origin" in request.headers or "Referer" in request.headers:
        return not same_origin(request)
    return False


class Console:
    def __init__(self, auth: Auth, root: Path | None = None) -> None:
        self.auth = auth
        self.root = (root or STATIC_DIR).resolve()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("GET", "/", self.index, name="console")
        app.router.add_route("GET", "/static/{path:.*}", self.static, name="static")
        pagelib.serve(app)

    async def index(self, request: web.Request) -> web.StreamResponse:
        if "token" in request.query:
            return await self._login_link(request)
        return self._file(self.root / "index.html", "the console is not installed "
                          f"({self.root / 'index.html'} is missing)")

    async def _login_link(self, request: web.Request) -> web.StreamResponse:
        token = request.query["token"]
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        if from_another_site(request):
            # another site's link or form would log the victim's browser into the sender's
            # session (and out of their own): only a link opened directly logs in
            log.warning("console login link from another site refused (%s, Referer %r)",
                        request.remote, request.headers.get("Referer"))
            return web.Response(status=303, headers={**headers, "Location": "/?login=refused"})
        try:
            role = self.auth.check_token(token, request)
        except ApiError as e:  # too many wrong tokens from this address
            return web.Response(status=e.status, text=e.reason + "\n",
                                headers={**headers, **e.headers})
        if role is None:
            log.warning("console login link with a wrong token from %s", request.remote)
            return web.Response(status=303, headers={**headers, "Location": "/?login=failed"})
        response = web.Response(status=303, headers={**headers, "Location": "/"})
        set_session_cookie(response, request, await self.auth.sessions.create(role, token),
                           self.auth.sessions.ttl_s)
        log.info("console login (%s) from %s by link", role, request.remote)
        return response

    async def static(self, request: web.Request) -> web.StreamResponse:
        return self._file(self._resolve(request.match_info["path"]), "no such file")

    def _resolve(self, relative: str) -> Path | None:
        parts = relative.split("/")
        if (not relative or "\\" in relative or "\0" in relative
                or any(not p or p.startswith(".") for p in parts)):
            return None
        try:
            path = (self.root / relative).resolve()
        except (OSError, ValueError):
            return None
        return path if path.is_relative_to(self.root) else None

    def _file(self, path: Path | None, missing: str) -> web.StreamResponse:
        try:
            found = path is not None and path.is_file()
        except (OSError, ValueError):  # a name too long for the file system, and the like
            found = False
        if path is None or not found:
            return web.Response(status=404, text=missing, headers={"Cache-Control": "no-cache"})
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        return web.FileResponse(path, headers={**HEADERS, "Content-Type": content_type})
